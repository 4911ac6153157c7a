#include "cache/block_cache.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/support/block_data.h"
#include "tests/support/temp_dir.h"

namespace {

using cache::BlockCache;
using cache::BlockCacheConfig;
using cache::BlockData;
using cache::BlockKey;

BlockCacheConfig config(std::size_t block_size, std::size_t memory_budget = 1 << 20,
                        std::filesystem::path disk_dir = {}, std::uint64_t disk_budget = 1 << 30) {
  BlockCacheConfig c;
  c.block_size = block_size;
  c.memory_budget = memory_budget;
  c.disk_dir = std::move(disk_dir);
  c.disk_budget = disk_budget;
  return c;
}

BlockData bytes(std::size_t n, char fill) {
  return testsupport::block_of(n, fill);
}

BlockKey key(const std::string& path, std::uint64_t index, std::uint64_t size = 4096) {
  return {path, {size, 42}, index};
}

// Data files in the disk tier: one per (path, version).
std::size_t count_data_files(const std::filesystem::path& dir) {
  std::size_t n = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.is_regular_file() && e.path().extension() == ".data")
      ++n;
  }
  return n;
}

TEST(BlockCacheTest, PutThenGetReturnsTheBlock) {
  BlockCache cache(config(1024, 1 << 20));
  EXPECT_EQ(cache.block_size(), 1024u);
  EXPECT_EQ(cache.get(key("/a", 0)), nullptr);
  cache.put(key("/a", 0), bytes(1024, 'a'));
  auto got = cache.get(key("/a", 0));
  ASSERT_NE(got, nullptr);
  EXPECT_EQ(testsupport::bytes_of(*got), std::vector<char>(1024, 'a'));
  auto stats = cache.stats();
  EXPECT_EQ(stats.hits, 1u);
  EXPECT_EQ(stats.misses, 1u);
  EXPECT_EQ(stats.memory_bytes, 1024u);
}

TEST(BlockCacheTest, OtherVersionOfTheSameBlockMisses) {
  BlockCache cache(config(1024));
  cache.put(key("/a", 0, 4096), bytes(1024, 'a'));
  EXPECT_EQ(cache.get(key("/a", 0, 5000)), nullptr);
  EXPECT_EQ(cache.get(BlockKey{"/a", {4096, 43}, 0}), nullptr);
  EXPECT_EQ(cache.get(key("/b", 0, 4096)), nullptr);
  EXPECT_NE(cache.get(key("/a", 0, 4096)), nullptr);
}

TEST(BlockCacheTest, LeastRecentlyUsedBlockIsEvictedUnderTheMemoryBudget) {
  BlockCache cache(config(1000, 3000));
  cache.put(key("/a", 0), bytes(1000, '0'));
  cache.put(key("/a", 1), bytes(1000, '1'));
  cache.put(key("/a", 2), bytes(1000, '2'));
  ASSERT_NE(cache.get(key("/a", 0)), nullptr);  // block 1 is now the oldest
  cache.put(key("/a", 3), bytes(1000, '3'));
  EXPECT_EQ(cache.get(key("/a", 1)), nullptr);
  EXPECT_NE(cache.get(key("/a", 0)), nullptr);
  EXPECT_NE(cache.get(key("/a", 2)), nullptr);
  EXPECT_NE(cache.get(key("/a", 3)), nullptr);
  EXPECT_LE(cache.stats().memory_bytes, 3000u);
}

TEST(BlockCacheTest, InvalidateDropsEveryVersionOfThePath) {
  BlockCache cache(config(1024));
  cache.put(key("/a", 0, 4096), bytes(10, 'a'));
  cache.put(key("/a", 1, 8192), bytes(10, 'a'));
  cache.put(key("/b", 0), bytes(10, 'b'));
  cache.invalidate("/a");
  EXPECT_EQ(cache.get(key("/a", 0, 4096)), nullptr);
  EXPECT_EQ(cache.get(key("/a", 1, 8192)), nullptr);
  EXPECT_NE(cache.get(key("/b", 0)), nullptr);
  EXPECT_EQ(cache.stats().memory_bytes, 10u);
}

