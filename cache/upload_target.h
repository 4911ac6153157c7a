#pragma once
// Where staged file data goes when it is flushed. fs/ implements this on top of the FTP client
// (STOR/APPE, SIZE); tests use an in-memory target, so write staging never includes Asio.
// Errors are opaque std::error_codes that the stage passes through to fs/ (which maps, say, a 552
// to ENOSPC).

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <system_error>

#include "cache/block_bytes.h"

namespace cache {

// One upload in progress (one STOR or APPE). Destroying it without a successful finish() aborts the
// transfer; the remote file may then hold part of the data, which is why the stage verifies sizes.
class UploadStream {
 public:
  virtual ~UploadStream() = default;
  virtual std::error_code write(std::span<const char> data) = 0;
  // The same for bytes in a buffer the stream may keep until they are sent, instead of copying
  // them (they must not change meanwhile). The default copies.
  virtual std::error_code send(std::shared_ptr<const BlockBytes> data) { return write(data->bytes()); }
  // Ends the transfer and waits for the server's verdict (226/250, or 451/552/...).
  virtual std::error_code finish() = 0;
};

class UploadTarget {
 public:
  virtual ~UploadTarget() = default;
  // append == false replaces the remote file (STOR), append == true adds to its end (APPE).
  virtual std::error_code open(const std::string& path, bool append, std::unique_ptr<UploadStream>& out) = 0;
  // Like open(), for an upload kept open while its writer may sit idle (streaming while the file is
  // written): refused at once, with any error, when that would take the last connection others
  // could use. The caller then uploads later with open(). Without shared connections, just open().
  virtual std::error_code open_if_spare(const std::string& path, bool append,
                                        std::unique_ptr<UploadStream>& out) {
    return open(path, append, out);
  }
  // True while another caller waits for a connection: an open stream should then be given up.
  virtual bool contended() const { return false; }
  // The size the server now reports for path (SIZE, or a listing), used to verify an upload.
  virtual std::error_code remote_size(const std::string& path, std::uint64_t& size) = 0;
};

}  // namespace cache
