#include "cache/disk_tier.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <fstream>
#include <map>
#include <utility>
#include <vector>

#include "cache/block_key.h"

namespace cache {

namespace {

namespace fs = std::filesystem;

constexpr char kMagic[8] = {'F', 'T', 'P', 'F', 'S', 'J', '0', '1'};
constexpr std::uint64_t kMaxPathLength = 1 << 16;
constexpr std::uint64_t kRemoved = 1ull << 63;  // flag in a record's index: the block is gone
constexpr std::string_view kDataExtension = ".data";
constexpr std::string_view kJournalExtension = ".journal";

std::error_code last_error() {
  return {errno, std::generic_category()};
}

// Whole pages, as O_DIRECT transfers need.
std::size_t padded_length(std::size_t length) {
  return (length + BlockBytes::kAlignment - 1) / BlockBytes::kAlignment * BlockBytes::kAlignment;
}

std::error_code corrupt() {
  return std::make_error_code(std::errc::illegal_byte_sequence);
}

// Closes a file descriptor when it goes out of scope.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0)
      ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }

 private:
  int fd_;
};

template <typename T>
void put_raw(std::string& out, T v) {
  char buf[sizeof(T)];
  std::memcpy(buf, &v, sizeof(T));
  out.append(buf, sizeof(T));
}

template <typename T>
bool get_raw(std::istream& in, T& v) {
  char buf[sizeof(T)];
  if (!in.read(buf, sizeof(T)))
    return false;
  std::memcpy(&v, buf, sizeof(T));
  return true;
}

std::error_code write_all(int fd, const char* p, std::size_t n, off_t offset, bool append) {
  while (n > 0) {
    const ssize_t w = append ? ::write(fd, p, n) : ::pwrite(fd, p, n, offset);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      return last_error();
    }
    p += w;
    n -= static_cast<std::size_t>(w);
    offset += w;
  }
  return {};
}

// Writes blocks to consecutive places from `offset` with pwritev (the last one padded to whole pages
// when `direct`), going on after a short write.
std::error_code write_blocks(int fd, std::span<const BlockBytes* const> blocks, off_t offset, bool direct) {
  std::vector<iovec> iov;
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    const bool last = i + 1 == blocks.size();
    iov.push_back({const_cast<char*>(blocks[i]->data()),
                   direct && last ? padded_length(blocks[i]->size()) : blocks[i]->size()});
  }
  std::size_t at = 0;
  while (at < iov.size()) {
    const int count = static_cast<int>(std::min<std::size_t>(iov.size() - at, IOV_MAX));
    const ssize_t w = ::pwritev(fd, iov.data() + at, count, offset);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      return last_error();
    }
    offset += w;
    auto left = static_cast<std::size_t>(w);
    while (at < iov.size() && left >= iov[at].iov_len)
      left -= iov[at++].iov_len;
    if (left > 0) {
      iov[at].iov_base = static_cast<char*>(iov[at].iov_base) + left;
      iov[at].iov_len -= left;
    }
  }
  return {};
}

std::string header_bytes(const BlockKey& key, std::size_t block_size) {
  std::string out(kMagic, sizeof kMagic);
  put_raw<std::uint64_t>(out, block_size);
  put_raw<std::uint64_t>(out, key.path.size());
  out += key.path;
  put_raw(out, key.version.size);
  put_raw(out, key.version.mtime_ns);
  return out;
}

// Reads a journal: its version and the blocks it holds (index -> length).
std::error_code read_journal(const fs::path& file, std::size_t block_size, BlockKey& key,
                             std::map<std::uint64_t, std::uint64_t>& blocks) {
  std::ifstream in(file, std::ios::binary);
  char magic[sizeof kMagic];
  if (!in.read(magic, sizeof magic) || std::memcmp(magic, kMagic, sizeof kMagic) != 0)
    return corrupt();
  std::uint64_t stored_block_size = 0, path_length = 0;
  if (!get_raw(in, stored_block_size) || stored_block_size != block_size || !get_raw(in, path_length) ||
      path_length > kMaxPathLength) {
    return corrupt();
  }
  key.path.resize(path_length);
  if (!in.read(key.path.data(), static_cast<std::streamsize>(path_length)) ||
      !get_raw(in, key.version.size) || !get_raw(in, key.version.mtime_ns)) {
    return corrupt();
  }
  std::uint64_t index = 0, length = 0;
  while (get_raw(in, index) && get_raw(in, length)) {  // a torn last record is ignored
    if (index & kRemoved)
      blocks.erase(index & ~kRemoved);
    else if (length > 0 && length <= block_size)
      blocks[index] = length;
  }
  return {};
}

}  // namespace

