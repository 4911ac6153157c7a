// The FUSE adapter: a table of noexcept trampolines that turn fs::Operations results into FUSE
// replies. No semantics live here (model: mountpoint-s3 fuse.rs). A failed operation is logged
// once, here, with its name, path and errno.

#include "fs/fuse_adapter.h"

#include <fcntl.h>
#include <fuse.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fs/background_queue.h"
#include "fs/errno_map.h"
#include "fs/kernel_readahead.h"
#include "fs/logging.h"
#include "fs/mounted_filesystem.h"
#include "fs/reply_pipe.h"
#include "fs/session_loop.h"
#include "fs/signal_reporter.h"

namespace fs {
namespace {

// The most the kernel reads ahead of a FUSE file (the INIT reply's max_readahead, and the mount's
// read_ahead_kb where root may set it).
constexpr unsigned kMaxReadahead = 1u << 20;

struct AdapterState {
  const Config* config = nullptr;
  fuse* session = nullptr;
  std::unique_ptr<BackgroundQueue> invalidations;  // declared before `mounted`: outlives its users
  std::unique_ptr<MountedFilesystem> mounted;
  bool started = false;  // init logged in and served; decides the exit status
};

AdapterState& state() {
  return *static_cast<AdapterState*>(fuse_get_context()->private_data);
}

// Runs one operation: no exception crosses into C, every failure is logged once.
template <class F>
int guarded(const char* op, const char* path, F&& body) noexcept {
  try {
    auto& st = state();
    if (!st.mounted)
      return -ENOTCONN;
    return body(st.mounted->operations());
  } catch (const std::exception& e) {
    spdlog::get("fs")->error("{} {}: internal error: {}", op, path ? path : "", e.what());
  } catch (...) {
    spdlog::get("fs")->error("{} {}: internal error", op, path ? path : "");
  }
  return -EIO;
}

int fail(const char* op, const char* path, const ftp::Error& error) {
  const int e = to_errno(error.code);
  auto log = spdlog::get("fs");
  // ENOENT on lookups is routine (shells probe for files); it is not an error worth a line.
  const auto level = e == ENOENT ? spdlog::level::debug : spdlog::level::warn;
  log->log(level, "{} {}: {} ({})", op, path, error.message(), std::strerror(e));
  return -e;
}

int status_reply(const char* op, const char* path, const ftp::Status& s) {
  return s ? 0 : fail(op, path, s.error());
}

void* op_init(fuse_conn_info* conn, fuse_config* cfg) {
  auto* st = static_cast<AdapterState*>(fuse_get_context()->private_data);
  const Config& config = *st->config;
  cfg->use_ino = 0;
  cfg->nullpath_ok = 0;
  // Keep the page cache across opens while size and mtime are unchanged; never trust it blindly.
  cfg->kernel_cache = 0;
  cfg->auto_cache = 1;
  // An unlinked open file must not be renamed to .fuse_hidden on the server.
  cfg->hard_remove = 1;
  // The kernel may trust names and attributes as long as our metadata cache does: a shorter timeout
  // only makes it ask again (a LOOKUP per entry of a listed directory) for what we already hold.
  // Changes made through the mount update the kernel directly (replies, and invalidation after
  // uploads); changes on the server show after cache_timeout either way.
  const double timeout = config.cache_timeout.count() / 1000.0;
  cfg->entry_timeout = timeout;
  cfg->attr_timeout = timeout;
  cfg->negative_timeout = std::min(1.0, config.negative_timeout.count() / 1000.0);
  // Up to 1 MiB per read and write request (libfuse derives max_pages from max_write).
  conn->max_write = 1u << 20;
  conn->max_readahead = kMaxReadahead;
  conn->max_read = 512u << 10;  // must match -o max_read (run_fuse)
  conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
  // Requests are read into our blocks (fs/session_loop.h), not spliced into libfuse's pipes.
  conn->want &= ~FUSE_CAP_SPLICE_READ;
  // Read replies come from a pipe (op_read_buf): libfuse may splice them into /dev/fuse, a kernel
  // copy, instead of reading them back into memory first. Pages are copied, never moved.
  if (conn->capable & FUSE_CAP_SPLICE_WRITE)
    conn->want |= FUSE_CAP_SPLICE_WRITE;
  // open(O_TRUNC) arrives as one open, so the new content can stream from offset 0.
  if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
    conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
  // Listings carry every entry's attributes: always hand them over with the names (readdirplus),
  // instead of letting the kernel decide per directory and then look each name up.
  conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO;

  st->session = fuse_get_context()->fuse;
  st->invalidations = std::make_unique<BackgroundQueue>();
  // After an upload through the mount, pages the kernel cached of the old content must go.
  auto on_changed = [st](const std::string& path) {
    if (st->invalidations)
      st->invalidations->post([st, path] { fuse_invalidate_path(st->session, path.c_str()); });
  };
  auto mounted = MountedFilesystem::start(config, on_changed);
  if (!mounted) {
    spdlog::get("main")->error("cannot start: {}", mounted.error().message());
    fuse_exit(fuse_get_context()->fuse);
  } else {
    st->mounted = std::move(*mounted);
    st->started = true;
    st->mounted->report_statistics_on_signal();
    st->mounted->open_spare_session();
    spdlog::get("main")->info("mounted {} on {}", config.url.display(), config.mountpoint);
  }
  return st;
}

void op_destroy(void* data) {
  auto* st = static_cast<AdapterState*>(data);
  // The kernel is going away: uploads finished during teardown have no caches left to drop.
  st->invalidations.reset();
  st->mounted.reset();
}

// libfuse passes no path for a file unlinked while it is still open (hard_remove): operations on its
// handle go on, and only log the path.
const char* or_unlinked(const char* path) {
  return path != nullptr ? path : "(unlinked)";
}

int op_getattr(const char* path, struct stat* st, fuse_file_info* fi) {
  if (path == nullptr) {
    if (fi == nullptr)
      return -ENOENT;
    return guarded("getattr", or_unlinked(path), [&](Operations& ops) {
      auto r = ops.getattr_open(fi->fh);
      if (!r)
        return fail("getattr", or_unlinked(path), r.error());
      *st = *r;
      return 0;
    });
  }
  return guarded("getattr", path, [&](Operations& ops) {
    auto r = ops.getattr(path);
    if (!r)
      return fail("getattr", path, r.error());
    *st = *r;
    return 0;
  });
}

// An open directory: the listing read by its first readdir, so that the offsets handed to the kernel
// keep naming the same entries however many readdir calls it takes to pass them all on.
struct OpenDirectory {
  std::optional<Operations::DirListing> listing;
};

int op_opendir(const char* path, fuse_file_info* fi) {
  return guarded("opendir", path, [&](Operations&) {
    fi->fh = reinterpret_cast<std::uint64_t>(new OpenDirectory);
    return 0;
  });
}

int op_releasedir(const char*, fuse_file_info* fi) {
  delete reinterpret_cast<OpenDirectory*>(fi->fh);
  return 0;
}

// Entries go to the kernel with their attributes (readdirplus) and with offsets: libfuse 3.14 hands
// the attributes on only to a filler given offsets, and without them the kernel sent a LOOKUP for
// every entry of a listed directory (10,000 of them for `ls -l` of 10,000 files). "." is followed by
// offset 1, ".." by 2, listing entry i by i + 3.
int op_readdir(const char* path, void* buf, fuse_fill_dir_t filler, off_t offset, fuse_file_info* fi,
               fuse_readdir_flags) {
  return guarded("readdir", path, [&](Operations& ops) {
    auto* dir = fi ? reinterpret_cast<OpenDirectory*>(fi->fh) : nullptr;
    std::optional<Operations::DirListing> unowned;
    auto& listing = dir ? dir->listing : unowned;
    if (offset == 0 || !listing) {  // offset 0: a new pass (rewinddir) reads the directory again
      auto r = ops.readdir(path);
      if (!r)
        return fail("readdir", path, r.error());
      listing = std::move(*r);
    }
    constexpr auto kNameOnly = static_cast<fuse_fill_dir_flags>(0);
    if (offset < 1 && filler(buf, ".", nullptr, 1, kNameOnly) != 0)
      return 0;
    if (offset < 2 && filler(buf, "..", nullptr, 2, kNameOnly) != 0)
      return 0;
    for (auto i = static_cast<std::size_t>(std::max<off_t>(offset, 2) - 2); i < listing->size(); ++i) {
      const auto& [name, st] = (*listing)[i];
      if (filler(buf, name.c_str(), &st, static_cast<off_t>(i + 3), FUSE_FILL_DIR_PLUS) != 0)
        break;
    }
    return 0;
  });
}

int op_readlink(const char* path, char* buf, size_t size) {
  return guarded("readlink", path, [&](Operations& ops) {
    auto r = ops.readlink(path);
    if (!r)
      return fail("readlink", path, r.error());
    if (size == 0)
      return -EINVAL;
    const size_t n = std::min(size - 1, r->size());
    std::memcpy(buf, r->data(), n);
    buf[n] = '\0';
    return 0;
  });
}

int op_access(const char* path, int mask) {
  return guarded("access", path,
                 [&](Operations& ops) { return status_reply("access", path, ops.access(path, mask)); });
}

int op_statfs(const char* path, struct statvfs* out) {
  return guarded("statfs", path, [&](Operations& ops) {
    auto r = ops.statfs();
    if (!r)
      return fail("statfs", path, r.error());
    *out = *r;
    return 0;
  });
}

// A file opened only for writing that starts empty (made new by create(), or truncated by the open)
// bypasses the kernel's page cache (direct_io): its bytes go from the writer's buffer to ours in one
// copy, where the page cache would first copy them into pages of its own, and later drop them all
// again (a quarter less CPU for copying a large file in). No page of an old version survives such
// an open: the kernel empties the file's cache when an open truncates it. A file that keeps its
// content keeps the page cache: there, other openers may hold pages of the old version, and a write
// through the cache replaces them where a direct one would leave them for a reader to mix with the
// new bytes.
void bypass_page_cache_if_write_only(fuse_file_info* fi) {
  if ((fi->flags & O_ACCMODE) == O_WRONLY)
    fi->direct_io = 1;
}

int op_open(const char* path, fuse_file_info* fi) {
  return guarded("open", path, [&](Operations& ops) {
    auto r = ops.open(path, fi->flags);
    if (!r)
      return fail("open", path, r.error());
    fi->fh = *r;
    if (fi->flags & O_TRUNC)
      bypass_page_cache_if_write_only(fi);
    return 0;
  });
}

// The reply's bytes go to libfuse in this thread's pipe (fs/reply_pipe.h), else in a buffer of its
// own (malloc'ed: libfuse frees the buffer and the vector with free()).
int reply_data(const std::vector<cache::BlockSlice>& slices, fuse_bufvec** bufp) {
  std::size_t total = 0;
  for (const auto& s : slices)
    total += s.length;
  auto* vec = static_cast<fuse_bufvec*>(std::malloc(sizeof(fuse_bufvec)));
  if (vec == nullptr)
    return -ENOMEM;
  *vec = FUSE_BUFVEC_INIT(total);
  if (total > 0) {
    if (ReplyPipe* pipe = ReplyPipe::for_this_thread(); pipe && pipe->fill(slices, total)) {
      vec->buf[0].flags = FUSE_BUF_IS_FD;
      vec->buf[0].fd = pipe->read_end();
    } else if ((vec->buf[0].mem = std::malloc(total)) != nullptr) {
      cache::copy_slices(slices, {static_cast<char*>(vec->buf[0].mem), total});
    } else {
      std::free(vec);
      return -ENOMEM;
    }
  }
  *bufp = vec;
  return 0;
}

int op_read_buf(const char* path, fuse_bufvec** bufp, size_t size, off_t offset, fuse_file_info* fi) {
  path = or_unlinked(path);
  return guarded("read", path, [&](Operations& ops) {
    auto r = ops.read(fi->fh, static_cast<std::uint64_t>(offset), size);
    if (!r)
      return fail("read", path, r.error());
    return reply_data(*r, bufp);
  });
}

int op_create(const char* path, mode_t mode, fuse_file_info* fi) {
  return guarded("create", path, [&](Operations& ops) {
    bool made_new = false;
    auto r = ops.create(path, mode, fi->flags, &made_new);
    if (!r)
      return fail("create", path, r.error());
    fi->fh = *r;
    if (made_new || (fi->flags & O_TRUNC))
      bypass_page_cache_if_write_only(fi);
    return 0;
  });
}

int op_write(const char* path, const char* buf, size_t size, off_t offset, fuse_file_info* fi) {
  path = or_unlinked(path);
  return guarded("write", path, [&](Operations& ops) {
    // A large write keeps the block it was received into (no copy); a smaller one would hold a whole
    // 1 MiB receive block for its bytes while the file is open, and is copied.
    constexpr std::size_t kKeepReceivedFrom = 512u << 10;
    auto received = size >= kKeepReceivedFrom ? take_received_block(buf, size) : nullptr;
    auto r = ops.write(fi->fh, static_cast<std::uint64_t>(offset), {buf, size}, std::move(received));
    if (!r)
      return fail("write", path, r.error());
    return static_cast<int>(*r);
  });
}

int op_flush(const char* path, fuse_file_info* fi) {
  path = or_unlinked(path);
  return guarded("flush", path,
                 [&](Operations& ops) { return status_reply("flush", path, ops.flush(fi->fh)); });
}

int op_fsync(const char* path, int, fuse_file_info* fi) {
  path = or_unlinked(path);
  return guarded("fsync", path,
                 [&](Operations& ops) { return status_reply("fsync", path, ops.fsync(fi->fh)); });
}

int op_truncate(const char* path, off_t size, fuse_file_info* fi) {
  if (path == nullptr && fi == nullptr)
    return -ENOENT;
  path = or_unlinked(path);  // with a handle, truncate goes by the handle
  return guarded("truncate", path, [&](Operations& ops) {
    if (size < 0)
      return -EINVAL;
    return status_reply("truncate", path,
                        ops.truncate(path, static_cast<std::uint64_t>(size), fi ? fi->fh : 0));
  });
}

int op_release(const char* path, fuse_file_info* fi) {
  path = or_unlinked(path);
  return guarded("release", path,
                 [&](Operations& ops) { return status_reply("release", path, ops.release(fi->fh)); });
}

int op_mkdir(const char* path, mode_t mode) {
  return guarded("mkdir", path,
                 [&](Operations& ops) { return status_reply("mkdir", path, ops.mkdir(path, mode)); });
}

int op_unlink(const char* path) {
  return guarded("unlink", path,
                 [&](Operations& ops) { return status_reply("unlink", path, ops.unlink(path)); });
}

int op_rmdir(const char* path) {
  return guarded("rmdir", path,
                 [&](Operations& ops) { return status_reply("rmdir", path, ops.rmdir(path)); });
}

int op_rename(const char* from, const char* to, unsigned int flags) {
  return guarded("rename", from,
                 [&](Operations& ops) { return status_reply("rename", from, ops.rename(from, to, flags)); });
}

int op_chmod(const char* path, mode_t mode, fuse_file_info*) {
  if (path == nullptr)
    return 0;  // unlinked while open: no file on the server to change
  return guarded("chmod", path,
                 [&](Operations& ops) { return status_reply("chmod", path, ops.chmod(path, mode)); });
}

int op_utimens(const char* path, const timespec tv[2], fuse_file_info*) {
  if (path == nullptr)
    return 0;  // unlinked while open: no file on the server to change
  return guarded("utimens", path, [&](Operations& ops) {
    if (tv == nullptr || tv[1].tv_nsec == UTIME_NOW) {
      return status_reply("utimens", path, ops.set_mtime(path, std::chrono::system_clock::now()));
    }
    if (tv[1].tv_nsec == UTIME_OMIT)
      return 0;
    const auto mtime = std::chrono::system_clock::time_point(std::chrono::seconds(tv[1].tv_sec) +
                                                             std::chrono::nanoseconds(tv[1].tv_nsec));
    return status_reply(
        "utimens", path,
        ops.set_mtime(path, std::chrono::time_point_cast<std::chrono::system_clock::duration>(mtime)));
  });
}

// What FTP cannot express gets a clear errno, never a fake success.
int op_link(const char*, const char*) {
  return -EPERM;
}
int op_symlink(const char*, const char*) {
  return -EPERM;
}
int op_chown(const char* path, uid_t uid, gid_t gid, fuse_file_info*) {
  if (path == nullptr)
    return 0;  // unlinked while open: no file on the server to change
  return guarded("chown", path, [&](Operations& ops) {
    const auto u = uid == static_cast<uid_t>(-1) ? std::nullopt : std::optional<std::uint32_t>(uid);
    const auto g = gid == static_cast<gid_t>(-1) ? std::nullopt : std::optional<std::uint32_t>(gid);
    return status_reply("chown", path, ops.chown(path, u, g));
  });
}
// getxattr, setxattr and removexattr are left unimplemented on purpose: libfuse answers ENOSYS,
// after which the kernel answers ENOTSUP itself. Answering ENOTSUP here would make the kernel ask
// again for security.capability before every single write, doubling the requests of a writer.
int op_listxattr(const char*, char*, size_t) {
  return 0;  // no attributes, rather than an error, so cp -a and rsync -X stay quiet
}

fuse_operations make_operations() {
  fuse_operations ops{};
  ops.init = op_init;
  ops.destroy = op_destroy;
  ops.getattr = op_getattr;
  ops.opendir = op_opendir;
  ops.readdir = op_readdir;
  ops.releasedir = op_releasedir;
  ops.readlink = op_readlink;
  ops.access = op_access;
  ops.statfs = op_statfs;
  ops.open = op_open;
  ops.read_buf = op_read_buf;
  ops.release = op_release;
  ops.create = op_create;
  ops.write = op_write;
  ops.flush = op_flush;
  ops.fsync = op_fsync;
  ops.truncate = op_truncate;
  ops.mkdir = op_mkdir;
  ops.unlink = op_unlink;
  ops.rmdir = op_rmdir;
  ops.rename = op_rename;
  ops.chmod = op_chmod;
  ops.utimens = op_utimens;
  ops.link = op_link;
  ops.symlink = op_symlink;
  ops.chown = op_chown;
  ops.listxattr = op_listxattr;
  return ops;
}

}  // namespace

int run_fuse(const Config& config) {
  std::vector<std::string> args = config.fuse_args;
  // fsname shows in /proc/mounts and df: the URL without its password.
  args.push_back("-o");
  args.push_back("fsname=" + config.url.display() + ",subtype=ftpfs,max_read=524288");
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  fuse_args fargs = FUSE_ARGS_INIT(static_cast<int>(argv.size()), argv.data());

  AdapterState st;
  st.config = &config;
  const fuse_operations ops = make_operations();
  fuse* f = fuse_new(&fargs, &ops, sizeof(ops), &st);
  if (f == nullptr)
    return 1;  // libfuse printed why (e.g. an unknown option)
  int status = 3;
  if (fuse_mount(f, config.mountpoint.c_str()) != 0) {
    fuse_destroy(f);
    return 3;
  }
  // Now, before anything can be read: a file opened before the raise keeps the small window for as
  // long as it is open. The mount exists (its backing device is in mountinfo) and the INIT reply,
  // which comes later, lowers the kernel's value at most to max_readahead.
  if (auto ec = raise_kernel_readahead(config.mountpoint, kMaxReadahead / 1024))
    spdlog::get("fs")->debug("kernel readahead stays at its default: {}", ec.message());
  else
    spdlog::get("fs")->debug("kernel readahead raised to {} KiB", kMaxReadahead / 1024);
  if (fuse_daemonize(config.foreground ? 1 : 0) == 0) {
    if (!config.foreground)
      setup_logging(config.loglevel, /*to_syslog=*/true);
    // Before any thread starts, so that only the reporter's signalfd sees SIGUSR1.
    block_report_signal();
    fuse_session* se = fuse_get_session(f);
    if (fuse_set_signal_handlers(se) == 0) {
      int rc = 0;
      if (config.single_thread) {
        rc = fuse_loop(f);
      } else if (session_loop_fits(fuse_version())) {
        rc = run_session_loop(se, 2 * config.session.max_sessions + 8);
      } else {
        fuse_loop_config* loop = fuse_loop_cfg_create();
        fuse_loop_cfg_set_max_threads(loop, 2 * config.session.max_sessions + 8);
        fuse_loop_cfg_set_clone_fd(loop, 0);
        rc = fuse_loop_mt(f, loop);
        fuse_loop_cfg_destroy(loop);
      }
      // An unmount or a signal (SIGTERM, SIGINT, SIGHUP) is a requested exit: our loop returns 0
      // then, libfuse's single-threaded one the signal's number.
      const bool clean = rc == 0 || rc == SIGTERM || rc == SIGINT || rc == SIGHUP;
      status = clean && st.started ? 0 : 2;
      fuse_remove_signal_handlers(se);
    }
  }
  fuse_unmount(f);
  fuse_destroy(f);
  return status;
}

}  // namespace fs
