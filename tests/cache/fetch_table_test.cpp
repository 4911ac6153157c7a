#include "cache/fetch_table.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>

#include "tests/support/block_data.h"
#include "tests/support/temp_dir.h"

namespace {

using cache::BlockKey;
using cache::FetchResult;
using cache::FetchTable;

TEST(FetchTableTest, SecondReaderWaitsForTheFirstFetch) {
  FetchTable table;
  const BlockKey key{"/f", {10, 1}, 0};
  auto first = table.join_or_claim(key);
  ASSERT_TRUE(first.claim);
  auto second = table.join_or_claim(key);
  ASSERT_FALSE(second.claim);
  ASSERT_NE(second.fetch, nullptr);
  auto waiter = std::async(std::launch::async, [&] { return FetchTable::wait(second.fetch); });
  first.claim.finish(FetchResult::fetched(testsupport::block_of(3, 'x')));
  auto result = waiter.get();
  ASSERT_NE(result.data, nullptr);
  EXPECT_EQ(result.data->size(), 3u);
  // Finished fetches leave the table: the next reader fetches anew.
  EXPECT_TRUE(table.join_or_claim(key).claim);
}

TEST(FetchTableTest, ErrorReachesWaitersAndIsNotRemembered) {
  FetchTable table;
  const BlockKey key{"/f", {10, 1}, 0};
  auto first = table.join_or_claim(key);
  auto second = table.join_or_claim(key);
  first.claim.finish(FetchResult::failed(std::make_error_code(std::errc::io_error)));
  EXPECT_EQ(FetchTable::wait(second.fetch).ec, std::errc::io_error);
  EXPECT_TRUE(table.join_or_claim(key).claim);
}

TEST(FetchTableTest, DroppedClaimAbandonsTheFetch) {
  FetchTable table;
  const BlockKey key{"/f", {10, 1}, 0};
  std::shared_ptr<FetchTable::Fetch> fetch;
  {
    auto first = table.join_or_claim(key);
    fetch = table.join_or_claim(key).fetch;
  }
  EXPECT_TRUE(FetchTable::wait(fetch).abandoned);
}

TEST(FetchTableTest, StoredBlockIsInMemoryAtOnceAndOnDiskAfterTheTable) {
  testsupport::TempDir dir;
  cache::BlockCacheConfig config;
  config.block_size = 4096;
  config.disk_dir = dir.path() / "blocks";
  const BlockKey key{"/f", {10000, 1}, 0};
  {
    cache::BlockCache blocks(config);
    {
      FetchTable table;
      auto first = table.join_or_claim(key);
      auto second = table.join_or_claim(key);
      first.claim.finish_and_store(blocks, key, testsupport::block_of(4096, 'x'));
      auto result = FetchTable::wait(second.fetch);
      ASSERT_NE(result.data, nullptr);
      EXPECT_EQ(result.data->size(), 4096u);
      // A reader that comes once the fetch is over finds the block in memory.
      EXPECT_TRUE(blocks.contains(key));
      EXPECT_EQ(blocks.stats().memory_bytes, 4096u);
    }  // the table's destructor writes whatever is still queued for the disk tier
    EXPECT_EQ(blocks.stats().disk_bytes, 4096u);
  }
  cache::BlockCache remounted(config);
  auto stored = remounted.get(key);
  ASSERT_NE(stored, nullptr);
  EXPECT_EQ(testsupport::bytes_of(*stored), std::vector<char>(4096, 'x'));
}

TEST(FetchTableTest, StoresOfTwoFilesInterleavedLandOnDiskEachAtItsPlace) {
  // The store thread writes runs of consecutive blocks of one file together; blocks of another file
  // queued in between must end a run, not join it.
  testsupport::TempDir dir;
  cache::BlockCacheConfig config;
  config.block_size = 4096;
  config.memory_budget = 1 << 20;
  config.disk_dir = dir.path() / "blocks";
  constexpr std::uint64_t kBlocks = 24;
  const auto block_key = [](const std::string& path, std::uint64_t i) {
    return BlockKey{path, {kBlocks * 4096, 1}, i};
  };
  const auto fill = [](const std::string& path, std::uint64_t i) {
    return static_cast<char>((path == "/a" ? 'a' : 'A') + i);
  };
  {
    cache::BlockCache blocks(config);
    FetchTable table;
    // Three blocks of one file at a time, then three of the other's.
    for (std::uint64_t first = 0; first < kBlocks; first += 3) {
      for (const std::string path : {"/a", "/b"}) {
        for (std::uint64_t index = first; index < first + 3; ++index) {
          auto claim = table.join_or_claim(block_key(path, index)).claim;
          ASSERT_TRUE(claim);
          claim.finish_and_store(blocks, block_key(path, index),
                                 testsupport::block_of(4096, fill(path, index)));
        }
      }
    }
  }  // the table's destructor writes whatever is still queued
  cache::BlockCache remounted(config);
  EXPECT_EQ(remounted.stats().disk_bytes, 2 * kBlocks * 4096);
  for (const std::string path : {"/a", "/b"}) {
    for (std::uint64_t i = 0; i < kBlocks; ++i) {
      auto stored = remounted.get(block_key(path, i));
      ASSERT_NE(stored, nullptr) << path << " " << i;
      EXPECT_EQ(testsupport::bytes_of(*stored), std::vector<char>(4096, fill(path, i))) << path << " " << i;
    }
  }
}

}  // namespace
