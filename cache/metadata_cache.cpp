#include "cache/metadata_cache.h"

#include <algorithm>

namespace cache {

namespace {

// "/" has no parent; "/a" -> "/"; "/a/b" -> "/a".
std::string_view parent_of(std::string_view path) {
  if (path.size() <= 1)
    return {};
  const auto slash = path.rfind('/');
  if (slash == 0 || slash == std::string_view::npos)
    return "/";
  return path.substr(0, slash);
}

std::string_view name_of(std::string_view path) {
  const auto slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

std::string child_of(std::string_view dir, std::string_view name) {
  std::string out(dir);
  if (out.empty() || out.back() != '/')
    out += '/';
  out += name;
  return out;
}

// Everything below path starts with this.
std::string subtree_prefix(std::string_view path) {
  std::string prefix(path);
  if (prefix.empty() || prefix.back() != '/')
    prefix += '/';
  return prefix;
}

constexpr std::size_t kMinSweepSize = 1024;

}  // namespace

MetadataCache::MetadataCache(const Clock& clock, MetadataTtl ttl) : clock_(clock), ttl_(ttl) {}

const MetadataCache::Entry* MetadataCache::find_locked(std::string_view path) const {
  const auto it = entries_.find(path);
  return it == entries_.end() ? nullptr : &it->second;
}

MetadataCache::Entry& MetadataCache::touch_locked(std::string_view path) {
  auto it = entries_.find(path);
  if (it == entries_.end())
    it = entries_.emplace(std::string(path), Entry{}).first;
  return it->second;
}

bool MetadataCache::stale_locked(std::string_view path, std::uint64_t token) const {
  if (floor_ > token)
    return true;
  if (const Entry* e = find_locked(path); e && e->stamp > token)
    return true;
  for (std::string_view p = path; !p.empty(); p = parent_of(p)) {
    if (const Entry* e = find_locked(p); e && e->subtree_stamp > token)
      return true;
  }
  return false;
}

void MetadataCache::sweep_locked() {
  if (entries_.size() < next_sweep_size_)
    return;
  const auto now = clock_.now();
  for (auto it = entries_.begin(); it != entries_.end();) {
    const Entry& e = it->second;
    const bool attributes_live = (e.attributes || e.absent) && now < e.attributes_expiry;
    const bool listing_live = e.listing && now < e.listing_expiry;
    if (attributes_live || listing_live) {
      ++it;
      continue;
    }
    // Forgetting a stamp must not let an older store through: fold it into the floor.
    floor_ = std::max({floor_, e.stamp, e.subtree_stamp, e.listing_stamp});
    it = entries_.erase(it);
  }
  next_sweep_size_ = std::max(kMinSweepSize, entries_.size() * 2);
}

MetadataCache::Lookup MetadataCache::lookup(std::string_view path) const {
  std::lock_guard lock(mutex_);
  const auto now = clock_.now();
  if (const Entry* e = find_locked(path); e && now < e->attributes_expiry) {
    if (e->attributes)
      return {Hit::found, *e->attributes};
    if (e->absent)
      return {Hit::absent, {}};
  }
  const auto parent = parent_of(path);
  if (parent.empty())
    return {};
  const Entry* p = find_locked(parent);
  if (!p || !p->listing || now >= p->listing_expiry)
    return {};
  const auto name = name_of(path);
  for (const auto& [child, attributes] : *p->listing) {
    if (child == name)
      return {Hit::found, attributes};
  }
  return {Hit::absent, {}};
}

std::shared_ptr<const Listing> MetadataCache::listing(std::string_view dir) const {
  std::lock_guard lock(mutex_);
  const Entry* e = find_locked(dir);
  if (!e || !e->listing || clock_.now() >= e->listing_expiry)
    return nullptr;
  return e->listing;
}

std::uint64_t MetadataCache::fetch_token() const {
  std::lock_guard lock(mutex_);
  return counter_;
}

void MetadataCache::store_attributes(std::string_view path, const FileAttributes& attributes,
                                     std::uint64_t token) {
  std::lock_guard lock(mutex_);
  if (stale_locked(path, token))
    return;
  sweep_locked();
  Entry& e = touch_locked(path);
  e.attributes = attributes;
  e.absent = false;
  e.attributes_expiry = clock_.now() + ttl_.attributes;
}

void MetadataCache::store_absent(std::string_view path, std::uint64_t token) {
  std::lock_guard lock(mutex_);
  if (stale_locked(path, token))
    return;
  sweep_locked();
  Entry& e = touch_locked(path);
  e.attributes.reset();
  e.absent = true;
  e.attributes_expiry = clock_.now() + ttl_.negative;
  e.listing.reset();
}

void MetadataCache::store_listing(std::string_view dir, Listing entries, std::uint64_t token) {
  std::lock_guard lock(mutex_);
  if (floor_ > token)
    return;
  for (std::string_view p = dir; !p.empty(); p = parent_of(p)) {
    if (const Entry* e = find_locked(p); e && e->subtree_stamp > token)
      return;
  }
  if (const Entry* e = find_locked(dir); e && e->listing_stamp > token)
    return;
  sweep_locked();

  const auto now = clock_.now();
  // Children cached on their own but missing from the new listing are gone on the server.
  const std::string prefix = subtree_prefix(dir);
  for (auto it = entries_.lower_bound(prefix);
       it != entries_.end() && std::string_view(it->first).starts_with(prefix); ++it) {
    const std::string_view rest = std::string_view(it->first).substr(prefix.size());
    if (rest.empty() || rest.find('/') != std::string_view::npos)
      continue;
    const bool listed =
        std::any_of(entries.begin(), entries.end(), [&](const auto& c) { return c.first == rest; });
    if (!listed && it->second.attributes) {
      it->second.attributes.reset();
      it->second.absent = true;
      it->second.attributes_expiry = now + ttl_.negative;
    }
  }
  for (const auto& [name, attributes] : entries) {
    Entry& child = touch_locked(child_of(dir, name));
    child.attributes = attributes;
    child.absent = false;
    child.attributes_expiry = now + ttl_.attributes;
  }
  Entry& e = touch_locked(dir);
  e.listing = std::make_shared<const Listing>(std::move(entries));
  e.listing_expiry = now + ttl_.listings;
}

void MetadataCache::patch_parent_listing_locked(std::string_view path, const FileAttributes* attributes) {
  const auto parent = parent_of(path);
  if (parent.empty())
    return;
  Entry& p = touch_locked(parent);
  p.listing_stamp = counter_;
  if (!p.listing)
    return;
  const auto name = name_of(path);
  auto patched = std::make_shared<Listing>(*p.listing);
  auto it = std::find_if(patched->begin(), patched->end(), [&](const auto& c) { return c.first == name; });
  if (attributes == nullptr) {
    if (it != patched->end())
      patched->erase(it);
  } else if (it != patched->end()) {
    it->second = *attributes;
  } else {
    patched->emplace_back(std::string(name), *attributes);
  }
  p.listing = std::move(patched);
}

void MetadataCache::update(std::string_view path, const FileAttributes& attributes) {
  std::lock_guard lock(mutex_);
  sweep_locked();
  ++counter_;
  Entry& e = touch_locked(path);
  e.stamp = counter_;
  e.attributes = attributes;
  e.absent = false;
  e.attributes_expiry = clock_.now() + ttl_.attributes;
  if (attributes.kind != FileKind::directory)
    e.listing.reset();
  patch_parent_listing_locked(path, &attributes);
}

MetadataCache::Entry& MetadataCache::forget_subtree_locked(std::string_view path) {
  // Below the path: a renamed or removed directory takes all of it along. The path's own
  // subtree stamp keeps in-flight stores for those paths out.
  const std::string prefix = subtree_prefix(path);
  for (auto it = entries_.lower_bound(prefix);
       it != entries_.end() && std::string_view(it->first).starts_with(prefix);) {
    if (it->first == path) {
      ++it;
    } else {
      it = entries_.erase(it);
    }
  }
  Entry& e = touch_locked(path);
  e.attributes.reset();
  e.absent = false;
  e.attributes_expiry = {};
  e.listing.reset();
  e.stamp = counter_;
  e.subtree_stamp = counter_;
  e.listing_stamp = counter_;
  return e;
}

void MetadataCache::remove_locked(std::string_view path) {
  Entry& e = forget_subtree_locked(path);
  e.absent = true;
  e.attributes_expiry = clock_.now() + ttl_.negative;
  patch_parent_listing_locked(path, nullptr);
}

void MetadataCache::created_locked(std::string_view path, const FileAttributes& attributes) {
  Entry& e = forget_subtree_locked(path);
  e.attributes = attributes;
  e.attributes_expiry = clock_.now() + ttl_.attributes;
  patch_parent_listing_locked(path, &attributes);
}

void MetadataCache::remove(std::string_view path) {
  std::lock_guard lock(mutex_);
  sweep_locked();
  ++counter_;
  remove_locked(path);
}

void MetadataCache::created(std::string_view path, const FileAttributes& attributes) {
  std::lock_guard lock(mutex_);
  sweep_locked();
  ++counter_;
  created_locked(path, attributes);
}

void MetadataCache::moved(std::string_view from, std::string_view to, const FileAttributes& attributes) {
  std::lock_guard lock(mutex_);
  sweep_locked();
  ++counter_;
  remove_locked(from);
  created_locked(to, attributes);
}

void MetadataCache::invalidate(std::string_view path) {
  std::lock_guard lock(mutex_);
  sweep_locked();
  ++counter_;
  forget_subtree_locked(path);
  const auto parent = parent_of(path);
  if (!parent.empty()) {
    Entry& p = touch_locked(parent);
    p.listing.reset();
    p.listing_stamp = counter_;
  }
}

void MetadataCache::clear() {
  std::lock_guard lock(mutex_);
  entries_.clear();
  floor_ = ++counter_;
}

}  // namespace cache
