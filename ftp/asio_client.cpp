#include "ftp/asio_client.h"

#include <spdlog/logger.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <vector>

#include "ftp/error.h"

namespace ftp {
namespace {

// Names reach the control connection as command arguments; CR, LF or NUL would end the command
// early and let the rest become a second command. Refuse before leasing or sending anything.
Status check_name(std::string_view path) {
  if (path.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos) {
    return Error(make_error_code(Errc::bad_name), "refusing a path with CR, LF or NUL");
  }
  return Status{};
}

template <class R>
bool failed(const R& r) {
  return !static_cast<bool>(r);
}

// A session that sat idle may have been closed by the server in the meantime; that shows up as a
// lost connection or a 421 on its first command. A timeout is not retried: the server is there but
// slow, and a retry would only double the wait.
bool worth_retry(std::error_code ec) {
  return ec == make_error_code(Errc::connection_lost) || ec == make_error_code(Errc::service_unavailable);
}

// A session with a transfer started on it by `start` (Session& -> its data connection, or a null
// one to decline before sending anything: Errc::cancelled, and the session stays good). Spare only:
// a session that is not the last one free, waiting up to `patience` for one. An idle session whose
// connection turns out dead is replaced once, as for any idempotent command: nothing of the
// transfer has been sent yet.
struct StartedTransfer {
  SessionLease lease;
  std::unique_ptr<DataConnection> data;
};

template <class Start>
Awaitable<Result<StartedTransfer>> lease_and_start(SessionPool& pool, bool spare_only,
                                                   std::chrono::milliseconds patience, Start start) {
  for (int attempt = 0;; ++attempt) {
    // (No co_await inside ?: here: g++ 12 miscompiles it.)
    Result<SessionLease> lease = Error(make_error_code(Errc::cancelled));
    if (spare_only) {
      lease = co_await pool.try_acquire_spare(patience);
    } else {
      lease = co_await pool.acquire();
    }
    if (!lease)
      co_return lease.error();
    auto data = co_await start(**lease);
    if (data && !*data)
      co_return Error(make_error_code(Errc::cancelled), "transfer not started");
    if (data)
      co_return StartedTransfer{std::move(*lease), std::move(*data)};
    if (is_fatal(data.code())) {
      lease->mark_broken();
      if (lease->reused() && attempt == 0 && worth_retry(data.code()))
        continue;
    }
    co_return data.error();
  }
}

}  // namespace

// Receives on the I/O thread into the buffers the caller queued, one after another, for as long as
// there are any: the caller's thread only waits when the oldest one is not full yet. Only the pump
// coroutine and the destructor touch the lease and the data connection, both on the I/O thread.
class AsioClient::AsioDownload final : public Download {
 public:
  AsioDownload(AsioClient& client, SessionLease lease, std::unique_ptr<DataConnection> data,
               std::uint64_t offset)
      : client_(client),
        lease_(std::move(lease)),
        data_(std::move(data)),
        pump_stopped_(client.io_.context()),
        offset_(offset) {}

  ~AsioDownload() override {
    {
      // Read to its end (or failed) and handed back by the pump: nothing left to do on the I/O thread.
      std::lock_guard lock(mutex_);
      if (settled_ && !pumping_)
        return;
    }
    client_.run<int>([this]() -> Awaitable<int> {
      bool pumping = false;
      {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        pumping = pumping_;
      }
      if (pumping) {
        // The pump writes into the caller's buffers: it must be gone before they are.
        if (data_)
          data_->cancel();
        pump_stopped_.expires_at(asio::steady_timer::time_point::max());
        boost::system::error_code ignored;
        co_await pump_stopped_.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
      }
      if (data_) {
        // At the data's end only the 226 is missing; otherwise ABOR.
        // (No co_await inside ?: here: g++ 12 miscompiles it.)
        Status st;
        if (data_->eof()) {
          st = co_await lease_->finish_transfer(std::move(data_), false);
        } else {
          st = co_await lease_->abort_transfer(std::move(data_));
        }
        if (!st)
          lease_.mark_broken();
      }
      lease_.release();
      co_return 0;
    });
  }

