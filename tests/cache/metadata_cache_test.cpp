#include "cache/metadata_cache.h"

#include <gtest/gtest.h>

namespace {

using cache::FileAttributes;
using cache::FileKind;
using cache::MetadataCache;
using namespace std::chrono_literals;

class ManualClock final : public cache::Clock {
 public:
  time_point now() const override { return now_; }
  void advance(std::chrono::milliseconds d) { now_ += d; }

 private:
  time_point now_{std::chrono::hours(1)};
};

FileAttributes file(std::uint64_t size) {
  FileAttributes a;
  a.kind = FileKind::file;
  a.size = size;
  return a;
}

FileAttributes dir() {
  FileAttributes a;
  a.kind = FileKind::directory;
  return a;
}

class MetadataCacheTest : public ::testing::Test {
 protected:
  ManualClock clock_;
  MetadataCache cache_{clock_, cache::MetadataTtl{10s, 20s, 5s}};
};

TEST_F(MetadataCacheTest, StoredAttributesExpireAfterTheirTtl) {
  cache_.store_attributes("/a", file(3), cache_.fetch_token());
  auto hit = cache_.lookup("/a");
  ASSERT_EQ(hit.hit, MetadataCache::Hit::found);
  EXPECT_EQ(hit.attributes.size, 3u);
  clock_.advance(9s);
  EXPECT_EQ(cache_.lookup("/a").hit, MetadataCache::Hit::found);
  clock_.advance(2s);
  EXPECT_EQ(cache_.lookup("/a").hit, MetadataCache::Hit::miss);
}

TEST_F(MetadataCacheTest, NegativeEntryUsesItsOwnTtl) {
  cache_.store_absent("/gone", cache_.fetch_token());
  EXPECT_EQ(cache_.lookup("/gone").hit, MetadataCache::Hit::absent);
  clock_.advance(6s);
  EXPECT_EQ(cache_.lookup("/gone").hit, MetadataCache::Hit::miss);
}

TEST_F(MetadataCacheTest, LookupAnswersFromTheParentListing) {
  cache_.store_listing("/d", {{"x", file(7)}, {"sub", dir()}}, cache_.fetch_token());
  auto x = cache_.lookup("/d/x");
  ASSERT_EQ(x.hit, MetadataCache::Hit::found);
  EXPECT_EQ(x.attributes.size, 7u);
  EXPECT_EQ(cache_.lookup("/d/sub").attributes.kind, FileKind::directory);
  EXPECT_EQ(cache_.lookup("/d/missing").hit, MetadataCache::Hit::absent);
  ASSERT_NE(cache_.listing("/d"), nullptr);
  EXPECT_EQ(cache_.listing("/d")->size(), 2u);
  // Child attributes expire at 10s; the listing still answers until 20s.
  clock_.advance(15s);
  EXPECT_EQ(cache_.lookup("/d/x").hit, MetadataCache::Hit::found);
  EXPECT_EQ(cache_.lookup("/d/missing").hit, MetadataCache::Hit::absent);
  clock_.advance(6s);
  EXPECT_EQ(cache_.lookup("/d/x").hit, MetadataCache::Hit::miss);
  EXPECT_EQ(cache_.listing("/d"), nullptr);
}

TEST_F(MetadataCacheTest, RootListingAnswersTopLevelNames) {
  cache_.store_listing("/", {{"top", file(1)}}, cache_.fetch_token());
  EXPECT_EQ(cache_.lookup("/top").hit, MetadataCache::Hit::found);
  EXPECT_EQ(cache_.lookup("/nope").hit, MetadataCache::Hit::absent);
  EXPECT_EQ(cache_.lookup("/").hit, MetadataCache::Hit::miss);
}

TEST_F(MetadataCacheTest, InvalidateDropsPathChildrenAndParentListing) {
  const auto token = cache_.fetch_token();
  cache_.store_listing("/", {{"d", dir()}}, token);
  cache_.store_listing("/d", {{"x", file(1)}}, token);
  cache_.store_attributes("/d/x/deep", file(2), token);
  cache_.store_attributes("/dz", file(3), token);
  cache_.invalidate("/d");
  EXPECT_EQ(cache_.lookup("/d").hit, MetadataCache::Hit::miss);
  EXPECT_EQ(cache_.listing("/"), nullptr);
  EXPECT_EQ(cache_.listing("/d"), nullptr);
  EXPECT_EQ(cache_.lookup("/d/x").hit, MetadataCache::Hit::miss);
  EXPECT_EQ(cache_.lookup("/d/x/deep").hit, MetadataCache::Hit::miss);
  // A sibling that merely shares the prefix is untouched.
  EXPECT_EQ(cache_.lookup("/dz").hit, MetadataCache::Hit::found);
}

TEST_F(MetadataCacheTest, StoreWithTokenTakenBeforeInvalidateIsIgnored) {
  const auto old_token = cache_.fetch_token();
  cache_.invalidate("/f");
  cache_.store_attributes("/f", file(1), old_token);
  EXPECT_EQ(cache_.lookup("/f").hit, MetadataCache::Hit::miss);
  cache_.store_absent("/f", old_token);
  EXPECT_EQ(cache_.lookup("/f").hit, MetadataCache::Hit::miss);
  cache_.store_attributes("/f", file(2), cache_.fetch_token());
  EXPECT_EQ(cache_.lookup("/f").hit, MetadataCache::Hit::found);
}

TEST_F(MetadataCacheTest, ListingStartedBeforeAChildChangedIsIgnored) {
  const auto old_token = cache_.fetch_token();
  cache_.update("/d/new", file(5));
  cache_.store_listing("/d", {{"old", file(1)}}, old_token);
  EXPECT_EQ(cache_.listing("/d"), nullptr);
  EXPECT_EQ(cache_.lookup("/d/old").hit, MetadataCache::Hit::miss);
  EXPECT_EQ(cache_.lookup("/d/new").hit, MetadataCache::Hit::found);
}

TEST_F(MetadataCacheTest, StoreBelowAnInvalidatedDirectoryIsIgnored) {
  const auto old_token = cache_.fetch_token();
  cache_.invalidate("/d");
  cache_.store_attributes("/d/x", file(1), old_token);
  cache_.store_listing("/d/sub", {{"y", file(1)}}, old_token);
  EXPECT_EQ(cache_.lookup("/d/x").hit, MetadataCache::Hit::miss);
  EXPECT_EQ(cache_.listing("/d/sub"), nullptr);
}

TEST_F(MetadataCacheTest, UpdatePatchesTheParentListingInPlace) {
  cache_.store_listing("/d", {{"a", file(1)}, {"b", file(2)}}, cache_.fetch_token());
  cache_.update("/d/b", file(20));
  cache_.update("/d/c", file(30));
  auto listing = cache_.listing("/d");
  ASSERT_NE(listing, nullptr);
  ASSERT_EQ(listing->size(), 3u);
  EXPECT_EQ((*listing)[1].second.size, 20u);
  EXPECT_EQ((*listing)[2].first, "c");
  EXPECT_EQ(cache_.lookup("/d/c").attributes.size, 30u);
  // Fresh for its own TTL even though the listing came earlier.
  clock_.advance(9s);
  EXPECT_EQ(cache_.lookup("/d/b").attributes.size, 20u);
}

TEST_F(MetadataCacheTest, UpdateReplacesANegativeEntry) {
  cache_.store_absent("/n", cache_.fetch_token());
  cache_.update("/n", file(4));
  EXPECT_EQ(cache_.lookup("/n").hit, MetadataCache::Hit::found);
}

TEST_F(MetadataCacheTest, NewListingMarksUnlistedCachedChildrenAbsent) {
  cache_.store_attributes("/d/old", file(1), cache_.fetch_token());
  cache_.store_listing("/d", {{"other", file(1)}}, cache_.fetch_token());
  EXPECT_EQ(cache_.lookup("/d/old").hit, MetadataCache::Hit::absent);
}

TEST_F(MetadataCacheTest, ClearForgetsEverythingAndRejectsOlderStores) {
  const auto old_token = cache_.fetch_token();
  cache_.store_attributes("/a", file(1), old_token);
  cache_.clear();
  EXPECT_EQ(cache_.lookup("/a").hit, MetadataCache::Hit::miss);
  cache_.store_attributes("/a", file(1), old_token);
  EXPECT_EQ(cache_.lookup("/a").hit, MetadataCache::Hit::miss);
}

TEST_F(MetadataCacheTest, ManyExpiredEntriesAreSweptWithoutLosingTheRaceGuard) {
  const auto old_token = cache_.fetch_token();
  cache_.invalidate("/guarded");
  for (int i = 0; i < 5000; ++i) {
    cache_.store_attributes("/f" + std::to_string(i), file(1), cache_.fetch_token());
    if (i == 100)
      clock_.advance(60s);
  }
  cache_.store_attributes("/guarded", file(1), old_token);
  EXPECT_EQ(cache_.lookup("/guarded").hit, MetadataCache::Hit::miss);
  EXPECT_EQ(cache_.lookup("/f4999").hit, MetadataCache::Hit::found);
}

}  // namespace
