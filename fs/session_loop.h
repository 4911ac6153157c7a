#pragma once
// Runs a FUSE session on worker threads that receive each request into memory of ours, where
// fuse_loop_mt uses buffers of its own, so that the bytes of a large write can stay where the kernel
// put them. The buffers have headroom in front: a request's headers go there, and the data of a
// WRITE starts on a page boundary, as the O_DIRECT staging write needs. The stage and the upload
// then use that block as it is (take_received_block) instead of a copy of it, which was a sixth of
// the CPU time of copying a large file into the mount.
//
// Otherwise it does what fuse_loop_mt does: a worker is added when none is left waiting for a
// request (up to max_threads), workers keep signals blocked so that the main thread gets them, and
// the loop ends when the session exits (unmount, SIGTERM and the like, fuse_exit). Workers blocked
// in a receive are then woken with SIGUSR2 (its handler does nothing).

#include <fuse_lowlevel.h>

#include <cstddef>
#include <memory>

#include "cache/block_bytes.h"

namespace fs {

// Whether the loop may run with this libfuse (fuse_version()): it relies on how many bytes libfuse
// reads into a buffer it is given, checked for 3.14 (Debian 12). Other versions use fuse_loop_mt.
bool session_loop_fits(int libfuse_version);

// Runs the session until it ends. 0, or the negative errno that ended it.
int run_session_loop(fuse_session* se, unsigned max_threads);

// On a worker of run_session_loop, inside an operation: when [data, data + size) is the data of the
// request being processed and starts the block it was received into, returns that block, sized to
// the data. The worker receives its next request into another block, so the bytes stay valid for
// as long as the caller keeps this one. Null anywhere else (the caller copies).
std::shared_ptr<cache::BlockBytes> take_received_block(const char* data, std::size_t size);

}  // namespace fs
