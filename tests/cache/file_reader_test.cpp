#include "cache/file_reader.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <random>
#include <set>
#include <thread>

#include "cache/fetch_table.h"
#include "tests/fakes/memory_block_source.h"
#include "tests/support/block_data.h"
#include "tests/support/temp_dir.h"

namespace {

using cache::BlockCache;
using cache::BlockCacheConfig;
using cache::FileReader;
using cache::FileVersion;
using cache::ReadaheadConfig;
using testsupport::MemoryBlockSource;
using testsupport::pattern_bytes;

constexpr std::size_t kBlock = 4096;

BlockCacheConfig memory_only(std::size_t budget = 64 << 20) {
  BlockCacheConfig c;
  c.block_size = kBlock;
  c.memory_budget = budget;
  return c;
}

ReadaheadConfig readahead(std::size_t max_window, unsigned streams = 1) {
  ReadaheadConfig c;
  c.max_window = max_window;
  c.parallel_streams = streams;
  c.parallel_segment = 16 * kBlock;
  return c;
}

class FileReaderTest : public ::testing::Test {
 protected:
  void add_file(std::size_t size) {
    content_ = pattern_bytes(size);
    source_.set_file("/f", content_);
    version_ = {size, 1};
  }
  std::unique_ptr<FileReader> reader(ReadaheadConfig config = readahead(1 << 20)) {
    return std::make_unique<FileReader>(blocks_, source_, fetches_, "/f", version_, config);
  }
  // Reads [offset, offset + length) and checks it against the file's bytes.
  void expect_read(FileReader& r, std::uint64_t offset, std::size_t length) {
    std::vector<char> buf(length);
    std::size_t n = 0;
    ASSERT_FALSE(r.read(offset, buf, n));
    const std::size_t expected = offset >= content_.size() ? 0 : std::min(length, content_.size() - offset);
    ASSERT_EQ(n, expected) << "at " << offset;
    ASSERT_TRUE(std::equal(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n),
                           content_.begin() + static_cast<std::ptrdiff_t>(offset)))
        << "at " << offset;
  }

  static constexpr std::size_t kBigBlock = 64 * 1024;
  // Reads a 32 MiB file of kBigBlock blocks from start to end, read_size bytes at a time, through a
  // cache of its own, checking every byte. Returns the bytes left in the memory tier at the end, and
  // in *midway those once 24 MiB were read.
  std::uint64_t read_big_file_in_order(std::size_t read_size, std::uint64_t* midway = nullptr) {
    BlockCacheConfig config = memory_only(64u << 20);
    config.block_size = kBigBlock;
    BlockCache blocks(config);
    content_ = pattern_bytes(32u << 20);
    source_.set_file("/big", content_);
    auto fetches = cache::make_fetch_table();
    FileReader r(blocks, source_, fetches, "/big", {content_.size(), 1}, readahead(1u << 20));
    std::vector<char> buf(read_size);
    for (std::uint64_t off = 0; off < content_.size(); off += buf.size()) {
      std::size_t n = 0;
      EXPECT_FALSE(r.read(off, buf, n));
      EXPECT_EQ(n, buf.size());
      EXPECT_TRUE(std::equal(buf.begin(), buf.end(), content_.begin() + static_cast<std::ptrdiff_t>(off)))
          << "at " << off;
      if (HasFailure())
        break;
      if (midway != nullptr && off == (24u << 20))
        *midway = blocks.stats().memory_bytes;
    }
    return blocks.stats().memory_bytes;
  }

  MemoryBlockSource source_;
  BlockCache blocks_{memory_only()};
  std::shared_ptr<cache::FetchTable> fetches_ = cache::make_fetch_table();
  std::vector<char> content_;
  FileVersion version_;
};

TEST_F(FileReaderTest, SequentialReadIsByteExactWithOneStream) {
  add_file(100 * kBlock + 123);
  auto r = reader();
  for (std::uint64_t off = 0; off < content_.size(); off += 3000)
    expect_read(*r, off, 3000);
  expect_read(*r, content_.size(), 10);
  EXPECT_EQ(source_.opens(), 1);
  EXPECT_EQ(source_.bytes_read(), content_.size());
}

