#pragma once
// Blocks being fetched right now, shared by all readers of a mount, so that two readers needing
// the same block wait for one fetch instead of asking the server twice.

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>
#include <unordered_map>

#include "cache/block_cache.h"

namespace cache {

struct FetchResult {
  std::error_code ec;
  // Shorter than a full block when the stream ended early (the file shrank on the server).
  BlockData data;
  // The fetcher gave up without an answer (its reader seeked away or closed): try again.
  bool abandoned = false;

  static FetchResult failed(std::error_code ec) { return {ec, nullptr, false}; }
  static FetchResult fetched(BlockData data) { return {{}, std::move(data), false}; }
  static FetchResult gave_up() { return {{}, nullptr, true}; }
};

class FetchTable {
 public:
  class Fetch;

  // The right to fetch one block. The holder must finish() it; destroying an unfinished claim
  // abandons the fetch, so waiters never hang on a fetcher that went away.
  class Claim {
   public:
    Claim() = default;
    Claim(FetchTable* table, std::shared_ptr<Fetch> fetch) : table_(table), fetch_(std::move(fetch)) {}
    Claim(Claim&& other) noexcept;
    Claim& operator=(Claim&& other) noexcept;
    ~Claim();

    explicit operator bool() const { return fetch_ != nullptr; }
    // Errors reach every waiter but are not remembered: the next reader fetches again.
    void finish(FetchResult result);

   private:
    FetchTable* table_ = nullptr;
    std::shared_ptr<Fetch> fetch_;
  };

  // Exactly one of the two is set.
  struct Joined {
    Claim claim;                   // nobody was fetching the block: now the caller is
    std::shared_ptr<Fetch> fetch;  // somebody is: wait for it
  };

  Joined join_or_claim(const BlockKey& key);
  static FetchResult wait(const std::shared_ptr<Fetch>& fetch);

 private:
  void finish(const std::shared_ptr<Fetch>& fetch, FetchResult result);

  std::mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<Fetch>> in_flight_;
};

}  // namespace cache
