#pragma once
// One logged-in FTP session: a control connection plus what the server told us at login (features,
// initial directory), and the verbs the client needs, each an awaitable on the I/O thread.
//
// A session is used by one operation at a time (the pool's lease guarantees it). After an error
// for which is_fatal() is true, or any failure while cleaning up a transfer, broken() turns true
// and the session must be discarded: its control connection is in an unknown state.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <spdlog/logger.h>

#include "ftp/asio.h"
#include "ftp/client.h"
#include "ftp/control_connection.h"
#include "ftp/data_connection.h"
#include "ftp/dir_entry.h"
#include "ftp/features.h"
#include "ftp/listing_parser.h"
#include "ftp/name_codec.h"
#include "ftp/result.h"
#include "ftp/session_config.h"

namespace ftp {

struct SessionLoggers {
  std::shared_ptr<spdlog::logger> ftp;   // "ftp": session events
  std::shared_ptr<spdlog::logger> wire;  // "ftp.wire": command/reply transcript (trace)
};

class Session {
 public:
  // Connects, reads the banner and logs in: USER/PASS/ACCT, FEAT, OPTS UTF8 ON where offered,
  // TYPE I, PWD.
  static Awaitable<Result<std::unique_ptr<Session>>> open(asio::any_io_executor ex,
                                                          const SessionConfig& config, NameCodec codec,
                                                          SessionLoggers loggers, std::uint64_t generation);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  const Features& features() const { return features_; }
  const std::string& initial_directory() const { return initial_dir_; }
  std::uint64_t generation() const { return generation_; }
  bool broken() const { return broken_ || !control_.is_open(); }
  void mark_broken() { broken_ = true; }
  std::chrono::steady_clock::time_point last_used() const { return last_used_; }

  Awaitable<Result<std::vector<DirEntry>>> list(std::string_view dir);
  Awaitable<Result<DirEntry>> stat(std::string_view path);
  // stat() of a name the caller did not find in its parent's listing (Client::stat_unlisted).
  Awaitable<Result<DirEntry>> stat_unlisted(std::string_view path);
  // A file's size in one round trip (MLST where offered, else SIZE alone, so no mtime), for
  // checking an upload; stat() where the server has neither.
  Awaitable<Result<DirEntry>> stat_size(std::string_view path);

  // Starts RETR (after REST when offset > 0); the caller reads the returned data connection and
  // then calls finish_transfer() at its end, or abort_transfer() to stop early.
  Awaitable<Result<std::unique_ptr<DataConnection>>> start_retrieve(std::string_view path,
                                                                    std::uint64_t offset);
  // With `early`, on a data connection opened ahead moments ago, returns right after sending STOR/APPE
  // without waiting for the server's 150: the caller may send the first bytes at once (they wait in
  // the connection's buffers) and calls confirm_transfer() before sending more.
  Awaitable<Result<std::unique_ptr<DataConnection>>> start_store(std::string_view path, UploadMode mode,
                                                                 bool early = false);
  // Reads the 150/125 that an early start_store() did not wait for (nothing when there is none): a
  // refusal (550, 553...) is the error.
  Awaitable<Status> confirm_transfer();
  // Ends a transfer whose data connection reached its clean end (download) or whose last byte was
  // written (upload): closes the data connection and requires 226/250 on the control connection.
  Awaitable<Status> finish_transfer(std::unique_ptr<DataConnection> data, bool upload);
  // After the data connection failed: closes it and collects the server's final reply, so the
  // session stays in step. Returns the error that describes the failure best (the server's 4xx/5xx
  // if it sent one, e.g. 552 on an upload, else `failure`).
  Awaitable<Error> fail_transfer(std::unique_ptr<DataConnection> data, Error failure);
  // Stops a transfer early: closes the data connection, sends ABOR and reads the transfer's final
  // reply and ABOR's reply within the command timeout. Any failure marks the session broken.
  Awaitable<Status> abort_transfer(std::unique_ptr<DataConnection> data);

  Awaitable<Status> make_directory(std::string_view path);
  Awaitable<Status> remove_directory(std::string_view path);
  Awaitable<Status> remove_file(std::string_view path);
  Awaitable<Status> rename(std::string_view from, std::string_view to);
  Awaitable<Status> set_mode(std::string_view path, std::uint32_t mode);
  Awaitable<Status> set_mtime(std::string_view path, std::chrono::system_clock::time_point mtime);
  Awaitable<Status> noop();
  // Passive mode: opens the next transfer's data connection now (EPSV or PASV, then connect), while
  // the session waits in the pool, so that its transfer starts with the transfer command alone: two
  // round trips less for each file of a cp -r. A transfer that finds it closed, or whose command the
  // server answers with 425 (it gave up waiting), opens a new one.
  Awaitable<Status> arm_data();
  bool armed() const { return armed_ != nullptr; }
  void disarm() { armed_.reset(); }
  // Polite goodbye within a short deadline; the session is closed afterwards either way.
  Awaitable<void> quit();

 private:
  Session(asio::any_io_executor ex, const SessionConfig& config, NameCodec codec, SessionLoggers loggers,
          std::uint64_t generation);

  Awaitable<Status> login();
  // Sends a command; a transport failure or a negative reply becomes an error naming the command.
  Awaitable<Result<Reply>> exchange(std::string_view verb, std::string_view arg = {});
  // exchange() and require the reply code to be one of `expected` (e.g. 250 for DELE).
  Awaitable<Status> expect(std::string_view verb, std::string_view arg, int code1, int code2 = -1,
                           int code3 = -1);
  Awaitable<Result<std::unique_ptr<DataConnection>>> open_data();
  // REST `offset`, expecting 350; nothing to send for offset 0.
  Awaitable<Status> restart_at(std::uint64_t offset);
  Awaitable<Result<std::unique_ptr<DataConnection>>> start_transfer(std::string_view verb,
                                                                    std::string_view arg, std::uint64_t rest,
                                                                    bool early = false);
  Awaitable<Result<std::string>> read_all(DataConnection& data);
  Awaitable<Result<std::vector<DirEntry>>> list_once(std::string_view verb, std::string_view arg,
                                                     ListingFormat format);
  Awaitable<Result<DirEntry>> stat_entry(std::string_view path, bool look_in_listing);
  // look_in_listing: as a last resort, search the parent's listing for the name.
  Awaitable<Result<DirEntry>> stat_without_mlst(std::string_view path, const std::string& server_path,
                                                bool look_in_listing);

  // Many servers (vsftpd) answer a missing path with a bare "550 Failed to ...". When `e` is that
  // ambiguous file_unavailable, a stat tells not_found apart from a refusal.
  Awaitable<Error> refine_missing(std::string_view path, Error e);
  Error note(Error e);  // marks the session broken for fatal errors, passes the error on
  Error reply_error(const Reply& reply, std::string_view verb, std::string_view arg);
  void touch() { last_used_ = std::chrono::steady_clock::now(); }

  asio::any_io_executor ex_;
  SessionConfig config_;
  NameCodec codec_;
  SessionLoggers log_;
  std::uint64_t generation_;
  ControlConnection control_;
  Features features_;
  std::string initial_dir_ = "/";
  bool epsv_ok_ = true;
  std::unique_ptr<DataConnection> armed_;  // see arm_data()
  std::chrono::steady_clock::time_point armed_at_;
  bool preliminary_pending_ = false;  // an early start_store() did not read its 150 yet
  bool broken_ = false;
  std::chrono::steady_clock::time_point last_used_ = std::chrono::steady_clock::now();
};

}  // namespace ftp