TEST_F(FileReaderTest, ReadaheadGrowsWhileReadsWaitForTheStream) {
  add_file(64 * kBlock);
  // A slow source: every read waits for its blocks, so the window keeps growing. (At 0.5 ms per
  // block a reader starved of CPU on a loaded machine sometimes found its blocks already there.)
  source_.set_options({.delay = std::chrono::milliseconds(3), .max_chunk = kBlock});
  auto r = reader(readahead(16 * kBlock));
  for (std::uint64_t off = 0; off < 8 * kBlock; off += kBlock)
    expect_read(*r, off, kBlock);
  // More than the 8 blocks read were requested from the stream, at most a full window beyond them.
  for (int i = 0; i < 200 && source_.bytes_read() < 16 * kBlock; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_GE(source_.bytes_read(), 16 * kBlock);
  EXPECT_LE(source_.bytes_read(), (8 + 16 + 1) * kBlock);
  EXPECT_EQ(source_.opens(), 1);
}

TEST_F(FileReaderTest, SequentialReaderLeavesFewBlocksInMemory) {
  // Past a sequential reader, blocks go back to the memory pool (the kernel's page cache has
  // them): a read of a file much larger than that lag keeps only the lag and the window in memory.
  // Read to its end in one run, the whole file is in the kernel's page cache: none of it stays.
  EXPECT_EQ(read_big_file_in_order(kBigBlock), 0u);
}

TEST_F(FileReaderTest, BlocksLargerThanTheReadsLeaveMemoryToo) {
  // Blocks larger than the kernel's requests (block_size=1M, 512 KiB reads): each block is read
  // twice by the same reader, which is still one reader's use.
  std::uint64_t midway = 0;
  EXPECT_EQ(read_big_file_in_order(kBigBlock / 2, &midway), 0u);
  // What is behind the reader by more than the release lag (4 MiB) has left.
  EXPECT_LE(midway, 6u << 20);
}

TEST_F(FileReaderTest, BlocksUsedByTwoReadersStayInMemory) {
  add_file(8 * kBlock);
  auto first = reader();
  auto second = reader();
  for (std::uint64_t off = 0; off + kBlock < content_.size(); off += kBlock)
    expect_read(*first, off, kBlock);  // all but the last block
  for (std::uint64_t off = 0; off < content_.size(); off += kBlock)
    expect_read(*second, off, kBlock);
  // The second reader's run reached the end: the blocks only it used leave, the shared ones stay.
  EXPECT_EQ(blocks_.stats().memory_bytes, 7 * kBlock);
  EXPECT_FALSE(blocks_.in_memory({"/f", version_, 7}));
}

TEST_F(FileReaderTest, WindowGrowthMeansFewerOpensThanReads) {
  add_file(256 * kBlock);
  auto r = reader(readahead(64 * kBlock));
  int reads = 0;
  // Seeks every 32 blocks: each sequential run needs one stream, not one per read.
  for (std::uint64_t run = 0; run < 4; ++run) {
    const std::uint64_t start = run * 64 * kBlock + 1;  // not where the previous run ended
    for (std::uint64_t i = 0; i < 32; ++i, ++reads)
      expect_read(*r, start + i * kBlock, kBlock);
  }
  EXPECT_LE(source_.opens(), 4 * 3);
  EXPECT_GT(reads, 10 * source_.opens());
}

TEST_F(FileReaderTest, FewDiskBlocksBetweenMissingOnesComeFromTheRunningStream) {
  // A disk tier with gaps (blocks it had no time to write) must not cost a REST+RETR after every
  // block it does hold: isolated ones are read from the stream that runs anyway.
  testsupport::TempDir dir("ftpfs-reader");
  BlockCacheConfig config = memory_only();
  config.disk_dir = dir.path();
  add_file(64 * kBlock);
  BlockCache blocks(config);
  for (std::uint64_t i : {5, 9, 10, 20, 40}) {
    auto b = std::make_shared<cache::BlockBytes>(kBlock);
    std::copy_n(content_.begin() + static_cast<std::ptrdiff_t>(i * kBlock), kBlock, b->data());
    blocks.put_on_disk({"/f", version_, i}, b, blocks.epoch());
  }
  source_.set_options({.delay = std::chrono::microseconds(100), .max_chunk = kBlock});
  auto fetches = cache::make_fetch_table();  // stores into `blocks`: must go before it
  FileReader r(blocks, source_, fetches, "/f", version_, readahead(64 * kBlock));
  for (std::uint64_t off = 0; off < content_.size(); off += kBlock)
    expect_read(r, off, kBlock);
  EXPECT_LE(source_.opens(), 2);
}

TEST_F(FileReaderTest, SeekResetsTheWindow) {
  add_file(1024 * kBlock);
  // Slow enough that the sequential reads wait and the window grows.
  source_.set_options({.delay = std::chrono::microseconds(200), .max_chunk = kBlock});
  auto r = reader(readahead(128 * kBlock));
  for (std::uint64_t i = 0; i < 20; ++i)
    expect_read(*r, i * kBlock, kBlock);
  // Let the readahead of the sequential run finish before measuring.
  std::uint64_t settled = 0;
  for (int i = 0; i < 400 && settled != source_.bytes_read(); ++i) {
    settled = source_.bytes_read();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_GT(settled, 40 * kBlock);
  // Further ahead than the kernel's requests ever overtake each other (2 MiB), then back.
  expect_read(*r, 900 * kBlock + 5, 100);
  expect_read(*r, 700 * kBlock + 5, 100);
  EXPECT_EQ(source_.bytes_read() - settled, 2 * kBlock);
}

TEST_F(FileReaderTest, ARequestThatOvertookTheOnesBeforeItContinuesTheRun) {
  // The kernel sends a sequential reader's readahead as several requests at once, and a later one
  // may be served first, further ahead than the readahead queued so far. That is no seek: the run
  // goes on with one stream, and the skipped requests that come next find their blocks.
  add_file(1024 * kBlock);
  source_.set_options({.delay = std::chrono::microseconds(200), .max_chunk = kBlock});
  auto r = reader(readahead(64 * kBlock));
  expect_read(*r, 0, kBlock);
  expect_read(*r, kBlock, kBlock);
  expect_read(*r, 12 * kBlock, kBlock);  // overtook the requests for blocks 2 to 11
  for (std::uint64_t i = 2; i < 12; ++i)
    expect_read(*r, i * kBlock, kBlock);
  for (std::uint64_t i = 13; i < 1024; ++i)
    expect_read(*r, i * kBlock, kBlock);
  EXPECT_LE(source_.opens(), 2);
  EXPECT_LE(source_.bytes_read(), content_.size() + 16 * kBlock);
}

TEST_F(FileReaderTest, RandomReadsFetchOnlyTheBlocksTheyTouch) {
  add_file(200 * kBlock);
  auto r = reader();
  std::mt19937_64 rng(7);
  std::set<std::uint64_t> touched;
  for (int i = 0; i < 50; ++i) {
    const std::uint64_t off = 1 + rng() % (content_.size() - 2 * kBlock);
    const std::size_t len = 1 + rng() % 6000;
    expect_read(*r, off, len);
    for (std::uint64_t b = off / kBlock; b <= (off + len - 1) / kBlock; ++b)
      touched.insert(b);
  }
  EXPECT_EQ(source_.bytes_read(), touched.size() * kBlock);
}

TEST_F(FileReaderTest, ThousandRandomPreadsAreByteExact) {
  add_file(300 * kBlock + 77);
  auto r = reader(readahead(32 * kBlock, 2));
  std::mt19937_64 rng(11);
  for (int i = 0; i < 1000; ++i) {
    const std::uint64_t off = rng() % (content_.size() + 100);
    const std::size_t len = 1 + rng() % (3 * kBlock);
    expect_read(*r, off, len);
    if (HasFatalFailure())
      return;
  }
}

TEST_F(FileReaderTest, ParallelStreamsReadFarAheadRangesByteExact) {
  add_file(400 * kBlock + 5);
  // Slow enough that reads wait for their blocks, so the window grows and is split among streams
  // even when a loaded machine starves the reader.
  source_.set_options({.delay = std::chrono::milliseconds(1), .max_chunk = kBlock});
  auto r = reader(readahead(128 * kBlock, 3));
  for (std::uint64_t off = 0; off < content_.size(); off += 8192)
    expect_read(*r, off, 8192);
  EXPECT_GT(source_.opens(), 1);
  EXPECT_LE(source_.bytes_read(), content_.size() + 8 * kBlock);
}

TEST_F(FileReaderTest, ConcurrentReadersShareFetches) {
  add_file(128 * kBlock + 999);
  source_.set_options({.delay = std::chrono::microseconds(200)});
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      auto r = reader(readahead(16 * kBlock, t % 2 + 1));
      std::vector<char> buf(5000);
      for (std::uint64_t off = 0; off < content_.size(); off += buf.size()) {
        std::size_t n = 0;
        if (r->read(off, buf, n) || n != std::min(buf.size(), content_.size() - off) ||
            !std::equal(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n),
                        content_.begin() + static_cast<std::ptrdiff_t>(off))) {
          ++failures;
          return;
        }
      }
    });
  }
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(failures.load(), 0);
  // Each block came from the server about once, not once per reader (that would be 8 times the
  // file). Streams given up while receiving cost a little extra: about 8 blocks, and on a loaded
  // machine, where readers fall further behind one another, up to a few more.
  EXPECT_LE(source_.bytes_read(), content_.size() + content_.size() / 4);
}

