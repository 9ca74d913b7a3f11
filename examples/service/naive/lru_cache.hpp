// The naive twin's local cache, also the frugal twin's `cache` part when it is swapped for the
// naive way: an LRU list with a map into it behind one mutex; an entry expires after its TTL and
// every hit is copied out.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace naive {

class lru_cache {
 public:
  explicit lru_cache(std::size_t capacity) : capacity_(capacity) {}

  std::optional<std::string> get(std::int64_t id) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto found = index_.find(id);
    if (found == index_.end()) return std::nullopt;
    if (found->second->expires < std::chrono::steady_clock::now()) {
      entries_.erase(found->second);
      index_.erase(found);
      return std::nullopt;
    }
    entries_.splice(entries_.begin(), entries_, found->second);
    return found->second->value;
  }

  void put(std::int64_t id, const std::string& value, std::chrono::seconds ttl) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto expires = std::chrono::steady_clock::now() + ttl;
    auto found = index_.find(id);
    if (found != index_.end()) {
      found->second->value = value;
      found->second->expires = expires;
      entries_.splice(entries_.begin(), entries_, found->second);
      return;
    }
    entries_.push_front(entry{id, value, expires});
    index_[id] = entries_.begin();
    if (entries_.size() > capacity_) {
      index_.erase(entries_.back().id);
      entries_.pop_back();
    }
  }

 private:
  struct entry {
    std::int64_t id;
    std::string value;
    std::chrono::steady_clock::time_point expires;
  };
  std::mutex mutex_;
  std::size_t capacity_;
  std::list<entry> entries_;
  std::unordered_map<std::int64_t, std::list<entry>::iterator> index_;
};

}  // namespace naive
