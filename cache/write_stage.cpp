#include "cache/write_stage.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <utility>

namespace cache {
namespace {

constexpr std::size_t kChunk = 1u << 20;      // bytes moved per read/upload step
constexpr std::size_t kMaxEncodedName = 150;  // keeps pending names well below NAME_MAX with suffixes
constexpr const char* kPathSuffix = ".path";
constexpr const char* kAppendSuffix = ".append";

std::error_code last_errno() {
  return {errno, std::system_category()};
}

std::error_code pwrite_all(int fd, std::uint64_t offset, std::span<const char> data) {
  while (!data.empty()) {
    ssize_t n = ::pwrite(fd, data.data(), data.size(), static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return last_errno();
    }
    data = data.subspan(static_cast<std::size_t>(n));
    offset += static_cast<std::uint64_t>(n);
  }
  return {};
}

// Reads exactly buf.size() bytes; the staging file is never shorter than the staged size, so an early
// end of file means someone else changed it.
std::error_code pread_all(int fd, std::uint64_t offset, std::span<char> buf) {
  while (!buf.empty()) {
    ssize_t n = ::pread(fd, buf.data(), buf.size(), static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return last_errno();
    }
    if (n == 0)
      return std::make_error_code(std::errc::io_error);
    buf = buf.subspan(static_cast<std::size_t>(n));
    offset += static_cast<std::uint64_t>(n);
  }
  return {};
}

// Reads exactly buf.size() bytes of original content; the original being shorter than its known size
// means it changed under us, and guessing would corrupt the file.
std::error_code source_read_all(const ContentSource& source, std::uint64_t offset, std::span<char> buf) {
  while (!buf.empty()) {
    std::size_t n = 0;
    if (auto ec = source(offset, buf, n))
      return ec;
    if (n == 0)
      return std::make_error_code(std::errc::io_error);
    n = std::min(n, buf.size());
    buf = buf.subspan(n);
    offset += n;
  }
  return {};
}

std::error_code verify_size(UploadTarget& target, const std::string& path, std::uint64_t expected) {
  std::uint64_t actual = 0;
  if (auto ec = target.remote_size(path, actual))
    return ec;
  if (actual != expected)
    return std::make_error_code(std::errc::io_error);
  return {};
}

// Uploads [from, to) of fd to path in chunks, each read into a buffer of its own that the stream
// sends without copying (from `buffers`, or new ones).
std::error_code upload_fd(UploadTarget& target, const std::string& path, int fd, std::uint64_t from,
                          std::uint64_t to, bool append, BlockBuffers* buffers) {
  std::unique_ptr<UploadStream> stream;
  if (auto ec = target.open(path, append, stream))
    return ec;
  for (std::uint64_t off = from; off < to;) {
    auto len = static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, to - off));
    std::shared_ptr<BlockBytes> chunk = buffers ? buffers->make(len) : std::make_shared<BlockBytes>(len);
    if (auto ec = pread_all(fd, off, {chunk->data(), len}))
      return ec;
    if (auto ec = stream->send(std::move(chunk)))
      return ec;
    off += len;
  }
  return stream->finish();
}

// A file name that cannot escape the pending directory: bytes outside [A-Za-z0-9._-] become %XX.
std::string encode_name(const std::string& remote_path) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : remote_path) {
    if (out.size() >= kMaxEncodedName)
      break;
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
        c == '-') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  if (out.empty() || out[0] == '.')
    out.insert(0, "_");  // never hidden, never "." or ".."
  return out;
}

std::string timestamp() {
  auto now = std::chrono::system_clock::now();
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
  std::time_t secs = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d%02d%02dT%02d%02d%02d.%09lldZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<long long>(ns % 1000000000));
  return buf;
}

// Writes a small file atomically (temporary name, then rename) so a crash never leaves half a sidecar.
std::error_code write_small_file(const std::filesystem::path& path, const std::string& text) {
  auto tmp = path;
  tmp += ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return last_errno();
  std::error_code ec = pwrite_all(fd, 0, text);
  if (!ec && ::fsync(fd) != 0)
    ec = last_errno();
  ::close(fd);
  if (!ec && ::rename(tmp.c_str(), path.c_str()) != 0)
    ec = last_errno();
  if (ec)
    ::unlink(tmp.c_str());
  return ec;
}

std::error_code read_small_file(const std::filesystem::path& path, std::string& out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return last_errno();
  out.clear();
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      auto ec = last_errno();
      ::close(fd);
      return ec;
    }
    if (n == 0)
      break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return {};
}