TEST_F(FileReaderTest, ErrorMidStreamIsAnErrorNotAShortRead) {
  add_file(40 * kBlock);
  source_.set_options({.fail_at = 10 * kBlock + 100});
  auto r = reader();
  std::vector<char> buf(kBlock);
  std::size_t n = 0;
  std::error_code ec;
  std::uint64_t off = 0;
  for (; off < content_.size(); off += kBlock) {
    ec = r->read(off, buf, n);
    if (ec)
      break;
    ASSERT_EQ(n, kBlock);
  }
  EXPECT_EQ(ec, std::errc::connection_reset);
  EXPECT_EQ(off, 10 * kBlock);
  // Not cached: once the server recovers, the same read succeeds.
  source_.set_options({});
  expect_read(*r, 10 * kBlock, kBlock);
}

TEST_F(FileReaderTest, RandomReadErrorIsReported) {
  add_file(40 * kBlock);
  source_.set_options({.fail_at = 0});
  auto r = reader();
  std::vector<char> buf(100);
  std::size_t n = 0;
  EXPECT_EQ(r->read(20 * kBlock + 7, buf, n), std::errc::connection_reset);
}

TEST_F(FileReaderTest, FileShorterThanItsVersionGivesAShortRead) {
  add_file(10 * kBlock);
  version_ = {12 * kBlock, 1};  // the server's copy shrank since the attributes were read
  auto r = reader();
  std::vector<char> buf(3 * kBlock);
  std::size_t n = 0;
  ASSERT_FALSE(r->read(8 * kBlock + 10, buf, n));
  EXPECT_EQ(n, 2 * kBlock - 10);
  EXPECT_TRUE(std::equal(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n),
                         content_.begin() + static_cast<std::ptrdiff_t>(8 * kBlock + 10)));
  ASSERT_FALSE(r->read(11 * kBlock, buf, n));
  EXPECT_EQ(n, 0u);
}

