#include "fs/remote_path.h"

namespace fs {

std::string join_remote(std::string_view root, std::string_view fuse_path) {
  if (fuse_path.empty() || fuse_path == "/")
    return std::string(root.empty() ? "/" : root);
  if (root.empty() || root == "/")
    return std::string(fuse_path);
  std::string out(root);
  out += fuse_path;
  return out;
}

std::string parent_path(std::string_view path) {
  const std::size_t slash = path.rfind('/');
  if (slash == std::string_view::npos || slash == 0)
    return "/";
  return std::string(path.substr(0, slash));
}

std::string_view base_name(std::string_view path) {
  const std::size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

std::string normalize_root(std::string_view path) {
  std::string out;
  std::size_t i = 0;
  while (i < path.size()) {
    std::size_t j = path.find('/', i);
    if (j == std::string_view::npos)
      j = path.size();
    const std::string_view part = path.substr(i, j - i);
    if (!part.empty() && part != ".") {
      out += '/';
      out += part;
    }
    i = j + 1;
  }
  return out.empty() ? "/" : out;
}

}  // namespace fs
