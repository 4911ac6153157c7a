#pragma once
// The local staging file of one remote file open for writing (shared by every handle that has the
// path open for writing; fs/ keeps a map path -> shared_ptr<WriteStage>).
//
// Every write is staged first, so close() can report an upload's failure and a failed upload loses
// nothing. A new or truncated file written sequentially is staged in memory, in the buffers its
// upload sends, while it is small (kMemoryStageLimit): copying thousands of small files makes no
// staging file at all. Beyond that, or at the first change that is not an append, the bytes move to
// a staging file. Streamed bytes go to that file with O_DIRECT where possible, from the same buffer
// the upload sends: no copy through the page cache, and none for the upload. Three ways to reach
// the server, cheapest first:
//  - streaming: a file truncated on open (or new) that is written sequentially from offset 0 is
//    pushed to the server while it is written, so flush() only waits for the tail. The stream holds
//    a connection while the file is open, so it starts only when the target has one to spare
//    (UploadTarget::open_if_spare) and stops when another caller waits (UploadTarget::contended);
//    the file is then uploaded whole at flush;
//  - append: an existing file that only grows at its original end uploads just the new bytes (APPE);
//  - whole file: anything else (in-place change, truncate, seek) replaces the remote file from the
//    staging copy, which is first filled with the original content from a ContentSource.
// After every upload the remote size is checked against the staged size; a short upload is an error,
// never a silent truncation. When all attempts fail, the staged bytes are copied to a pending
// directory (with a sidecar naming the remote path) for a later mount to retry.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include "cache/block_buffers.h"
#include "cache/staging_writer.h"
#include "cache/upload_target.h"

namespace cache {

// Reads the ORIGINAL content of the file (fs/ passes its FileReader). n < buf.size() only at its end.
using ContentSource =
    std::function<std::error_code(std::uint64_t offset, std::span<char> buf, std::size_t& n)>;

struct WriteStageConfig {
  std::filesystem::path staging_dir;
  std::filesystem::path pending_dir;
  // Buffers for the bytes on their way to the server, shared by the stages of a mount: a buffer
  // holds a write's bytes for both the staging file and the upload, which sends them without
  // another copy. Without one, uploads copy what they send.
  std::shared_ptr<BlockBuffers> buffers;
  // Writes those buffers into staging files in the background (null: in write() itself).
  std::shared_ptr<StagingWriter> writer;
  bool stream_sequential = true;  // stream sequential writes of a truncated file while they arrive
  unsigned upload_attempts = 2;   // uploads tried per flush before the data is kept as pending
};

// A staged upload that failed and was kept on disk.
struct PendingUpload {
  std::string remote_path;
  std::filesystem::path local_file;
  // Set when local_file holds only bytes to append to a remote file of exactly this size (the
  // original content could not be read to build the whole file).
  std::optional<std::uint64_t> append_offset;
};

class WriteStage {
 public:
  // The most bytes a stage keeps in memory before it makes a staging file.
  static constexpr std::uint64_t kMemoryStageLimit = 1u << 20;

  // remote_size is the original file's size (0 for a new file). truncated_on_open means the file was
  // created or opened with O_TRUNC: it starts empty and flush() uploads it even if nothing is
  // written, so the server ends up with an empty file too.
  static std::error_code create(const WriteStageConfig& config, std::string remote_path,
                                std::uint64_t remote_size, bool truncated_on_open, UploadTarget& target,
                                ContentSource fill, std::unique_ptr<WriteStage>& out);
  ~WriteStage();  // aborts an unfinished stream and removes the staging file (not pending copies)
  WriteStage(const WriteStage&) = delete;
  WriteStage& operator=(const WriteStage&) = delete;

