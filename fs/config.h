#pragma once
// The typed, validated configuration of one mount, built from the command line by parse_options().

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "fs/ftp_url.h"
#include "ftp/session_config.h"

namespace fs {

struct Config {
  FtpUrl url;
  std::string mountpoint;
  ftp::SessionConfig session;

  bool foreground = false;
  bool debug = false;
  bool single_thread = false;
  bool show_help = false;
  bool show_version = false;

  // How long attributes, listings and "does not exist" answers are trusted before asking the
  // server again; a change made on the server shows after at most this long.
  std::chrono::milliseconds cache_timeout{10000};
  std::chrono::milliseconds negative_timeout{5000};

  std::filesystem::path cache_dir;  // block cache (disk tier), write staging, pending uploads
  std::uint64_t disk_cache_bytes = 1ull << 30;
  std::size_t memory_cache_bytes = 256u << 20;
  std::size_t block_size = 256u << 10;
  std::size_t readahead_bytes = 64u << 20;

  std::string loglevel = "info";

  // Where a password may come from besides the URL; fs/credentials.h resolves them in main.
  bool password_stdin = false;             // -o password_stdin: one line from standard input
  std::filesystem::path credentials_file;  // -o credentials=FILE: user= and password= lines
  bool use_netrc = true;                   // -o no_netrc turns ~/.netrc off
  bool retry_pending = false;              // upload what earlier mounts kept in cache_dir/pending

  // Arguments left for libfuse (argv[0], -o fsname=..., allow_other, uid=, ...).
  std::vector<std::string> fuse_args;
};

}  // namespace fs