DiskTier::DiskTier(fs::path dir, std::size_t block_size)
    : dir_(std::move(dir)), block_size_(block_size), direct_(block_size % BlockBytes::kAlignment == 0) {}

DiskTier::OpenVersion::~OpenVersion() {
  if (data >= 0)
    ::close(data);
  if (journal >= 0)
    ::close(journal);
}

std::shared_ptr<DiskTier::OpenVersion> DiskTier::open_version_locked(const VersionFiles& files,
                                                                     const BlockKey& key, bool create,
                                                                     std::error_code& ec) {
  const std::string name = files.journal.string();
  for (auto it = open_.begin(); it != open_.end(); ++it) {
    if (it->first == name && (!create || it->second->journal >= 0)) {
      open_.splice(open_.begin(), open_, it);
      return open_.front().second;
    }
  }
  forget_open_locked(files);
  auto version = std::make_shared<OpenVersion>();
  if (create) {
    fs::create_directories(files.data.parent_path(), ec);
    if (ec)
      return nullptr;
  }
  const int flags = create ? O_RDWR | O_CREAT : O_RDONLY;
  if (direct_.load()) {
    version->data = ::open(files.data.c_str(), flags | O_DIRECT | O_CLOEXEC, 0600);
    if (version->data < 0 && errno == EINVAL)
      direct_ = false;  // the filesystem refuses O_DIRECT (tmpfs, some FUSE and network ones)
    version->direct = version->data >= 0;
  }
  if (version->data < 0)
    version->data = ::open(files.data.c_str(), flags | O_CLOEXEC, 0600);
  if (version->data < 0) {
    ec = last_error();
    return nullptr;
  }
  if (create) {
    version->journal = ::open(files.journal.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (version->journal < 0) {
      ec = last_error();
      return nullptr;
    }
    struct stat st {};
    if (::fstat(version->journal, &st) == 0 && st.st_size == 0) {
      const std::string header = header_bytes(key, block_size_);  // a new journal
      if ((ec = write_all(version->journal, header.data(), header.size(), 0, true)))
        return nullptr;
    }
  }
  open_.emplace_front(name, version);
  if (open_.size() > kOpenVersions)
    open_.pop_back();
  return version;
}

void DiskTier::forget_open_locked(const VersionFiles& files) {
  const std::string name = files.journal.string();
  open_.remove_if([&](const auto& entry) { return entry.first == name; });
}

DiskTier::VersionFiles DiskTier::files_for(const BlockKey& key) const {
  const std::string hash = block_key_hash(block_key_string(BlockKey{key.path, key.version, 0}));
  const fs::path base = dir_ / hash.substr(0, 2) / hash;
  fs::path data = base, journal = base;
  data += kDataExtension;
  journal += kJournalExtension;
  return {data, journal};
}

std::vector<DiskTier::Found> DiskTier::scan() {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  struct Version {
    std::vector<Found> blocks;
    fs::file_time_type used;
  };
  std::vector<Version> versions;
  std::vector<fs::path> junk;
  std::vector<fs::path> data_files;
  std::lock_guard lock(mutex_);
  for (auto it = fs::recursive_directory_iterator(dir_, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (!it->is_regular_file(ec))
      continue;
    const fs::path& file = it->path();
    if (file.extension() == kDataExtension) {
      data_files.push_back(file);
      continue;
    }
    if (file.extension() != kJournalExtension) {
      junk.push_back(file);  // an older cache format, or a stray file
      continue;
    }
    BlockKey key;
    std::map<std::uint64_t, std::uint64_t> blocks;
    const bool usable = !read_journal(file, block_size_, key, blocks) && files_for(key).journal == file;
    const VersionFiles files = files_for(key);
    std::error_code size_ec, time_ec;
    const std::uint64_t data_size = usable ? fs::file_size(files.data, size_ec) : 0;
    Version v{{}, it->last_write_time(time_ec)};
    for (const auto& [index, length] : blocks) {
      // Blocks past the data file's end were journaled but never reached the disk.
      if (!size_ec && index * block_size_ + length <= data_size)
        v.blocks.push_back({BlockKey{key.path, key.version, index}, length});
    }
    if (!usable || size_ec || v.blocks.empty()) {
      junk.push_back(file);
      continue;
    }
    live_[file.string()] = v.blocks.size();
    versions.push_back(std::move(v));
  }
  for (const auto& data : data_files) {
    fs::path journal = data;
    journal.replace_extension(kJournalExtension);
    if (!live_.contains(journal.string()))
      junk.push_back(data);
  }
  for (const auto& file : junk)
    fs::remove(file, ec);
  std::sort(versions.begin(), versions.end(),
            [](const Version& a, const Version& b) { return a.used < b.used; });
  std::vector<Found> found;
  for (auto& v : versions)
    std::move(v.blocks.begin(), v.blocks.end(), std::back_inserter(found));
  return found;
}

std::error_code DiskTier::append_records(OpenVersion& files, std::uint64_t first_index,
                                         std::span<const std::uint64_t> lengths, bool removed) {
  std::string bytes;
  for (std::size_t i = 0; i < lengths.size(); ++i) {
    const std::uint64_t index = first_index + i;
    put_raw<std::uint64_t>(bytes, removed ? (index | kRemoved) : index);
    put_raw<std::uint64_t>(bytes, lengths[i]);
  }
  return write_all(files.journal, bytes.data(), bytes.size(), 0, true);
}

std::error_code DiskTier::write_run(const BlockKey& first, std::span<const BlockBytes* const> blocks) {
  if (blocks.empty())
    return {};
  const VersionFiles files = files_for(first);
  std::lock_guard lock(mutex_);
  std::error_code ec;
  auto version = open_version_locked(files, first, true, ec);
  if (!version)
    return ec;
  const auto offset = static_cast<off_t>(first.index * block_size_);
  // Under O_DIRECT lengths are whole pages: the last block's padding (zeroed by BlockBytes) goes to
  // disk too, past the length the journal records.
  std::error_code wec = write_blocks(version->data, blocks, offset, version->direct);
  if (version->direct && wec == std::errc::invalid_argument) {
    // The filesystem took O_DIRECT at open but not for writes: buffered from now on.
    direct_ = false;
    forget_open_locked(files);
    if (!(version = open_version_locked(files, first, true, ec)))
      return ec;
    wec = write_blocks(version->data, blocks, offset, false);
  }
  if (wec)
    return wec;
  // Journaled only once the bytes are in the data file.
  std::vector<std::uint64_t> lengths;
  for (const BlockBytes* b : blocks)
    lengths.push_back(b->size());
  if (auto jec = append_records(*version, first.index, lengths, false))
    return jec;
  live_[files.journal.string()] += blocks.size();
  return {};
}

std::error_code DiskTier::read(const BlockKey& key, BlockBytes& data) {
  const VersionFiles files = files_for(key);
  std::shared_ptr<OpenVersion> version;
  {
    std::lock_guard lock(mutex_);
    std::error_code ec;
    if (!(version = open_version_locked(files, key, false, ec)))
      return ec;
  }
  const std::size_t length = data.size();
  // A direct read asks for whole pages; it may end early at the end of a data file written without
  // padding (by a buffered write), and only `length` bytes are needed.
  const std::size_t want = version->direct ? padded_length(length) : length;
  std::size_t done = 0;
  while (done < length) {
    const ssize_t r = ::pread(version->data, data.data() + done, want - done,
                              static_cast<off_t>(key.index * block_size_ + done));
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      return last_error();
    if (r == 0)
      return corrupt();  // the data file is shorter than its journal says
    done += static_cast<std::size_t>(r);
    if (version->direct && done % BlockBytes::kAlignment != 0 && done < length)
      return corrupt();  // a direct read cannot continue from an unaligned offset
  }
  data.resize(length);
  return {};
}

void DiskTier::remove(const BlockKey& key) {
  const VersionFiles files = files_for(key);
  std::lock_guard lock(mutex_);
  auto it = live_.find(files.journal.string());
  std::error_code ec;
  if (it == live_.end() || it->second <= 1) {
    if (it != live_.end())
      live_.erase(it);
    forget_open_locked(files);
    fs::remove(files.data, ec);
    fs::remove(files.journal, ec);
    return;
  }
  --it->second;
  if (auto version = open_version_locked(files, key, true, ec)) {
    // Gives the space back now; a failure only delays that until the version's last block goes.
    (void)::fallocate(version->data, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                      static_cast<off_t>(key.index * block_size_), static_cast<off_t>(block_size_));
    const std::uint64_t none[] = {0};
    (void)append_records(*version, key.index, none, true);
  }
}

}  // namespace cache
