#pragma once
// ftp::Client over Boost.Asio: one I/O thread, a pool of logged-in sessions, and synchronous
// methods that run each operation as a coroutine on that thread and wait for it (Boost.MySQL's
// sync-over-async pattern; design.md section 2). Safe to call from many threads at once.
//
// Retries: an idempotent operation (list, stat, download/upload start, mkdir, chmod, mtime) that fails
// because the connection was lost or closed with 421 on a session that had been sitting idle in the
// pool (the server may have closed it meanwhile) is retried once on a new session. Everything else reports
// its first error.
//
// Uploads start in the background (a session, the data connection, STOR): upload() returns at once
// and a failure to start shows at the next write() or finish(). Idle sessions open their next data
// connection ahead (Session::arm_data), so a transfer usually costs its command alone.
//
// Downloads and uploads each hold one session for their whole life. A download destroyed before
// its end is aborted: the data connection is reset, ABOR is sent and both final replies are read
// within the command timeout; the session then goes back to the pool, or is discarded if any of
// that failed. An upload destroyed without finish() is aborted the same way (the server may keep
// a partial file). Downloads and uploads must be destroyed before the client.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "ftp/client.h"
#include "ftp/io_thread.h"
#include "ftp/refusal_streak.h"
#include "ftp/session.h"
#include "ftp/session_config.h"
#include "ftp/session_pool.h"

namespace ftp {

struct ClientStats {
  PoolStats pool;
  std::uint64_t bytes_downloaded = 0;
  std::uint64_t bytes_uploaded = 0;
};

class AsioClient final : public Client {
 public:
  // Starts the I/O thread and logs in once, so a wrong password or an unreachable host fails here;
  // that session stays in the pool. Null loggers log nothing.
  static Result<std::unique_ptr<AsioClient>> connect(SessionConfig config, SessionLoggers loggers = {});
  ~AsioClient() override;

  Result<std::vector<DirEntry>> list(std::string_view dir) override;
  Result<DirEntry> stat(std::string_view path) override;
  Result<DirEntry> stat_size(std::string_view path) override;
  Result<DirEntry> stat_unlisted(std::string_view path) override;
  Result<std::unique_ptr<Download>> download(std::string_view path, std::uint64_t offset) override;
  Result<std::unique_ptr<Download>> download_if_spare(std::string_view path, std::uint64_t offset) override;
  std::shared_ptr<WholeFetch> fetch_whole_if_spare(std::string_view path,
                                                   std::vector<std::span<char>> buffers,
                                                   std::chrono::milliseconds patience,
                                                   std::function<void(Result<std::size_t>)> done) override;
  Result<std::unique_ptr<Upload>> upload(std::string_view path, UploadMode mode) override;
  Result<std::unique_ptr<Upload>> upload_if_spare(std::string_view path, UploadMode mode) override;
  Status make_directory(std::string_view path) override;
  Status remove_directory(std::string_view path) override;
  Status remove_file(std::string_view path) override;
  Status rename(std::string_view from, std::string_view to) override;
  Status set_mode(std::string_view path, std::uint32_t mode) override;
  Status set_mtime(std::string_view path, std::chrono::system_clock::time_point mtime) override;
  Features features() const override { return features_; }
  bool sessions_wanted() const override;

  // Opens a second session in the background (SessionPool::open_spare): the mount's first
  // streaming upload or prefetch then starts without a login round trip sequence.
  void open_spare_session();

  // The working directory the server put us in at login (PWD), e.g. "/" or "/home/user".
  std::string initial_directory() const { return initial_dir_; }
  ClientStats stats() const;

 private:
  class AsioDownload;
  class AsioUpload;
  class AsioWholeFetch;

  AsioClient(SessionConfig config, NameCodec codec, SessionLoggers loggers);

  template <class R, class Op>
  R run(Op op);
  // Leases a session and runs op(Session&) on it, with the one retry described above.
  template <class R, class Op>
  Awaitable<R> with_session(Op op, bool idempotent);
  // download() and download_if_spare(): REST+RETR on a session leased with acquire() or, when
  // spare_only, with try_acquire_spare().
  // One of the session's ways to ask for a path's attributes, on a pooled session, with retries.
  Result<DirEntry> stat_with(std::string_view path,
                             Awaitable<Result<DirEntry>> (Session::*how)(std::string_view));
  Result<std::unique_ptr<Download>> start_download(std::string_view path, std::uint64_t offset,
                                                   bool spare_only);
  // upload() and upload_if_spare(): STOR/APPE, started in the background on a session leased with
  // acquire() or, when spare_only, with try_acquire_spare().
  Result<std::unique_ptr<Upload>> start_upload(std::string_view path, UploadMode mode, bool spare_only);

  SessionLoggers log_;
  IoThread io_;
  std::unique_ptr<SessionPool> pool_;
  Features features_;
  std::string initial_dir_ = "/";
  std::atomic<std::uint64_t> bytes_down_{0};
  std::atomic<std::uint64_t> bytes_up_{0};
  std::atomic<bool> chmod_unsupported_{false};  // SITE CHMOD answered 500/502/504 once
  // After 3 refusals in a row, SITE CHMOD and setting a time go out every 32nd time only.
  RefusalStreak chmod_refusals_{3, 32};
  RefusalStreak mtime_refusals_{3, 32};
};

}  // namespace ftp
