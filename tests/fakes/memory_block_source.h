#pragma once
// An in-memory cache::BlockSource for tests: counts opens and bytes delivered, and can fail at a
// file offset or slow every read down, to exercise the error and overlap paths of the cache. With
// max_streams it behaves like a session pool: open() waits while that many streams are open, and
// contended() is true meanwhile.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "cache/block_source.h"

namespace testsupport {

class MemoryBlockSource final : public cache::BlockSource {
 public:
  struct Options {
    std::uint64_t fail_at = UINT64_MAX;  // reading the byte at this offset fails
    std::chrono::microseconds delay{0};  // before each read
    std::size_t max_chunk = 64 * 1024;   // bytes per read at most
    int max_streams = INT_MAX;           // open() waits while this many streams are open
    bool no_spare = false;               // open_if_spare() always refuses
  };

  void set_file(const std::string& path, std::vector<char> content) {
    std::lock_guard lock(mutex_);
    files_[path] = std::make_shared<const std::vector<char>>(std::move(content));
  }
  void set_options(Options options) {
    std::lock_guard lock(mutex_);
    options_ = options;
  }

  std::error_code open(const std::string& path, std::uint64_t offset,
                       std::unique_ptr<cache::ByteStream>& out) override {
    std::unique_lock lock(mutex_);
    ++opens_;
    auto it = files_.find(path);
    if (it == files_.end())
      return std::make_error_code(std::errc::no_such_file_or_directory);
    ++waiting_;
    streams_cv_.wait(lock, [&] { return open_streams_ < options_.max_streams; });
    --waiting_;
    out = std::make_unique<Stream>(*this, it->second, offset, options_);
    return {};
  }
  std::error_code open_if_spare(const std::string& path, std::uint64_t offset,
                                std::unique_ptr<cache::ByteStream>& out) override {
    {
      std::lock_guard lock(mutex_);
      if (options_.no_spare || open_streams_ + 1 >= options_.max_streams) {
        ++refused_;
        return std::make_error_code(std::errc::resource_unavailable_try_again);
      }
    }
    return open(path, offset, out);
  }
  bool contended() const override { return waiting_.load() > 0; }
  int refused() const { return refused_.load(); }

  // On a thread of its own, as a network client's I/O thread would (joined by the destructor).
  std::shared_ptr<WholeFetch> fetch_whole_if_spare(
      const std::string& path, std::vector<std::span<char>> buffers, std::chrono::milliseconds patience,
      std::function<void(std::error_code, std::size_t)> done) override {
    (void)patience;
    auto fetch = std::make_shared<Fetch>();
    std::lock_guard lock(fetch_threads_mutex_);
    fetch_threads_.emplace_back([this, fetch, path, buffers = std::move(buffers), done = std::move(done)] {
      std::unique_ptr<cache::ByteStream> stream;
      if (auto ec = open_if_spare(path, 0, stream)) {
        done(ec, 0);
        return;
      }
      fetch->attach(stream.get());
      std::size_t total = 0;
      std::error_code ec;
      for (auto buf : buffers) {
        stream->queue(buf);
        std::size_t n = 0;
        if ((ec = stream->next(n)))
          break;
        total += n;
        if (n < buf.size())
          break;
      }
      fetch->attach(nullptr);
      stream.reset();
      done(ec, ec ? 0 : total);
    });
    return fetch;
  }

  ~MemoryBlockSource() override {
    std::lock_guard lock(fetch_threads_mutex_);
    for (auto& t : fetch_threads_)
      t.join();
  }

  int opens() const { return opens_.load(); }
  std::uint64_t bytes_read() const { return bytes_read_.load(); }
  int open_streams() const { return open_streams_.load(); }

 private:
  class Fetch final : public WholeFetch {
   public:
    void attach(cache::ByteStream* stream) {
      std::lock_guard lock(mutex_);
      stream_ = stream;
      if (stream_ && cancelled_)
        stream_->cancel();
    }
    void cancel() override {
      std::lock_guard lock(mutex_);
      cancelled_ = true;
      if (stream_)
        stream_->cancel();
    }

   private:
    std::mutex mutex_;
    cache::ByteStream* stream_ = nullptr;
    bool cancelled_ = false;
  };

  class Stream final : public cache::ByteStream {
   public:
    Stream(MemoryBlockSource& owner, std::shared_ptr<const std::vector<char>> content, std::uint64_t offset,
           Options options)
        : owner_(owner), content_(std::move(content)), position_(offset), options_(options) {
      ++owner_.open_streams_;
    }
    ~Stream() override {
      {
        std::lock_guard lock(owner_.mutex_);
        --owner_.open_streams_;
      }
      owner_.streams_cv_.notify_all();
    }

    void queue(std::span<char> buf) override { queued_.push_back(buf); }

    // Fills the oldest queued buffer in chunks of max_chunk, each after `delay`, as a network
    // connection would deliver it; a cancel() is seen between chunks.
    std::error_code next(std::size_t& n) override {
      n = 0;
      if (queued_.empty())
        return std::make_error_code(std::errc::invalid_argument);
      const std::span<char> buf = queued_.front();
      queued_.pop_front();
      while (n < buf.size()) {
        if (cancelled_)
          return std::make_error_code(std::errc::operation_canceled);
        if (options_.delay.count() > 0)
          std::this_thread::sleep_for(options_.delay);
        if (position_ >= options_.fail_at)
          return std::make_error_code(std::errc::connection_reset);
        if (position_ >= content_->size())
          return {};
        std::uint64_t end = std::min<std::uint64_t>(content_->size(),
                                                    position_ + std::min(buf.size() - n, options_.max_chunk));
        end = std::min(end, options_.fail_at);  // deliver what precedes the failure first
        const auto chunk = static_cast<std::size_t>(end - position_);
        std::copy_n(content_->data() + position_, chunk, buf.data() + n);
        n += chunk;
        position_ = end;
        owner_.bytes_read_ += chunk;
      }
      return {};
    }

    void cancel() override { cancelled_ = true; }

   private:
    MemoryBlockSource& owner_;
    std::shared_ptr<const std::vector<char>> content_;
    std::uint64_t position_;
    Options options_;
    std::deque<std::span<char>> queued_;
    std::atomic<bool> cancelled_{false};
  };

  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<const std::vector<char>>> files_;
  Options options_;
  std::atomic<int> opens_{0};
  std::atomic<std::uint64_t> bytes_read_{0};
  std::atomic<int> open_streams_{0};
  std::atomic<int> waiting_{0};
  std::atomic<int> refused_{0};
  std::condition_variable streams_cv_;
  std::mutex fetch_threads_mutex_;
  std::vector<std::thread> fetch_threads_;
};

// Deterministic content, different at every offset of a file.
inline std::vector<char> pattern_bytes(std::size_t size, unsigned seed = 1) {
  std::vector<char> out(size);
  std::uint32_t x = seed * 2654435761u + 1;
  for (auto& c : out) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<char>(x >> 24);
  }
  return out;
}

}  // namespace testsupport
