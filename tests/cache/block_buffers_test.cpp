#include "cache/block_buffers.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>

namespace {

using cache::BlockBuffers;
using cache::BlockBytes;

// The VmFlags line of the mapping in /proc/self/smaps that holds `address`; empty if none does.
std::string mapping_flags(const void* address) {
  const auto at = reinterpret_cast<std::uintptr_t>(address);
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool inside = false;
  while (std::getline(smaps, line)) {
    std::uintptr_t start = 0;
    std::uintptr_t end = 0;
    char dash = 0;
    std::istringstream head(line);
    if (head >> std::hex >> start >> dash >> end && dash == '-' && line.find(':') > line.find(' ')) {
      inside = start <= at && at < end;
    } else if (inside && line.rfind("VmFlags:", 0) == 0) {
      return line;
    }
  }
  return {};
}

TEST(BlockBuffersTest, FreedBufferIsReusedForTheNextBlock) {
  BlockBuffers buffers(1 << 20);
  const char* first = nullptr;
  {
    auto block = buffers.make(4096);
    ASSERT_EQ(block->size(), 4096u);
    first = block->data();
  }
  EXPECT_EQ(buffers.free_bytes(), 4096u);
  auto again = buffers.make(4096);
  EXPECT_EQ(again->data(), first);
  EXPECT_EQ(again->size(), 4096u);
  EXPECT_EQ(buffers.free_bytes(), 0u);
}

TEST(BlockBuffersTest, BuffersArePageAlignedWithZeroedPadding) {
  BlockBuffers buffers(1 << 20);
  auto block = buffers.make(5000);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(block->data()) % BlockBytes::kAlignment, 0u);
  EXPECT_EQ(block->capacity(), 8192u);
  std::fill(block->begin(), block->end(), 'x');
  block->resize(100);  // a block cut short: the rest of its page must read as zeros on disk
  EXPECT_TRUE(std::all_of(block->data() + 100, block->data() + 4096, [](char c) { return c == 0; }));
}

// Headroom: bytes in front of data() that a receiver may fill with headers, so that the data
// itself starts on a page boundary. It survives recycling.
TEST(BlockBuffersTest, HeadroomPrecedesPageAlignedData) {
  BlockBuffers buffers(4 << 20, 80);
  const char* first = nullptr;
  {
    auto block = buffers.make(8192);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(block->data()) % BlockBytes::kAlignment, 0u);
    EXPECT_EQ(block->headroom(), BlockBytes::kAlignment);
    std::fill(block->data() - 80, block->data(), 'h');  // a header right before the data
    std::fill(block->begin(), block->end(), 'd');
    EXPECT_EQ(std::count(block->begin(), block->end(), 'd'), 8192);
    first = block->data();
  }
  auto again = buffers.make(8192);
  EXPECT_EQ(again->data(), first);
  EXPECT_EQ(again->headroom(), BlockBytes::kAlignment);
}

TEST(BlockBuffersTest, SmallBlockGetsABufferOfItsOwnSize) {
  BlockBuffers buffers(4 << 20);
  { auto big = buffers.make(1 << 20); }
  auto small = buffers.make(100);
  EXPECT_EQ(small->size(), 100u);
  EXPECT_LT(small->capacity(), 1u << 19);  // not the recycled 1 MiB buffer
}

TEST(BlockBuffersTest, FreeListIsBoundedInBytesAndBuffersMayOutliveTheirPool) {
  std::vector<std::shared_ptr<BlockBytes>> held;
  {
    BlockBuffers buffers(2 * 4096);
    for (int i = 0; i < 5; ++i) {
      held.push_back(buffers.make(4096));
      std::fill(held.back()->begin(), held.back()->end(), static_cast<char>('a' + i));
    }
    for (int i = 0; i < 3; ++i)
      held.pop_back();
    EXPECT_EQ(buffers.free_bytes(), 2u * 4096);  // the third one went back to the system
  }
  for (int i = 0; i < 2; ++i)  // blocks keep their bytes after the pool is gone
    EXPECT_EQ(std::count(held[i]->begin(), held[i]->end(), 'a' + i), 4096) << i;
  held.clear();  // giving them back to a pool that no longer exists is safe
}

}  // namespace

// Receive buffers (fs/session_loop.h) sit in whole huge pages that the kernel is asked to back with
// transparent huge pages; whether it can is up to the kernel, the request is ours.
TEST(BlockBuffersTest, HugePageBuffersTakeWholeHugePagesMarkedForTheKernel) {
  const std::size_t length = (1u << 20) + 4096;
  BlockBuffers buffers(8u << 20, 80, BlockBytes::Pages::huge);
  const char* first = nullptr;
  {
    auto block = buffers.make(length);
    const char* start = block->data() - block->headroom();
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(start) % BlockBytes::kHugePage, 0u);
    EXPECT_EQ(block->headroom(), BlockBytes::kAlignment);
    EXPECT_EQ(block->capacity(), length);
    EXPECT_EQ(block->footprint(), BlockBytes::kHugePage);
    EXPECT_NE(mapping_flags(start).find(" hg"), std::string::npos) << mapping_flags(start);
    for (std::size_t i = 0; i < length; ++i)
      block->data()[i] = static_cast<char>(i % 251);
    std::fill(block->data() - 80, block->data(), 'h');
    bool intact = true;
    for (std::size_t i = 0; i < length && intact; ++i)
      intact = block->data()[i] == static_cast<char>(i % 251);
    EXPECT_TRUE(intact);
    first = block->data();
  }
  EXPECT_EQ(buffers.free_bytes(), BlockBytes::kHugePage);
  auto again = buffers.make(length);
  EXPECT_EQ(again->data(), first);
}

TEST(BlockBuffersTest, FreeListCountsTheMemoryHugePageBuffersTake) {
  BlockBuffers buffers(4u << 20, 0, BlockBytes::Pages::huge);
  {
    std::vector<std::shared_ptr<BlockBytes>> held;
    for (int i = 0; i < 3; ++i)
      held.push_back(buffers.make(1u << 20));
  }
  // Three 1 MiB blocks take three huge pages: two fit under the bound, the third is unmapped.
  EXPECT_EQ(buffers.free_bytes(), 4u << 20);
}
