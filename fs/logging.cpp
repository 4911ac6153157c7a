#include "fs/logging.h"

#include <spdlog/cfg/env.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/syslog_sink.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <vector>

namespace fs {

void setup_logging(const std::string& level, bool to_syslog) {
  spdlog::sink_ptr sink;
  if (to_syslog) {
    sink = std::make_shared<spdlog::sinks::syslog_sink_mt>("ftpfs", LOG_PID, LOG_DAEMON, false);
  } else {
    sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  }
  const auto lvl = spdlog::level::from_str(level);
  for (const char* name : {"main", "fs", "ftp", "ftp.wire", "cache"}) {
    spdlog::drop(name);
    auto logger = std::make_shared<spdlog::logger>(name, sink);
    // The wire transcript is only for trace; it would drown everything else at debug.
    logger->set_level(
        std::string_view(name) == "ftp.wire" && lvl != spdlog::level::trace ? spdlog::level::info : lvl);
    logger->set_pattern(to_syslog ? "[%n] %v" : "%Y-%m-%d %H:%M:%S.%e %^%l%$ [%n] %v");
    spdlog::register_logger(logger);
  }
  spdlog::set_default_logger(spdlog::get("main"));
  spdlog::cfg::load_env_levels();
}

}  // namespace fs
