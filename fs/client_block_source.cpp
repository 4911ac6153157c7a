#include "fs/client_block_source.h"

namespace fs {
namespace {

class DownloadStream final : public cache::ByteStream {
 public:
  explicit DownloadStream(std::unique_ptr<ftp::Download> download) : download_(std::move(download)) {}
  void queue(std::span<char> buf) override { download_->queue(buf); }
  void queue_quiet(std::span<char> buf) override { download_->queue_quiet(buf); }
  std::error_code next(std::size_t& n) override {
    auto result = download_->next();
    n = result ? *result : 0;
    return result ? std::error_code{} : result.code();
  }
  void cancel() override { download_->cancel(); }

 private:
  std::unique_ptr<ftp::Download> download_;
};

std::error_code adopt(ftp::Result<std::unique_ptr<ftp::Download>> download,
                      std::unique_ptr<cache::ByteStream>& out) {
  if (!download)
    return download.code();
  out = std::make_unique<DownloadStream>(std::move(*download));
  return {};
}

}  // namespace

std::error_code ClientBlockSource::open(const std::string& path, std::uint64_t offset,
                                        std::unique_ptr<cache::ByteStream>& out) {
  return adopt(client_.download(path, offset), out);
}

std::error_code ClientBlockSource::open_if_spare(const std::string& path, std::uint64_t offset,
                                                 std::unique_ptr<cache::ByteStream>& out) {
  return adopt(client_.download_if_spare(path, offset), out);
}

namespace {

class WholeFetchAdapter final : public cache::BlockSource::WholeFetch {
 public:
  explicit WholeFetchAdapter(std::shared_ptr<ftp::WholeFetch> fetch) : fetch_(std::move(fetch)) {}
  void cancel() override { fetch_->cancel(); }

 private:
  std::shared_ptr<ftp::WholeFetch> fetch_;
};

}  // namespace

std::shared_ptr<cache::BlockSource::WholeFetch> ClientBlockSource::fetch_whole_if_spare(
    const std::string& path, std::vector<std::span<char>> buffers, std::chrono::milliseconds patience,
    std::function<void(std::error_code, std::size_t)> done) {
  auto fetch = client_.fetch_whole_if_spare(path, std::move(buffers), patience,
                                            [done = std::move(done)](ftp::Result<std::size_t> r) {
                                              done(r ? std::error_code{} : r.code(), r ? *r : 0);
                                            });
  if (!fetch)
    return nullptr;
  return std::make_shared<WholeFetchAdapter>(std::move(fetch));
}

}  // namespace fs
