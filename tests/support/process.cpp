#include "tests/support/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

namespace testsupport {
namespace {

using Clock = std::chrono::steady_clock;

int decode_status(int status) {
  if (WIFEXITED(status))
    return WEXITSTATUS(status);
  if (WIFSIGNALED(status))
    return 128 + WTERMSIG(status);
  return -1;
}

std::vector<char*> to_c_argv(const std::vector<std::string>& argv) {
  std::vector<char*> c_argv;
  c_argv.reserve(argv.size() + 1);
  for (const auto& arg : argv)
    c_argv.push_back(const_cast<char*>(arg.c_str()));
  c_argv.push_back(nullptr);
  return c_argv;
}

// Runs in the forked child: only async-signal-safe calls until exec.
[[noreturn]] void exec_child(char* const* c_argv, int out_fd, int err_fd) {
  setpgid(0, 0);
  const int null_fd = open("/dev/null", O_RDONLY);
  if (null_fd >= 0)
    dup2(null_fd, STDIN_FILENO);
  dup2(out_fd, STDOUT_FILENO);
  dup2(err_fd, STDERR_FILENO);
  // The test process may have installed handlers or blocked signals; the child starts clean.
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  execvp(c_argv[0], c_argv);
  const char message[] = "exec failed: ";
  (void)!write(STDERR_FILENO, message, sizeof message - 1);
  const char* reason = strerror(errno);
  (void)!write(STDERR_FILENO, reason, strlen(reason));
  (void)!write(STDERR_FILENO, "\n", 1);
  _exit(127);
}

}  // namespace

pid_t spawn_process(const std::vector<std::string>& argv, const std::filesystem::path& stdout_file,
                    const std::filesystem::path& stderr_file) {
  auto c_argv = to_c_argv(argv);
  const int out_fd = open(stdout_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  const int err_fd = open(stderr_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (out_fd < 0 || err_fd < 0) {
    if (out_fd >= 0)
      close(out_fd);
    if (err_fd >= 0)
      close(err_fd);
    return -1;
  }
  const pid_t pid = fork();
  if (pid == 0)
    exec_child(c_argv.data(), out_fd, err_fd);
  // Also set the group from the parent, so a kill(-pid) right after spawn cannot miss the child.
  if (pid > 0)
    setpgid(pid, pid);
  close(out_fd);
  close(err_fd);
  return pid;
}

std::optional<int> wait_for_exit(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    int status = 0;
    const pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid)
      return decode_status(status);
    if (r < 0 && errno != EINTR)
      return -1;  // not our child (already reaped): treat as gone
    if (Clock::now() >= deadline)
      return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

int stop_process(pid_t pid, std::chrono::milliseconds grace) {
  if (pid <= 0)
    return -1;
  kill(-pid, SIGTERM);
  if (auto code = wait_for_exit(pid, grace)) {
    kill(-pid, SIGKILL);  // leftovers of the group (e.g. vsftpd sessions), if any
    return *code;
  }
  kill(-pid, SIGKILL);
  kill(pid, SIGKILL);
  return wait_for_exit(pid, std::chrono::seconds(5)).value_or(-1);
}

RunResult run_command(const std::vector<std::string>& argv, std::chrono::seconds timeout) {
  RunResult result;
  if (argv.empty())
    return result;
  auto c_argv = to_c_argv(argv);
  std::array<int, 2> out_pipe{-1, -1};
  std::array<int, 2> err_pipe{-1, -1};
  if (pipe2(out_pipe.data(), O_CLOEXEC) != 0)
    return result;
  if (pipe2(err_pipe.data(), O_CLOEXEC) != 0) {
    close(out_pipe[0]);
    close(out_pipe[1]);
    return result;
  }
  const pid_t pid = fork();
  if (pid == 0)
    exec_child(c_argv.data(), out_pipe[1], err_pipe[1]);
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (pid < 0) {
    close(out_pipe[0]);
    close(err_pipe[0]);
    result.err = std::string("fork failed: ") + std::strerror(errno);
    return result;
  }
  setpgid(pid, pid);

  const auto deadline = Clock::now() + timeout;
  std::array<pollfd, 2> fds{pollfd{out_pipe[0], POLLIN, 0}, pollfd{err_pipe[0], POLLIN, 0}};
  std::array<std::string*, 2> sinks{&result.out, &result.err};
  int open_count = 2;
  while (open_count > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      result.timed_out = true;
      break;
    }
    const int n = poll(fds.data(), fds.size(), static_cast<int>(left.count()));
    if (n < 0 && errno != EINTR)
      break;
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0)
        continue;
      char buffer[65536];
      const ssize_t got = read(fds[i].fd, buffer, sizeof buffer);
      if (got > 0) {
        sinks[i]->append(buffer, static_cast<std::size_t>(got));
      } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_count;
      }
    }
  }
  for (auto& fd : fds)
    if (fd.fd >= 0)
      close(fd.fd);

  if (result.timed_out) {
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
    result.exit_code = wait_for_exit(pid, std::chrono::seconds(5)).value_or(-1);
    return result;
  }
  // Output closed; the process should be exiting. Still bounded: a child that closed its pipes but
  // keeps running is a timeout too.
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  if (auto code = wait_for_exit(pid, std::max(left, std::chrono::milliseconds(0)))) {
    result.exit_code = *code;
  } else {
    result.timed_out = true;
    kill(-pid, SIGKILL);
    result.exit_code = wait_for_exit(pid, std::chrono::seconds(5)).value_or(-1);
  }
  return result;
}

std::string read_text_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return {};
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

}  // namespace testsupport