  // Bytes that arrived before a failure are returned first; the failure comes with the next call.
  Result<std::size_t> read(std::span<char> buf) override {
    if (buf.empty())
      return std::size_t{0};
    queue(buf);
    return take_front(true);
  }

  void queue(std::span<char> buf) override { add(buf, true); }
  void queue_quiet(std::span<char> buf) override { add(buf, false); }

  Result<std::size_t> next() override { return take_front(false); }

  void cancel() override {
    {
      std::lock_guard lock(mutex_);
      canceled_ = true;
    }
    cv_.notify_all();
  }

  std::uint64_t offset() const override { return offset_.load(); }

 private:
  struct Pending {
    std::span<char> buf;
    std::size_t filled = 0;
    bool done = false;
    bool wake = true;  // its fill wakes a waiting next() (queue_quiet: only when it is the last)
  };

  void add(std::span<char> buf, bool wake) {
    std::lock_guard lock(mutex_);
    pending_.push_back({buf, 0, false, wake});
    if (error_.code || ended_ || stopping_) {
      pending_.back().done = true;
      return;
    }
    if (!pumping_) {
      pumping_ = true;
      asio::co_spawn(client_.io_.context(), pump(), [this](std::exception_ptr e) {
        if (!e)
          return;
        {
          std::lock_guard lock(mutex_);
          error_ = Error(make_error_code(Errc::protocol_error), "download receiver failed");
          for (auto& p : pending_)
            p.done = true;
          stop_pumping_locked();
        }
        cv_.notify_all();
      });
    }
  }

  // Waits for the oldest queued buffer. A buffer the data did not fill because of a failure is the
  // failure, unless `partial` asks for the bytes that did arrive.
  Result<std::size_t> take_front(bool partial) {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [&] { return canceled_ || pending_.empty() || pending_.front().done; });
    if (canceled_)
      return Error(make_error_code(Errc::cancelled), "download cancelled");
    if (pending_.empty())
      return Error(make_error_code(Errc::protocol_error), "next() without a queued buffer");
    const Pending front = pending_.front();
    pending_.pop_front();
    if (front.filled < front.buf.size() && error_.code && !(partial && front.filled > 0))
      return error_;
    return front.filled;
  }

  // Runs on the I/O thread while buffers are queued.
  Awaitable<void> pump() {
    for (;;) {
      std::span<char> target;
      {
        std::lock_guard lock(mutex_);
        auto it = std::find_if(pending_.begin(), pending_.end(), [](const Pending& p) { return !p.done; });
        if (stopping_ || it == pending_.end() || !data_) {
          stop_pumping_locked();
          co_return;
        }
        target = it->buf.subspan(it->filled);
      }
      Result<std::size_t> n = co_await data_->read_some(target);
      if (n && *n > 0) {
        offset_ += *n;
        client_.bytes_down_ += *n;
        bool wake = false;
        {
          std::lock_guard lock(mutex_);
          auto it = std::find_if(pending_.begin(), pending_.end(), [](const Pending& p) { return !p.done; });
          it->filled += *n;
          it->done = it->filled == it->buf.size();
          // A quiet buffer wakes the waiter only as the last one queued: no later fill would.
          wake = it->done && (it->wake || std::next(it) == pending_.end());
        }
        if (wake)
          cv_.notify_all();
        continue;
      }
      Error error;
      bool stopping = false;
      {
        std::lock_guard lock(mutex_);
        stopping = stopping_;
      }
      if (stopping) {
        // The destructor cancelled the read; it ends the transfer itself.
      } else if (n) {  // the data's clean end: the transfer is complete once the server says so
        auto done = co_await lease_->finish_transfer(std::move(data_), false);
        lease_.release();
        if (!done)
          error = done.error();
      } else if (n.code() == make_error_code(Errc::timeout)) {
        lease_.mark_broken();  // a stalled server gets no second chance to hang us
        data_.reset();
        lease_.release();
        error = n.error();
      } else {
        error = co_await lease_->fail_transfer(std::move(data_), n.error());
        lease_.release();
      }
      if (error.code && error.code != make_error_code(Errc::transfer_aborted) && !is_fatal(error.code)) {
        // Whatever the server said, the data did not arrive: never let it look like success.
        error = Error(make_error_code(Errc::transfer_aborted), error.message());
      }
      std::lock_guard lock(mutex_);
      if (!stopping) {
        error_ = error;
        ended_ = !error.code;
        settled_ = true;  // the lease and the data connection are handed back
        for (auto& p : pending_)
          p.done = true;
      }
      stop_pumping_locked();
      // Under the lock: once it is released, the destructor may find the download settled and
      // free it without waiting for this coroutine.
      cv_.notify_all();
      co_return;
    }
  }

