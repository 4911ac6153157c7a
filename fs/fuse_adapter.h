#pragma once
// Mounts and serves a filesystem with libfuse. The only part of ftpfs that includes <fuse.h>.

#include "fs/config.h"

namespace fs {

// Mounts config.mountpoint, daemonizes unless config.foreground, and serves requests until
// unmounted. Returns the process exit status.
int run_fuse(const Config& config);

}  // namespace fs
