#include "cache/write_stage.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

namespace {

namespace fs = std::filesystem;
using cache::ContentSource;
using cache::PendingUpload;
using cache::UploadStream;
using cache::UploadTarget;
using cache::WriteStage;
using cache::WriteStageConfig;

std::error_code err(std::errc e) {
  return std::make_error_code(e);
}

// An FTP server in memory. Like STOR, a replace upload empties the file when it opens and the data
// lands as it arrives, so an aborted upload leaves part of the file behind.
class FakeTarget : public UploadTarget {
 public:
  std::map<std::string, std::string> files;
  int opens = 0;
  int append_opens = 0;
  std::deque<std::error_code> open_failures, write_failures, finish_failures;
  int short_uploads = 0;  // the next N finished uploads lose their last byte, yet report success
  bool spare = true;      // whether open_if_spare finds a connection to spare
  bool waiters = false;   // what contended() reports
  int spare_opens = 0;

  std::error_code open_if_spare(const std::string& path, bool append,
                                std::unique_ptr<UploadStream>& out) override {
    ++spare_opens;
    if (!spare)
      return err(std::errc::resource_unavailable_try_again);
    return open(path, append, out);
  }
  bool contended() const override { return waiters; }

  std::error_code open(const std::string& path, bool append, std::unique_ptr<UploadStream>& out) override {
    ++opens;
    if (append)
      ++append_opens;
    if (auto ec = pop(open_failures))
      return ec;
    if (append && !files.count(path))
      return err(std::errc::no_such_file_or_directory);
    if (!append)
      files[path].clear();
    out = std::make_unique<Stream>(*this, path);
    return {};
  }

  std::error_code remote_size(const std::string& path, std::uint64_t& size) override {
    auto it = files.find(path);
    if (it == files.end())
      return err(std::errc::no_such_file_or_directory);
    size = it->second.size();
    return {};
  }

 private:
  static std::error_code pop(std::deque<std::error_code>& q) {
    if (q.empty())
      return {};
    auto ec = q.front();
    q.pop_front();
    return ec;
  }

  class Stream : public UploadStream {
   public:
    Stream(FakeTarget& t, std::string path) : t_(t), path_(std::move(path)) {}
    std::error_code write(std::span<const char> data) override {
      if (auto ec = pop(t_.write_failures))
        return ec;
      t_.files[path_].append(data.data(), data.size());
      return {};
    }
    std::error_code finish() override {
      if (auto ec = pop(t_.finish_failures))
        return ec;
      if (t_.short_uploads > 0 && !t_.files[path_].empty()) {
        --t_.short_uploads;
        t_.files[path_].pop_back();
      }
      return {};
    }