// Copies [from, to) of fd into a new file at dest (written under a temporary name, synced, renamed).
std::error_code copy_range(int fd, std::uint64_t from, std::uint64_t to, const std::filesystem::path& dest) {
  auto tmp = dest;
  tmp += ".tmp";
  int out = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (out < 0)
    return last_errno();
  std::error_code ec;
  std::vector<char> buf(kChunk);
  for (std::uint64_t off = from; off < to && !ec;) {
    auto len = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), to - off));
    std::span<char> chunk(buf.data(), len);
    ec = pread_all(fd, off, chunk);
    if (!ec)
      ec = pwrite_all(out, off - from, chunk);
    off += len;
  }
  if (!ec && ::fsync(out) != 0)
    ec = last_errno();
  ::close(out);
  if (!ec && ::rename(tmp.c_str(), dest.c_str()) != 0)
    ec = last_errno();
  if (ec)
    ::unlink(tmp.c_str());
  return ec;
}

void remove_pending_files(const std::filesystem::path& data) {
  std::error_code ignored;
  auto with = [&](const char* suffix) {
    auto p = data;
    p += suffix;
    return p;
  };
  // The sidecar goes first: without it the entry is not listed any more, even if removing the data fails.
  std::filesystem::remove(with(kPathSuffix), ignored);
  std::filesystem::remove(with(kAppendSuffix), ignored);
  std::filesystem::remove(data, ignored);
}

}  // namespace

WriteStage::WriteStage(const WriteStageConfig& config, std::string remote_path, std::uint64_t remote_size,
                       bool truncated_on_open, UploadTarget& target, ContentSource fill)
    : config_(config),
      remote_path_(std::move(remote_path)),
      target_(target),
      source_(std::move(fill)),
      source_size_(truncated_on_open ? 0 : remote_size),
      remote_base_(truncated_on_open ? 0 : remote_size),
      size_(truncated_on_open ? 0 : remote_size),
      filled_(truncated_on_open),
      dirty_(truncated_on_open),
      streaming_possible_(truncated_on_open && config.stream_sequential) {}

std::error_code WriteStage::create(const WriteStageConfig& config, std::string remote_path,
                                   std::uint64_t remote_size, bool truncated_on_open, UploadTarget& target,
                                   ContentSource fill, std::unique_ptr<WriteStage>& out) {
  std::unique_ptr<WriteStage> stage(new WriteStage(config, std::move(remote_path), remote_size,
                                                   truncated_on_open, target, std::move(fill)));
  // An empty start with buffers to stage into begins in memory; anything else needs its file now.
  if (!truncated_on_open || !config.buffers) {
    std::lock_guard lock(stage->mutex_);
    if (auto ec = stage->spill_locked())
      return ec;
  }
  out = std::move(stage);
  return {};
}

std::error_code WriteStage::spill_locked() {
  if (!in_memory())
    return {};
  std::error_code ec;
  std::filesystem::create_directories(config_.staging_dir, ec);
  if (ec)
    return ec;
  std::string templ = (config_.staging_dir / "stage-XXXXXX").string();
  const int fd = ::mkstemp(templ.data());
  if (fd < 0)
    return last_errno();
  ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  std::uint64_t offset = 0;
  for (const auto& chunk : memory_) {
    if (auto wec = pwrite_all(fd, offset, chunk->bytes())) {
      ::close(fd);
      ::unlink(templ.c_str());
      return wec;
    }
    offset += chunk->size();
  }
  memory_.clear();
  fd_ = fd;
  staging_path_ = templ;
  direct_fd_ = ::open(templ.c_str(), O_WRONLY | O_DIRECT | O_CLOEXEC);  // -1 where refused
  return {};
}

WriteStage::~WriteStage() {
  stream_.reset();
  (void)staged_writes_->wait();  // the writer thread uses the descriptors
  if (direct_fd_ >= 0)
    ::close(direct_fd_);
  if (fd_ >= 0)
    ::close(fd_);
  if (!staging_path_.empty())
    ::unlink(staging_path_.c_str());
}

std::error_code WriteStage::settle_locked() {
  return staged_writes_->wait();
}

std::error_code WriteStage::fill_locked(std::uint64_t limit) {
  if (filled_)
    return {};  // (a stage in memory is always filled: it started empty)
  if (auto ec = settle_locked())
    return ec;
  std::uint64_t end = std::min(source_size_, limit);
  std::vector<char> buf(
      static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, std::max<std::uint64_t>(end, 1))));
  for (std::uint64_t off = 0; off < end;) {
    auto len = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), end - off));
    std::span<char> chunk(buf.data(), len);
    if (auto ec = source_read_all(source_, off, chunk))
      return ec;
    if (auto ec = pwrite_all(fd_, off, chunk))
      return ec;
    off += len;
  }
  // Bytes appended beyond the original are already in place; make the file exactly size_ long.
  if (::ftruncate(fd_, static_cast<off_t>(size_)) != 0)
    return last_errno();
  filled_ = true;
  return {};
}