TEST_F(FileReaderTest, SequentialReaderOfShrunkFileStopsAtTheRealEnd) {
  add_file(10 * kBlock + 50);
  version_ = {20 * kBlock, 1};
  auto r = reader();
  std::vector<char> buf(kBlock);
  std::uint64_t total = 0;
  for (std::uint64_t off = 0;; off += kBlock) {
    std::size_t n = 0;
    ASSERT_FALSE(r->read(off, buf, n));
    total += n;
    if (n < buf.size())
      break;
  }
  EXPECT_EQ(total, content_.size());
}

TEST_F(FileReaderTest, CachedBlocksAreNotFetchedAgain) {
  add_file(20 * kBlock);
  {
    // Read backwards: random access keeps blocks in memory (a sequential run that reaches the end
    // gives them back; see SequentialReaderLeavesFewBlocksInMemory).
    auto r = reader();
    for (std::uint64_t off = content_.size() / kBlock * kBlock; off + kBlock > 0; off -= kBlock) {
      expect_read(*r, off, kBlock);
      if (off == 0)
        break;
    }
  }
  const int opens = source_.opens();
  auto r = reader();
  for (std::uint64_t off = 0; off < content_.size(); off += kBlock)
    expect_read(*r, off, kBlock);
  EXPECT_EQ(source_.opens(), opens);
}