   private:
    FakeTarget& t_;
    std::string path_;
  };
};

// The original content as the block cache would serve it.
struct Original {
  std::string data;
  int calls = 0;
  std::error_code failure;
  ContentSource source() {
    return [this](std::uint64_t offset, std::span<char> buf, std::size_t& n) -> std::error_code {
      ++calls;
      n = 0;
      if (failure)
        return failure;
      if (offset >= data.size())
        return {};
      n = std::min<std::size_t>(buf.size(), data.size() - offset);
      std::copy_n(data.data() + offset, n, buf.data());
      return {};
    };
  }
};

std::string pattern(std::size_t n, unsigned seed) {
  std::string s(n, '\0');
  std::mt19937 rng(seed);
  for (auto& c : s)
    c = static_cast<char>('a' + rng() % 26);
  return s;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Every test runs twice: staging written in write() itself, and the way a mount stages streamed
// bytes (shared buffers, written with O_DIRECT by a background writer).
class WriteStageTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    std::string templ = (fs::temp_directory_path() / "write_stage_test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(templ.data()), nullptr);
    root_ = templ;
    config_.staging_dir = root_ / "staging";
    config_.pending_dir = root_ / "pending";
    if (GetParam()) {
      config_.buffers = std::make_shared<cache::BlockBuffers>(4u << 20);
      config_.writer = std::make_shared<cache::StagingWriter>(1u << 20);
    }
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(root_, ignored);
  }

  // An existing remote file, opened without truncation.
  std::unique_ptr<WriteStage> open_existing(const std::string& path, const std::string& content) {
    target_.files[path] = content;
    original_.data = content;
    std::unique_ptr<WriteStage> stage;
    EXPECT_FALSE(
        WriteStage::create(config_, path, content.size(), false, target_, original_.source(), stage));
    return stage;
  }

  std::unique_ptr<WriteStage> open_truncated(const std::string& path) {
    std::unique_ptr<WriteStage> stage;
    EXPECT_FALSE(WriteStage::create(config_, path, 0, true, target_, original_.source(), stage));
    return stage;
  }

  static std::string read_all(WriteStage& stage) {
    std::string out(stage.size() + 10, '?');
    std::size_t n = 0;
    EXPECT_FALSE(stage.read(0, std::span<char>(out), n));
    out.resize(n);
    return out;
  }

  fs::path root_;
  WriteStageConfig config_;
  FakeTarget target_;
  Original original_;
};

TEST_P(WriteStageTest, SequentialWritesReachServerBeforeFlush) {
  auto stage = open_truncated("/f");
  const std::string a = pattern(70000, 1), b = pattern(5000, 2);
  ASSERT_FALSE(stage->write(0, a));
  ASSERT_FALSE(stage->write(a.size(), b));
  EXPECT_EQ(target_.files["/f"], a + b);  // streamed while written
  ASSERT_FALSE(stage->flush());
  EXPECT_EQ(target_.files["/f"], a + b);
  EXPECT_EQ(target_.opens, 1);
  EXPECT_FALSE(stage->dirty());
  EXPECT_EQ(original_.calls, 0);
}

// dd and shell redirections open the file, dup the descriptor and close the first one: the empty
// file is flushed before any write. What they write next must still stream, not wait for close.
TEST_P(WriteStageTest, WritesAfterAFlushOfTheEmptyFileStillStream) {
  auto stage = open_truncated("/f");
  ASSERT_FALSE(stage->flush());
  EXPECT_EQ(target_.files["/f"], "");  // the empty file is on the server
  const std::string a = pattern(70000, 3), b = pattern(5000, 4);
  ASSERT_FALSE(stage->write(0, a));
  ASSERT_FALSE(stage->write(a.size(), b));
  EXPECT_EQ(target_.files["/f"], a + b) << "streamed while written";
  ASSERT_FALSE(stage->flush());
  EXPECT_EQ(target_.files["/f"], a + b);
  EXPECT_EQ(target_.opens, 2);  // the empty upload, then the stream
  EXPECT_FALSE(stage->dirty());
}

// The file was removed while open (unlink): the stream into it stops, and nothing written before
// or after reaches the server, now or at flush; reads still see it all.
TEST_P(WriteStageTest, AnAbandonedStageUploadsNothing) {
  auto stage = open_truncated("/f");
  const std::string a = pattern(70000, 5), b = pattern(3000, 6);
  ASSERT_FALSE(stage->write(0, a));
  const int opens = target_.opens;
  stage->stop_stream();
  stage->abandon();
  ASSERT_FALSE(stage->write(a.size(), b));
  EXPECT_FALSE(stage->dirty());
  ASSERT_FALSE(stage->flush());
  EXPECT_EQ(target_.opens, opens) << "no upload after the abandon";
  EXPECT_NE(target_.files["/f"], a + b);
  EXPECT_EQ(stage->pending_file(), "");
  std::string back(a.size() + b.size(), '\0');
  std::size_t n = 0;
  ASSERT_FALSE(stage->read(0, {back.data(), back.size()}, n));
  EXPECT_EQ(n, back.size());
  EXPECT_TRUE(back == a + b);
}

// A disk that never keeps up: the background writer refuses every streamed chunk, and the stage
// writes them through the page cache itself. When the stream then fails at its end, the staging
// copy is uploaded whole and must be exact.
TEST_P(WriteStageTest, ChunksRefusedByAFullStagingQueueAreStagedAnyway) {
  if (GetParam())
    config_.writer = std::make_shared<cache::StagingWriter>(0);
  target_.finish_failures.push_back(err(std::errc::connection_reset));
  auto stage = open_truncated("/f");
  std::string ref;
  for (unsigned i = 0; i < 40; ++i) {
    const std::string chunk = pattern(64 * 1024, 40 + i);
    ASSERT_FALSE(stage->write(ref.size(), chunk));
    ref += chunk;
  }
  EXPECT_TRUE(read_all(*stage) == ref);
  ASSERT_FALSE(stage->flush());
  EXPECT_TRUE(target_.files["/f"] == ref);
  EXPECT_EQ(target_.opens, 2);  // the stream, then the whole staging copy
}

// A write whose bytes arrive in a block of their own (fs/session_loop.h) is staged and sent from
// that block, not from a copy.
TEST_P(WriteStageTest, AReceivedBlockIsKeptInsteadOfCopied) {
  auto stage = open_truncated("/f");
  const std::string a = pattern(200000, 50);
  auto block = std::make_shared<cache::BlockBytes>(a.size());
  std::copy(a.begin(), a.end(), block->begin());
  ASSERT_FALSE(stage->write(0, {block->data(), block->size()}, block));
  EXPECT_TRUE(read_all(*stage) == a);
  if (GetParam())
    EXPECT_GT(block.use_count(), 1) << "the stage copied the bytes instead of keeping the block";
  else
    EXPECT_EQ(block.use_count(), 1) << "without shared buffers the stage writes its own file";
  // Bytes that are not the block's own data are copied (the block is ignored).
  const std::string b = pattern(1000, 51);
  auto other = std::make_shared<cache::BlockBytes>(b.size());
  ASSERT_FALSE(stage->write(a.size(), {b.data(), b.size()}, other));
  EXPECT_EQ(other.use_count(), 1);
  ASSERT_FALSE(stage->flush());
  EXPECT_TRUE(target_.files["/f"] == a + b);
}

TEST_P(WriteStageTest, NoStreamingWhenDisabled) {
  config_.stream_sequential = false;
  auto stage = open_truncated("/f");
  ASSERT_FALSE(stage->write(0, std::string("abc")));
  EXPECT_FALSE(target_.files.count("/f"));
  ASSERT_FALSE(stage->flush());
  EXPECT_EQ(target_.files["/f"], "abc");
}

TEST_P(WriteStageTest, TruncatedFileWithoutWritesIsUploadedEmpty) {
  auto stage = open_existing("/f", "old content");
  stage.reset();
  std::unique_ptr<WriteStage> truncated;
  ASSERT_FALSE(WriteStage::create(config_, "/f", 11, true, target_, original_.source(), truncated));
  EXPECT_TRUE(truncated->dirty());
  ASSERT_FALSE(truncated->flush());
  EXPECT_EQ(target_.files["/f"], "");
}

TEST_P(WriteStageTest, SeekAbortsStreamAndUploadsWholeFile) {
  config_.upload_attempts = 1;  // the abandoned stream must not cost the only attempt
  auto stage = open_truncated("/f");
  std::string ref = pattern(3000, 3);
  ASSERT_FALSE(stage->write(0, ref));
  ASSERT_FALSE(stage->write(100, std::string("XYZ")));
  ref.replace(100, 3, "XYZ");
  ASSERT_FALSE(stage->flush());
  EXPECT_EQ(target_.files["/f"], ref);
  EXPECT_EQ(target_.opens, 2);
}

TEST_P(WriteStageTest, OverwriteInMiddleFillsFromOriginal) {
  const std::string orig = pattern(300000, 4);
  auto stage = open_existing("/f", orig);
  EXPECT_FALSE(stage->dirty());
  ASSERT_FALSE(stage->write(150000, std::string("HELLO")));
  std::string ref = orig;
  ref.replace(150000, 5, "HELLO");
  EXPECT_EQ(read_all(*stage), ref);
  ASSERT_FALSE(stage->flush());
  EXPECT_EQ(target_.files["/f"], ref);
  EXPECT_EQ(target_.append_opens, 0);
  EXPECT_GT(original_.calls, 0);
}

TEST_P(WriteStageTest, TruncateSmallerThenLargerZeroFills) {
  auto stage = open_existing("/f", "abcdefghij");
  ASSERT_FALSE(stage->truncate(4));
  EXPECT_EQ(stage->size(), 4u);
  EXPECT_EQ(read_all(*stage), "abcd");
  ASSERT_FALSE(stage->truncate(8));
  const std::string ref("abcd\0\0\0\0", 8);
  EXPECT_EQ(read_all(*stage), ref);
  ASSERT_FALSE(stage->flush());
  EXPECT_EQ(target_.files["/f"], ref);
}

TEST_P(WriteStageTest, TruncateToZeroThenSequentialWritesStream) {
  auto stage = open_existing("/f", "old content");
  ASSERT_FALSE(stage->truncate(0));
  ASSERT_FALSE(stage->write(0, std::string("new")));
  EXPECT_EQ(target_.files["/f"], "new");
  ASSERT_FALSE(stage->flush());
  EXPECT_EQ(target_.files["/f"], "new");
  EXPECT_EQ(original_.calls, 0);
}

TEST_P(WriteStageTest, AppendAtEndUploadsOnlyTheTail) {
  const std::string orig = pattern(5000, 5);
  auto stage = open_existing("/f", orig);
  ASSERT_FALSE(stage->write(orig.size(), std::string("tail1")));
  ASSERT_FALSE(stage->write(orig.size() + 5, std::string("tail2")));
  ASSERT_FALSE(stage->flush());
  EXPECT_EQ(target_.files["/f"], orig + "tail1tail2");
  EXPECT_EQ(target_.append_opens, 1);
  EXPECT_EQ(original_.calls, 0);  // the original was never read

  // A second round of appends after the flush only sends the new bytes again.
  ASSERT_FALSE(stage->write(orig.size() + 10, std::string("more")));
  ASSERT_FALSE(stage->flush());
  EXPECT_EQ(target_.files["/f"], orig + "tail1tail2more");
  EXPECT_EQ(target_.append_opens, 2);
  EXPECT_EQ(original_.calls, 0);
}

TEST_P(WriteStageTest, ReadYourWritesOnExistingFile) {
  const std::string orig = pattern(10000, 6);
  auto stage = open_existing("/f", orig);
  std::string buf(100, '?');
  std::size_t n = 0;
  ASSERT_FALSE(stage->read(9950, std::span<char>(buf), n));
  EXPECT_EQ(buf.substr(0, n), orig.substr(9950));

  ASSERT_FALSE(stage->write(orig.size(), std::string("APPENDED")));
  ASSERT_FALSE(stage->read(9990, std::span<char>(buf), n));
  EXPECT_EQ(buf.substr(0, n), orig.substr(9990) + "APPENDED");

  ASSERT_FALSE(stage->write(20, std::string("mid")));
  ASSERT_FALSE(stage->read(0, std::span<char>(buf), n));
  std::string ref = orig + "APPENDED";
  ref.replace(20, 3, "mid");
  EXPECT_EQ(buf.substr(0, n), ref.substr(0, 100));
  EXPECT_EQ(read_all(*stage), ref);

  ASSERT_FALSE(stage->read(ref.size() + 5, std::span<char>(buf), n));
  EXPECT_EQ(n, 0u);
}

// A streaming upload holds a connection for as long as the file is open; without one to spare the
// file is not streamed, and flush sends it whole.
TEST_P(WriteStageTest, WithoutSpareConnectionTheWholeFileIsUploadedAtFlush) {
  target_.spare = false;
  auto stage = open_truncated("/f");
  std::string ref;
  for (unsigned i = 0; i < 5; ++i) {
    const std::string chunk = pattern(70000 + i, 20 + i);
    ASSERT_FALSE(stage->write(ref.size(), chunk));
    ref += chunk;
  }
  EXPECT_FALSE(target_.files.count("/f")) << "nothing is streamed";
  EXPECT_EQ(target_.spare_opens, 1) << "a refusal ends streaming for this stage";
  ASSERT_FALSE(stage->flush());
  EXPECT_EQ(target_.files["/f"], ref);
  EXPECT_EQ(target_.opens, 1);
  EXPECT_FALSE(stage->dirty());
  EXPECT_EQ(original_.calls, 0);
}

TEST_P(WriteStageTest, StreamStopsWhenAnotherCallerWaitsForAConnection) {
  auto stage = open_truncated("/f");
  const std::string a = pattern(50000, 30), b = pattern(40000, 31), c = pattern(30000, 32);
  ASSERT_FALSE(stage->write(0, a));
  EXPECT_EQ(target_.files["/f"], a);  // streaming
  target_.waiters = true;
  ASSERT_FALSE(stage->write(a.size(), b));
  target_.waiters = false;
  ASSERT_FALSE(stage->write(a.size() + b.size(), c));
  EXPECT_EQ(target_.files["/f"], a) << "the stream was given up before b";
  EXPECT_EQ(target_.spare_opens, 1);
  ASSERT_FALSE(stage->flush());
  EXPECT_EQ(target_.files["/f"], a + b + c);
  EXPECT_EQ(target_.opens, 2);
}

TEST_P(WriteStageTest, FailedStreamIsRetriedAsWholeFile) {
  auto stage = open_truncated("/f");
  const std::string data = pattern(20000, 7);
  target_.finish_failures.push_back(err(std::errc::io_error));
  ASSERT_FALSE(stage->write(0, data));
  ASSERT_FALSE(stage->flush());
  EXPECT_EQ(target_.files["/f"], data);
  EXPECT_EQ(target_.opens, 2);
  EXPECT_EQ(stage->pending_file(), "");
}

TEST_P(WriteStageTest, FailedUploadKeepsPendingCopyAndReturnsLastError) {
  auto stage = open_truncated("/dir/my file.txt");
  const std::string data = pattern(50000, 8);
  target_.open_failures = {err(std::errc::io_error), err(std::errc::io_error),
                           err(std::errc::no_space_on_device)};
  ASSERT_FALSE(stage->write(0, data));  // its stream fails to open; the write is still staged
  EXPECT_EQ(stage->flush(), std::errc::no_space_on_device);
  EXPECT_EQ(target_.opens, 3);  // the stream, then two whole-file attempts
  EXPECT_TRUE(stage->dirty());
  const fs::path pending = stage->pending_file();
  ASSERT_FALSE(pending.empty());
  EXPECT_EQ(pending.parent_path(), config_.pending_dir);
  EXPECT_EQ(slurp(pending), data);
  EXPECT_EQ(slurp(pending.string() + ".path"), "/dir/my file.txt\n");

  // A later flush that succeeds drops the pending copy.
  ASSERT_FALSE(stage->flush());
  EXPECT_EQ(target_.files["/dir/my file.txt"], data);
  EXPECT_EQ(stage->pending_file(), "");
  EXPECT_FALSE(fs::exists(pending));
  EXPECT_FALSE(fs::exists(pending.string() + ".path"));
}

TEST_P(WriteStageTest, ShortUploadIsAnError) {
  auto stage = open_truncated("/f");
  target_.short_uploads = 2;
  ASSERT_FALSE(stage->write(0, std::string("0123456789")));
  EXPECT_EQ(stage->flush(), std::errc::io_error);
  EXPECT_TRUE(stage->dirty());
  EXPECT_EQ(slurp(stage->pending_file()), "0123456789");
}

TEST_P(WriteStageTest, ShortUploadIsRetried) {
  auto stage = open_truncated("/f");
  target_.short_uploads = 1;
  ASSERT_FALSE(stage->write(0, std::string("0123456789")));
  ASSERT_FALSE(stage->flush());
  EXPECT_EQ(target_.files["/f"], "0123456789");
}

TEST_P(WriteStageTest, ListsAndRetriesPendingUploads) {
  target_.open_failures.assign(100, err(std::errc::io_error));
  std::vector<std::unique_ptr<WriteStage>> stages;
  const std::vector<std::string> paths = {"/a/b.txt", "/../../escape%", "/x/y z"};
  for (std::size_t i = 0; i < paths.size(); ++i) {
    stages.push_back(open_truncated(paths[i]));
    ASSERT_FALSE(stages.back()->write(0, pattern(1000 + i, 10 + i)));
    EXPECT_TRUE(stages.back()->flush());
  }
  stages.clear();  // pending copies outlive their stages

  std::vector<PendingUpload> pending;
  ASSERT_FALSE(WriteStage::list_pending(config_.pending_dir, pending));
  ASSERT_EQ(pending.size(), 3u);
  std::map<std::string, fs::path> by_path;
  for (const auto& p : pending) {
    EXPECT_EQ(p.local_file.parent_path(), config_.pending_dir);
    EXPECT_FALSE(p.append_offset);
    by_path[p.remote_path] = p.local_file;
  }
  ASSERT_EQ(by_path.size(), 3u);
  for (const auto& p : paths)
    EXPECT_TRUE(by_path.count(p)) << p;

  FakeTarget server;
  const std::string expected = slurp(pending[0].local_file);
  EXPECT_GE(expected.size(), 1000u);
  ASSERT_FALSE(WriteStage::retry_pending(pending[0], server));
  EXPECT_EQ(server.files[pending[0].remote_path], expected);
  EXPECT_FALSE(fs::exists(pending[0].local_file));

  std::vector<PendingUpload> left;
  ASSERT_FALSE(WriteStage::list_pending(config_.pending_dir, left));
  ASSERT_EQ(left.size(), 2u);
  EXPECT_NE(left[0].remote_path, pending[0].remote_path);
  EXPECT_NE(left[1].remote_path, pending[0].remote_path);

  // A failing retry keeps the copy for the next attempt.
  server.open_failures.push_back(err(std::errc::no_space_on_device));
  EXPECT_EQ(WriteStage::retry_pending(left[0], server), std::errc::no_space_on_device);
  EXPECT_TRUE(fs::exists(left[0].local_file));
}

TEST_P(WriteStageTest, ListingAMissingPendingDirectoryIsEmpty) {
  std::vector<PendingUpload> pending;
  EXPECT_FALSE(WriteStage::list_pending(root_ / "nothing-here", pending));
  EXPECT_TRUE(pending.empty());
}

TEST_P(WriteStageTest, UnreadableOriginalKeepsAppendedTailAsPending) {
  const std::string orig = pattern(4000, 20);
  auto stage = open_existing("/log", orig);
  ASSERT_FALSE(stage->write(orig.size(), std::string("new lines\n")));
  original_.failure = err(std::errc::connection_reset);
  target_.open_failures.assign(2, err(std::errc::io_error));
  EXPECT_EQ(stage->flush(), std::errc::io_error);
  stage.reset();

  std::vector<PendingUpload> pending;
  ASSERT_FALSE(WriteStage::list_pending(config_.pending_dir, pending));
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].remote_path, "/log");
  ASSERT_TRUE(pending[0].append_offset);
  EXPECT_EQ(*pending[0].append_offset, orig.size());
  EXPECT_EQ(slurp(pending[0].local_file), "new lines\n");

  // Appending to a file whose size changed since would corrupt it: refused, copy kept.
  target_.files["/log"] = orig + "x";
  EXPECT_TRUE(WriteStage::retry_pending(pending[0], target_));
  EXPECT_TRUE(fs::exists(pending[0].local_file));
  EXPECT_EQ(target_.files["/log"], orig + "x");

  target_.files["/log"] = orig;
  ASSERT_FALSE(WriteStage::retry_pending(pending[0], target_));
  EXPECT_EQ(target_.files["/log"], orig + "new lines\n");
  EXPECT_FALSE(fs::exists(pending[0].local_file));
}

