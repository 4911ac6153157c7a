#pragma once
// One logger per component (main, fs, ftp, ftp.wire, cache), all on one sink set: stderr in the
// foreground, syslog once daemonized. SPDLOG_LEVEL may set per-logger levels on top.

#include <string>

namespace fs {

void setup_logging(const std::string& level, bool to_syslog);

}  // namespace fs
