#include "cache/file_prefetcher.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <string>
#include <vector>

#include "cache/fetch_table.h"
#include "cache/file_reader.h"
#include "tests/fakes/memory_block_source.h"

namespace {

using namespace std::chrono_literals;
using cache::BlockCache;
using cache::BlockCacheConfig;
using cache::FilePrefetcher;
using cache::FileReader;
using cache::FileVersion;
using cache::PrefetchConfig;
using cache::PrefetchFile;
using testsupport::MemoryBlockSource;
using testsupport::pattern_bytes;

constexpr std::size_t kBlock = 4096;

BlockCacheConfig memory_only() {
  BlockCacheConfig c;
  c.block_size = kBlock;
  c.memory_budget = 64 << 20;
  return c;
}

class FilePrefetcherTest : public ::testing::Test {
 protected:
  // Files /f0 ... of the given sizes on the source; returns what to prefetch.
  std::vector<PrefetchFile> add_files(const std::vector<std::size_t>& sizes) {
    std::vector<PrefetchFile> out;
    for (std::size_t i = 0; i < sizes.size(); ++i) {
      const std::string path = "/f" + std::to_string(i);
      contents_.push_back(pattern_bytes(sizes[i], static_cast<unsigned>(i + 1)));
      source_.set_file(path, contents_.back());
      out.push_back({path, FileVersion{sizes[i], 7}});
    }
    return out;
  }
  // Reads the whole file through a FileReader, as a program that opened it would.
  std::vector<char> read_all(const PrefetchFile& f) {
    FileReader reader(blocks_, source_, fetches_, f.path, f.version, {});
    std::vector<char> buf(f.version.size + 100);
    std::size_t n = 0;
    EXPECT_FALSE(reader.read(0, buf, n));
    buf.resize(n);
    return buf;
  }

  BlockCache blocks_{memory_only()};
  MemoryBlockSource source_;
  std::shared_ptr<cache::FetchTable> fetches_ = cache::make_fetch_table();
  std::vector<std::vector<char>> contents_;
};

TEST_F(FilePrefetcherTest, PrefetchedFilesAreReadWithoutAskingTheSourceAgain) {
  auto files = add_files({100, kBlock, 3 * kBlock + 5, 1, 2 * kBlock});
  FilePrefetcher prefetcher(blocks_, source_, fetches_, PrefetchConfig{.streams = 2});
  prefetcher.add(files);
  ASSERT_TRUE(prefetcher.wait_idle(10s));
  EXPECT_EQ(source_.opens(), 5);  // one stream per file
  EXPECT_EQ(prefetcher.stats().files_fetched, 5u);
  for (std::size_t i = 0; i < files.size(); ++i)
    EXPECT_EQ(read_all(files[i]), contents_[i]) << files[i].path;
  EXPECT_EQ(source_.opens(), 5);
}

TEST_F(FilePrefetcherTest, AReaderOfAFileBeingPrefetchedSharesThatTransfer) {
  auto files = add_files({4 * kBlock});
  MemoryBlockSource::Options slow;
  slow.delay = 20ms;
  slow.max_chunk = 1024;  // many slow reads: the reader arrives while the transfer runs
  source_.set_options(slow);
  FilePrefetcher prefetcher(blocks_, source_, fetches_, PrefetchConfig{.streams = 1});
  prefetcher.add(files);
  while (source_.opens() == 0)
    std::this_thread::sleep_for(1ms);
  EXPECT_EQ(read_all(files[0]), contents_[0]);
  ASSERT_TRUE(prefetcher.wait_idle(30s));
  EXPECT_EQ(source_.opens(), 1);
}

TEST_F(FilePrefetcherTest, FilesAlreadyCachedAreNotFetchedAgain) {
  auto files = add_files({3000, 5000});
  // The first file is in the cache (as after a reader fetched it and kept it there).
  auto block = std::make_shared<cache::BlockBytes>(contents_[0].size());
  std::copy(contents_[0].begin(), contents_[0].end(), block->data());
  blocks_.put({files[0].path, files[0].version, 0}, block);
  ASSERT_EQ(source_.opens(), 0);
  FilePrefetcher prefetcher(blocks_, source_, fetches_, PrefetchConfig{.streams = 2});
  prefetcher.add(files);
  ASSERT_TRUE(prefetcher.wait_idle(10s));
  EXPECT_EQ(source_.opens(), 1);  // only the second file
  EXPECT_EQ(prefetcher.stats().files_skipped, 1u);
}

TEST_F(FilePrefetcherTest, WithoutASpareStreamNothingIsFetchedAndTheQueueIsDropped) {
  auto files = add_files({100, 200, 300});
  MemoryBlockSource::Options busy;
  busy.no_spare = true;
  source_.set_options(busy);
  FilePrefetcher prefetcher(blocks_, source_, fetches_, PrefetchConfig{.streams = 2, .spare_patience = 1ms});
  prefetcher.add(files);
  ASSERT_TRUE(prefetcher.wait_idle(10s));  // gave up instead of polling for ever
  EXPECT_EQ(source_.opens(), 0);
  EXPECT_GT(source_.refused(), 0);
  EXPECT_EQ(prefetcher.stats().files_fetched, 0u);
  // A reader still gets every byte, fetching for itself.
  for (std::size_t i = 0; i < files.size(); ++i)
    EXPECT_EQ(read_all(files[i]), contents_[i]);
}

TEST_F(FilePrefetcherTest, AFileShorterThanListedIsNotCachedShort) {
  auto files = add_files({2 * kBlock});
  files[0].version.size = 3 * kBlock;  // the listing said more than the server now has
  FilePrefetcher prefetcher(blocks_, source_, fetches_, PrefetchConfig{.streams = 1});
  prefetcher.add(files);
  ASSERT_TRUE(prefetcher.wait_idle(10s));
  EXPECT_EQ(prefetcher.stats().files_fetched, 0u);
  EXPECT_FALSE(blocks_.contains({files[0].path, files[0].version, 2}));
}

TEST_F(FilePrefetcherTest, DestroyedWhileFetchingStopsPromptly) {
  auto files = add_files({64 * kBlock, 64 * kBlock, 64 * kBlock});
  MemoryBlockSource::Options slow;
  slow.delay = 50ms;
  slow.max_chunk = 512;  // about 25 s per file if it ran to the end
  source_.set_options(slow);
  auto done = std::async(std::launch::async, [&] {
    FilePrefetcher prefetcher(blocks_, source_, fetches_, PrefetchConfig{.streams = 2});
    prefetcher.add(files);
    while (source_.opens() < 2)
      std::this_thread::sleep_for(1ms);
  });
  ASSERT_EQ(done.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(source_.open_streams(), 0);
}

}  // namespace