void WriteStage::break_stream_locked() {
  stream_.reset();  // aborts the transfer; flush uploads the whole staging copy instead
  streaming_possible_ = false;
}

std::error_code WriteStage::write(std::uint64_t offset, std::span<const char> data,
                                  std::shared_ptr<BlockBytes> received) {
  std::lock_guard lock(mutex_);
  if (data.empty())
    return {};
  // A staging write that failed in the background (a full local disk) fails the next write.
  if (auto ec = staged_writes_->failed())
    return ec;
  const bool sequential = offset == size_;
  if (!filled_ && !sequential) {
    if (auto ec = fill_locked(size_))
      return ec;
  }
  if (!sequential) {
    break_stream_locked();
    if (auto ec = settle_locked())  // the new bytes may overlap bytes still on their way
      return ec;
  }
  if (in_memory() && (!sequential || size_ + data.size() > kMemoryStageLimit)) {
    if (auto ec = spill_locked())
      return ec;
  }
  // Bytes that may be streamed, or are staged in memory, are copied once, into a buffer that the
  // stage and the upload both take them from.
  std::shared_ptr<BlockBytes> chunk;
  if ((streaming_possible_ || in_memory()) && config_.buffers) {
    // (Not a block mostly empty: a small file staged in memory would hold far more than its size.)
    if (received && received->data() == data.data() && received->size() == data.size() &&
        received->capacity() <= 2 * data.size()) {
      chunk = std::move(received);
    } else {
      chunk = config_.buffers->make(data.size());
      std::memcpy(chunk->data(), data.data(), data.size());
    }
  }
  if (in_memory()) {
    memory_.push_back(chunk);
  } else if (auto ec = stage_locked(offset, chunk ? chunk->bytes() : data, chunk)) {
    return ec;
  }
  size_ = std::max(size_, offset + data.size());
  dirty_ = true;
  if (streaming_possible_) {
    // A failed or refused stream is not this write's failure: the bytes are staged, and flush
    // uploads the whole staging copy instead. The stream holds a connection for as long as the file
    // stays open, idle writer or not, so it only starts on a spare one and is given up as soon as
    // someone else waits for a connection: idle writers must never starve every other operation.
    if (stream_ && target_.contended()) {
      break_stream_locked();
    } else if (!stream_ && target_.open_if_spare(remote_path_, false, stream_)) {
      break_stream_locked();
    } else if (stream_ && (chunk ? stream_->send(std::move(chunk)) : stream_->write(data))) {
      break_stream_locked();
    }
  }
  return {};
}

std::error_code WriteStage::stage_locked(std::uint64_t offset, std::span<const char> bytes,
                                         const std::shared_ptr<BlockBytes>& chunk) {
  std::size_t direct = 0;
  if (chunk && direct_fd_ >= 0 && offset % BlockBytes::kAlignment == 0)
    direct = bytes.size() / BlockBytes::kAlignment * BlockBytes::kAlignment;
  if (direct > 0 && config_.writer) {
    if (!config_.writer->write(staged_writes_, direct_fd_, fd_, offset, chunk, direct))
      direct = 0;  // the disk lags behind: through the page cache, here and now
  } else if (direct > 0) {
    const std::error_code ec = pwrite_all(direct_fd_, offset, bytes.first(direct));
    if (ec == std::errc::invalid_argument) {
      // The filesystem opened the file with O_DIRECT but refuses the writes: page cache from now on.
      ::close(direct_fd_);
      direct_fd_ = -1;
      direct = 0;
    } else if (ec) {
      return ec;
    }
  }
  return pwrite_all(fd_, offset + direct, bytes.subspan(direct));
}

