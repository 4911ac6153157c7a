#include "cache/fetch_table.h"

#include <utility>

#include "cache/block_key.h"
#include "cache/file_reader.h"

namespace cache {

class FetchTable::Fetch {
 public:
  explicit Fetch(std::string key) : key(std::move(key)) {}

  const std::string key;
  std::mutex mutex;
  std::condition_variable done_cv;
  bool done = false;
  FetchResult result;
};

FetchTable::Claim::Claim(Claim&& other) noexcept
    : table_(std::exchange(other.table_, nullptr)), fetch_(std::move(other.fetch_)) {}

FetchTable::Claim& FetchTable::Claim::operator=(Claim&& other) noexcept {
  if (this != &other) {
    if (fetch_)
      finish(FetchResult::gave_up());
    table_ = std::exchange(other.table_, nullptr);
    fetch_ = std::move(other.fetch_);
  }
  return *this;
}

FetchTable::Claim::~Claim() {
  if (fetch_)
    finish(FetchResult::gave_up());
}

void FetchTable::Claim::finish(FetchResult result) {
  if (!fetch_)
    return;
  table_->finish(fetch_, std::move(result));
  fetch_.reset();
}

FetchTable::Joined FetchTable::join_or_claim(const BlockKey& key) {
  std::string key_string = block_key_string(key);
  std::lock_guard lock(mutex_);
  auto [it, inserted] = in_flight_.try_emplace(key_string);
  if (!inserted)
    return {Claim(), it->second};
  it->second = std::make_shared<Fetch>(std::move(key_string));
  return {Claim(this, it->second), nullptr};
}

FetchResult FetchTable::wait(const std::shared_ptr<Fetch>& fetch) {
  std::unique_lock lock(fetch->mutex);
  fetch->done_cv.wait(lock, [&] { return fetch->done; });
  return fetch->result;
}

void FetchTable::finish(const std::shared_ptr<Fetch>& fetch, FetchResult result) {
  {
    std::lock_guard lock(mutex_);
    if (auto it = in_flight_.find(fetch->key); it != in_flight_.end() && it->second == fetch)
      in_flight_.erase(it);
  }
  {
    std::lock_guard lock(fetch->mutex);
    fetch->result = std::move(result);
    fetch->done = true;
  }
  fetch->done_cv.notify_all();
}

std::shared_ptr<FetchTable> make_fetch_table() {
  return std::make_shared<FetchTable>();
}

}  // namespace cache
