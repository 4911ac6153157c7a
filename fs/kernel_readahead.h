#pragma once
// The kernel reads ahead of a FUSE file at most 128 KiB by default, however large max_readahead
// is: each sequential reader then waits for many small requests. Root may raise it per mount
// through the mount's backing device in sysfs; ftpfs does so at mount time when it can.

#include <string>
#include <system_error>

namespace fs {

// Sets /sys/class/bdi/MAJOR:MINOR/read_ahead_kb for the FUSE file system mounted at `mountpoint`
// (found in /proc/self/mountinfo, so the mount itself is never touched). Needs root; returns why
// not otherwise.
std::error_code raise_kernel_readahead(const std::string& mountpoint, unsigned kib);

}  // namespace fs
