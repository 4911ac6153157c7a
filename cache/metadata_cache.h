#pragma once
// Path -> attributes, directory listings and negative entries, each with its own time to live.
//
// Race guard (after sshfs cache.c): a caller takes fetch_token() before asking the server, and
// passes it to store_*(). Any invalidate()/update() of the path (or, for listings, of an entry in
// the directory) after the token was taken makes the store a no-op, so a slow listing that began
// before a write cannot put the old state back.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "cache/clock.h"
#include "cache/file_attributes.h"

namespace cache {

struct MetadataTtl {
  std::chrono::milliseconds attributes{30000};
  std::chrono::milliseconds listings{30000};
  std::chrono::milliseconds negative{5000};
};

using Listing = std::vector<std::pair<std::string, FileAttributes>>;  // name -> attributes

class MetadataCache {
 public:
  enum class Hit { miss, found, absent };
  struct Lookup {
    Hit hit = Hit::miss;
    FileAttributes attributes;
  };

  MetadataCache(const Clock& clock, MetadataTtl ttl);

  // Attributes of a path: from its own entry, or from a fresh listing of its parent (a name the
  // parent listing lacks is absent).
  Lookup lookup(std::string_view path) const;
  // A fresh listing of a directory, or nothing.
  std::shared_ptr<const Listing> listing(std::string_view dir) const;

  std::uint64_t fetch_token() const;
  void store_attributes(std::string_view path, const FileAttributes& attributes, std::uint64_t token);
  void store_absent(std::string_view path, std::uint64_t token);
  // Also records each child's attributes.
  void store_listing(std::string_view dir, Listing entries, std::uint64_t token);

  // A change through the mount: the path now has these attributes (fresh), and the parent's
  // listing is updated in place when cached.
  void update(std::string_view path, const FileAttributes& attributes);
  // Forget the path, everything below it, and its parent's listing.
  void invalidate(std::string_view path);
  // A removal through the mount that the server confirmed: the path (and everything below it) is
  // gone, and its parent's listing, when cached, no longer shows it. Unlike invalidate(), the next
  // lookup in that directory needs no new listing.
  void remove(std::string_view path);
  // A path made through the mount that the server confirmed (mkdir): it has `attributes`, nothing
  // is cached below it, and its parent's listing, when cached, shows it.
  void created(std::string_view path, const FileAttributes& attributes);
  // A rename through the mount that the server confirmed: `from` is gone as by remove(), `to` as
  // by created(), and both parents' listings are updated in place.
  void moved(std::string_view from, std::string_view to, const FileAttributes& attributes);
  void clear();

 private:
  // What is known about one path. The stamps record the counter value of the last change through
  // the mount, so that a store with an older token can be recognised as stale.
  struct Entry {
    std::optional<FileAttributes> attributes;  // set: exists; unset with absent: known not to exist
    bool absent = false;
    Clock::time_point attributes_expiry{};
    std::shared_ptr<const Listing> listing;
    Clock::time_point listing_expiry{};
    std::uint64_t stamp = 0;          // the path itself was updated or invalidated
    std::uint64_t subtree_stamp = 0;  // the path and everything below it was invalidated
    std::uint64_t listing_stamp = 0;  // an entry directly inside this directory changed

    bool holds_data() const { return attributes || absent || listing; }
  };

  bool stale_locked(std::string_view path, std::uint64_t token) const;
  const Entry* find_locked(std::string_view path) const;
  Entry& touch_locked(std::string_view path);
  void patch_parent_listing_locked(std::string_view path, const FileAttributes* attributes);
  // Drops the entries below path, and stamps path so that stores begun earlier for it or below it
  // are refused; returns its entry.
  Entry& forget_subtree_locked(std::string_view path);
  void remove_locked(std::string_view path);
  void created_locked(std::string_view path, const FileAttributes& attributes);
  void sweep_locked();

  const Clock& clock_;
  MetadataTtl ttl_;
  mutable std::mutex mutex_;
  std::uint64_t counter_ = 0;
  // Tokens older than this are stale: stamps of forgotten paths were folded into it.
  std::uint64_t floor_ = 0;
  std::size_t next_sweep_size_ = 1024;  // forget expired entries when the map grows past this
  std::map<std::string, Entry, std::less<>> entries_;
};

}  // namespace cache
