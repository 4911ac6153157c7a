#include "cache/block_buffers.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>

namespace {

using cache::BlockBuffers;
using cache::BlockBytes;

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
