#pragma once
// Blocks being fetched right now, shared by all readers of a mount, so that two readers needing
// the same block wait for one fetch instead of asking the server twice.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
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

  FetchTable() = default;
  ~FetchTable();  // stores what is still queued
  FetchTable(const FetchTable&) = delete;
  FetchTable& operator=(const FetchTable&) = delete;

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
    // Puts a whole block into the memory tier of `blocks`, hands it to every waiter, and queues it
    // for the disk tier on the table's background thread, so the stream that fetched it goes on
    // reading while the disk tier writes.
    void finish_and_store(BlockCache& blocks, BlockKey key, BlockData data);

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
  struct Store {
    BlockCache* blocks = nullptr;
    BlockKey key;
    BlockData data;
    std::uint64_t epoch = 0;  // BlockCache::epoch() when the block went into memory
  };

  void finish(const std::shared_ptr<Fetch>& fetch, FetchResult result);
  void deliver(const std::shared_ptr<Fetch>& fetch, FetchResult result);
  void forget(const std::shared_ptr<Fetch>& fetch);
  void store(BlockCache& blocks, BlockKey key, BlockData data, std::uint64_t epoch);
  void run_stores();

  std::mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<Fetch>> in_flight_;

  // Blocks waiting for BlockCache::put_on_disk on a thread that runs only on otherwise idle CPU
  // time: the disk tier must never slow a reader down. Past kMaxQueuedBytes a block stays in the
  // memory tier only (the disk tier keeps what spare CPU and disk could write; on a real network
  // link with idle CPU, that is everything).
  static constexpr std::size_t kMaxQueuedBytes = 16u << 20;
  static constexpr std::size_t kMaxRunBytes = 4u << 20;  // written with one system call at most
  std::mutex store_mutex_;
  std::condition_variable store_cv_;
  std::deque<Store> stores_;
  std::size_t queued_bytes_ = 0;
  bool stopping_ = false;
  std::thread store_thread_;  // started with the first queued store
};

}  // namespace cache
