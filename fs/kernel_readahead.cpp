#include "fs/kernel_readahead.h"

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace fs {

namespace {

// Undoes the octal escapes (\040 for a space, ...) of paths in /proc/self/mountinfo.
std::string unescape_mountinfo(const std::string& field) {
  std::string out;
  for (std::size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size()) {
      const std::string digits = field.substr(i + 1, 3);
      if (digits.find_first_not_of("01234567") == std::string::npos) {
        out += static_cast<char>(std::stoi(digits, nullptr, 8));
        i += 3;
        continue;
      }
    }
    out += field[i];
  }
  return out;
}

// "MAJOR:MINOR" of the FUSE file system mounted last at `mountpoint`, or empty.
std::string fuse_device_of(const std::string& mountpoint) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line, found;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::vector<std::string> f;
    for (std::string word; fields >> word;)
      f.push_back(word);
    // id parent MAJ:MIN root mountpoint options [optional...] - fstype source superoptions
    std::size_t dash = 6;
    while (dash < f.size() && f[dash] != "-")
      ++dash;
    if (f.size() < 5 || dash + 1 >= f.size())
      continue;
    if (unescape_mountinfo(f[4]) == mountpoint && f[dash + 1].rfind("fuse", 0) == 0)
      found = f[2];  // the last match is the mount on top
  }
  return found;
}

}  // namespace

std::error_code raise_kernel_readahead(const std::string& mountpoint, unsigned kib) {
  // From mountinfo rather than stat(): a stat of the mount point would hold it for a moment, and an
  // umount right after mounting could then fail with "target is busy".
  const std::string device = fuse_device_of(mountpoint);
  if (device.empty())
    return std::make_error_code(std::errc::no_such_device);
  std::ofstream out("/sys/class/bdi/" + device + "/read_ahead_kb");
  if (!out)
    return std::make_error_code(std::errc::permission_denied);
  out << kib << '\n';
  out.flush();
  if (!out)
    return std::make_error_code(std::errc::io_error);
  return {};
}

}  // namespace fs
