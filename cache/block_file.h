#pragma once
// One cached block on disk: a small header naming the block (so the index can be rebuilt after a
// remount and a hash collision is detected) followed by the data.

#include <cstdint>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "cache/block_cache.h"

namespace cache {

// Writes via a temporary file in the same directory and a rename, so a crash never leaves a
// half-written block under the final name. `unique` must differ between concurrent writers of one
// cache directory; it names the temporary file.
std::error_code write_block_file(const std::filesystem::path& file, const BlockKey& key,
                                 const std::vector<char>& data, std::uint64_t unique);

// Reads the block if the file holds exactly this key.
std::error_code read_block_file(const std::filesystem::path& file, const BlockKey& key,
                                std::vector<char>& data);

// Reads only the header.
std::error_code read_block_header(const std::filesystem::path& file, BlockKey& key);

}  // namespace cache
