#include "tests/fakes/fake_client.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <deque>

namespace fakes {
namespace {

std::string parent_of(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
}

std::string name_of(const std::string& path) {
  if (path == "/")
    return "/";
  return path.substr(path.rfind('/') + 1);
}

class FakeDownload final : public ftp::Download {
 public:
  FakeDownload(FakeClient& owner, std::string data, std::uint64_t offset)
      : owner_(owner), data_(std::move(data)), offset_(offset) {}
  ftp::Result<std::size_t> read(std::span<char> buf) override {
    if (offset_ >= data_.size())
      return std::size_t{0};
    const std::size_t n = std::min<std::size_t>(buf.size(), data_.size() - offset_);
    std::memcpy(buf.data(), data_.data() + offset_, n);
    offset_ += n;
    owner_.add_downloaded(n);
    return n;
  }
  void queue(std::span<char> buf) override { queued_.push_back(buf); }
  ftp::Result<std::size_t> next() override {
    if (cancelled_)
      return ftp::Error{ftp::Errc::cancelled, "download cancelled"};
    if (queued_.empty())
      return ftp::Error{ftp::Errc::protocol_error, "next() without a queued buffer"};
    const std::span<char> buf = queued_.front();
    queued_.pop_front();
    return read(buf);  // the whole buffer at once, or what is left of the data
  }
  void cancel() override { cancelled_ = true; }
  std::uint64_t offset() const override { return offset_; }

 private:
  FakeClient& owner_;
  std::string data_;
  std::uint64_t offset_;
  std::deque<std::span<char>> queued_;
  std::atomic<bool> cancelled_{false};
};

class FakeUpload final : public ftp::Upload {
 public:
  FakeUpload(FakeClient& owner, std::string path, bool append)
      : owner_(owner), path_(std::move(path)), append_(append) {}
  ftp::Status write(std::span<const char> data) override {
    buffer_.append(data.data(), data.size());
    return {};
  }
  ftp::Status finish() override {
    if (auto failure = owner_.take_failure("finish"))
      return *failure;
    owner_.store(path_, std::move(buffer_), append_);
    return {};
  }
  std::uint64_t bytes_written() const override { return buffer_.size(); }