  // `received`, when given, holds exactly the bytes of `data` (data.data() == received->data()): a
  // stage that would copy them into a buffer of its own keeps that block instead, unless the block
  // is more than twice their size.
  std::error_code write(std::uint64_t offset, std::span<const char> data,
                        std::shared_ptr<BlockBytes> received = nullptr);
  // Read-your-writes; n < buf.size() only at the end of the staged file.
  std::error_code read(std::uint64_t offset, std::span<char> buf, std::size_t& n);
  std::error_code truncate(std::uint64_t size);
  std::uint64_t size() const;
  bool dirty() const;

  // Brings the server up to date and verifies the remote size. Returns the last upload's error after
  // all attempts failed; the stage then stays dirty (a later flush retries) and pending_file() names
  // the kept copy.
  std::error_code flush();
  std::string pending_file() const;  // "" when no copy is kept

  // The remote file is about to be removed while the stage is open: a transfer streaming into it is
  // aborted, so that the server does not complete a file being deleted. Unless abandon() follows,
  // the next flush uploads the whole file, as after any broken stream.
  void stop_stream();
  // The remote file was removed (unlink of a file still open): nothing is uploaded any more and no
  // pending copy is kept. Reads and writes go on against the local copy until the stage is
  // destroyed, as on a local filesystem, where an unlinked open file lives on without a name.
  void abandon();

  // Pending uploads kept in pending_dir by earlier runs, ordered by file name.
  static std::error_code list_pending(const std::filesystem::path& pending_dir,
                                      std::vector<PendingUpload>& out);
  // Uploads one pending copy and verifies it; on success removes it and its sidecars.
  static std::error_code retry_pending(const PendingUpload& pending, UploadTarget& target);

 private:
  WriteStage(const WriteStageConfig& config, std::string remote_path, std::uint64_t remote_size,
             bool truncated_on_open, UploadTarget& target, ContentSource fill);

  // Makes the staging file and moves the bytes staged in memory into it (nothing when it exists).
  std::error_code spill_locked();
  bool in_memory() const { return fd_ < 0; }
  std::error_code fill_locked(std::uint64_t limit);
  // Writes bytes into the staging file. Whole pages of a buffer (`chunk`, when given) go with O_DIRECT,
  // through config_.writer when there is one: no copy into the page cache, and the upload has them
  // in memory anyway. The rest goes through the page cache.
  std::error_code stage_locked(std::uint64_t offset, std::span<const char> bytes,
                               const std::shared_ptr<BlockBytes>& chunk);
  // Waits for the background writes of this stage; their first failure, if any.
  std::error_code settle_locked();
  void break_stream_locked();
  std::error_code upload_once_locked(bool first);
  std::error_code upload_range_locked(std::uint64_t from, bool append);
  std::error_code verify_locked();
  void keep_pending_locked();
  void drop_pending_locked();

  WriteStageConfig config_;
  std::string remote_path_;
  UploadTarget& target_;
  ContentSource source_;
  std::filesystem::path staging_path_;
  int fd_ = -1;  // -1 while the bytes are staged in memory_
  // [0, size_) in order, while staged in memory.
  std::vector<std::shared_ptr<const BlockBytes>> memory_;
  int direct_fd_ = -1;  // the staging file opened with O_DIRECT, where the filesystem allows
  std::shared_ptr<StagedWrites> staged_writes_ = std::make_shared<StagedWrites>();

  mutable std::mutex mutex_;
  std::uint64_t source_size_;  // bytes of original content the ContentSource can supply
  std::uint64_t remote_base_;  // bytes the server holds that an append would follow
  std::uint64_t size_;         // current logical size
  // Whether the staging file holds the whole content [0, size_). When not, only bytes appended at
  // source_size_ or later are staged and the rest is still the original content.
  bool filled_;
  bool dirty_;
  bool abandoned_ = false;   // the remote file was removed: never upload (abandon())
  bool streaming_possible_;  // every write so far was sequential from 0 on a truncated file
  std::unique_ptr<UploadStream> stream_;
  std::filesystem::path pending_path_;
};

}  // namespace cache