TEST_P(WriteStageTest, FailedAppendFallsBackToWholeFile) {
  const std::string orig = pattern(4000, 21);
  auto stage = open_existing("/f", orig);
  ASSERT_FALSE(stage->write(orig.size(), std::string("tail")));
  // The append lands on the server but the transfer then fails: appending again would duplicate.
  target_.finish_failures.push_back(err(std::errc::io_error));
  ASSERT_FALSE(stage->flush());
  EXPECT_EQ(target_.files["/f"], orig + "tail");
  EXPECT_EQ(target_.append_opens, 1);
  EXPECT_EQ(target_.opens, 2);
}

TEST_P(WriteStageTest, DestructorRemovesStagingFile) {
  auto stage = open_truncated("/f");
  // Past the limit of a stage kept in memory, so that there is a file in either mode.
  const std::string data = pattern(WriteStage::kMemoryStageLimit + 1000, 3);
  ASSERT_FALSE(stage->write(0, data));
  EXPECT_FALSE(fs::is_empty(config_.staging_dir));
  stage.reset();
  EXPECT_TRUE(fs::is_empty(config_.staging_dir));
}

TEST_P(WriteStageTest, SmallNewFileIsStagedInMemoryUntilItGrowsOrChangesInPlace) {
  auto stage = open_truncated("/f");
  const std::string a = pattern(3000, 1), b = pattern(WriteStage::kMemoryStageLimit, 2);
  ASSERT_FALSE(stage->write(0, a));
  const bool has_file = fs::exists(config_.staging_dir) && !fs::is_empty(config_.staging_dir);
  // With the mount's buffers a small new file needs no staging file; without, it has one at once.
  EXPECT_EQ(has_file, !GetParam());
  EXPECT_EQ(read_all(*stage), a);
  ASSERT_FALSE(stage->write(a.size(), b));  // past the limit: the bytes move to a staging file
  EXPECT_FALSE(fs::is_empty(config_.staging_dir));
  EXPECT_EQ(read_all(*stage), a + b);
  ASSERT_FALSE(stage->flush());
  EXPECT_EQ(target_.files["/f"], a + b);
}

