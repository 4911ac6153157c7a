#include "ftp/deadline.h"

namespace ftp {

Deadline::Deadline(const asio::any_io_executor& ex) : timer_(ex), state_(std::make_shared<State>()) {}

Deadline::~Deadline() {
  state_->on_expire = nullptr;
  ++state_->generation;
}

void Deadline::arm(std::chrono::milliseconds timeout, std::function<void()> on_expire) {
  const auto generation = ++state_->generation;
  state_->expired = false;
  state_->on_expire = std::move(on_expire);
  timer_.expires_after(timeout);
  timer_.async_wait([state = state_, generation](const boost::system::error_code& ec) {
    if (ec || state->generation != generation)
      return;
    state->expired = true;
    if (state->on_expire)
      state->on_expire();
  });
}

void Deadline::disarm() {
  ++state_->generation;
  state_->on_expire = nullptr;
  timer_.cancel();
}

}  // namespace ftp
