#include "fs/signal_reporter.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cstdint>

namespace fs {
namespace {

sigset_t report_set() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  return set;
}

}  // namespace

void block_report_signal() {
  const sigset_t set = report_set();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

SignalReporter::SignalReporter(std::function<std::string()> summary, std::shared_ptr<spdlog::logger> log)
    : summary_(std::move(summary)), log_(std::move(log)) {
  const sigset_t set = report_set();
  signal_fd_ = signalfd(-1, &set, SFD_CLOEXEC);
  stop_fd_ = eventfd(0, EFD_CLOEXEC);
  if (signal_fd_ < 0 || stop_fd_ < 0) {
    log_->warn("SIGUSR1 statistics are not available: cannot create a signalfd");
    return;
  }
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "ftpfs-signals");
    run();
  });
}

SignalReporter::~SignalReporter() {
  if (thread_.joinable()) {
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(stop_fd_, &one, sizeof one);
    thread_.join();
  }
  if (signal_fd_ >= 0)
    ::close(signal_fd_);
  if (stop_fd_ >= 0)
    ::close(stop_fd_);
}

void SignalReporter::run() {
  pollfd fds[2] = {{signal_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
  while (true) {
    if (poll(fds, 2, -1) < 0)
      continue;
    if (fds[1].revents)
      return;
    if (fds[0].revents & POLLIN) {
      signalfd_siginfo info{};
      if (::read(signal_fd_, &info, sizeof info) == sizeof info)
        log_->info("statistics: {}", summary_());
    }
  }
}

}  // namespace fs
