#include "fs/directory_scan.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using fs::DirectoryScan;
using fs::DirectoryScanLimits;

cache::FileAttributes file(std::uint64_t size) {
  cache::FileAttributes a;
  a.kind = cache::FileKind::file;
  a.size = size;
  return a;
}

// f00 ... f(n-1), each `size` bytes.
cache::Listing files(int n, std::uint64_t size = 1000) {
  cache::Listing out;
  for (int i = 0; i < n; ++i) {
    char name[8];
    std::snprintf(name, sizeof name, "f%02d", i);
    out.emplace_back(name, file(size));
  }
  return out;
}

std::vector<std::string> names(const cache::Listing& picked) {
  std::vector<std::string> out;
  for (const auto& [n, a] : picked)
    out.push_back(n);
  return out;
}

using V = std::vector<std::string>;

TEST(DirectoryScanTest, ASingleOpenPicksNothing) {
  DirectoryScan scan({.ahead = 4});
  const auto listing = files(10);
  EXPECT_TRUE(scan.on_open("/d", "f00", listing).empty());
}

TEST(DirectoryScanTest, TheSecondOpenPicksTheNextFilesInListingOrder) {
  DirectoryScan scan({.ahead = 3});
  const auto listing = files(10);
  EXPECT_TRUE(scan.on_open("/d", "f00", listing).empty());
  EXPECT_EQ(names(scan.on_open("/d", "f01", listing)), (V{"f02", "f03", "f04"}));
}

TEST(DirectoryScanTest, PicksStayAtMostTheLimitAheadOfWhatWasOpened) {
  DirectoryScan scan({.ahead = 3});
  const auto listing = files(10);
  scan.on_open("/d", "f00", listing);
  scan.on_open("/d", "f01", listing);
  EXPECT_EQ(names(scan.on_open("/d", "f02", listing)), (V{"f05"}));
  EXPECT_EQ(names(scan.on_open("/d", "f03", listing)), (V{"f06"}));
  // Opening a file that was not picked does not let the picks run further ahead.
  EXPECT_TRUE(scan.on_open("/d", "f09", listing).empty());
}

TEST(DirectoryScanTest, DirectoriesEmptyAndLargeFilesAreNotPicked) {
  DirectoryScan scan({.ahead = 10, .max_file_size = 5000});
  cache::Listing listing = files(2);
  cache::FileAttributes dir;
  dir.kind = cache::FileKind::directory;
  listing.emplace_back("sub", dir);
  listing.emplace_back("empty", file(0));
  listing.emplace_back("big", file(5001));
  listing.emplace_back("limit", file(5000));
  cache::FileAttributes link = file(10);
  link.kind = cache::FileKind::symlink;
  listing.emplace_back("link", link);
  scan.on_open("/d", "f00", listing);
  EXPECT_EQ(names(scan.on_open("/d", "f01", listing)), (V{"limit"}));
}

TEST(DirectoryScanTest, PicksWrapAroundTheListingOnce) {
  DirectoryScan scan({.ahead = 10});
  const auto listing = files(5);
  scan.on_open("/d", "f03", listing);
  EXPECT_EQ(names(scan.on_open("/d", "f04", listing)), (V{"f00", "f01", "f02"}));
  EXPECT_TRUE(scan.on_open("/d", "f00", listing).empty());
}

TEST(DirectoryScanTest, ReopeningTheSameFileIsNoScan) {
  DirectoryScan scan({.ahead = 4});
  const auto listing = files(10);
  scan.on_open("/d", "f00", listing);
  EXPECT_TRUE(scan.on_open("/d", "f00", listing).empty());
  EXPECT_TRUE(scan.on_open("/d", "f00", listing).empty());
}

TEST(DirectoryScanTest, AnotherDirectoryStartsANewScan) {
  DirectoryScan scan({.ahead = 2});
  const auto listing = files(10);
  scan.on_open("/a", "f00", listing);
  EXPECT_TRUE(scan.on_open("/b", "f05", listing).empty());
  EXPECT_EQ(names(scan.on_open("/b", "f06", listing)), (V{"f07", "f08"}));
  // Back in /a: a fresh scan, in which earlier picks may be picked again.
  EXPECT_TRUE(scan.on_open("/a", "f01", listing).empty());
  EXPECT_EQ(names(scan.on_open("/a", "f02", listing)), (V{"f03", "f04"}));
}

TEST(DirectoryScanTest, ZeroAheadTurnsPickingOff) {
  DirectoryScan scan({.ahead = 0});
  const auto listing = files(10);
  scan.on_open("/d", "f00", listing);
  EXPECT_TRUE(scan.on_open("/d", "f01", listing).empty());
}

}  // namespace