TEST(BlockCacheTest, DiskTierSurvivesANewCacheOnTheSameDirectory) {
  testsupport::TempDir dir("ftpfs-blockcache");
  const BlockCacheConfig c = config(100, 1000, dir.path());
  {
    BlockCache cache(c);
    cache.put(key("/a/file", 0), bytes(100, 'x'));
    cache.put(key("/a/file", 1), bytes(60, 'y'));
  }
  BlockCache reopened(c);
  EXPECT_EQ(reopened.stats().disk_bytes, 160u);
  EXPECT_EQ(reopened.stats().memory_bytes, 0u);
  auto got = reopened.get(key("/a/file", 1));
  ASSERT_NE(got, nullptr);
  EXPECT_EQ(testsupport::bytes_of(*got), std::vector<char>(60, 'y'));
  EXPECT_EQ(reopened.stats().memory_bytes, 60u);  // promoted
  EXPECT_EQ(reopened.get(key("/a/file", 1, 9999)), nullptr);
}

TEST(BlockCacheTest, PageSizedBlocksGoToDiskWithDirectIoAndComeBackExact) {
  // A block size that is a multiple of the page size takes the O_DIRECT path (where the filesystem
  // allows it); the file's short last block is padded on disk and must come back at its length.
  testsupport::TempDir dir("ftpfs-blockcache");
  const BlockCacheConfig c = config(8192, 1 << 20, dir.path());
  const BlockKey full{"/d/file", {8192 + 100, 7}, 0};
  const BlockKey tail{"/d/file", {8192 + 100, 7}, 1};
  auto first = std::make_shared<cache::BlockBytes>(8192);
  for (std::size_t i = 0; i < first->size(); ++i)
    first->data()[i] = static_cast<char>(i * 7);
  {
    BlockCache cache(c);
    cache.put(full, first);
    cache.put(tail, bytes(100, 't'));
  }
  BlockCache reopened(c);
  EXPECT_EQ(reopened.stats().disk_bytes, 8192u + 100);
  auto got_tail = reopened.get(tail);
  ASSERT_NE(got_tail, nullptr);
  EXPECT_EQ(testsupport::bytes_of(*got_tail), std::vector<char>(100, 't'));
  auto got_full = reopened.get(full);
  ASSERT_NE(got_full, nullptr);
  EXPECT_EQ(testsupport::bytes_of(*got_full), testsupport::bytes_of(*first));
}

TEST(BlockCacheTest, ReleaseDropsABlockUsedOnceAndKeepsOneUsedAgain) {
  BlockCache cache(config(100));
  cache.put(key("/f", 0), bytes(100, 'a'));
  cache.put(key("/f", 1), bytes(100, 'b'));
  ASSERT_NE(cache.get(key("/f", 0)), nullptr);  // its reader
  ASSERT_NE(cache.get(key("/f", 1)), nullptr);
  ASSERT_NE(cache.get(key("/f", 1)), nullptr);  // a second reader
  cache.release(key("/f", 0));
  cache.release(key("/f", 1));
  EXPECT_FALSE(cache.contains(key("/f", 0)));
  EXPECT_TRUE(cache.in_memory(key("/f", 1)));
  EXPECT_EQ(cache.stats().memory_bytes, 100u);
}

TEST(BlockCacheTest, DiskTierServesBlocksEvictedFromMemory) {
  testsupport::TempDir dir("ftpfs-blockcache");
  BlockCache cache(config(100, 200, dir.path()));
  for (std::uint64_t i = 0; i < 5; ++i)
    cache.put(key("/f", i), bytes(100, static_cast<char>('a' + i)));
  EXPECT_LE(cache.stats().memory_bytes, 200u);
  auto got = cache.get(key("/f", 0));
  ASSERT_NE(got, nullptr);
  EXPECT_EQ(testsupport::bytes_of(*got), std::vector<char>(100, 'a'));
}

TEST(BlockCacheTest, InvalidateRemovesDiskFilesAlsoAfterARemount) {
  testsupport::TempDir dir("ftpfs-blockcache");
  const BlockCacheConfig c = config(100, 1000, dir.path());
  {
    BlockCache cache(c);
    cache.put(key("/gone", 0), bytes(100, 'g'));
    cache.put(key("/gone", 0, 1), bytes(1, 'h'));
    cache.put(key("/kept", 0), bytes(100, 'k'));
  }
  BlockCache cache(c);
  cache.invalidate("/gone");
  EXPECT_EQ(cache.get(key("/gone", 0)), nullptr);
  EXPECT_EQ(count_data_files(dir.path()), 1u);
  EXPECT_NE(cache.get(key("/kept", 0)), nullptr);
}