TEST_P(WriteStageTest, FailedStreamOfAFileStagedInMemoryIsUploadedFromMemoryOrKeptPending) {
  auto stage = open_truncated("/f");
  const std::string a = pattern(5000, 4);
  target_.write_failures.push_back(err(std::errc::connection_reset));  // the stream breaks
  ASSERT_FALSE(stage->write(0, a));
  ASSERT_FALSE(stage->flush());  // uploaded whole instead
  EXPECT_EQ(target_.files["/f"], a);
  // And when every upload fails, the bytes are kept in the pending area.
  // (One refusal for the stream at the first write, one for each of the two attempts at flush.)
  target_.open_failures = {err(std::errc::connection_reset), err(std::errc::connection_reset),
                           err(std::errc::connection_reset)};
  auto again = open_truncated("/g");
  ASSERT_FALSE(again->write(0, a));
  EXPECT_TRUE(again->flush());
  ASSERT_FALSE(again->pending_file().empty());
  EXPECT_EQ(slurp(again->pending_file()), a);
}

TEST_P(WriteStageTest, ConcurrentWritersAndFlushKeepEveryByte) {
  auto stage = open_truncated("/f");
  constexpr std::size_t kChunk = 1000, kChunks = 100;
  std::string ref(2 * kChunk * kChunks, '\0');
  for (std::size_t i = 0; i < ref.size(); ++i)
    ref[i] = static_cast<char>('A' + (i / kChunk) % 26);
  auto writer = [&](std::size_t first) {
    for (std::size_t c = first; c < 2 * kChunks; c += 2) {
      EXPECT_FALSE(stage->write(c * kChunk, std::string_view(ref).substr(c * kChunk, kChunk)));
    }
  };
  std::thread t1(writer, 0), t2(writer, 1);
  std::thread flusher([&] {
    for (int i = 0; i < 5; ++i)
      EXPECT_FALSE(stage->flush());
  });
  t1.join();
  t2.join();
  flusher.join();
  ASSERT_FALSE(stage->flush());
  EXPECT_EQ(target_.files["/f"], ref);
}

