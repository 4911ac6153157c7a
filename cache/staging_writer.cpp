#include "cache/staging_writer.h"

#include <pthread.h>

#include <unistd.h>

#include <cerrno>

namespace cache {
namespace {

std::error_code pwrite_all(int fd, const char* p, std::size_t n, std::uint64_t offset) {
  while (n > 0) {
    const ssize_t w = ::pwrite(fd, p, n, static_cast<off_t>(offset));
    if (w < 0) {
      if (errno == EINTR)
        continue;
      return {errno, std::system_category()};
    }
    p += w;
    n -= static_cast<std::size_t>(w);
    offset += static_cast<std::uint64_t>(w);
  }
  return {};
}

}  // namespace

void StagedWrites::begin() {
  std::lock_guard lock(mutex_);
  ++outstanding_;
}

void StagedWrites::end(std::error_code ec) {
  {
    std::lock_guard lock(mutex_);
    --outstanding_;
    if (ec && !error_)
      error_ = ec;
  }
  done_.notify_all();
}

std::error_code StagedWrites::wait() {
  std::unique_lock lock(mutex_);
  done_.wait(lock, [&] { return outstanding_ == 0; });
  return error_;
}

std::error_code StagedWrites::failed() {
  std::lock_guard lock(mutex_);
  return error_;
}

StagingWriter::StagingWriter(std::size_t max_queued_bytes) : max_queued_bytes_(max_queued_bytes) {}

StagingWriter::~StagingWriter() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  work_.notify_all();
  if (thread_.joinable())
    thread_.join();
}

bool StagingWriter::write(std::shared_ptr<StagedWrites> writes, int fd, int fallback_fd, std::uint64_t offset,
                          std::shared_ptr<const BlockBytes> data, std::size_t length) {
  std::unique_lock lock(mutex_);
  if (max_queued_bytes_ == 0 || (queued_bytes_ != 0 && queued_bytes_ + length > max_queued_bytes_))
    return false;
  writes->begin();
  queued_bytes_ += length;
  jobs_.push_back({std::move(writes), fd, fallback_fd, offset, std::move(data), length});
  if (!thread_.joinable())
    thread_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "ftpfs-staging");
      run();
    });
  lock.unlock();
  work_.notify_one();
  return true;
}

void StagingWriter::run() {
  std::unique_lock lock(mutex_);
  while (true) {
    work_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
    if (jobs_.empty())
      return;  // stopping, and everything queued is written
    Job job = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    std::error_code ec = pwrite_all(job.fd, job.data->data(), job.length, job.offset);
    if (ec == std::errc::invalid_argument && job.fallback_fd >= 0)
      ec = pwrite_all(job.fallback_fd, job.data->data(), job.length, job.offset);
    lock.lock();
    queued_bytes_ -= job.length;  // before end(): whoever waited for this write finds the room
    lock.unlock();
    job.writes->end(ec);
    lock.lock();
  }
}

}  // namespace cache