TEST(BlockCacheTest, DiskBudgetEvictsOldestBlocks) {
  testsupport::TempDir dir("ftpfs-blockcache");
  // Three blocks of 1000 bytes do not fit in 2500; the memory tier holds one.
  BlockCache cache(config(1000, 1000, dir.path(), 2500));
  cache.put(key("/f", 0, 3000), bytes(1000, '0'));
  cache.put(key("/f", 1, 3000), bytes(1000, '1'));
  cache.put(key("/f", 2, 3000), bytes(1000, '2'));
  EXPECT_EQ(cache.stats().disk_bytes, 2000u);
  EXPECT_EQ(cache.get(key("/f", 0, 3000)), nullptr);
  auto kept = cache.get(key("/f", 1, 3000));
  ASSERT_NE(kept, nullptr);
  EXPECT_EQ(testsupport::bytes_of(*kept), std::vector<char>(1000, '1'));
}

TEST(BlockCacheTest, BlocksOfOneVersionShareOneDataFile) {
  testsupport::TempDir dir("ftpfs-blockcache");
  const BlockCacheConfig c = config(100, 100, dir.path());
  {
    BlockCache cache(c);
    for (std::uint64_t i = 0; i < 20; ++i)
      cache.put(key("/big", i, 2000), bytes(100, static_cast<char>('a' + i)));
    cache.put(key("/big", 0, 9999), bytes(100, 'z'));  // another version of the file
    EXPECT_EQ(count_data_files(dir.path()), 2u);
  }
  BlockCache reopened(c);
  EXPECT_EQ(reopened.stats().disk_bytes, 2100u);
  for (std::uint64_t i = 0; i < 20; ++i) {
    auto got = reopened.get(key("/big", i, 2000));
    ASSERT_NE(got, nullptr) << i;
    EXPECT_EQ(testsupport::bytes_of(*got), std::vector<char>(100, static_cast<char>('a' + i))) << i;
  }
}

// A new cache on the directory of `c` holds exactly these blocks of the file (of `size` bytes).
void expect_blocks_after_remount(const BlockCacheConfig& c, const std::string& path, std::uint64_t size,
                                 const std::vector<std::vector<char>>& expected) {
  BlockCache reopened(c);
  std::uint64_t bytes_expected = 0;
  for (const auto& block : expected)
    bytes_expected += block.size();
  EXPECT_EQ(reopened.stats().disk_bytes, bytes_expected);
  for (std::uint64_t i = 0; i < expected.size(); ++i) {
    auto got = reopened.get(key(path, i, size));
    ASSERT_NE(got, nullptr) << i;
    EXPECT_EQ(testsupport::bytes_of(*got), expected[i]) << i;
  }
}

TEST(BlockCacheTest, ARunOfBlocksGoesToDiskInOneWriteAndComesBackExact) {
  // Page-sized blocks take the O_DIRECT path where the filesystem allows it; the run's last block
  // is the file's short one, padded on disk.
  testsupport::TempDir dir("ftpfs-blockcache");
  const BlockCacheConfig c = config(8192, 1 << 20, dir.path());
  const std::uint64_t size = 5 * 8192 + 300;
  std::vector<BlockData> run;
  std::vector<std::vector<char>> expected;
  for (std::uint64_t i = 0; i < 6; ++i) {
    run.push_back(bytes(i < 5 ? 8192 : 300, static_cast<char>('a' + i)));
    expected.push_back(testsupport::bytes_of(*run.back()));
  }
  {
    BlockCache cache(c);
    cache.put_run_on_disk(key("/run", 0, size), run, cache.epoch());
    EXPECT_EQ(cache.stats().disk_writes, 1u);
    EXPECT_EQ(cache.stats().disk_bytes, size);
  }
  expect_blocks_after_remount(c, "/run", size, expected);
}

TEST(BlockCacheTest, ARunSkipsBlocksAlreadyOnDiskAndWritesTheRestAroundThem) {
  testsupport::TempDir dir("ftpfs-blockcache");
  const BlockCacheConfig c = config(100, 100, dir.path());
  const std::uint64_t size = 600;
  std::vector<BlockData> run;
  std::vector<std::vector<char>> expected;
  for (std::uint64_t i = 0; i < 6; ++i) {
    run.push_back(bytes(100, static_cast<char>('a' + i)));
    expected.emplace_back(100, i == 2 ? 'Z' : static_cast<char>('a' + i));
  }
  {
    BlockCache cache(c);
    cache.put(key("/gap", 2, size), bytes(100, 'Z'));  // this copy stays: the run's is not written
    const auto before = cache.stats().disk_writes;
    cache.put_run_on_disk(key("/gap", 0, size), run, cache.epoch());
    EXPECT_EQ(cache.stats().disk_writes - before, 2u);  // blocks 0-1, then 3-5
    EXPECT_EQ(cache.stats().disk_bytes, size);
  }
  expect_blocks_after_remount(c, "/gap", size, expected);
  // Each block was counted once: removing them all leaves no data file behind.
  BlockCache reopened(c);
  reopened.invalidate("/gap");
  EXPECT_EQ(count_data_files(dir.path()), 0u);
}