  void stop_pumping_locked() {
    pumping_ = false;
    pump_stopped_.cancel();  // wakes the destructor if it waits (both run on the I/O thread)
  }

  AsioClient& client_;
  // I/O thread only: the pump, and the destructor once the pump has stopped.
  SessionLease lease_;
  std::unique_ptr<DataConnection> data_;
  asio::steady_timer pump_stopped_;
  std::atomic<std::uint64_t> offset_;

  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Pending> pending_;
  bool pumping_ = false;   // a pump coroutine is running or scheduled
  bool stopping_ = false;  // the destructor runs
  bool canceled_ = false;
  bool ended_ = false;    // the verified end of the file was reached
  bool settled_ = false;  // the pump ended the transfer and gave the session back
  Error error_;           // sticky: a failed download stays failed
};

// Starts and sends on the I/O thread while the caller goes on. The transfer starts in the
// background (a session, the data connection, STOR and its 150), so the writer's first write()
// does not wait for those round trips; write() queues the bytes (a copy, or the caller's buffer
// kept alive by its owner) and returns, so the writer's next request overlaps the send of this one.
// The queue is bounded; a writer faster than the link waits in write(). A failure to start or to
// send is reported by a later write() or by finish().
class AsioClient::AsioUpload final : public Upload {
 public:
  explicit AsioUpload(AsioClient& client) : client_(client) {}

  ~AsioUpload() override {
    wait_until_idle();  // the starter and the sender use this object
    if (!data_ && !lease_)
      return;
    client_.run<int>([this]() -> Awaitable<int> {
      if (data_) {
        Status st = co_await lease_->abort_transfer(std::move(data_));
        if (!st)
          lease_.mark_broken();
      }
      lease_.release();
      co_return 0;
    });
  }

  // Begins the transfer on the I/O thread; the upload must not be destroyed before that ran
  // (the destructor waits for it).
  void start(std::string path, UploadMode mode, bool spare_only) {
    asio::co_spawn(client_.io_.context(), run_start(std::move(path), mode, spare_only),
                   [this](std::exception_ptr e) {
                     if (e)
                       stop(Error(make_error_code(Errc::protocol_error), "upload start failed"));
                   });
  }

  Status write(std::span<const char> data) override {
    auto copy = std::make_shared<const std::vector<char>>(data.begin(), data.end());
    return write_shared({copy->data(), copy->size()}, copy);
  }

  Status write_shared(std::span<const char> data, std::shared_ptr<const void> owner) override {
    std::unique_lock lock(mutex_);
    sent_cv_.wait(lock, [&] { return error_.code || queued_ == 0 || queued_ + data.size() <= kMaxQueued; });
    if (error_.code)
      return error_;
    if (finished_)
      return Error(make_error_code(Errc::protocol_error), "write after finish");
    if (data.empty())
      return Status{};
    queue_.push_back({data, std::move(owner)});
    queued_ += data.size();
    if (!starting_ && !sending_)
      spawn_sender_locked();
    return Status{};
  }

  Status finish() override {
    wait_until_idle();
    {
      std::lock_guard lock(mutex_);
      if (error_.code)
        return error_;
      finished_ = true;
    }
    if (!data_)
      return Status{};
    return client_.run<Status>([this]() -> Awaitable<Status> {
      auto st = co_await lease_->finish_transfer(std::move(data_), true);
      lease_.release();
      if (!st) {
        std::lock_guard lock(mutex_);
        error_ = st.error();
      }
      co_return st;
    });
  }

  std::uint64_t bytes_written() const override { return written_.load(); }