std::error_code WriteStage::read(std::uint64_t offset, std::span<char> buf, std::size_t& n) {
  std::lock_guard lock(mutex_);
  n = 0;
  if (offset >= size_)
    return {};
  if (auto ec = settle_locked())
    return ec;
  auto len = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), size_ - offset));
  std::span<char> want(buf.data(), len);
  if (in_memory()) {
    std::uint64_t chunk_start = 0;
    for (const auto& chunk : memory_) {
      const std::uint64_t chunk_end = chunk_start + chunk->size();
      const std::uint64_t from = std::max(offset, chunk_start), to = std::min(offset + len, chunk_end);
      if (from < to)
        std::memcpy(want.data() + (from - offset), chunk->data() + (from - chunk_start), to - from);
      chunk_start = chunk_end;
    }
    n = len;
    return {};
  }
  if (!filled_ && offset < source_size_) {
    // Not yet changed in place: the original content is served as is, without filling the stage.
    auto from_source = static_cast<std::size_t>(std::min<std::uint64_t>(len, source_size_ - offset));
    if (auto ec = source_read_all(source_, offset, want.first(from_source)))
      return ec;
    if (auto ec = pread_all(fd_, offset + from_source, want.subspan(from_source)))
      return ec;
  } else if (auto ec = pread_all(fd_, offset, want)) {
    return ec;
  }
  n = len;
  return {};
}

std::error_code WriteStage::truncate(std::uint64_t new_size) {
  std::lock_guard lock(mutex_);
  if (new_size == size_)
    return {};
  if (auto ec = settle_locked())
    return ec;
  if (new_size == 0) {
    // Like an open with O_TRUNC (the kernel sends open + setattr(size=0) without atomic_o_trunc):
    // the old content is gone, so the file may stream again from scratch.
    stream_.reset();
    memory_.clear();
    if (!in_memory() && ::ftruncate(fd_, 0) != 0)
      return last_errno();
    size_ = 0;
    filled_ = true;
    dirty_ = true;
    streaming_possible_ = config_.stream_sequential;
    return {};
  }
  if (auto ec = spill_locked())
    return ec;
  if (auto ec = fill_locked(std::min(new_size, size_)))
    return ec;
  break_stream_locked();
  if (::ftruncate(fd_, static_cast<off_t>(new_size)) != 0)
    return last_errno();
  size_ = new_size;
  dirty_ = true;
  return {};
}

std::uint64_t WriteStage::size() const {
  std::lock_guard lock(mutex_);
  return size_;
}

bool WriteStage::dirty() const {
  std::lock_guard lock(mutex_);
  return dirty_ && !abandoned_;
}

std::string WriteStage::pending_file() const {
  std::lock_guard lock(mutex_);
  return pending_path_.string();
}

std::error_code WriteStage::upload_range_locked(std::uint64_t from, bool append) {
  if (in_memory()) {
    // A new file staged in memory: its buffers go up as they are (from is 0, append is false).
    std::unique_ptr<UploadStream> stream;
    if (auto ec = target_.open(remote_path_, append, stream))
      return ec;
    for (const auto& chunk : memory_) {
      if (auto ec = stream->send(chunk))
        return ec;
    }
    return stream->finish();
  }
  return upload_fd(target_, remote_path_, fd_, from, size_, append, config_.buffers.get());
}

std::error_code WriteStage::verify_locked() {
  return verify_size(target_, remote_path_, size_);
}

std::error_code WriteStage::upload_once_locked(bool first) {
  if (stream_) {
    auto stream = std::move(stream_);
    streaming_possible_ = false;
    const std::error_code ec = stream->finish();
    // A stream that never found a spare connection (it starts in the background) sent nothing:
    // the whole file goes up now, and that is this attempt.
    if (ec != std::errc::resource_unavailable_try_again)
      return ec;
  }
  streaming_possible_ = false;
  // The whole file goes up from the staging copy, which must be complete.
  if (auto ec = settle_locked())
    return ec;
  if (!filled_) {
    if (first)
      return upload_range_locked(remote_base_, true);
    // A failed append may have added part of the tail; append again only if it provably did not.
    std::uint64_t remote = 0;
    if (!target_.remote_size(remote_path_, remote) && remote == remote_base_) {
      return upload_range_locked(remote_base_, true);
    }
    if (auto ec = fill_locked(size_))
      return ec;
  }
  return upload_range_locked(0, false);
}

std::error_code WriteStage::flush() {
  std::lock_guard lock(mutex_);
  if (!dirty_ || abandoned_)
    return {};
  std::error_code last;
  const unsigned attempts = std::max(config_.upload_attempts, 1u);
  for (unsigned attempt = 0; attempt < attempts; ++attempt) {
    last = upload_once_locked(attempt == 0);
    if (!last)
      last = verify_locked();
    if (!last) {
      dirty_ = false;
      remote_base_ = size_;
      drop_pending_locked();
      // An empty file just uploaded is where a new truncated one starts, so what is written next may
      // stream again. dd and shell redirections open the file, dup the descriptor and close the
      // first one, which flushes the empty file before any write: without this, all they wrote
      // went up only at the last close, after the writing had finished.
      if (size_ == 0)
        streaming_possible_ = config_.stream_sequential;
      return {};
    }
  }
  break_stream_locked();
  keep_pending_locked();
  return last;
}

