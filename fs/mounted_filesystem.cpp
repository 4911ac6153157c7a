#include "fs/mounted_filesystem.h"

#include <unistd.h>

#include <spdlog/spdlog.h>

#include "cache/write_stage.h"
#include "fs/client_upload_target.h"
#include "fs/remote_path.h"
#include "ftp/asio_client.h"
#include "ftp/error.h"

namespace fs {
namespace {

std::string server_folder_name(const Config& config) {
  std::string name =
      config.session.user + "@" + config.session.host + "_" + std::to_string(config.session.port);
  for (char& c : name) {
    if (c == '/' || c == '\0' || c == ':')
      c = '_';
  }
  return name;
}

}  // namespace

void MountedFilesystem::report_pending(const std::filesystem::path& pending_dir) {
  std::vector<cache::PendingUpload> pending;
  if (cache::WriteStage::list_pending(pending_dir, pending) || pending.empty())
    return;
  auto log = spdlog::get("main");
  if (!config_.retry_pending) {
    log->warn(
        "{} upload(s) from an earlier mount failed and are kept in {}; mount with -o retry_pending to "
        "upload them again",
        pending.size(), pending_dir.string());
    for (const auto& p : pending)
      log->warn("  pending: {} <- {}", p.remote_path, p.local_file.string());
    return;
  }
  ClientUploadTarget target(*client_, {});
  for (const auto& p : pending) {
    if (auto ec = cache::WriteStage::retry_pending(p, target)) {
      log->error("retrying the upload of {} failed: {}; still kept in {}", p.remote_path, ec.message(),
                 p.local_file.string());
    } else {
      log->info("uploaded pending {} from an earlier mount", p.remote_path);
    }
  }
}

MountedFilesystem::MountedFilesystem(const Config& config) : config_(config) {}
std::string MountedFilesystem::statistics() const {
  const auto c = client_->stats();
  const auto b = blocks_->stats();
  std::vector<cache::PendingUpload> pending;
  (void)cache::WriteStage::list_pending(pending_dir_, pending);
  const double lookups = static_cast<double>(b.hits + b.misses);
  return fmt::format(
      "sessions open {} in use {} limit {}, reconnects {}, downloaded {} bytes, uploaded {} bytes, "
      "block cache hit ratio {:.1f}% ({} hits, {} misses, {} bytes in memory, {} on disk), pending uploads "
      "{}",
      c.pool.sessions_open, c.pool.sessions_in_use, c.pool.limit,
      c.pool.generation ? c.pool.generation - 1 : 0, c.bytes_downloaded, c.bytes_uploaded,
      lookups > 0 ? 100.0 * static_cast<double>(b.hits) / lookups : 0.0, b.hits, b.misses, b.memory_bytes,
      b.disk_bytes, pending.size());
}

void MountedFilesystem::report_statistics_on_signal() {
  reporter_ = std::make_unique<SignalReporter>([this] { return statistics(); }, spdlog::get("main"));
}

void MountedFilesystem::open_spare_session() {
  client_->open_spare_session();
}

MountedFilesystem::~MountedFilesystem() {
  reporter_.reset();
  // Operations hold readers that use the client: tear down in reverse order of use.
  operations_.reset();
  client_.reset();
}

ftp::Result<std::unique_ptr<MountedFilesystem>> MountedFilesystem::start(
    const Config& config, std::function<void(const std::string&)> on_content_changed) {
  std::unique_ptr<MountedFilesystem> self(new MountedFilesystem(config));
  // Session events go to "ftp", the command/reply transcript (password masked) to "ftp.wire".
  auto client = ftp::AsioClient::connect(config.session,
                                         ftp::SessionLoggers{spdlog::get("ftp"), spdlog::get("ftp.wire")});
  if (!client)
    return client.error();

  // A URL path is relative to the login directory, as curl reads it; "//abs" names an absolute path.
  std::string root;
  const std::string& path = config.url.path;
  if (!path.empty() && path.front() == '/') {
    root = normalize_root(path);
  } else {
    root = normalize_root((*client)->initial_directory() + "/" + path);
  }
  auto root_entry = (*client)->stat(root);
  if (!root_entry) {
    return ftp::Error{root_entry.code(), "cannot open the directory '" + root +
                                             "' on the server: " + root_entry.error().message()};
  }
  if (root_entry->type != ftp::FileType::directory && root != "/") {
    return ftp::Error{make_error_code(ftp::Errc::bad_argument),
                      "'" + root + "' on the server is not a directory"};
  }
  self->client_ = std::move(*client);

  self->metadata_ = std::make_unique<cache::MetadataCache>(
      self->clock_, cache::MetadataTtl{config.cache_timeout, config.cache_timeout, config.negative_timeout});
  cache::BlockCacheConfig block_config;
  block_config.block_size = config.block_size;
  block_config.memory_budget = config.memory_cache_bytes;
  block_config.disk_budget = config.disk_cache_bytes;
  if (config.disk_cache_bytes > 0 && !config.cache_dir.empty()) {
    // Blocks are keyed by path and version only, so each server gets its own folder.
    block_config.disk_dir = config.cache_dir / "blocks" / server_folder_name(config);
  }
  self->blocks_ = std::make_unique<cache::BlockCache>(block_config);

  OperationsConfig ops;
  ops.remote_root = root;
  ops.owner = {getuid(), getgid()};
  ops.readahead.max_window = config.readahead_bytes;
  ops.readahead.parallel_streams = config.session.max_sessions > 2 ? 2 : 1;
  // Prefetch never takes the last free session, and one is in use by the reader it serves.
  ops.prefetch_streams = config.session.max_sessions > 2 ? config.session.max_sessions - 2 : 0;
  ops.staging.staging_dir = config.cache_dir / "staging" / std::to_string(getpid());
  ops.staging.pending_dir = config.cache_dir / "pending";
  ops.on_content_changed = std::move(on_content_changed);
  self->pending_dir_ = ops.staging.pending_dir;
  self->report_pending(ops.staging.pending_dir);
  self->operations_ = std::make_unique<Operations>(ops, *self->client_, *self->metadata_, *self->blocks_);
  return self;
}

}  // namespace fs
