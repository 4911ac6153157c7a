#pragma once
// A bounded pool of logged-in sessions (design.md section 2, "Session pool").
//
// An operation leases one session for one command exchange or one transfer; the RAII lease gives
// it back on destruction, and a session that was marked broken (or whose connection died) is
// destroyed instead of returned. When every session is leased, acquire() waits for one to come
// back, so any number of callers can share a few connections without deadlock. A server that
// answers a new connection with 421 ("too many connections") lowers the pool's limit to the number
// of sessions already open (at least 1) and the caller waits for one of those instead of failing.
//
// A transfer that may stay open while nobody uses it (a streaming upload whose writer is idle) must
// never hold the last session, or every other caller could wait for it forever: such transfers lease
// with try_acquire_spare(), which never waits and refuses when leasing would leave no session for
// anyone else.
//
// Thread rule: acquire(), the lease's destructor and shutdown() run on the I/O thread only (all
// pool state belongs to that thread); stats() may be called from anywhere.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <vector>

#include "ftp/asio.h"
#include "ftp/name_codec.h"
#include "ftp/result.h"
#include "ftp/session.h"
#include "ftp/session_config.h"

namespace ftp {

class SessionPool;

class SessionLease {
 public:
  SessionLease() = default;
  SessionLease(SessionPool* pool, std::unique_ptr<Session> session, bool reused)
      : pool_(pool), session_(std::move(session)), reused_(reused) {}
  SessionLease(SessionLease&& other) noexcept;
  SessionLease& operator=(SessionLease&& other) noexcept;
  ~SessionLease() { release(); }

  Session& operator*() const { return *session_; }
  Session* operator->() const { return session_.get(); }
  explicit operator bool() const { return static_cast<bool>(session_); }

  // The session must not be reused (its connection is in an unknown state).
  void mark_broken() {
    if (session_)
      session_->mark_broken();
  }
  // True when the session had been idle in the pool (the server may have dropped it meanwhile),
  // false when it was opened for this lease.
  bool reused() const { return reused_; }
  // Gives the session back now (or discards it when broken).
  void release();

 private:
  SessionPool* pool_ = nullptr;
  std::unique_ptr<Session> session_;
  bool reused_ = false;
};

struct PoolStats {
  unsigned sessions_open = 0;    // logged in or logging in
  unsigned sessions_in_use = 0;  // leased right now
  unsigned limit = 0;            // current cap (max_sessions, or lower after a 421)
  std::uint64_t generation = 0;  // sessions opened so far; grows with every reconnect
  unsigned waiting = 0;          // acquire() calls waiting for a session right now
};

class SessionPool {
 public:
  SessionPool(asio::any_io_executor ex, SessionConfig config, NameCodec codec, SessionLoggers loggers);
  ~SessionPool();
  SessionPool(const SessionPool&) = delete;
  SessionPool& operator=(const SessionPool&) = delete;

  // A logged-in session: an idle one (after a NOOP if it sat idle longer than idle_timeout), a new
  // one while below the limit, or the next one given back.
  Awaitable<Result<SessionLease>> acquire();
  // A session only when one is free right now (idle, or a new one may be opened) and leasing it still
  // leaves at least one more for other callers under the current limit, with nobody waiting; never
  // waits for another lease (only, for a round trip, for a session opening its data connection). Refuses with
  // std::errc::resource_unavailable_try_again otherwise. While the pool may still grow and fewer than two
  // sessions are idle, it opens a new session rather than taking the idle one, so a server's real connection
  // limit (421) is found here, and refused, before anyone depends on it; with two idle, one proven session
  // stays for the others.
  // With `patience`, a refusal is not final at once: it looks again whenever a session comes back,
  // until one is spare or the time is up.
  Awaitable<Result<SessionLease>> try_acquire_spare(std::chrono::milliseconds patience = {});
  // Opens one more session in the background while fewer than two are open, so that the first
  // transfer that must leave a session to others (try_acquire_spare) finds a proven spare instead
  // of logging in first. Failures only lower the limit (421) or are forgotten.
  void open_spare();
  // Says QUIT on idle sessions and refuses new leases; leased sessions close when given back.
  // Waits for a session open_spare() is still opening or one that is opening a data connection.
  Awaitable<void> shutdown();

  PoolStats stats() const;

 private:
  friend class SessionLease;
  // A session back from a lease: opens its next data connection ahead (Session::arm_data) when
  // nobody waits for it, then makes it idle.
  void give_back(std::unique_ptr<Session> session);
  void make_idle(std::unique_ptr<Session> session);
  void background_done();
  void wake_one();
  // Leases the newest idle session, checked with NOOP after idle_timeout; false when the idle list
  // ran empty (dead sessions are discarded on the way).
  Awaitable<bool> take_idle(SessionLease& out);
  // Opens a new session in a free slot (open_ < limit_ checked by the caller). On 421 the limit
  // drops to the sessions already open and `capped` is set; the caller decides whether to wait.
  Awaitable<Result<SessionLease>> open_new(bool& capped);
  // Idle sessions (counting those opening their next data connection, back in a round trip) plus
  // slots for new ones under the current limit.
  unsigned free_now() const;
  // Waits until a session is given back (or, for an uncounted wait, until `until`). Waits counted in
  // stats().waiting make streams give up their sessions (Client::sessions_wanted); a wait for an
  // arming session is too short for that, and a spare-only one must not take sessions from others.
  Awaitable<void> wait_for_session(
      bool counted, asio::steady_timer::time_point until = asio::steady_timer::time_point::max());
  void wake_lookers();
  std::chrono::milliseconds backoff() const;

  asio::any_io_executor ex_;
  SessionConfig config_;
  NameCodec codec_;
  SessionLoggers log_;
  std::vector<std::unique_ptr<Session>> idle_;
  std::list<asio::steady_timer*> waiters_;  // acquire() calls waiting for a session, oldest first
  // Uncounted waits (for an arming session, or a spare one); all of them look again whenever a
  // session comes back.
  std::list<asio::steady_timer*> lookers_;
  unsigned consecutive_failures_ = 0;
  bool shut_down_ = false;
  unsigned arming_ = 0;                            // sessions opening a data connection ahead
  unsigned background_ = 0;                        // open_spare() and arming coroutines running
  asio::steady_timer* background_done_ = nullptr;  // shutdown() waits on it for them

  std::atomic<unsigned> open_{0};
  std::atomic<unsigned> in_use_{0};
  std::atomic<unsigned> limit_;
  std::atomic<std::uint64_t> generation_{0};
  std::atomic<unsigned> waiting_{0};
};

}  // namespace ftp
