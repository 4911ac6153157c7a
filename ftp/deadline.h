#pragma once
// A deadline for one socket operation at a time. Boost 1.74 has no awaitable operators to race a
// timer against a read, so the timer instead runs a cancel action (closing or cancelling the
// socket) when it fires; the operation then fails with operation_aborted and expired() tells a
// timeout apart from a real cancellation.

#include <chrono>
#include <functional>
#include <memory>

#include "ftp/asio.h"

namespace ftp {

class Deadline {
 public:
  explicit Deadline(const asio::any_io_executor& ex);
  ~Deadline();
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;

  // Starts the clock; on expiry `on_expire` runs on the I/O thread (unless disarmed first).
  void arm(std::chrono::milliseconds timeout, std::function<void()> on_expire);
  void disarm();
  bool expired() const { return state_->expired; }

 private:
  // Shared with the pending wait so a handler that is already queued when this object dies finds
  // a cleared action instead of a dangling pointer.
  struct State {
    std::uint64_t generation = 0;
    bool expired = false;
    std::function<void()> on_expire;
  };
  asio::steady_timer timer_;
  std::shared_ptr<State> state_;
};

// Arms `deadline` for the scope of one operation.
class DeadlineScope {
 public:
  DeadlineScope(Deadline& d, std::chrono::milliseconds timeout, std::function<void()> on_expire) : d_(d) {
    d_.arm(timeout, std::move(on_expire));
  }
  ~DeadlineScope() { d_.disarm(); }
  DeadlineScope(const DeadlineScope&) = delete;
  DeadlineScope& operator=(const DeadlineScope&) = delete;

 private:
  Deadline& d_;
};

}  // namespace ftp