void random_ops(WriteStage& stage, std::string ref, FakeTarget& target, const std::string& path,
                unsigned seed) {
  std::mt19937 rng(seed);
  auto uniform = [&](std::uint64_t lo, std::uint64_t hi) {
    return std::uniform_int_distribution<std::uint64_t>(lo, hi)(rng);
  };
  for (int step = 0; step < 400; ++step) {
    const auto kind = uniform(0, 99);
    if (kind < 55) {
      // Writes: many exact appends (to exercise the append and streaming paths), others anywhere.
      const std::uint64_t off = kind < 25 ? ref.size() : uniform(0, ref.size() + 3000);
      const std::string data = pattern(uniform(1, 5000), static_cast<unsigned>(rng()));
      ASSERT_FALSE(stage.write(off, data));
      if (ref.size() < off + data.size())
        ref.resize(off + data.size(), '\0');
      ref.replace(off, data.size(), data);
    } else if (kind < 65) {
      const std::uint64_t len = kind < 57 ? 0 : uniform(0, ref.size() + 3000);
      ASSERT_FALSE(stage.truncate(len));
      ref.resize(len, '\0');
    } else if (kind < 95) {
      const std::uint64_t off = uniform(0, ref.size() + 10);
      std::string buf(uniform(0, 8000), '?');
      std::size_t n = 0;
      ASSERT_FALSE(stage.read(off, std::span<char>(buf), n));
      const std::string want = off < ref.size() ? ref.substr(off, buf.size()) : std::string();
      ASSERT_EQ(buf.substr(0, n), want) << "step " << step;
    } else {
      ASSERT_FALSE(stage.flush());
      ASSERT_EQ(target.files[path], ref) << "step " << step;
    }
    ASSERT_EQ(stage.size(), ref.size()) << "step " << step;
  }
  std::string all(ref.size() + 1, '?');
  std::size_t n = 0;
  ASSERT_FALSE(stage.read(0, std::span<char>(all), n));
  ASSERT_EQ(all.substr(0, n), ref);
  ASSERT_FALSE(stage.flush());
  EXPECT_FALSE(stage.dirty());
  EXPECT_EQ(target.files[path], ref);
}

