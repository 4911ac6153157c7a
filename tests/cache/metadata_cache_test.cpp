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

TEST_F(MetadataCacheTest, RemoveKeepsTheParentListingWithoutTheName) {
  const auto token = cache_.fetch_token();
  cache_.store_listing("/d", {{"a", file(1)}, {"sub", dir()}, {"b", file(2)}}, token);
  cache_.store_listing("/d/sub", {{"deep", file(3)}}, token);
  cache_.remove("/d/a");
  cache_.remove("/d/sub");
  auto listing = cache_.listing("/d");
  ASSERT_NE(listing, nullptr) << "the next lookup in /d needs no new listing";
  ASSERT_EQ(listing->size(), 1u);
  EXPECT_EQ((*listing)[0].first, "b");
  EXPECT_EQ(cache_.lookup("/d/a").hit, MetadataCache::Hit::absent);
  EXPECT_EQ(cache_.lookup("/d/sub").hit, MetadataCache::Hit::absent);
  EXPECT_EQ(cache_.lookup("/d/sub/deep").hit, MetadataCache::Hit::miss);
  EXPECT_EQ(cache_.listing("/d/sub"), nullptr);
  // A listing that began before the removal cannot bring the name back.
  cache_.store_listing("/d", {{"a", file(1)}, {"b", file(2)}}, token);
  EXPECT_EQ(cache_.lookup("/d/a").hit, MetadataCache::Hit::absent);
}

TEST_F(MetadataCacheTest, CreatedAddsToTheParentListingAndForgetsBelow) {
  const auto token = cache_.fetch_token();
  cache_.store_listing("/d", {{"x", file(1)}}, token);
  cache_.store_attributes("/d/n/stale", file(2), token);  // from an earlier "n", removed elsewhere
  cache_.created("/d/n", dir());
  auto listing = cache_.listing("/d");
  ASSERT_NE(listing, nullptr);
  ASSERT_EQ(listing->size(), 2u);
  EXPECT_EQ((*listing)[1].first, "n");
  EXPECT_EQ(cache_.lookup("/d/n").attributes.kind, FileKind::directory);
  EXPECT_EQ(cache_.lookup("/d/n/stale").hit, MetadataCache::Hit::miss);
  cache_.store_listing("/d", {{"x", file(1)}}, token);  // began before: refused
  EXPECT_EQ(cache_.lookup("/d/n").hit, MetadataCache::Hit::found);
}

TEST_F(MetadataCacheTest, MovedPatchesBothListings) {
  const auto token = cache_.fetch_token();
  cache_.store_listing("/src", {{"tmp", file(5)}, {"keep", file(1)}}, token);
  cache_.store_listing("/dst", {{"old", file(9)}, {"x", file(2)}}, token);
  cache_.store_listing("/dst/old", {}, token);  // as if "old" had been a directory once
  cache_.moved("/src/tmp", "/dst/old", file(5));
  auto src = cache_.listing("/src");
  ASSERT_NE(src, nullptr);
  ASSERT_EQ(src->size(), 1u);
  EXPECT_EQ((*src)[0].first, "keep");
  auto dst = cache_.listing("/dst");
  ASSERT_NE(dst, nullptr);
  ASSERT_EQ(dst->size(), 2u);
  EXPECT_EQ((*dst)[0].first, "old");
  EXPECT_EQ((*dst)[0].second.size, 5u) << "replaced by the moved file";
  EXPECT_EQ(cache_.lookup("/src/tmp").hit, MetadataCache::Hit::absent);
  EXPECT_EQ(cache_.lookup("/dst/old").attributes.size, 5u);
  EXPECT_EQ(cache_.listing("/dst/old"), nullptr);
  // Listings that began before the rename cannot undo it.
  cache_.store_listing("/src", {{"tmp", file(5)}, {"keep", file(1)}}, token);
  cache_.store_listing("/dst", {{"old", file(9)}, {"x", file(2)}}, token);
  EXPECT_EQ(cache_.lookup("/src/tmp").hit, MetadataCache::Hit::absent);
  EXPECT_EQ(cache_.lookup("/dst/old").attributes.size, 5u);
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