TEST_F(FileReaderTest, DestructorDuringReadaheadReturnsPromptly) {
  add_file(1000 * kBlock);
  source_.set_options({.delay = std::chrono::milliseconds(2), .max_chunk = 1024});
  auto r = reader(readahead(512 * kBlock, 2));
  for (std::uint64_t i = 0; i < 8; ++i)
    expect_read(*r, i * kBlock, kBlock);
  const auto start = std::chrono::steady_clock::now();
  r.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  EXPECT_EQ(source_.open_streams(), 0);
  // Far fewer blocks than the window were fetched: the readahead was stopped, not drained.
  EXPECT_LT(source_.bytes_read(), 200 * kBlock);
}

// Waits up to `limit` for the source's open streams to drop to `count`.
bool streams_drop_to(const MemoryBlockSource& source, int count, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (source.open_streams() > count) {
    if (std::chrono::steady_clock::now() > deadline)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

// The deadlock seen with more open files than sessions: each open file's readahead kept an idle
// stream (a pooled session), and a reader of another file waited for a session forever.
TEST_F(FileReaderTest, IdleReadaheadStreamIsGivenBackWhenAnotherReaderWaits) {
  add_file(64 * kBlock);
  const auto other = pattern_bytes(3 * kBlock, 7);
  source_.set_file("/g", other);
  source_.set_options({.max_streams = 1});  // a pool of one session
  auto config = readahead(4 * kBlock);
  config.idle_stream_close = std::chrono::hours(1);  // only the waiting reader may close it
  auto first = reader(config);
  expect_read(*first, 0, kBlock);
  expect_read(*first, kBlock, kBlock);
  ASSERT_EQ(source_.open_streams(), 1);  // readahead is parked on its stream

  FileReader second(blocks_, source_, fetches_, "/g", {other.size(), 1}, config);
  auto done = std::async(std::launch::async, [&] {
    std::vector<char> buf(kBlock);
    std::size_t n = 0;
    auto ec = second.read(0, buf, n);
    return !ec && n == kBlock && std::equal(buf.begin(), buf.end(), other.begin());
  });
  const bool finished = done.wait_for(std::chrono::seconds(5)) == std::future_status::ready;
  first.reset();  // frees the stream in any case, so a failing test ends instead of hanging
  EXPECT_TRUE(finished) << "the second reader waited for a stream held by idle readahead";
  EXPECT_TRUE(done.get());
}

TEST_F(FileReaderTest, IdleReadaheadStreamIsClosedAfterItsTimeout) {
  add_file(64 * kBlock);
  auto config = readahead(4 * kBlock);
  config.idle_stream_close = std::chrono::milliseconds(50);
  auto r = reader(config);
  expect_read(*r, 0, kBlock);
  expect_read(*r, kBlock, kBlock);
  EXPECT_TRUE(streams_drop_to(source_, 0, std::chrono::seconds(3)));
  expect_read(*r, 2 * kBlock, 8 * kBlock);  // and reading on opens a new one
}

TEST_F(FileReaderTest, StreamThatReachedTheEndOfTheFileIsClosed) {
  add_file(8 * kBlock);
  auto config = readahead(16 * kBlock);
  config.idle_stream_close = std::chrono::hours(1);
  auto r = reader(config);
  for (std::uint64_t i = 0; i < 8; ++i)
    expect_read(*r, i * kBlock, kBlock);
  EXPECT_TRUE(streams_drop_to(source_, 0, std::chrono::seconds(3)));
}

TEST_F(FileReaderTest, EmptyFileReadsNothing) {
  add_file(0);
  auto r = reader();
  std::vector<char> buf(10);
  std::size_t n = 7;
  EXPECT_FALSE(r->read(0, buf, n));
  EXPECT_EQ(n, 0u);
  EXPECT_EQ(source_.opens(), 0);
}

}  // namespace