 private:
  static constexpr std::size_t kMaxQueued = 8u << 20;

  // Bytes waiting to be sent, kept valid by their owner.
  struct Chunk {
    std::span<const char> bytes;
    std::shared_ptr<const void> owner;
  };

  // Runs on the I/O thread: a session (a spare one only, when asked), then STOR/APPE.
  Awaitable<void> run_start(std::string path, UploadMode mode, bool spare_only) {
    // Early: the first bytes go out without waiting for the 150 (Session::start_store).
    auto started = co_await lease_and_start(*client_.pool_, spare_only, {}, [&](Session& s) {
      return s.start_store(path, mode, /*early=*/true);
    });
    if (!started) {
      stop(started.error());
      co_return;
    }
    lease_ = std::move(started->lease);
    data_ = std::move(started->data);
    {
      std::lock_guard lock(mutex_);
      starting_ = false;
      if (queue_.empty()) {
        sent_cv_.notify_all();
        co_return;
      }
      sending_ = true;
    }
    co_await send_queued();
  }

  void spawn_sender_locked() {
    sending_ = true;
    asio::co_spawn(client_.io_.context(), send_queued(), [this](std::exception_ptr e) {
      if (e)
        stop(Error(make_error_code(Errc::protocol_error), "upload sender failed"));
    });
  }

  // Runs on the I/O thread until the queue is empty or a send fails.
  Awaitable<void> send_queued() {
    for (;;) {
      Chunk chunk;
      {
        std::lock_guard lock(mutex_);
        if (queue_.empty()) {
          sending_ = false;
          sent_cv_.notify_all();
          co_return;
        }
        chunk = std::move(queue_.front());
        queue_.pop_front();
      }
      if (written_ > 0) {
        // After the first bytes, the server's 150 must have come: a refused STOR stops here
        // instead of filling the connection's buffers for nothing.
        if (auto confirmed = co_await lease_->confirm_transfer(); !confirmed) {
          data_.reset();
          if (is_fatal(confirmed.code()))
            lease_.mark_broken();
          lease_.release();
          stop(confirmed.error());
          co_return;
        }
      }
      auto st = co_await data_->write_all(chunk.bytes);
      if (!st) {
        Error error;
        if (st.code() == make_error_code(Errc::timeout)) {
          lease_.mark_broken();
          data_.reset();
          error = st.error();
        } else {
          // The server may have said why it cut us off (552 disk full, 451...).
          error = co_await lease_->fail_transfer(std::move(data_), st.error());
        }
        lease_.release();
        stop(error);
        co_return;
      }
      written_ += chunk.bytes.size();
      client_.bytes_up_ += chunk.bytes.size();
      {
        std::lock_guard lock(mutex_);
        queued_ -= chunk.bytes.size();
      }
      sent_cv_.notify_all();
    }
  }

  // Ends the starter or the sender with an error that later calls report.
  void stop(Error error) {
    std::lock_guard lock(mutex_);
    error_ = std::move(error);
    queue_.clear();
    queued_ = 0;
    starting_ = false;
    sending_ = false;
    sent_cv_.notify_all();
  }

  void wait_until_idle() {
    std::unique_lock lock(mutex_);
    sent_cv_.wait(lock, [&] { return !starting_ && !sending_; });
  }

  AsioClient& client_;
  // Used on the I/O thread only (by the starter and the sender, or by finish() and the destructor
  // once they stopped).
  SessionLease lease_;
  std::unique_ptr<DataConnection> data_;
  std::atomic<std::uint64_t> written_{0};

  std::mutex mutex_;
  std::condition_variable sent_cv_;
  std::deque<Chunk> queue_;
  std::size_t queued_ = 0;
  bool starting_ = true;
  bool sending_ = false;
  bool finished_ = false;
  Error error_;
};

