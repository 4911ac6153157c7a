#include "cache/fetch_table.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>

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
  first.claim.finish(FetchResult::fetched(std::make_shared<const std::vector<char>>(3, 'x')));
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

TEST(FetchTableTest, StoredBlockReachesWaitersAndThenTheCache) {
  cache::BlockCacheConfig config;
  config.block_size = 3;
  cache::BlockCache blocks(config);
  const BlockKey key{"/f", {10, 1}, 0};
  {
    FetchTable table;
    auto first = table.join_or_claim(key);
    auto second = table.join_or_claim(key);
    first.claim.finish_and_store(blocks, key, std::make_shared<const std::vector<char>>(3, 'x'));
    auto result = FetchTable::wait(second.fetch);
    ASSERT_NE(result.data, nullptr);
    EXPECT_EQ(result.data->size(), 3u);
    // Until the block is in the cache, a new reader joins the finished fetch instead of fetching.
    for (int i = 0; i < 200 && !blocks.contains(key); ++i) {
      auto third = table.join_or_claim(key);
      if (third.claim)
        break;  // stored meanwhile
      ASSERT_NE(FetchTable::wait(third.fetch).data, nullptr);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }  // the table's destructor stores whatever is still queued
  auto stored = blocks.get(key);
  ASSERT_NE(stored, nullptr);
  EXPECT_EQ(*stored, std::vector<char>(3, 'x'));
}

}  // namespace
