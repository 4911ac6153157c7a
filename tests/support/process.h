#pragma once
// Child processes for tests: start one by argv, wait for it with a bound, stop it by its own id.
// Every child gets its own process group so that stopping it also stops whatever it forked
// (vsftpd's session processes, tar's helpers), and nothing else.

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace testsupport {

struct RunResult {
  int exit_code = -1;  // the exit status, or 128 + signal number when killed by a signal
  bool timed_out = false;
  std::string out;
  std::string err;
};

// Runs argv[0] (searched in PATH) with stdin from /dev/null and waits at most `timeout`; on timeout its
// process group is killed and `timed_out` is set.
RunResult run_command(const std::vector<std::string>& argv, std::chrono::seconds timeout);

// Starts argv[0] (searched in PATH) in a new process group, stdin from /dev/null, stdout and stderr
// appended to the given files. Returns the pid, or -1 (with errno set) when fork fails. An exec failure
// shows as exit code 127 with the reason in the stderr file.
pid_t spawn_process(const std::vector<std::string>& argv, const std::filesystem::path& stdout_file,
                    const std::filesystem::path& stderr_file);

// Waits up to `timeout` for `pid` to exit; returns its exit code (128 + signal when killed), or nothing
// when it is still running.
std::optional<int> wait_for_exit(pid_t pid, std::chrono::milliseconds timeout);

// SIGTERM to the process group of `pid`, wait up to `grace`, then SIGKILL and reap. Returns the exit code.
int stop_process(pid_t pid, std::chrono::milliseconds grace);

// The whole content of a file, or an empty string when it cannot be read.
std::string read_text_file(const std::filesystem::path& path);

}  // namespace testsupport
