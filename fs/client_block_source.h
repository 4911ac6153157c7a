#pragma once
// The cache's data source on top of the FTP client: one stream is one REST+RETR download.

#include "cache/block_source.h"
#include "ftp/client.h"

namespace fs {

class ClientBlockSource final : public cache::BlockSource {
 public:
  explicit ClientBlockSource(ftp::Client& client) : client_(client) {}
  std::error_code open(const std::string& path, std::uint64_t offset,
                       std::unique_ptr<cache::ByteStream>& out) override;
  std::error_code open_if_spare(const std::string& path, std::uint64_t offset,
                                std::unique_ptr<cache::ByteStream>& out) override;
  bool contended() const override { return client_.sessions_wanted(); }
  std::shared_ptr<WholeFetch> fetch_whole_if_spare(
      const std::string& path, std::vector<std::span<char>> buffers, std::chrono::milliseconds patience,
      std::function<void(std::error_code, std::size_t)> done) override;

 private:
  ftp::Client& client_;
};

}  // namespace fs