// A whole file into the caller's buffers, entirely on the I/O thread: a spare session, RETR, the
// data, the 226, and the completion, with no handoff to another thread on the way.
class AsioClient::AsioWholeFetch final : public WholeFetch,
                                         public std::enable_shared_from_this<AsioClient::AsioWholeFetch> {
 public:
  AsioWholeFetch(AsioClient& client, std::string path, std::vector<std::span<char>> buffers,
                 std::chrono::milliseconds patience, std::function<void(Result<std::size_t>)> done)
      : client_(client),
        path_(std::move(path)),
        buffers_(std::move(buffers)),
        patience_(patience),
        done_(std::move(done)) {}

  void start() {
    asio::co_spawn(
        client_.io_.context(), run(shared_from_this()), [self = shared_from_this()](std::exception_ptr e) {
          if (e)
            self->complete(Error(make_error_code(Errc::protocol_error), "whole-file download failed"));
        });
  }

  void cancel() override {
    asio::post(client_.io_.context(), [self = shared_from_this()] {
      self->cancelled_ = true;
      if (self->data_)
        self->data_->cancel();
    });
  }

 private:
  // Runs on the I/O thread; `self` keeps the object alive until the end.
  static Awaitable<void> run(std::shared_ptr<AsioWholeFetch> self) { co_await self->fetch(); }

  Awaitable<void> fetch() {
    auto started = co_await lease_and_start(
        *client_.pool_, true, patience_,
        [&](Session& s) -> Awaitable<Result<std::unique_ptr<DataConnection>>> {
          if (cancelled_)
            co_return std::unique_ptr<DataConnection>();  // cancelled while waiting for the session
          co_return co_await s.start_retrieve(path_, 0);
        });
    if (!started)
      co_return complete(started.error());
    SessionLease lease = std::move(started->lease);
    data_ = std::move(started->data);
    std::size_t total = 0;
    Result<std::size_t> n = std::size_t{0};
    bool ended = false;
    for (auto buf : buffers_) {
      while (!buf.empty()) {
        n = co_await data_->read_some(buf);
        if (!n || *n == 0)
          break;
        total += *n;
        client_.bytes_down_ += *n;
        buf = buf.subspan(*n);
      }
      if (!n || *n == 0) {
        ended = static_cast<bool>(n);
        break;
      }
    }
    if (n && !ended) {
      // Every buffer is full: one more read sees the data's end, so the transfer ends with 226.
      char probe[1];
      n = co_await data_->read_some(probe);
      ended = n && *n == 0;
    }
    Status finished;
    if (!n && (cancelled_ || n.code() == make_error_code(Errc::timeout))) {
      lease.mark_broken();  // a stalled or abandoned transfer: the session is not reused
      data_.reset();
    } else if (!n) {
      const Error e = co_await lease->fail_transfer(std::move(data_), n.error());
      finished = e.code ? Status(e) : Status{};
    } else if (ended) {
      finished = co_await lease->finish_transfer(std::move(data_), false);
    } else {
      finished = co_await lease->abort_transfer(std::move(data_));  // longer than expected
    }
    if (!finished && is_fatal(finished.code()))
      lease.mark_broken();
    lease.release();
    if (cancelled_)
      co_return complete(Error(make_error_code(Errc::cancelled), "prefetch cancelled"));
    if (!n)
      co_return complete(n.error());
    if (!finished)
      co_return complete(finished.error());
    complete(total);
  }

  void complete(Result<std::size_t> result) {
    if (auto done = std::exchange(done_, nullptr))
      done(std::move(result));
  }

  AsioClient& client_;
  const std::string path_;
  const std::vector<std::span<char>> buffers_;
  const std::chrono::milliseconds patience_;
  std::function<void(Result<std::size_t>)> done_;
  // I/O thread only.
  std::unique_ptr<DataConnection> data_;
  bool cancelled_ = false;
};

std::shared_ptr<WholeFetch> AsioClient::fetch_whole_if_spare(std::string_view path,
                                                             std::vector<std::span<char>> buffers,
                                                             std::chrono::milliseconds patience,
                                                             std::function<void(Result<std::size_t>)> done) {
  if (auto bad = check_name(path); !bad) {
    done(bad.error());
    return nullptr;
  }
  auto fetch = std::make_shared<AsioWholeFetch>(*this, std::string(path), std::move(buffers), patience,
                                                std::move(done));
  fetch->start();
  return fetch;
}

