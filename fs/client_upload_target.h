#pragma once
// The write stage's destination on top of the FTP client: a stream is one STOR/APPE upload, and
// the size check after an upload is one stat (MLST, or SIZE+MDTM) whose full answer is handed to
// `on_stat`, so the caller learns the server's new mtime without another round trip.

#include <functional>

#include "cache/upload_target.h"
#include "ftp/client.h"

namespace fs {

class ClientUploadTarget final : public cache::UploadTarget {
 public:
  using StatObserver = std::function<void(const std::string& path, const ftp::DirEntry& entry)>;

  ClientUploadTarget(ftp::Client& client, StatObserver on_stat)
      : client_(client), on_stat_(std::move(on_stat)) {}

  std::error_code open(const std::string& path, bool append,
                       std::unique_ptr<cache::UploadStream>& out) override;
  std::error_code open_if_spare(const std::string& path, bool append,
                                std::unique_ptr<cache::UploadStream>& out) override;
  bool contended() const override { return client_.sessions_wanted(); }
  std::error_code remote_size(const std::string& path, std::uint64_t& size) override;

 private:
  ftp::Client& client_;
  StatObserver on_stat_;
};

}  // namespace fs
