#pragma once
// The synchronous face of the FTP client, used by fs/ from FUSE worker threads. The real
// implementation (ftp::AsioClient) runs each call as a coroutine on the single I/O thread with a
// deadline; tests use an in-memory fake. Paths are absolute server paths ("/dir/file").

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ftp/dir_entry.h"
#include "ftp/features.h"
#include "ftp/result.h"

namespace ftp {

// A RETR in progress, holding one leased session. Reading to the end verifies the transfer (data
// connection closed cleanly and 226/250 received) before the end is reported. Destroying a download
// before its end aborts it: the data connection is closed and the control connection is either
// brought back to a clean state (ABOR / 426+226) and returned to the pool, or discarded.
//
// Bytes are read in one of two ways, not both on one download:
//  - read(): up to buf.size() bytes, 0 at the verified end of the file;
//  - pipelined: queue() hands over buffers that are filled in order with the file's next bytes,
//    each until it is full or the data ends, while the caller goes on; next() waits for the oldest.
//    The connection is drained into the queued buffers without waiting for the caller, so a reader
//    that keeps a few buffers queued never lets the transfer stall between its requests.
class Download {
 public:
  virtual ~Download() = default;
  virtual Result<std::size_t> read(std::span<char> buf) = 0;
  // The buffer must stay valid until next() returned it, or until the download is destroyed.
  virtual void queue(std::span<char> buf) = 0;
  // Like queue(), but filling this buffer need not wake a next() that waits for it: the fill of a
  // later buffer queued with queue(), or of the last one queued, the end and an error do. A caller
  // that hands buffers on in groups wakes once per group then; each wake-up is a system call on the
  // thread that receives the data.
  virtual void queue_quiet(std::span<char> buf) { queue(buf); }
  // The oldest queued buffer's byte count: its size, or less at the verified end of the file (0 for
  // buffers queued after the end). An error when its bytes did not all arrive.
  virtual Result<std::size_t> next() = 0;
  // Makes waiting next() calls, and every later one, return Errc::cancelled at once (a reader that
  // seeked away or closed). Callable from any thread.
  virtual void cancel() = 0;
  // Server offset of the next byte to arrive.
  virtual std::uint64_t offset() const = 0;
};

// A STOR/APPE in progress, holding one leased session. finish() closes the data connection and
// waits for the server's 226/250: only then is the upload complete. Destroying an upload without
// finish() aborts it; the server may keep a partial file.
class Upload {
 public:
  virtual ~Upload() = default;
  // May return before the bytes are on the wire (the data is copied): a failure to send them is
  // reported by a later write() or by finish(), never lost.
  virtual Status write(std::span<const char> data) = 0;
  // The same for bytes that stay valid while `owner` is held: the upload keeps `owner` until they
  // are sent instead of copying them. The default copies.
  virtual Status write_shared(std::span<const char> data, std::shared_ptr<const void> owner) {
    (void)owner;
    return write(data);
  }
  virtual Status finish() = 0;
  // Bytes handed to the data connection so far.
  virtual std::uint64_t bytes_written() const = 0;
};

enum class UploadMode { replace, append };

// A whole-file download running in the background (Client::fetch_whole_if_spare).
class WholeFetch {
 public:
  virtual ~WholeFetch() = default;
  // Ends the wait for a session or the transfer soon; the completion still comes, once.
  virtual void cancel() = 0;
};

class Client {
 public:
  virtual ~Client() = default;

  // One listing per directory (MLSD where offered, else LIST -a / LIST).
  virtual Result<std::vector<DirEntry>> list(std::string_view dir) = 0;
  // Attributes of one path (MLST where offered, else SIZE+MDTM / a probe with CWD). The name of the
  // returned entry is the last path component ("/" for the root).
  virtual Result<DirEntry> stat(std::string_view path) = 0;
  // For checking an upload: the size in one round trip (MLST where offered, else SIZE, without
  // mtime); stat() where the server has neither.
  virtual Result<DirEntry> stat_size(std::string_view path) { return stat(path); }
  // stat() of a name its parent's listing, just fetched, does not show (servers hide some names
  // from listings): the same, except that it does not look in that listing once more, which
  // stat() does where the server has no MLST and neither SIZE nor CWD knows the name.
  virtual Result<DirEntry> stat_unlisted(std::string_view path) { return stat(path); }

  virtual Result<std::unique_ptr<Download>> download(std::string_view path, std::uint64_t offset) = 0;
  // Like download(), for a transfer nobody waits for yet (prefetch): same rule as upload_if_spare().
  virtual Result<std::unique_ptr<Download>> download_if_spare(std::string_view path, std::uint64_t offset) {
    return download(path, offset);
  }
  // Reads a whole file into `buffers`, in order, on a spare session (the rule of download_if_spare,
  // waiting up to `patience` for one to become spare), without a thread of the caller's: done gets
  // the bytes received (less than the buffers hold when the file ended early) or the error,
  // std::errc::resource_unavailable_try_again when no session was spare in time. done runs once, on
  // the client's thread or the caller's, and must not block; the buffers must stay valid until then.
  // For prefetching many small files: one trip per file instead of one per request.
  virtual std::shared_ptr<WholeFetch> fetch_whole_if_spare(std::string_view path,
                                                           std::vector<std::span<char>> buffers,
                                                           std::chrono::milliseconds patience,
                                                           std::function<void(Result<std::size_t>)> done) = 0;

  // An upload may start in the background: a failure to start (no session, STOR refused) is then
  // reported by a later write() or finish() instead of here.
  virtual Result<std::unique_ptr<Upload>> upload(std::string_view path, UploadMode mode) = 0;
  // Like upload(), for a transfer that may stay open while its writer is idle (streaming a file as
  // it is written): starts only on a session that is free right now and is not the last one free,
  // never waits for one, and otherwise fails (std::errc::resource_unavailable_try_again, here or at
  // the next write() or finish()) so the caller can upload later instead. Held this way, idle
  // uploads can never take every session. A client without a shared pool of sessions has nothing
  // to protect and simply uploads.
  virtual Result<std::unique_ptr<Upload>> upload_if_spare(std::string_view path, UploadMode mode) {
    return upload(path, mode);
  }

  virtual Status make_directory(std::string_view path) = 0;
  virtual Status remove_directory(std::string_view path) = 0;
  virtual Status remove_file(std::string_view path) = 0;
  virtual Status rename(std::string_view from, std::string_view to) = 0;
  virtual Status set_mode(std::string_view path, std::uint32_t mode) = 0;  // SITE CHMOD
  // MFMT where FEAT lists it, else the "MDTM time path" form some servers accept; not_supported
  // otherwise.
  virtual Status set_mtime(std::string_view path, std::chrono::system_clock::time_point mtime) = 0;

  // Features of the server as seen at login.
  virtual Features features() const = 0;

  // True while some caller waits for a session: holders of idle transfers (an open download that
  // nobody reads) should end them, so that every caller makes progress. Callable from any thread.
  virtual bool sessions_wanted() const { return false; }
};

}  // namespace ftp