AsioClient::AsioClient(SessionConfig config, NameCodec codec, SessionLoggers loggers)
    : log_(std::move(loggers)) {
  pool_ =
      std::make_unique<SessionPool>(io_.context().get_executor(), std::move(config), std::move(codec), log_);
}

AsioClient::~AsioClient() {
  io_.start();  // no-op when running; shutdown below needs the loop
  run<int>([this]() -> Awaitable<int> {
    co_await pool_->shutdown();
    co_return 0;
  });
  io_.stop();
  pool_.reset();
}

Result<std::unique_ptr<AsioClient>> AsioClient::connect(SessionConfig config, SessionLoggers loggers) {
  auto codec = NameCodec::create(config.encoding);
  if (!codec)
    return codec.error();
  std::unique_ptr<AsioClient> client(
      new AsioClient(std::move(config), std::move(*codec), std::move(loggers)));
  client->io_.start();
  auto first = client->run<Status>([c = client.get()]() -> Awaitable<Status> {
    auto lease = co_await c->pool_->acquire();
    if (!lease)
      co_return lease.error();
    c->features_ = (*lease)->features();
    c->initial_dir_ = (*lease)->initial_directory();
    co_return Status{};
  });
  if (!first)
    return first.error();
  return client;
}

void AsioClient::open_spare_session() {
  asio::post(io_.context(), [this] { pool_->open_spare(); });
}

bool AsioClient::sessions_wanted() const {
  return pool_->stats().waiting > 0;
}

ClientStats AsioClient::stats() const {
  return ClientStats{pool_->stats(), bytes_down_.load(), bytes_up_.load()};
}

template <class R, class Op>
R AsioClient::run(Op op) {
  return run_sync<R>(io_.context(), std::move(op));
}

template <class R, class Op>
Awaitable<R> AsioClient::with_session(Op op, bool idempotent) {
  for (int attempt = 0;; ++attempt) {
    auto lease = co_await pool_->acquire();
    if (!lease)
      co_return lease.error();
    const bool reused = lease->reused();
    R r = co_await op(**lease);
    if (failed(r) && is_fatal(r.code())) {
      lease->mark_broken();
      const bool retry = idempotent && reused && attempt == 0 && worth_retry(r.code());
      if (retry) {
        if (log_.ftp)
          log_.ftp->debug("retrying on a new session after: {}", r.error().message());
        continue;
      }
    }
    co_return r;
  }
}

Result<std::vector<DirEntry>> AsioClient::list(std::string_view dir) {
  if (auto bad = check_name(dir); !bad)
    return bad.error();
  using R = Result<std::vector<DirEntry>>;
  return run<R>([this, dir]() -> Awaitable<R> {
    co_return co_await with_session<R>([dir](Session& s) { return s.list(dir); }, true);
  });
}

Result<DirEntry> AsioClient::stat_with(std::string_view path,
                                       Awaitable<Result<DirEntry>> (Session::*how)(std::string_view)) {
  if (auto bad = check_name(path); !bad)
    return bad.error();
  using R = Result<DirEntry>;
  return run<R>([this, path, how]() -> Awaitable<R> {
    co_return co_await with_session<R>([path, how](Session& s) { return (s.*how)(path); }, true);
  });
}

Result<DirEntry> AsioClient::stat(std::string_view path) {
  return stat_with(path, &Session::stat);
}

Result<DirEntry> AsioClient::stat_unlisted(std::string_view path) {
  return stat_with(path, &Session::stat_unlisted);
}

Result<DirEntry> AsioClient::stat_size(std::string_view path) {
  return stat_with(path, &Session::stat_size);
}

Result<std::unique_ptr<Download>> AsioClient::download(std::string_view path, std::uint64_t offset) {
  return start_download(path, offset, false);
}

Result<std::unique_ptr<Download>> AsioClient::download_if_spare(std::string_view path, std::uint64_t offset) {
  return start_download(path, offset, true);
}

