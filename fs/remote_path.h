#pragma once
// Paths: FUSE hands us "/a/b" relative to the mount; the server sees them below the mounted root.

#include <string>
#include <string_view>

namespace fs {

// root "/srv" + "/a/b" -> "/srv/a/b"; root "/" + "/" -> "/".
std::string join_remote(std::string_view root, std::string_view fuse_path);
// "/a/b" -> "/a"; "/a" -> "/"; "/" -> "/".
std::string parent_path(std::string_view path);
// "/a/b" -> "b"; "/" -> "".
std::string_view base_name(std::string_view path);
// Normalizes a root: leading '/', no trailing '/', no empty or "." components.
std::string normalize_root(std::string_view path);

}  // namespace fs
