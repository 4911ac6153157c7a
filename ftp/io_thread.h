#pragma once
// The single I/O thread: one io_context that owns every socket and timer of the client, kept alive
// by a work guard and run by one std::thread (design.md section 2, "Threading").

#include <future>
#include <optional>
#include <thread>

#include "ftp/asio.h"

namespace ftp {

class IoThread {
 public:
  IoThread();
  ~IoThread();
  IoThread(const IoThread&) = delete;
  IoThread& operator=(const IoThread&) = delete;

  void start();
  // Stops the loop and joins the thread. Idempotent. Work still queued is dropped, so callers
  // finish their operations first.
  void stop();

  asio::io_context& context() { return io_; }
  asio::io_context::executor_type executor() { return io_.get_executor(); }
  bool running_in_this_thread() { return io_.get_executor().running_in_this_thread(); }

 private:
  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard_;
  std::thread thread_;
};

// Runs a coroutine on the I/O thread and blocks the calling thread until it is done: the sync-over-
// async pattern of Boost.MySQL. `make` returns an Awaitable<R>. Must not be called from the I/O
// thread itself (it would wait for itself). co_spawn's use_future needs a default-constructible
// result, which Result<T> is not, so the promise is filled by hand.
template <class R, class MakeAwaitable>
R run_sync(asio::io_context& io, MakeAwaitable make) {
  std::promise<R> promise;
  auto future = promise.get_future();
  asio::co_spawn(
      io,
      [&promise, make = std::move(make)]() mutable -> Awaitable<void> { promise.set_value(co_await make()); },
      [&promise](std::exception_ptr e) {
        if (e)
          promise.set_exception(e);
      });
  return future.get();
}

}  // namespace ftp
