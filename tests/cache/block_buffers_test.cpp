#include "cache/block_buffers.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace {

using cache::BlockBuffers;

TEST(BlockBuffersTest, FreedBufferIsReusedForTheNextBlock) {
  BlockBuffers buffers(4);
  const char* first = nullptr;
  {
    auto block = buffers.make(4096);
    ASSERT_EQ(block->size(), 4096u);
    first = block->data();
  }
  auto again = buffers.make(4096);
  EXPECT_EQ(again->data(), first);
  EXPECT_EQ(again->size(), 4096u);
}

TEST(BlockBuffersTest, SmallBlockGetsABufferOfItsOwnSize) {
  BlockBuffers buffers(4);
  { auto big = buffers.make(1 << 20); }
  auto small = buffers.make(100);
  EXPECT_EQ(small->size(), 100u);
  EXPECT_LT(small->capacity(), 1u << 19);  // not the recycled 1 MiB buffer
}

TEST(BlockBuffersTest, FreeListIsBoundedAndBuffersMayOutliveTheirPool) {
  std::vector<std::shared_ptr<std::vector<char>>> held;
  {
    BlockBuffers buffers(2);
    for (int i = 0; i < 5; ++i) {
      held.push_back(buffers.make(1024));
      std::fill(held.back()->begin(), held.back()->end(), static_cast<char>('a' + i));
    }
  }
  for (int i = 0; i < 5; ++i)  // blocks keep their bytes after the pool is gone
    EXPECT_EQ(std::count(held[i]->begin(), held[i]->end(), 'a' + i), 1024) << i;
  held.clear();  // giving them back to a pool that no longer exists is safe
}

}  // namespace
