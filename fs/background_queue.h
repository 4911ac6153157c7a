#pragma once
// One worker thread that runs small jobs in order, off the caller's thread. Used to tell the kernel
// to drop cached pages of a file after an upload: that notification must not run inside the FUSE
// request that caused it (libfuse warns it can deadlock there).

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace fs {

class BackgroundQueue {
 public:
  BackgroundQueue();
  ~BackgroundQueue();  // runs what is queued, then joins
  BackgroundQueue(const BackgroundQueue&) = delete;
  BackgroundQueue& operator=(const BackgroundQueue&) = delete;

  void post(std::function<void()> job);

 private:
  void run();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace fs
