#pragma once
// A no-progress deadline for the reads and writes of a data connection: an operation that moves no
// byte for `timeout` is stalled, and on_stall (closing the socket) makes it fail. One timer serves
// the connection's whole life and wakes at most once per timeout while data flows, where a
// deadline armed and cancelled around every read cost two timer system calls per 64 KiB received.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

#include "ftp/asio.h"

namespace ftp {

class StallWatch {
 public:
  StallWatch(const asio::any_io_executor& ex, std::chrono::milliseconds timeout);
  ~StallWatch();
  StallWatch(const StallWatch&) = delete;
  StallWatch& operator=(const StallWatch&) = delete;

  // An operation starts waiting for the socket; on_stall runs (on the I/O thread) if it then moves
  // nothing for the timeout. `moved`, when given, is asked for a count that grows while the
  // operation progresses out of sight: a large write completes only when the kernel has sent most
  // of it, and on a slow link that takes longer than the timeout although bytes leave all the time.
  void begin(std::function<void()> on_stall, std::function<std::uint64_t()> moved = nullptr);
  void progress();  // some bytes moved
  void end();       // the operation is over
  bool stalled() const { return state_->stalled; }
  void stop();  // no more operations: the timer goes

 private:
  struct State {
    std::chrono::milliseconds timeout;
    bool waiting = false;
    bool stalled = false;
    bool timer_running = false;
    bool stopped = false;
    std::chrono::steady_clock::time_point last_progress;
    std::function<void()> on_stall;
    std::function<std::uint64_t()> moved;
    std::uint64_t last_moved = 0;
  };
  static void schedule(const std::shared_ptr<State>& state, asio::steady_timer& timer,
                       std::chrono::steady_clock::duration after);

  asio::steady_timer timer_;
  // Shared with the pending wait, so a handler that runs after this object is gone finds it stopped.
  std::shared_ptr<State> state_;
};

}  // namespace ftp