TEST(BlockCacheTest, AShortBlockInsideARunEndsItAndEveryBlockLandsAtItsPlace) {
  // Only a file's last block is short, but a caller's run may still hold one before others: the
  // blocks after it must not shift to where the short one ends.
  testsupport::TempDir dir("ftpfs-blockcache");
  const BlockCacheConfig c = config(8192, 1 << 20, dir.path());
  const std::uint64_t size = 3 * 8192;
  const std::vector<BlockData> run{bytes(8192, 'a'), bytes(100, 'b'), bytes(8192, 'c')};
  {
    BlockCache cache(c);
    cache.put_run_on_disk(key("/short", 0, size), run, cache.epoch());
    EXPECT_EQ(cache.stats().disk_writes, 2u);  // blocks 0-1, then 2
  }
  expect_blocks_after_remount(
      c, "/short", size,
      {std::vector<char>(8192, 'a'), std::vector<char>(100, 'b'), std::vector<char>(8192, 'c')});
}

TEST(BlockCacheTest, ARunPutAfterAnInvalidateIsNotKept) {
  testsupport::TempDir dir("ftpfs-blockcache");
  BlockCache cache(config(100, 100, dir.path()));
  const std::uint64_t epoch = cache.epoch();
  cache.invalidate("/gone");
  const std::vector<BlockData> run{bytes(100, 'a'), bytes(100, 'b')};
  cache.put_run_on_disk(key("/gone", 0, 200), run, epoch);
  EXPECT_FALSE(cache.contains(key("/gone", 0, 200)));
  EXPECT_EQ(cache.stats().disk_bytes, 0u);
}

TEST(BlockCacheTest, EvictedBlocksStayGoneAfterARemount) {
  testsupport::TempDir dir("ftpfs-blockcache");
  {
    BlockCache cache(config(100, 100, dir.path(), 300));
    for (std::uint64_t i = 0; i < 5; ++i)
      cache.put(key("/f", i, 500), bytes(100, static_cast<char>('a' + i)));
  }
  BlockCache reopened(config(100, 100, dir.path(), 300));
  EXPECT_EQ(reopened.stats().disk_bytes, 300u);
  EXPECT_EQ(reopened.get(key("/f", 0, 500)), nullptr);
  EXPECT_EQ(reopened.get(key("/f", 1, 500)), nullptr);
  auto last = reopened.get(key("/f", 4, 500));
  ASSERT_NE(last, nullptr);
  EXPECT_EQ(testsupport::bytes_of(*last), std::vector<char>(100, 'e'));
}

TEST(BlockCacheTest, CacheDirectoryOfAnotherBlockSizeIsDiscarded) {
  testsupport::TempDir dir("ftpfs-blockcache");
  {
    BlockCache cache(config(100, 1000, dir.path()));
    cache.put(key("/a", 0), bytes(100, 'a'));
  }
  BlockCache other(config(200, 1000, dir.path()));
  EXPECT_EQ(other.stats().disk_bytes, 0u);
  EXPECT_EQ(other.get(key("/a", 0)), nullptr);
  EXPECT_EQ(count_data_files(dir.path()), 0u);
}

TEST(BlockCacheTest, CorruptOrStrayFilesAreIgnored) {
  testsupport::TempDir dir("ftpfs-blockcache");
  const BlockCacheConfig c = config(100, 1 << 20, dir.path());
  {
    BlockCache cache(c);
    cache.put(key("/a", 0), bytes(100, 'a'));
  }
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir.path())) {
    if (e.path().extension() == ".data")
      std::filesystem::resize_file(e.path(), 20);  // the block's bytes never reached the disk
  }
  std::ofstream(dir.path() / "ab.tmp.7") << "partial";
  BlockCache cache(c);
  EXPECT_EQ(cache.get(key("/a", 0)), nullptr);
  EXPECT_EQ(cache.stats().disk_bytes, 0u);
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "ab.tmp.7"));
}

TEST(BlockCacheTest, UnwritableDiskDirectoryKeepsMemoryTierWorking) {
  testsupport::TempDir dir("ftpfs-blockcache");
  std::ofstream(dir.path() / "file") << "not a directory";
  BlockCache cache(config(100, 1 << 20, dir.path() / "file"));
  cache.put(key("/a", 0), bytes(100, 'a'));
  EXPECT_NE(cache.get(key("/a", 0)), nullptr);
  EXPECT_EQ(cache.stats().disk_bytes, 0u);
}

}  // namespace
