#include "cache/block_file.h"

#include <cstdint>
#include <cstring>
#include <fstream>

namespace cache {

namespace {

constexpr char kMagic[8] = {'F', 'T', 'P', 'F', 'S', 'B', 'K', '1'};
constexpr std::uint64_t kMaxPathLength = 1 << 16;

template <typename T>
void put_raw(std::string& out, T v) {
  char buf[sizeof(T)];
  std::memcpy(buf, &v, sizeof(T));
  out.append(buf, sizeof(T));
}

template <typename T>
bool get_raw(std::istream& in, T& v) {
  char buf[sizeof(T)];
  if (!in.read(buf, sizeof(T)))
    return false;
  std::memcpy(&v, buf, sizeof(T));
  return true;
}

std::error_code corrupt() {
  return std::make_error_code(std::errc::illegal_byte_sequence);
}

std::error_code read_header(std::istream& in, BlockKey& key, std::uint64_t& data_length) {
  char magic[sizeof kMagic];
  if (!in.read(magic, sizeof magic) || std::memcmp(magic, kMagic, sizeof kMagic) != 0)
    return corrupt();
  std::uint64_t path_length = 0;
  if (!get_raw(in, path_length) || path_length > kMaxPathLength)
    return corrupt();
  key.path.resize(path_length);
  if (!in.read(key.path.data(), static_cast<std::streamsize>(path_length)))
    return corrupt();
  if (!get_raw(in, key.version.size) || !get_raw(in, key.version.mtime_ns) || !get_raw(in, key.index) ||
      !get_raw(in, data_length)) {
    return corrupt();
  }
  return {};
}

}  // namespace

std::error_code write_block_file(const std::filesystem::path& file, const BlockKey& key,
                                 const std::vector<char>& data, std::uint64_t unique) {
  std::error_code ec;
  std::filesystem::create_directories(file.parent_path(), ec);
  if (ec)
    return ec;
  std::string header(kMagic, sizeof kMagic);
  put_raw<std::uint64_t>(header, key.path.size());
  header += key.path;
  put_raw(header, key.version.size);
  put_raw(header, key.version.mtime_ns);
  put_raw(header, key.index);
  put_raw<std::uint64_t>(header, data.size());

  std::filesystem::path temp = file;
  temp += ".tmp." + std::to_string(unique);
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out.write(header.data(), static_cast<std::streamsize>(header.size()));
    out.write(data.data(), static_cast<std::streamsize>(data.size()));
    out.flush();
    if (!out) {
      out.close();
      std::filesystem::remove(temp, ec);
      return std::make_error_code(std::errc::io_error);
    }
  }
  std::filesystem::rename(temp, file, ec);
  if (ec) {
    std::error_code ignored;
    std::filesystem::remove(temp, ignored);
  }
  return ec;
}

std::error_code read_block_file(const std::filesystem::path& file, const BlockKey& key,
                                std::vector<char>& data) {
  std::ifstream in(file, std::ios::binary);
  if (!in)
    return std::make_error_code(std::errc::no_such_file_or_directory);
  BlockKey stored;
  std::uint64_t length = 0;
  if (auto ec = read_header(in, stored, length))
    return ec;
  if (!(stored == key))
    return corrupt();
  data.resize(length);
  if (!in.read(data.data(), static_cast<std::streamsize>(length)))
    return corrupt();
  return {};
}

std::error_code read_block_header(const std::filesystem::path& file, BlockKey& key) {
  std::ifstream in(file, std::ios::binary);
  if (!in)
    return std::make_error_code(std::errc::no_such_file_or_directory);
  std::uint64_t length = 0;
  return read_header(in, key, length);
}

}  // namespace cache
