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

Awaitable<bool> SessionPool::take_idle(SessionLease& out) {
  while (!idle_.empty()) {
    auto session = std::move(idle_.back());
    idle_.pop_back();
    ++in_use_;
    if (std::chrono::steady_clock::now() - session->last_used() > config_.idle_timeout) {
      // Servers drop idle control connections; find out now rather than in the middle of work. A
      // data connection opened that long ago is not trusted either.
      session->disarm();
      auto alive = co_await session->noop();
      if (!alive || session->broken()) {
        if (log_.ftp)
          log_.ftp->debug("idle session {} is gone: {}", session->generation(), alive.error().message());
        session->mark_broken();
        give_back(std::move(session));
        continue;
      }
    }
    out = SessionLease(this, std::move(session), true);
    co_return true;
  }
  co_return false;
}

Awaitable<Result<SessionLease>> SessionPool::open_new(bool& capped) {
  capped = false;
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
  if (session.code() == make_error_code(Errc::too_many_connections) && open_ > 0) {
    limit_ = std::max(1u, open_.load());
    capped = true;
    if (log_.ftp) {
      log_.ftp->info("server refused another connection ({}); using at most {} sessions",
                     session.error().detail, limit_.load());
    }
    wake_one();  // another waiter may be able to use an idle session
  } else {
    ++consecutive_failures_;
    wake_one();  // the slot is free again for someone else to try
  }
  co_return session.error();
}

unsigned SessionPool::free_now() const {
  const unsigned open = open_.load(), limit = limit_.load();
  return static_cast<unsigned>(idle_.size()) + arming_ + (limit > open ? limit - open : 0u);
}

Awaitable<void> SessionPool::wait_for_session(bool counted, asio::steady_timer::time_point until) {
  asio::steady_timer wake(ex_, counted ? asio::steady_timer::time_point::max() : until);
  auto& list = counted ? waiters_ : lookers_;
  auto self = list.insert(list.end(), &wake);
  boost::system::error_code ignored;
  if (counted)
    ++waiting_;
  co_await wake.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  if (counted)
    --waiting_;
  list.erase(self);
}

Awaitable<Result<SessionLease>> SessionPool::acquire() {
  for (;;) {
    if (shut_down_)
      co_return Error(make_error_code(Errc::cancelled), "client is shutting down");

    SessionLease lease;
    if (co_await take_idle(lease))
      co_return std::move(lease);
    // A session opening its data connection is back in one round trip: sooner than a login.
    if (arming_ > 0) {
      co_await wait_for_session(false);
      continue;
    }

    if (open_ < limit_) {
      bool capped = false;
      auto opened = co_await open_new(capped);
      if (opened || !capped)
        co_return opened;
      // The server allows no more connections: wait below for one of ours.
    }

    // Wait until a session is given back (or a slot frees up).
    co_await wait_for_session(true);
  }
}

Awaitable<Result<SessionLease>> SessionPool::try_acquire_spare(std::chrono::milliseconds patience) {
  const auto until = asio::steady_timer::clock_type::now() + patience;
  const auto refuse = [] {
    return Error(std::make_error_code(std::errc::resource_unavailable_try_again),
                 "no spare session: leasing it would leave none for other callers");
  };
  for (;;) {
    if (shut_down_)
      co_return Error(make_error_code(Errc::cancelled), "client is shutting down");
    // Callers already waiting come first, and the session taken here must not be the last one free.
    if (waiting_ > 0 || free_now() < 2) {
      if (asio::steady_timer::clock_type::now() >= until)
        co_return refuse();
      co_await wait_for_session(false, until);
      continue;
    }
    if (arming_ > 0 && idle_.size() < 2) {
      co_await wait_for_session(false);  // one round trip; then decide with it idle
      continue;
    }

    // Two idle sessions: one is taken, the other is proven to be there for everyone else.
    if (idle_.size() >= 2) {
      SessionLease lease;
      if (co_await take_idle(lease))
        co_return std::move(lease);
      continue;  // dead ones were dropped: look again
    }
    // A new session proves that the server accepts one more connection; an idle one proves nothing
    // about the slot left for others. After failed connects, do not add to the backoff here.
    if (open_ < limit_ && consecutive_failures_ == 0) {
      bool capped = false;
      auto opened = co_await open_new(capped);
      if (opened || !capped)
        co_return opened;
      continue;  // the limit just dropped: look again
    }
    if (idle_.size() < 2)
      co_return refuse();  // the one idle session is all that is left for everyone else
    SessionLease lease;
    if (co_await take_idle(lease))
      co_return std::move(lease);
  }
}

void SessionPool::give_back(std::unique_ptr<Session> session) {
  if (!shut_down_ && !session->broken() && !session->armed() && waiting_ == 0 &&
      config_.data_mode == DataMode::passive) {
    // Still counted in use: a caller that comes meanwhile waits the one round trip it takes.
    ++background_;
    ++arming_;
    asio::co_spawn(
        ex_,
        [this, s = std::move(session)]() mutable -> Awaitable<void> {
          if (auto armed = co_await s->arm_data(); !armed && log_.ftp)
            log_.ftp->debug("opening a data connection ahead: {}", armed.error().message());
          --arming_;
          make_idle(std::move(s));
          background_done();
        },
        asio::detached);
    return;
  }
  make_idle(std::move(session));
}

void SessionPool::background_done() {
  if (--background_ == 0 && background_done_)
    background_done_->cancel();
}

void SessionPool::wake_lookers() {
  for (auto* timer : lookers_)
    timer->expires_at(asio::steady_timer::time_point::min());  // look again, all of them
}

void SessionPool::make_idle(std::unique_ptr<Session> session) {
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
  wake_lookers();  // uncounted waits look again at every change
  for (auto* timer : waiters_) {
    // A woken waiter stays in the list until it runs; cancel() on it again would be harmless but
    // would waste the wake-up on the same waiter, so skip timers that are already woken.
    if (timer->expiry() == asio::steady_timer::time_point::min())
      continue;
    timer->expires_at(asio::steady_timer::time_point::min());  // cancels the pending wait
    return;
  }
}

void SessionPool::open_spare() {
  if (shut_down_ || open_ >= std::min(2u, limit_.load()))
    return;
  ++background_;
  asio::co_spawn(
      ex_,
      [this]() -> Awaitable<void> {
        {
          bool capped = false;
          auto lease = co_await open_new(capped);  // given back as idle at the end of this scope
        }
        background_done();
      },
      asio::detached);
}

Awaitable<void> SessionPool::shutdown() {
  shut_down_ = true;
  if (background_ > 0) {
    asio::steady_timer done(ex_, asio::steady_timer::time_point::max());
    background_done_ = &done;
    boost::system::error_code ignored;
    while (background_ > 0)
      co_await done.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    background_done_ = nullptr;
  }
  auto idle = std::move(idle_);
  idle_.clear();
  for (auto& session : idle) {
    co_await session->quit();
    session.reset();
    --open_;
  }
  for (auto* timer : waiters_)
    timer->cancel();
  for (auto* timer : lookers_)
    timer->cancel();
}

}  // namespace ftp
