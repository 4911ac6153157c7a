#pragma once
// Command line and -o options (fuse_opt, so `mount -t fuse.ftpfs` and fstab lines work). fstab-only
// words are accepted and dropped; options libfuse knows (allow_other, uid=, umask=, ...) are passed
// on to it; anything else is an error.

#include <string>
#include <vector>

#include "fs/config.h"
#include "ftp/result.h"

namespace fs {

// argv as given to main(). The error's detail is a message for the user.
ftp::Result<Config> parse_options(const std::vector<std::string>& argv);

// The --help text: usage and every option with its default.
std::string usage_text(const std::string& program);

}  // namespace fs
