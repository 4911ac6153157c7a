#include "fs/kernel_readahead.h"

#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>

#include <cerrno>
#include <fstream>

namespace fs {

namespace {
constexpr decltype(statfs::f_type) kFuseSuperMagic = 0x65735546;  // FUSE_SUPER_MAGIC
}  // namespace

std::error_code raise_kernel_readahead(const std::string& mountpoint, unsigned kib) {
  // Only ever the mount's own device: a path that does not lead to a FUSE mount is left alone.
  struct statfs sfs {};
  if (::statfs(mountpoint.c_str(), &sfs) != 0)
    return {errno, std::generic_category()};
  if (sfs.f_type != kFuseSuperMagic)
    return std::make_error_code(std::errc::no_such_device);
  struct stat st {};
  if (::stat(mountpoint.c_str(), &st) != 0)
    return {errno, std::generic_category()};
  const std::string file = "/sys/class/bdi/" + std::to_string(major(st.st_dev)) + ":" +
                           std::to_string(minor(st.st_dev)) + "/read_ahead_kb";
  std::ofstream out(file);
  if (!out)
    return std::make_error_code(std::errc::permission_denied);
  out << kib << '\n';
  out.flush();
  if (!out)
    return std::make_error_code(std::errc::io_error);
  return {};
}

}  // namespace fs
