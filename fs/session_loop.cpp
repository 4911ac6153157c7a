#include "fs/session_loop.h"

#include <linux/fuse.h>
#include <pthread.h>
#include <semaphore.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <ctime>
#include <list>
#include <mutex>
#include <system_error>
#include <thread>

#include "cache/block_buffers.h"

namespace fs {
namespace {

// The headers in front of a WRITE request's data (protocol 7.9 and later).
constexpr std::size_t kWriteHeaders = sizeof(fuse_in_header) + sizeof(fuse_write_in);
// libfuse 3.14 reads up to its bufsize into the buffer it is given: FUSE_MAX_MAX_PAGES (256) pages of
// data and a page of headers, whatever max_write is.
constexpr std::size_t kReceiveSize = 256 * 4096 + 4096;
// Unused recycled receive blocks kept for the next requests: as many as a large write keeps in
// flight (the upload's queue and the staging writer's), so that none is mapped and zeroed anew.
constexpr std::size_t kMaxFreeBytes = 32u << 20;
// Receive blocks are mapped in huge pages (BlockBytes::Pages::huge). The kernel copies a WRITE's
// data into the block a page at a time, looking up and pinning each, and the upload's send reads it
// back on another thread; every 4 KiB page costs a lookup in both, and on a virtual machine each
// TLB miss walks two page tables. In huge pages, a 512 MiB copy into the mount went from 739 to 875
// MB/s (mean of 5 tries interleaved with the old build) and from about 11,000 page faults to 50.
// A block takes a whole 2 MiB page for its 1 MiB: there is one per worker and one per write in
// flight.
constexpr auto kReceivePages = cache::BlockBytes::Pages::huge;
constexpr int kWakeSignal = SIGUSR2;

// The block a worker receives its requests into. `taken` once an operation kept it.
struct Received {
  std::shared_ptr<cache::BlockBytes> block;
  bool taken = false;
};

// The calling worker's block. libfuse runs an operation on the thread that received its request
// and gives it no way to reach the loop, so the worker leaves this where the operation can see it.
Received*& current_received() {
  thread_local Received* received = nullptr;
  return received;
}

struct Worker {
  std::thread thread;
  std::atomic<bool> receiving{false};  // blocked (or about to block) in a receive
  std::atomic<bool> done{false};
};

class SessionLoop {
 public:
  SessionLoop(fuse_session* se, unsigned max_threads)
      : se_(se),
        max_threads_(max_threads < 1 ? 1 : max_threads),
        buffers_(kMaxFreeBytes, kWriteHeaders, kReceivePages) {
    sem_init(&finished_, 0, 0);
  }
  ~SessionLoop() { sem_destroy(&finished_); }
  SessionLoop(const SessionLoop&) = delete;
  SessionLoop& operator=(const SessionLoop&) = delete;

  int run() {
    struct sigaction wake {};
    wake.sa_handler = [](int) {};  // only to interrupt a blocked read: no SA_RESTART
    sigemptyset(&wake.sa_mask);
    struct sigaction previous {};
    sigaction(kWakeSignal, &wake, &previous);
    bool started = false;
    {
      std::lock_guard lock(mutex_);
      started = start_worker_locked();
    }
    if (!started) {
      sigaction(kWakeSignal, &previous, nullptr);
      return -EAGAIN;
    }
    // A signal's handler (fuse_set_signal_handlers) marks the session exited and interrupts the
    // wait; the timeout covers a signal that came just before the wait began.
    while (!fuse_session_exited(se_)) {
      timespec until{};
      clock_gettime(CLOCK_REALTIME, &until);
      until.tv_sec += 1;
      sem_timedwait(&finished_, &until);
    }
    wake_and_join();
    sigaction(kWakeSignal, &previous, nullptr);
    return error_.load();
  }

 private:
  // False when no thread could be started (the others go on serving).
  bool start_worker_locked() {
    auto& w = workers_.emplace_back();
    try {
      w.thread = std::thread([this, &w] { work(w); });
    } catch (const std::system_error&) {
      workers_.pop_back();
      return false;
    }
    ++waiting_;
    return true;
  }

  void work(Worker& w) {
    // The main thread takes the signals that end the mount (and the reporter its SIGUSR1).
    sigset_t mask;
    sigfillset(&mask);
    sigdelset(&mask, kWakeSignal);
    pthread_sigmask(SIG_SETMASK, &mask, nullptr);
    pthread_setname_np(pthread_self(), "ftpfs-fuse");
    Received received;
    current_received() = &received;
    while (true) {
      if (!received.block || received.taken) {
        received.block = buffers_.make(kReceiveSize);
        received.taken = false;
      }
      fuse_buf buf{};
      buf.mem = received.block->data() - kWriteHeaders;  // a WRITE's data lands on data()
      buf.size = kReceiveSize;
      w.receiving = true;
      if (fuse_session_exited(se_))
        break;
      const int res = fuse_session_receive_buf(se_, &buf);
      w.receiving = false;
      if (res == -EINTR)
        continue;
      if (res <= 0) {
        if (res < 0)
          error_ = res;
        fuse_session_exit(se_);
        break;
      }
      {
        std::lock_guard lock(mutex_);
        if (--waiting_ == 0 && workers_.size() < max_threads_ && !fuse_session_exited(se_))
          start_worker_locked();
      }
      fuse_session_process_buf(se_, &buf);
      // A block an operation took stays with it (and alive until libfuse was done with the request).
      if (received.taken)
        received.block.reset();
      std::lock_guard lock(mutex_);
      ++waiting_;
    }
    w.receiving = false;
    current_received() = nullptr;
    w.done = true;
    sem_post(&finished_);
  }

  // Workers blocked in a receive see the exit only when woken; a busy one finishes its request
  // first. The wake signal may arrive just before a worker blocks, so it is sent again until all
  // have ended.
  void wake_and_join() {
    while (true) {
      bool all_done = true;
      {
        std::lock_guard lock(mutex_);
        for (auto& w : workers_) {
          if (w.done)
            continue;
          all_done = false;
          if (w.receiving)
            pthread_kill(w.thread.native_handle(), kWakeSignal);
        }
      }
      if (all_done)
        break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    for (auto& w : workers_)
      w.thread.join();
  }

  fuse_session* se_;
  const unsigned max_threads_;
  cache::BlockBuffers buffers_;
  std::mutex mutex_;
  std::list<Worker> workers_;  // a list: each worker keeps a reference to its entry
  unsigned waiting_ = 0;       // workers waiting for a request
  std::atomic<int> error_{0};
  sem_t finished_;
};

}  // namespace

bool session_loop_fits(int libfuse_version) {
  return libfuse_version == 314;
}

int run_session_loop(fuse_session* se, unsigned max_threads) {
  SessionLoop loop(se, max_threads);
  return loop.run();
}

std::shared_ptr<cache::BlockBytes> take_received_block(const char* data, std::size_t size) {
  Received* r = current_received();
  if (r == nullptr || !r->block || r->taken || data != r->block->data() || size > r->block->capacity())
    return nullptr;
  r->taken = true;
  auto block = r->block;
  block->resize(size);
  return block;
}

}  // namespace fs
