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

}  // namespace
