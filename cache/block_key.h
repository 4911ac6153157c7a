#pragma once
// One string per block key, for hash maps and for naming the block's file in the disk tier.

#include <string>

#include "cache/block_cache.h"

namespace cache {

// Distinct keys give distinct strings (the path is length-prefixed).
std::string block_key_string(const BlockKey& key);

// 32 hex digits derived from the key string; used as the disk file name.
std::string block_key_hash(const std::string& key_string);

}  // namespace cache
