#include "cache/block_key.h"

#include <cstdint>
#include <cstdio>

namespace cache {

namespace {

std::uint64_t fnv1a(const std::string& s, std::uint64_t seed) {
  std::uint64_t h = seed;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

}  // namespace

std::string block_key_string(const BlockKey& key) {
  std::string out = std::to_string(key.path.size());
  out += ':';
  out += key.path;
  out += ':';
  out += std::to_string(key.version.size);
  out += ':';
  out += std::to_string(key.version.mtime_ns);
  out += ':';
  out += std::to_string(key.index);
  return out;
}

std::string block_key_hash(const std::string& key_string) {
  // Two FNV-1a passes with different offsets: collisions are also caught by the header check,
  // this only keeps them rare.
  const std::uint64_t a = fnv1a(key_string, 14695981039346656037ull);
  const std::uint64_t b = fnv1a(key_string, 0x9e3779b97f4a7c15ull);
  char buf[33];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(a),
                static_cast<unsigned long long>(b));
  return buf;
}

}  // namespace cache
