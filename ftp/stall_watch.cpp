#include "ftp/stall_watch.h"

namespace ftp {

StallWatch::StallWatch(const asio::any_io_executor& ex, std::chrono::milliseconds timeout)
    : timer_(ex), state_(std::make_shared<State>()) {
  state_->timeout = timeout;
}

StallWatch::~StallWatch() {
  stop();
}

void StallWatch::begin(std::function<void()> on_stall, std::function<std::uint64_t()> moved) {
  state_->waiting = true;
  state_->on_stall = std::move(on_stall);
  state_->moved = std::move(moved);
  state_->last_moved = state_->moved ? state_->moved() : 0;
  state_->last_progress = std::chrono::steady_clock::now();
  if (!state_->timer_running && !state_->stopped)
    schedule(state_, timer_, state_->timeout);
}

void StallWatch::progress() {
  state_->last_progress = std::chrono::steady_clock::now();
}

void StallWatch::end() {
  state_->waiting = false;
  state_->on_stall = nullptr;
  state_->moved = nullptr;
  state_->last_progress = std::chrono::steady_clock::now();
}

void StallWatch::stop() {
  state_->stopped = true;
  state_->on_stall = nullptr;
  state_->moved = nullptr;
  timer_.cancel();
}

void StallWatch::schedule(const std::shared_ptr<State>& state, asio::steady_timer& timer,
                          std::chrono::steady_clock::duration after) {
  state->timer_running = true;
  timer.expires_after(after);
  timer.async_wait([state, &timer](const boost::system::error_code& ec) {
    // `timer` is only touched while not stopped: the owner stops (and cancels) before it goes.
    if (ec || state->stopped) {
      state->timer_running = false;
      return;
    }
    if (!state->waiting) {
      state->timer_running = false;  // the next begin() starts it again
      return;
    }
    if (state->moved) {
      if (const std::uint64_t moved = state->moved(); moved != state->last_moved) {
        state->last_moved = moved;
        state->last_progress = std::chrono::steady_clock::now();
      }
    }
    const auto idle = std::chrono::steady_clock::now() - state->last_progress;
    if (idle < state->timeout) {
      schedule(state, timer, state->timeout - idle);
      return;
    }
    state->timer_running = false;
    state->stalled = true;
    if (auto on_stall = std::move(state->on_stall))
      on_stall();
  });
}

}  // namespace ftp
