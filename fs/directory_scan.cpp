#include "fs/directory_scan.h"

namespace fs {

bool DirectoryScan::wanted(const std::pair<std::string, cache::FileAttributes>& entry) const {
  const auto& a = entry.second;
  return a.kind == cache::FileKind::file && a.size > 0 && a.size <= limits_.max_file_size &&
         !opened_.contains(entry.first) && !picked_.contains(entry.first);
}

cache::Listing DirectoryScan::on_open(std::string_view dir, std::string_view name,
                                      const cache::Listing& listing) {
  std::lock_guard lock(mutex_);
  if (dir != dir_) {
    dir_ = dir;
    first_ = name;
    cursor_ = 0;
    start_ = 0;
    started_ = false;
    opened_.clear();
    picked_.clear();
  }
  if (!opened_.insert(std::string(name)).second)
    return {};  // opened again: no new evidence of a scan
  picked_.erase(std::string(name));
  if (opened_.size() < 2 || limits_.ahead == 0 || listing.empty())
    return {};
  if (!started_) {
    started_ = true;
    for (std::size_t i = 0; i < listing.size(); ++i) {
      if (listing[i].first == first_) {
        start_ = i + 1;
        break;
      }
    }
  }
  // The allowance moves forward as the program opens picked files.
  cache::Listing out;
  while (picked_.size() < limits_.ahead && cursor_ < listing.size()) {
    const auto& entry = listing[(start_ + cursor_) % listing.size()];
    ++cursor_;
    if (!wanted(entry))
      continue;
    picked_.insert(entry.first);
    out.push_back(entry);
  }
  return out;
}

}  // namespace fs
