#include "ftp/io_thread.h"

#include <pthread.h>

namespace ftp {

IoThread::IoThread() = default;

IoThread::~IoThread() {
  stop();
}

void IoThread::start() {
  if (thread_.joinable())
    return;
  io_.restart();
  guard_.emplace(io_.get_executor());
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "ftpfs-io");  // for top -H and perf
    io_.run();
  });
}

void IoThread::stop() {
  if (!thread_.joinable())
    return;
  guard_.reset();
  io_.stop();
  thread_.join();
}

}  // namespace ftp
