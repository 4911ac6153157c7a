#pragma once
// The composition root of a running mount: the FTP client (with its I/O thread and session pool),
// the caches and the operations over them. Created in FUSE init (after daemonizing: threads do not
// survive fork) and destroyed in FUSE destroy.

#include <functional>
#include <memory>
#include <string>

#include "cache/block_cache.h"
#include "cache/clock.h"
#include "cache/metadata_cache.h"
#include "fs/config.h"
#include "fs/operations.h"
#include "fs/signal_reporter.h"
#include "ftp/asio_client.h"
#include "ftp/result.h"

namespace fs {

class MountedFilesystem {
 public:
  // Logs in and checks that the mounted directory exists. Used for the foreground preflight too.
  // on_content_changed: told the FUSE path of a file whose content changed through the mount.
  static ftp::Result<std::unique_ptr<MountedFilesystem>> start(
      const Config& config, std::function<void(const std::string&)> on_content_changed = {});
  ~MountedFilesystem();

  Operations& operations() { return *operations_; }
  const Config& config() const { return config_; }
  // One line: sessions, bytes moved, cache hit ratio, pending uploads (for SIGUSR1).
  std::string statistics() const;
  // Starts answering SIGUSR1 with statistics() in the log.
  void report_statistics_on_signal();
  // For the real mount (not the foreground login check): a second session opens in the
  // background, ready for the first upload or prefetch.
  void open_spare_session();

 private:
  explicit MountedFilesystem(const Config& config);
  // Uploads that failed in an earlier mount: named in the log, or retried with -o retry_pending.
  void report_pending(const std::filesystem::path& pending_dir);

  Config config_;
  cache::SteadyClock clock_;
  std::unique_ptr<ftp::AsioClient> client_;
  std::unique_ptr<cache::MetadataCache> metadata_;
  std::unique_ptr<cache::BlockCache> blocks_;
  std::unique_ptr<Operations> operations_;
  std::unique_ptr<SignalReporter> reporter_;
  std::filesystem::path pending_dir_;
};

}  // namespace fs