 private:
  FakeClient& owner_;
  std::string path_;
  bool append_;
  std::string buffer_;
};

}  // namespace

FakeClient::FakeClient() {
  nodes_["/"] = Node{ftp::FileType::directory, {}, {}, 0755, {}};
  features_.mlsd = features_.mlst = features_.size = features_.mdtm = features_.mfmt = true;
}

void FakeClient::add_directory(const std::string& path) {
  std::lock_guard lock(mutex_);
  std::string p;
  std::size_t i = 1;
  while (i <= path.size()) {
    const auto j = std::min(path.find('/', i), path.size());
    p = path.substr(0, j);
    if (!nodes_.count(p))
      nodes_[p] = Node{ftp::FileType::directory, {}, {}, 0755, {}};
    i = j + 1;
  }
}

void FakeClient::add_file(const std::string& path, std::string data) {
  add_directory(parent_of(path));
  std::lock_guard lock(mutex_);
  Node n;
  n.data = std::move(data);
  nodes_[path] = std::move(n);
}

void FakeClient::add_symlink(const std::string& path, std::string target) {
  add_directory(parent_of(path));
  std::lock_guard lock(mutex_);
  Node n;
  n.type = ftp::FileType::symlink;
  n.link_target = std::move(target);
  nodes_[path] = std::move(n);
}

std::optional<FakeClient::Node> FakeClient::node(const std::string& path) const {
  std::lock_guard lock(mutex_);
  auto it = nodes_.find(path);
  if (it == nodes_.end())
    return std::nullopt;
  return it->second;
}

void FakeClient::fail_next(const std::string& op, ftp::Errc code, int count) {
  std::lock_guard lock(mutex_);
  failures_[op] = {code, count};
}

std::optional<ftp::Error> FakeClient::take_failure(const std::string& op) {
  std::lock_guard lock(mutex_);
  auto it = failures_.find(op);
  if (it == failures_.end() || it->second.second <= 0)
    return std::nullopt;
  --it->second.second;
  return ftp::Error{make_error_code(it->second.first), "injected failure of " + op};
}

int FakeClient::calls(const std::string& op) const {
  std::lock_guard lock(mutex_);
  auto it = calls_.find(op);
  return it == calls_.end() ? 0 : it->second;
}

void FakeClient::count(const std::string& op) {
  std::lock_guard lock(mutex_);
  ++calls_[op];
}

bool FakeClient::has_parent_dir(const std::string& path) const {
  auto it = nodes_.find(parent_of(path));
  return it != nodes_.end() && it->second.type == ftp::FileType::directory;
}

ftp::DirEntry FakeClient::entry_of(const std::string& name, const Node& n) const {
  ftp::DirEntry e;
  e.name = name;
  e.type = n.type;
  e.size = n.data.size();
  e.mtime = n.mtime;
  e.mtime_exact = true;
  e.mode = n.mode;
  e.link_target = n.link_target;
  return e;
}

ftp::Result<std::vector<ftp::DirEntry>> FakeClient::list(std::string_view dir_view) {
  count("list");
  if (auto f = take_failure("list"))
    return *f;
  const std::string dir(dir_view);
  std::lock_guard lock(mutex_);
  auto it = nodes_.find(dir);
  if (it == nodes_.end() || it->second.type != ftp::FileType::directory)
    return ftp::Error{ftp::Errc::not_found, dir};
  std::vector<ftp::DirEntry> out;
  const std::string prefix = dir == "/" ? "/" : dir + "/";
  for (auto c = nodes_.lower_bound(prefix);
       c != nodes_.end() && c->first.compare(0, prefix.size(), prefix) == 0; ++c) {
    if (c->first == "/" || c->first.find('/', prefix.size()) != std::string::npos)
      continue;
    out.push_back(entry_of(c->first.substr(prefix.size()), c->second));
  }
  return out;
}

ftp::Result<ftp::DirEntry> FakeClient::stat(std::string_view path_view) {
  count("stat");
  if (auto f = take_failure("stat"))
    return *f;
  const std::string path(path_view);
  std::lock_guard lock(mutex_);
  auto it = nodes_.find(path);
  if (it == nodes_.end())
    return ftp::Error{ftp::Errc::not_found, path};
  return entry_of(name_of(path), it->second);
}

ftp::Result<std::unique_ptr<ftp::Download>> FakeClient::download(std::string_view path_view,
                                                                 std::uint64_t offset) {
  count("download");
  if (auto f = take_failure("download"))
    return *f;
  const std::string path(path_view);
  std::lock_guard lock(mutex_);
  auto it = nodes_.find(path);
  if (it == nodes_.end() || it->second.type != ftp::FileType::file)
    return ftp::Error{ftp::Errc::not_found, path};
  return std::unique_ptr<ftp::Download>(std::make_unique<FakeDownload>(*this, it->second.data, offset));
}

ftp::Result<std::unique_ptr<ftp::Upload>> FakeClient::upload(std::string_view path_view,
                                                             ftp::UploadMode mode) {
  count("upload");
  if (auto f = take_failure("upload"))
    return *f;
  const std::string path(path_view);
  {
    std::lock_guard lock(mutex_);
    if (!has_parent_dir(path))
      return ftp::Error{ftp::Errc::not_found, path};
  }
  return std::unique_ptr<ftp::Upload>(
      std::make_unique<FakeUpload>(*this, path, mode == ftp::UploadMode::append));
}

std::shared_ptr<ftp::WholeFetch> FakeClient::fetch_whole_if_spare(
    std::string_view path, std::vector<std::span<char>> buffers, std::chrono::milliseconds patience,
    std::function<void(ftp::Result<std::size_t>)> done) {
  (void)patience;
  count("fetch_whole_if_spare");
  if (!spare_sessions_) {
    done(ftp::Error(std::make_error_code(std::errc::resource_unavailable_try_again), "no spare session"));
    return nullptr;
  }
  auto d = download(path, 0);
  if (!d) {
    done(d.error());
    return nullptr;
  }
  std::size_t total = 0;
  for (auto buf : buffers) {
    auto n = (*d)->read(buf);
    if (!n) {
      done(n.error());
      return nullptr;
    }
    total += *n;
    if (*n < buf.size())
      break;
  }
  done(total);
  return nullptr;
}

ftp::Result<std::unique_ptr<ftp::Upload>> FakeClient::upload_if_spare(std::string_view path,
                                                                      ftp::UploadMode mode) {
  count("upload_if_spare");
  if (!spare_sessions_)
    return ftp::Error(std::make_error_code(std::errc::resource_unavailable_try_again), "no spare session");
  return upload(path, mode);
}

void FakeClient::store(const std::string& path, std::string data, bool append) {
  std::lock_guard lock(mutex_);
  Node& n = nodes_[path];
  n.type = ftp::FileType::file;
  if (append) {
    n.data += data;
  } else {
    n.data = std::move(data);
  }
  n.mtime = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
}

ftp::Status FakeClient::make_directory(std::string_view path_view) {
  count("mkdir");
  if (auto f = take_failure("mkdir"))
    return *f;
  const std::string path(path_view);
  std::lock_guard lock(mutex_);
  if (nodes_.count(path) || !has_parent_dir(path))
    return ftp::Error{ftp::Errc::file_unavailable, path};
  nodes_[path] = Node{ftp::FileType::directory, {}, {}, 0755, {}};
  return {};
}

ftp::Status FakeClient::remove_directory(std::string_view path_view) {
  count("rmdir");
  if (auto f = take_failure("rmdir"))
    return *f;
  const std::string path(path_view);
  std::lock_guard lock(mutex_);
  auto it = nodes_.find(path);
  if (it == nodes_.end() || it->second.type != ftp::FileType::directory)
    return ftp::Error{ftp::Errc::file_unavailable, path};
  auto next = std::next(it);
  if (next != nodes_.end() && next->first.compare(0, path.size() + 1, path + "/") == 0)
    return ftp::Error{ftp::Errc::file_unavailable, "550 Remove directory operation failed."};
  nodes_.erase(it);
  return {};
}

ftp::Status FakeClient::remove_file(std::string_view path_view) {
  count("remove");
  if (auto f = take_failure("remove"))
    return *f;
  const std::string path(path_view);
  std::lock_guard lock(mutex_);
  auto it = nodes_.find(path);
  if (it == nodes_.end() || it->second.type == ftp::FileType::directory)
    return ftp::Error{ftp::Errc::file_unavailable, path};
  nodes_.erase(it);
  return {};
}

ftp::Status FakeClient::rename(std::string_view from_view, std::string_view to_view) {
  count("rename");
  if (auto f = take_failure("rename"))
    return *f;
  const std::string from(from_view), to(to_view);
  std::lock_guard lock(mutex_);
  if (!nodes_.count(from) || !has_parent_dir(to))
    return ftp::Error{ftp::Errc::file_unavailable, from};
  std::map<std::string, Node> moved;
  for (auto it = nodes_.begin(); it != nodes_.end();) {
    if (it->first == from || it->first.compare(0, from.size() + 1, from + "/") == 0) {
      moved[to + it->first.substr(from.size())] = std::move(it->second);
      it = nodes_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto& [p, n] : moved)
    nodes_[p] = std::move(n);
  return {};
}

ftp::Status FakeClient::set_mode(std::string_view path_view, std::uint32_t mode) {
  count("chmod");
  if (auto f = take_failure("chmod"))
    return *f;
  std::lock_guard lock(mutex_);
  auto it = nodes_.find(std::string(path_view));
  if (it == nodes_.end())
    return ftp::Error{ftp::Errc::not_found, std::string(path_view)};
  it->second.mode = mode;
  return {};
}

ftp::Status FakeClient::set_mtime(std::string_view path_view, std::chrono::system_clock::time_point mtime) {
  count("mtime");
  if (auto f = take_failure("mtime"))
    return *f;
  std::lock_guard lock(mutex_);
  auto it = nodes_.find(std::string(path_view));
  if (it == nodes_.end())
    return ftp::Error{ftp::Errc::not_found, std::string(path_view)};
  it->second.mtime = std::chrono::time_point_cast<std::chrono::seconds>(mtime);
  return {};
}

}  // namespace fakes