Result<std::unique_ptr<Download>> AsioClient::start_download(std::string_view path, std::uint64_t offset,
                                                             bool spare_only) {
  if (auto bad = check_name(path); !bad)
    return bad.error();
  using R = Result<std::unique_ptr<Download>>;
  return run<R>([this, path, offset, spare_only]() -> Awaitable<R> {
    auto started = co_await lease_and_start(*pool_, spare_only, {},
                                            [&](Session& s) { return s.start_retrieve(path, offset); });
    if (!started)
      co_return started.error();
    co_return std::unique_ptr<Download>(
        std::make_unique<AsioDownload>(*this, std::move(started->lease), std::move(started->data), offset));
  });
}

Result<std::unique_ptr<Upload>> AsioClient::upload(std::string_view path, UploadMode mode) {
  return start_upload(path, mode, false);
}

Result<std::unique_ptr<Upload>> AsioClient::upload_if_spare(std::string_view path, UploadMode mode) {
  return start_upload(path, mode, true);
}

Result<std::unique_ptr<Upload>> AsioClient::start_upload(std::string_view path, UploadMode mode,
                                                         bool spare_only) {
  if (auto bad = check_name(path); !bad)
    return bad.error();
  auto upload = std::make_unique<AsioUpload>(*this);
  upload->start(std::string(path), mode, spare_only);
  return std::unique_ptr<Upload>(std::move(upload));
}

Status AsioClient::make_directory(std::string_view path) {
  if (auto bad = check_name(path); !bad)
    return bad;
  return run<Status>([this, path]() -> Awaitable<Status> {
    co_return co_await with_session<Status>([path](Session& s) { return s.make_directory(path); }, true);
  });
}

Status AsioClient::remove_directory(std::string_view path) {
  if (auto bad = check_name(path); !bad)
    return bad;
  return run<Status>([this, path]() -> Awaitable<Status> {
    co_return co_await with_session<Status>([path](Session& s) { return s.remove_directory(path); }, false);
  });
}

Status AsioClient::remove_file(std::string_view path) {
  if (auto bad = check_name(path); !bad)
    return bad;
  return run<Status>([this, path]() -> Awaitable<Status> {
    co_return co_await with_session<Status>([path](Session& s) { return s.remove_file(path); }, false);
  });
}

Status AsioClient::rename(std::string_view from, std::string_view to) {
  if (auto bad = check_name(from); !bad)
    return bad;
  if (auto bad = check_name(to); !bad)
    return bad;
  return run<Status>([this, from, to]() -> Awaitable<Status> {
    co_return co_await with_session<Status>([from, to](Session& s) { return s.rename(from, to); }, false);
  });
}

Status AsioClient::set_mode(std::string_view path, std::uint32_t mode) {
  if (auto bad = check_name(path); !bad)
    return bad;
  // A server that does not know SITE CHMOD (500/502/504) never will: cp -p, rsync and tar -x would
  // otherwise spend a round trip per file on the same answer. (A 550 may depend on the file.)
  if (chmod_unsupported_.load())
    return Error(make_error_code(Errc::not_supported), "SITE CHMOD (the server does not implement it)");
  // One that refused the last files (refusal_streak.h) is asked only now and then.
  if (!chmod_refusals_.should_ask())
    return Error(make_error_code(Errc::permission_denied), "SITE CHMOD (refused for the last files)");
  auto status = run<Status>([this, path, mode]() -> Awaitable<Status> {
    co_return co_await with_session<Status>([path, mode](Session& s) { return s.set_mode(path, mode); },
                                            true);
  });
  if (status.code() == make_error_code(Errc::not_supported))
    chmod_unsupported_ = true;
  if (status || is_refusal(status.code()))
    chmod_refusals_.answered(!status);
  return status;
}

Status AsioClient::set_mtime(std::string_view path, std::chrono::system_clock::time_point mtime) {
  if (auto bad = check_name(path); !bad)
    return bad;
  if (!mtime_refusals_.should_ask())
    return Error(make_error_code(Errc::permission_denied), "setting a time (refused for the last files)");
  auto status = run<Status>([this, path, mtime]() -> Awaitable<Status> {
    co_return co_await with_session<Status>([path, mtime](Session& s) { return s.set_mtime(path, mtime); },
                                            true);
  });
  if (status || is_refusal(status.code()))
    mtime_refusals_.answered(!status);
  return status;
}

}  // namespace ftp
