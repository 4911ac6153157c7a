#include "fs/client_upload_target.h"

namespace fs {
namespace {

class UploadStreamAdapter final : public cache::UploadStream {
 public:
  explicit UploadStreamAdapter(std::unique_ptr<ftp::Upload> upload) : upload_(std::move(upload)) {}
  std::error_code write(std::span<const char> data) override { return upload_->write(data).code(); }
  std::error_code send(std::shared_ptr<const cache::BlockBytes> data) override {
    const std::span<const char> bytes = data->bytes();
    return upload_->write_shared(bytes, std::move(data)).code();
  }
  std::error_code finish() override { return upload_->finish().code(); }

 private:
  std::unique_ptr<ftp::Upload> upload_;
};

std::error_code adapt(ftp::Result<std::unique_ptr<ftp::Upload>> upload,
                      std::unique_ptr<cache::UploadStream>& out) {
  if (!upload)
    return upload.code();
  out = std::make_unique<UploadStreamAdapter>(std::move(*upload));
  return {};
}

ftp::UploadMode mode_for(bool append) {
  return append ? ftp::UploadMode::append : ftp::UploadMode::replace;
}

}  // namespace

std::error_code ClientUploadTarget::open(const std::string& path, bool append,
                                         std::unique_ptr<cache::UploadStream>& out) {
  return adapt(client_.upload(path, mode_for(append)), out);
}

std::error_code ClientUploadTarget::open_if_spare(const std::string& path, bool append,
                                                  std::unique_ptr<cache::UploadStream>& out) {
  return adapt(client_.upload_if_spare(path, mode_for(append)), out);
}

std::error_code ClientUploadTarget::remote_size(const std::string& path, std::uint64_t& size) {
  auto entry = client_.stat_size(path);
  if (!entry)
    return entry.code();
  if (!entry->size)
    return make_error_code(std::errc::io_error);  // cannot verify: never claim success
  size = *entry->size;
  if (on_stat_)
    on_stat_(path, *entry);
  return {};
}

}  // namespace fs