TEST_P(WriteStageTest, RandomOperationsMatchReferenceOnExistingFile) {
  const std::string orig = pattern(30000, 30);
  auto stage = open_existing("/r", orig);
  random_ops(*stage, orig, target_, "/r", 1234);
}

TEST_P(WriteStageTest, RandomOperationsMatchReferenceOnTruncatedFile) {
  auto stage = open_truncated("/r");
  random_ops(*stage, "", target_, "/r", 5678);
}

TEST_P(WriteStageTest, RandomAppendsMatchReferenceOnExistingFile) {
  const std::string orig = pattern(3000, 31);
  auto stage = open_existing("/r", orig);
  std::string ref = orig;
  std::mt19937 rng(99);
  for (int step = 0; step < 50; ++step) {
    const std::string data = pattern(1 + rng() % 3000, static_cast<unsigned>(rng()));
    ASSERT_FALSE(stage->write(ref.size(), data));
    ref += data;
    if (rng() % 5 == 0) {
      ASSERT_FALSE(stage->flush());
      ASSERT_EQ(target_.files["/r"], ref);
    }
    ASSERT_EQ(read_all(*stage), ref);
  }
  ASSERT_FALSE(stage->flush());
  EXPECT_EQ(target_.files["/r"], ref);
  EXPECT_EQ(target_.opens, target_.append_opens);
}

INSTANTIATE_TEST_SUITE_P(Staging, WriteStageTest, ::testing::Bool(), [](const auto& info) {
  return info.param ? std::string("BackgroundDirectWrites") : std::string("WritesInPlace");
});

}  // namespace
