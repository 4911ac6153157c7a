#pragma once
// Writes a one-line statistics summary to the log whenever the process gets SIGUSR1. A thread
// reads a signalfd, so nothing runs in signal context; SIGUSR1 must be blocked in every thread
// (block_report_signal() before any thread starts, which run_fuse does).

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include <spdlog/logger.h>

namespace fs {

void block_report_signal();

class SignalReporter {
 public:
  SignalReporter(std::function<std::string()> summary, std::shared_ptr<spdlog::logger> log);
  ~SignalReporter();
  SignalReporter(const SignalReporter&) = delete;
  SignalReporter& operator=(const SignalReporter&) = delete;

 private:
  void run();

  std::function<std::string()> summary_;
  std::shared_ptr<spdlog::logger> log_;
  int signal_fd_ = -1;
  int stop_fd_ = -1;
  std::thread thread_;
};

}  // namespace fs
