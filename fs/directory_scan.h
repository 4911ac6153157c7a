#pragma once
// Notices a program reading the files of one directory one after another (cp -r, tar, rsync,
// grep -r) and picks the small files of that directory it is likely to open next, for
// cache::FilePrefetcher to fetch in parallel ahead of it.
//
// One open is not a scan: nothing is picked until a second file of the same directory is opened.
// From then on the pick stays at most `ahead` files beyond what the program itself opened, so a
// program that stops after a few files costs at most `ahead` small transfers. Files are picked in
// listing order, starting after the file that began the scan and wrapping around, each at most
// once per scan; opening a file of another directory starts a new scan.

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "cache/metadata_cache.h"

namespace fs {

struct DirectoryScanLimits {
  std::size_t ahead = 32;                  // files picked beyond those opened; 0 turns picking off
  std::uint64_t max_file_size = 1u << 20;  // larger files get ordinary readahead when opened
};

class DirectoryScan {
 public:
  explicit DirectoryScan(DirectoryScanLimits limits) : limits_(limits) {}

  // A read-only open of `name` in `dir`, whose cached listing is `listing`; returns the names of
  // the listing to prefetch now (copies of their entries).
  cache::Listing on_open(std::string_view dir, std::string_view name, const cache::Listing& listing);

 private:
  bool wanted(const std::pair<std::string, cache::FileAttributes>& entry) const;

  const DirectoryScanLimits limits_;
  std::mutex mutex_;
  std::string dir_;
  std::string first_;                       // the file that began the scan
  std::size_t cursor_ = 0;                  // listing entries looked at so far, from start_
  std::size_t start_ = 0;                   // listing position after first_
  bool started_ = false;                    // start_ is known (found at the second open)
  std::unordered_set<std::string> opened_;  // opened in this scan
  std::unordered_set<std::string> picked_;  // picked and not opened yet
};

}  // namespace fs
