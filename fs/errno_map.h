#pragma once
// The one place where an error becomes an errno. Operations may refine by context (a 550 on RMD of
// a non-empty directory is ENOTEMPTY) by choosing a different ftp::Errc before calling this.

#include <system_error>

namespace fs {

// Positive errno for an error from ftp/ or cache/ (or a system error passed through).
int to_errno(std::error_code ec) noexcept;

}  // namespace fs
