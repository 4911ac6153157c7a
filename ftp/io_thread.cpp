#include "ftp/io_thread.h"

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
  thread_ = std::thread([this] { io_.run(); });
}

void IoThread::stop() {
  if (!thread_.joinable())
    return;
  guard_.reset();
  io_.stop();
  thread_.join();
}

}  // namespace ftp
