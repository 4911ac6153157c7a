#include "ftp/session_pool.h"

#include <algorithm>

#include "ftp/error.h"

namespace ftp {

SessionLease::SessionLease(SessionLease&& other) noexcept
    : pool_(other.pool_), session_(std::move(other.session_)), reused_(other.reused_) {}

SessionLease& SessionLease::operator=(SessionLease&& other) noexcept {
  if (this != &other) {
    release();
    pool_ = other.pool_;
    session_ = std::move(other.session_);
    reused_ = other.reused_;
  }
  return *this;
}

void SessionLease::release() {
  if (session_ && pool_)
    pool_->give_back(std::move(session_));
  session_.reset();
}

SessionPool::SessionPool(asio::any_io_executor ex, SessionConfig config, NameCodec codec,
                         SessionLoggers loggers)
    : ex_(ex),
      config_(std::move(config)),
      codec_(std::move(codec)),
      log_(std::move(loggers)),
      limit_(std::max(1u, config_.max_sessions)) {}

SessionPool::~SessionPool() = default;

PoolStats SessionPool::stats() const {
  return PoolStats{open_.load(), in_use_.load(), limit_.load(), generation_.load(), waiting_.load()};
}

std::chrono::milliseconds SessionPool::backoff() const {
  if (consecutive_failures_ == 0)
    return std::chrono::milliseconds(0);
  const auto shift = std::min(consecutive_failures_ - 1, 5u);
  return std::min(std::chrono::milliseconds(100) * (1 << shift), std::chrono::milliseconds(2000));
}

Awaitable<Result<SessionLease>> SessionPool::acquire() {
  for (;;) {
    if (shut_down_)
      co_return Error(make_error_code(Errc::cancelled), "client is shutting down");

    while (!idle_.empty()) {
      auto session = std::move(idle_.back());
      idle_.pop_back();
      ++in_use_;
      if (std::chrono::steady_clock::now() - session->last_used() > config_.idle_timeout) {
        // Servers drop idle control connections; find out now rather than in the middle of work.
        auto alive = co_await session->noop();
        if (!alive || session->broken()) {
          if (log_.ftp)
            log_.ftp->debug("idle session {} is gone: {}", session->generation(), alive.error().message());
          session->mark_broken();
          give_back(std::move(session));
          continue;
        }
      }
      co_return SessionLease(this, std::move(session), true);
    }

    if (open_ < limit_) {
      ++open_;
      ++in_use_;
      if (const auto delay = backoff(); delay.count() > 0) {
        asio::steady_timer pause(ex_, delay);
        boost::system::error_code ignored;
        co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
      }
      const auto generation = ++generation_;
      auto session = co_await Session::open(ex_, config_, codec_, log_, generation);
      if (session) {
        consecutive_failures_ = 0;
        co_return SessionLease(this, std::move(*session), false);
      }
      --open_;
      --in_use_;
      const auto code = session.code();
      if (code == make_error_code(Errc::too_many_connections) && open_ > 0) {
        limit_ = std::max(1u, open_.load());
        if (log_.ftp) {
          log_.ftp->info("server refused another connection ({}); using at most {} sessions",
                         session.error().detail, limit_.load());
        }
        wake_one();  // another waiter may be able to use an idle session; this caller waits below
      } else {
        ++consecutive_failures_;
        wake_one();  // the slot is free again for someone else to try
        co_return session.error();
      }
    }

    // Wait until a session is given back (or a slot frees up).
    asio::steady_timer wake(ex_, asio::steady_timer::time_point::max());
    auto self = waiters_.insert(waiters_.end(), &wake);
    boost::system::error_code ignored;
    ++waiting_;
    co_await wake.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    --waiting_;
    waiters_.erase(self);
  }
}

void SessionPool::give_back(std::unique_ptr<Session> session) {
  --in_use_;
  if (shut_down_ || session->broken()) {
    if (log_.ftp)
      log_.ftp->debug("discarding session {}", session->generation());
    session.reset();
    --open_;
  } else {
    idle_.push_back(std::move(session));
  }
  wake_one();
}

void SessionPool::wake_one() {
  for (auto* timer : waiters_) {
    // A woken waiter stays in the list until it runs; cancel() on it again would be harmless but
    // would waste the wake-up on the same waiter, so skip timers that are already woken.
    if (timer->expiry() == asio::steady_timer::time_point::min())
      continue;
    timer->expires_at(asio::steady_timer::time_point::min());  // cancels the pending wait
    return;
  }
}

Awaitable<void> SessionPool::shutdown() {
  shut_down_ = true;
  auto idle = std::move(idle_);
  idle_.clear();
  for (auto& session : idle) {
    co_await session->quit();
    session.reset();
    --open_;
  }
  for (auto* timer : waiters_)
    timer->cancel();
}

}  // namespace ftp
