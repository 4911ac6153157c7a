#pragma once
// An in-memory ftp::Client: a tree of files and directories, with counters of calls and failure
// injection, so fs::Operations can be tested without sockets or a kernel.

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "ftp/client.h"
#include "ftp/error.h"

namespace fakes {

class FakeClient final : public ftp::Client {
 public:
  struct Node {
    ftp::FileType type = ftp::FileType::file;
    std::string data;
    std::chrono::system_clock::time_point mtime{std::chrono::seconds(1700000000)};
    std::uint32_t mode = 0644;
    std::string link_target;
  };

  FakeClient();

  // Tree setup (parents are created as needed).
  void add_file(const std::string& path, std::string data);
  void add_directory(const std::string& path);
  void add_symlink(const std::string& path, std::string target);
  std::optional<Node> node(const std::string& path) const;

  // The next matching calls fail with this code (count times); op is "list", "stat", "download",
  // "upload", "finish", "mkdir", "rmdir", "remove", "rename", "chmod", "mtime".
  void fail_next(const std::string& op, ftp::Errc code, int count = 1);

  // Like a pool without a session to spare: upload_if_spare() is refused while this is false.
  void set_spare_sessions(bool available) { spare_sessions_ = available; }
  // What sessions_wanted() reports, as if another caller waited for a session.
  void set_sessions_wanted(bool wanted) { sessions_wanted_ = wanted; }

  // Counters of calls ("upload_if_spare" counts those calls; one that goes ahead counts as an
  // "upload" too).
  int calls(const std::string& op) const;
  std::uint64_t bytes_downloaded() const { return bytes_down_; }

  ftp::Result<std::vector<ftp::DirEntry>> list(std::string_view dir) override;
  ftp::Result<ftp::DirEntry> stat(std::string_view path) override;
  ftp::Result<std::unique_ptr<ftp::Download>> download(std::string_view path, std::uint64_t offset) override;
  // Synchronous: done runs before this returns (refused while set_spare_sessions(false)).
  std::shared_ptr<ftp::WholeFetch> fetch_whole_if_spare(
      std::string_view path, std::vector<std::span<char>> buffers, std::chrono::milliseconds patience,
      std::function<void(ftp::Result<std::size_t>)> done) override;
  ftp::Result<std::unique_ptr<ftp::Upload>> upload(std::string_view path, ftp::UploadMode mode) override;
  ftp::Result<std::unique_ptr<ftp::Upload>> upload_if_spare(std::string_view path,
                                                            ftp::UploadMode mode) override;
  ftp::Status make_directory(std::string_view path) override;
  ftp::Status remove_directory(std::string_view path) override;
  ftp::Status remove_file(std::string_view path) override;
  ftp::Status rename(std::string_view from, std::string_view to) override;
  ftp::Status set_mode(std::string_view path, std::uint32_t mode) override;
  ftp::Status set_mtime(std::string_view path, std::chrono::system_clock::time_point mtime) override;
  ftp::Features features() const override { return features_; }
  void set_features(const ftp::Features& f) { features_ = f; }  // before use only: not synchronised
  bool sessions_wanted() const override { return sessions_wanted_.load(); }

  // Called by the fake's downloads and uploads.
  void add_downloaded(std::size_t n) { bytes_down_ += n; }
  void store(const std::string& path, std::string data, bool append);
  std::optional<ftp::Error> take_failure(const std::string& op);

 private:
  ftp::DirEntry entry_of(const std::string& name, const Node& n) const;
  void count(const std::string& op);
  bool has_parent_dir(const std::string& path) const;

  mutable std::mutex mutex_;
  std::map<std::string, Node> nodes_;
  std::map<std::string, std::pair<ftp::Errc, int>> failures_;
  std::map<std::string, int> calls_;
  std::atomic<std::uint64_t> bytes_down_{0};
  std::atomic<bool> spare_sessions_{true};
  std::atomic<bool> sessions_wanted_{false};
  ftp::Features features_;
};

}  // namespace fakes
