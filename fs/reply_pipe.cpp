#include "fs/reply_pipe.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <memory>

namespace fs {

ReplyPipe* ReplyPipe::for_this_thread() {
  // Per thread, like errno: each FUSE worker needs a pipe of its own (see the header), and the
  // pipe's descriptors are closed when the thread ends (libfuse retires idle workers).
  thread_local std::unique_ptr<ReplyPipe> pipe;
  if (!pipe)
    pipe = std::make_unique<ReplyPipe>();
  if (pipe->fds_[0] < 0 && !pipe->open_pipe())
    return nullptr;
  return pipe.get();
}

ReplyPipe::~ReplyPipe() {
  close_pipe();
}

bool ReplyPipe::open_pipe() {
  if (::pipe2(fds_, O_CLOEXEC) != 0)
    return false;
  // The write end never blocks: with no reader yet, a full pipe would wait for ever.
  ::fcntl(fds_[1], F_SETFL, ::fcntl(fds_[1], F_GETFL) | O_NONBLOCK);
  const int size = ::fcntl(fds_[0], F_GETPIPE_SZ);
  capacity_ = size > 0 ? static_cast<std::size_t>(size) : 0;
  return true;
}

void ReplyPipe::close_pipe() {
  for (int& fd : fds_) {
    if (fd >= 0)
      ::close(fd);
    fd = -1;
  }
  capacity_ = 0;
}

bool ReplyPipe::fill(const std::vector<cache::BlockSlice>& slices, std::size_t total) {
  if (fds_[0] < 0 && !open_pipe())
    return false;
  int left = 0;
  if (::ioctl(fds_[0], FIONREAD, &left) != 0 || left != 0) {
    // An earlier reply was not taken (libfuse failed to send it): its bytes must never prefix this one.
    close_pipe();
    if (!open_pipe())
      return false;
  }
  if (capacity_ < total) {
    const int size = ::fcntl(fds_[0], F_SETPIPE_SZ, static_cast<int>(std::min<std::size_t>(total, INT_MAX)));
    if (size < 0 || static_cast<std::size_t>(size) < total)
      return false;  // above /proc/sys/fs/pipe-max-size for an unprivileged mount
    capacity_ = static_cast<std::size_t>(size);
  }
  std::vector<iovec> iov;
  iov.reserve(slices.size());
  for (const auto& s : slices)
    iov.push_back({const_cast<char*>(s.block->data() + s.offset), s.length});
  std::size_t written = 0;
  std::size_t first = 0;
  while (written < total) {
    const ssize_t n = ::writev(fds_[1], iov.data() + first,
                               static_cast<int>(std::min<std::size_t>(iov.size() - first, IOV_MAX)));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      close_pipe();  // a partial reply must not stay behind
      return false;
    }
    written += static_cast<std::size_t>(n);
    for (std::size_t done = static_cast<std::size_t>(n); done > 0 && first < iov.size();) {
      const std::size_t step = std::min(done, iov[first].iov_len);
      iov[first].iov_base = static_cast<char*>(iov[first].iov_base) + step;
      iov[first].iov_len -= step;
      done -= step;
      if (iov[first].iov_len == 0)
        ++first;
    }
  }
  return true;
}

}  // namespace fs