void WriteStage::stop_stream() {
  std::lock_guard lock(mutex_);
  break_stream_locked();
}

void WriteStage::abandon() {
  std::lock_guard lock(mutex_);
  break_stream_locked();
  abandoned_ = true;
  drop_pending_locked();
}

void WriteStage::drop_pending_locked() {
  if (pending_path_.empty())
    return;
  remove_pending_files(pending_path_);
  pending_path_.clear();
}

void WriteStage::keep_pending_locked() {
  if (settle_locked())
    return;  // the staging copy is incomplete: a pending copy of it would upload damage later
  if (spill_locked())
    return;  // the pending copy is made from the staging file
  std::error_code ec;
  std::filesystem::create_directories(config_.pending_dir, ec);
  if (ec)
    return;
  // A whole file is the most useful copy; only when the original cannot be read is the tail kept.
  (void)fill_locked(size_);
  const std::uint64_t from = filled_ ? 0 : remote_base_;
  std::string base = encode_name(remote_path_) + "." + timestamp();
  std::filesystem::path data = config_.pending_dir / base;
  for (int i = 1; std::filesystem::exists(data, ec); ++i) {
    data = config_.pending_dir / (base + "-" + std::to_string(i));
  }
  if (copy_range(fd_, from, size_, data))
    return;
  auto sidecar = [&](const char* suffix) {
    auto p = data;
    p += suffix;
    return p;
  };
  if (!filled_ && write_small_file(sidecar(kAppendSuffix), std::to_string(from) + "\n")) {
    remove_pending_files(data);
    return;
  }
  // The .path sidecar is written last: an entry is listed only once it is complete.
  if (write_small_file(sidecar(kPathSuffix), remote_path_ + "\n")) {
    remove_pending_files(data);
    return;
  }
  drop_pending_locked();  // a newer copy replaces the one kept by an earlier failed flush
  pending_path_ = data;
}

std::error_code WriteStage::list_pending(const std::filesystem::path& pending_dir,
                                         std::vector<PendingUpload>& out) {
  out.clear();
  std::error_code ec;
  if (!std::filesystem::exists(pending_dir, ec))
    return ec;
  std::filesystem::directory_iterator it(pending_dir, ec);
  if (ec)
    return ec;
  for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
    if (ec)
      return ec;
    const auto& sidecar = it->path();
    const std::string name = sidecar.filename().string();
    const std::string suffix = kPathSuffix;
    if (name.size() <= suffix.size() ||
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) {
      continue;
    }
    PendingUpload entry;
    entry.local_file = pending_dir / name.substr(0, name.size() - suffix.size());
    std::error_code exists_ec;
    if (!std::filesystem::is_regular_file(entry.local_file, exists_ec))
      continue;
    std::string text;
    if (read_small_file(sidecar, text))
      continue;
    if (!text.empty() && text.back() == '\n')
      text.pop_back();
    if (text.empty())
      continue;
    entry.remote_path = text;
    auto append_file = entry.local_file;
    append_file += kAppendSuffix;
    if (std::filesystem::exists(append_file, exists_ec)) {
      std::string offset_text;
      if (read_small_file(append_file, offset_text))
        continue;
      try {
        entry.append_offset = std::stoull(offset_text);
      } catch (const std::exception&) {
        continue;  // a damaged marker: skip rather than append at a wrong offset
      }
    }
    out.push_back(std::move(entry));
  }
  std::sort(out.begin(), out.end(),
            [](const PendingUpload& a, const PendingUpload& b) { return a.local_file < b.local_file; });
  return {};
}

std::error_code WriteStage::retry_pending(const PendingUpload& pending, UploadTarget& target) {
  int fd = ::open(pending.local_file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return last_errno();
  struct stat st {};
  std::error_code ec;
  if (::fstat(fd, &st) != 0)
    ec = last_errno();
  const auto len = static_cast<std::uint64_t>(st.st_size);
  const std::uint64_t base = pending.append_offset.value_or(0);
  if (!ec && pending.append_offset) {
    // Appending to anything but the size the tail was meant to follow would corrupt the file.
    ec = verify_size(target, pending.remote_path, base);
  }
  if (!ec)
    ec = upload_fd(target, pending.remote_path, fd, 0, len, pending.append_offset.has_value(), nullptr);
  ::close(fd);
  if (!ec)
    ec = verify_size(target, pending.remote_path, base + len);
  if (!ec)
    remove_pending_files(pending.local_file);
  return ec;
}

}  // namespace cache
