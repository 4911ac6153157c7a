#pragma once
// Cache blocks made from and compared with plain bytes, for the cache tests.

#include <cstddef>
#include <memory>
#include <vector>

#include "cache/block_cache.h"

namespace testsupport {

inline cache::BlockData block_of(std::size_t n, char fill) {
  auto block = std::make_shared<cache::BlockBytes>(n);
  std::fill(block->begin(), block->end(), fill);
  return block;
}

inline std::vector<char> bytes_of(const cache::BlockBytes& block) {
  return {block.begin(), block.end()};
}

}  // namespace testsupport
