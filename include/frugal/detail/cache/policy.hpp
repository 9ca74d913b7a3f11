// frugal::detail cache policy: the W-TinyLFU eviction policy of frugal::cache, kept apart from
// the concurrent table so that the policy's sizes can adapt to the workload (climber.hpp)
// without touching the rest. Users never include this header directly.
//
// The policy sees entries through an intrusive hook (`policy_hook`) and hashes; it never
// allocates after construction except for the expiry heap's vector. Every function here is
// called with the cache's policy mutex held.
#pragma once

#include <frugal/detail/cache/climber.hpp>
#include <frugal/detail/config.hpp>

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

FRUGAL_BEGIN_NAMESPACE
namespace detail::cache {

/// Which of the three LRU queues an entry sits in.
enum class queue : std::uint8_t { none, window, probation, protected_ };

/// The policy's part of an entry: links, queue, weight and expiry bookkeeping.
struct policy_hook {
  policy_hook* prev = nullptr;
  policy_hook* next = nullptr;
  std::uint64_t hash = 0;
  std::uint32_t weight = 1;
  queue where = queue::none;
  std::size_t heap_index = static_cast<std::size_t>(-1);
  std::int64_t known_deadline = std::numeric_limits<std::int64_t>::max();
};

/// A doubly linked LRU list of hooks: front is least recently used.
class lru_list {
 public:
  bool empty() const noexcept { return head_ == nullptr; }
  policy_hook* front() const noexcept { return head_; }
  void push_back(policy_hook* h) noexcept {
    h->prev = tail_;
    h->next = nullptr;
    if (tail_ != nullptr) {
      tail_->next = h;
    } else {
      head_ = h;
    }
    tail_ = h;
  }
  void erase(policy_hook* h) noexcept {
    if (h->prev != nullptr) {
      h->prev->next = h->next;
    } else {
      head_ = h->next;
    }
    if (h->next != nullptr) {
      h->next->prev = h->prev;
    } else {
      tail_ = h->prev;
    }
    h->prev = h->next = nullptr;
  }
  void move_to_back(policy_hook* h) noexcept {
    if (tail_ == h) return;
    erase(h);
    push_back(h);
  }

 private:
  policy_hook* head_ = nullptr;
  policy_hook* tail_ = nullptr;
};

/// A count-min sketch of 4-bit counters (16 per 64-bit word), four counters per key within
/// one 64-byte block, halved every `sample_size` increments so old popularity fades (the
/// TinyLFU "reset"). One allocation at construction.
class frequency_sketch {
 public:
  explicit frequency_sketch(std::uint64_t capacity) {
    const std::uint64_t wanted = std::clamp<std::uint64_t>(capacity, 64, std::uint64_t{1} << 22);
    words_ = std::bit_ceil(static_cast<std::size_t>(wanted));
    table_ = std::make_unique<std::uint64_t[]>(words_);
    sample_size_ = 10 * std::max<std::uint64_t>(capacity, 1);
  }

  /// Returns the estimated number of recent occurrences of `hash`, 0 to 15.
  unsigned frequency(std::uint64_t hash) const noexcept {
    const std::uint64_t mixed = spread(hash);
    const std::size_t block = block_of(hash);
    unsigned least = 15;
    for (unsigned i = 0; i < 4; ++i) {
      least = std::min(
          least, static_cast<unsigned>((table_[index(block, mixed, i)] >> shift(mixed, i)) & 15));
    }
    return least;
  }

  /// Counts one occurrence of `hash`; halves every counter after `sample_size` increments.
  void increment(std::uint64_t hash) noexcept {
    const std::uint64_t mixed = spread(hash);
    const std::size_t block = block_of(hash);
    bool added = false;
    for (unsigned i = 0; i < 4; ++i) {
      std::uint64_t& word = table_[index(block, mixed, i)];
      const unsigned s = shift(mixed, i);
      if (((word >> s) & 15) != 15) {
        word += std::uint64_t{1} << s;
        added = true;
      }
    }
    if (added && ++additions_ >= sample_size_) halve();
  }

  /// Halves every counter (the periodic reset).
  void halve() noexcept {
    for (std::size_t i = 0; i < words_; ++i) table_[i] = (table_[i] >> 1) & 0x7777777777777777ull;
    additions_ /= 2;
  }

  std::uint64_t sample_size() const noexcept { return sample_size_; }

 private:
  // The four counters of a key share one 8-word block; each row picks its word in the block
  // and its nibble from different bits of a re-mixed hash.
  static std::uint64_t spread(std::uint64_t h) noexcept {
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 32;
    return h;
  }
  std::size_t block_of(std::uint64_t hash) const noexcept {
    return static_cast<std::size_t>(hash & (words_ - 1) & ~std::uint64_t{7});
  }
  static std::size_t index(std::size_t block, std::uint64_t mixed, unsigned i) noexcept {
    return block + static_cast<std::size_t>((mixed >> (8 * i)) & 7);
  }
  static unsigned shift(std::uint64_t mixed, unsigned i) noexcept {
    return static_cast<unsigned>(((mixed >> (32 + 8 * i)) & 15) << 2);
  }

  std::unique_ptr<std::uint64_t[]> table_;
  std::size_t words_ = 0;
  std::uint64_t sample_size_ = 0;
  std::uint64_t additions_ = 0;
};

/// The sizes of the three regions, by weight. `window` is the admission window (1 % of the
/// capacity at first; the window climber moves it within [1, 80 %] of it), `protected_` the
/// protected part of the main space (80 % of it).
struct region_sizes {
  std::uint64_t capacity = 0;
  std::uint64_t window = 0;
  std::uint64_t protected_ = 0;

  static region_sizes for_capacity(std::uint64_t capacity, double window_fraction = 0.01) {
    return with_window(
        capacity, std::max<std::uint64_t>(1, static_cast<std::uint64_t>(
                                                 static_cast<double>(capacity) * window_fraction)));
  }

  /// Returns the sizes for a window of `window` (clamped to the capacity), the rest split
  /// 20/80 between probation and protected.
  static region_sizes with_window(std::uint64_t capacity, std::uint64_t window) {
    region_sizes r;
    r.capacity = capacity;
    r.window = std::min(capacity, window);
    r.protected_ = static_cast<std::uint64_t>(static_cast<double>(capacity - r.window) * 0.8);
    return r;
  }
};

/// Whether the admission window adapts to the workload (the default) or keeps its initial
/// 1 % (the reference the hit-ratio simulator compares with).
enum class window_sizing : std::uint8_t { adaptive, fixed };

/// W-TinyLFU: new entries enter an LRU window; entries leaving the window become candidates
/// for the segmented main space (probation + protected) and are admitted only when the sketch
/// says they are more popular than the probation queue's LRU victim. Hooks are linked and
/// unlinked by the cache; `evict_one` names the next victim without unlinking it.
///
/// With `window_sizing::adaptive`, `on_add` counts a miss and `on_access` a hit (an increment
/// and a decrement each); every `min_sample` requests or more (10 times the entries held) the
/// sample's hit ratio goes to the window climber (climber.hpp), and the new sizes take effect
/// lazily: `evict_one` moves the window's overflow into probation and demotes the protected
/// queue's overflow, O(entries moved). Samples that end before the first eviction for size
/// are discarded (a filling cache's hit ratio rises whatever the window).
class w_tinylfu {
 public:
  /// The fewest requests in a sample, so that a small cache's hit ratio is not pure noise.
  static constexpr std::uint64_t min_sample = 1024;

  /// Starts with a window of `window_fraction` of the capacity (at least 1 entry, clamped to
  /// the capacity). Allocates the sketch.
  explicit w_tinylfu(std::uint64_t capacity, window_sizing sizing = window_sizing::adaptive,
                     double window_fraction = 0.01)
      : sizes_(region_sizes::for_capacity(capacity, window_fraction)),
        sketch_(capacity),
        climber_(capacity, sizes_.window),
        sample_size_(sizing == window_sizing::adaptive ? next_sample_size(capacity) : no_sample),
        sample_left_(sample_size_) {}

  /// Links a new entry at the window's MRU end and counts its key once.
  void on_add(policy_hook* h) noexcept {
    sketch_.increment(h->hash);
    h->where = queue::window;
    window_.push_back(h);
    window_weight_ += h->weight;
    total_weight_ += h->weight;
    ++count_;
    if (--sample_left_ == 0) end_sample();
  }

  /// Records a read: counts the key and moves the entry toward the protected queue.
  void on_access(policy_hook* h) noexcept {
    ++sample_hits_;
    if (--sample_left_ == 0) end_sample();
    sketch_.increment(h->hash);
    switch (h->where) {
      case queue::window:
        window_.move_to_back(h);
        break;
      case queue::probation:
        if (candidate_ == h) candidate_ = h->next;
        probation_.erase(h);
        h->where = queue::protected_;
        protected_.push_back(h);
        protected_weight_ += h->weight;
        demote_protected();
        break;
      case queue::protected_:
        protected_.move_to_back(h);
        break;
      case queue::none:
        break;
    }
  }

  /// Unlinks an entry from whichever queue holds it.
  void on_remove(policy_hook* h) noexcept {
    switch (h->where) {
      case queue::window:
        window_.erase(h);
        window_weight_ -= h->weight;
        break;
      case queue::probation:
        if (candidate_ == h) candidate_ = h->next;
        probation_.erase(h);
        break;
      case queue::protected_:
        protected_.erase(h);
        protected_weight_ -= h->weight;
        break;
      case queue::none:
        return;
    }
    h->where = queue::none;
    total_weight_ -= h->weight;
    --count_;
  }

  /// Returns true while the linked weight exceeds the capacity.
  bool over_capacity() const noexcept { return total_weight_ > sizes_.capacity; }

  /// Moves the window's overflow into probation as candidates, then returns the entry to evict
  /// next (still linked; the caller unlinks it with on_remove), or nullptr when nothing is over.
  policy_hook* evict_one() noexcept {
    demote_protected();
    while (window_weight_ > sizes_.window && !window_.empty()) {
      policy_hook* h = window_.front();
      window_.erase(h);
      window_weight_ -= h->weight;
      h->where = queue::probation;
      probation_.push_back(h);
      if (candidate_ == nullptr) candidate_ = h;
    }
    if (!over_capacity()) {
      candidate_ = nullptr;
      return nullptr;
    }
    filled_ = true;
    policy_hook* victim = probation_.front();
    if (candidate_ == nullptr || victim == nullptr) {
      // No fresh candidate: the LRU end of probation, then protected, then the window.
      if (victim != nullptr) return victim;
      if (!protected_.empty()) return protected_.front();
      return window_.front();
    }
    if (victim == candidate_) return candidate_;
    return admit(candidate_->hash, victim->hash) ? victim : candidate_;
  }

  /// Returns true when a candidate should replace the victim: more popular, or, to defeat
  /// hash flooding, now and then when it is warm (frequency above 5) but not more popular.
  bool admit(std::uint64_t candidate, std::uint64_t victim) noexcept {
    const unsigned c = sketch_.frequency(candidate);
    const unsigned v = sketch_.frequency(victim);
    if (c > v) return true;
    if (c <= 5) return false;
    seed_ ^= seed_ << 13;
    seed_ ^= seed_ >> 7;
    seed_ ^= seed_ << 17;
    return (seed_ & 127) == 0;
  }

  std::uint64_t weighted_size() const noexcept { return total_weight_; }
  std::uint64_t window_weight() const noexcept { return window_weight_; }
  std::uint64_t protected_weight() const noexcept { return protected_weight_; }
  std::uint64_t entry_count() const noexcept { return count_; }
  const region_sizes& sizes() const noexcept { return sizes_; }
  const frequency_sketch& sketch() const noexcept { return sketch_; }
  const window_climber& climber() const noexcept { return climber_; }
  bool adaptive() const noexcept { return sample_size_ != no_sample; }

 private:
  static constexpr std::uint64_t no_sample = std::numeric_limits<std::uint64_t>::max();

  static std::uint64_t next_sample_size(std::uint64_t entries) noexcept {
    return std::max(min_sample, 10 * std::min<std::uint64_t>(entries, no_sample / 16));
  }

  // The end of a sample: the climber picks the window, the queues follow in evict_one.
  FRUGAL_NOINLINE void end_sample() noexcept {
    if (filled_) {
      const double ratio = static_cast<double>(sample_hits_) / static_cast<double>(sample_size_);
      sizes_ = region_sizes::with_window(sizes_.capacity, climber_.on_sample(ratio, sample_size_));
    }
    sample_hits_ = 0;
    sample_size_ = next_sample_size(count_);
    sample_left_ = sample_size_;
  }

  void demote_protected() noexcept {
    while (protected_weight_ > sizes_.protected_ && !protected_.empty()) {
      policy_hook* h = protected_.front();
      protected_.erase(h);
      protected_weight_ -= h->weight;
      h->where = queue::probation;
      probation_.push_back(h);
    }
  }

  region_sizes sizes_;
  frequency_sketch sketch_;
  window_climber climber_;
  std::uint64_t sample_size_;
  std::uint64_t sample_left_;
  std::uint64_t sample_hits_ = 0;
  bool filled_ = false;  // something was evicted for size: the cache has filled up once
  lru_list window_, probation_, protected_;
  policy_hook* candidate_ = nullptr;
  std::uint64_t window_weight_ = 0, protected_weight_ = 0, total_weight_ = 0, count_ = 0;
  std::uint64_t seed_ = 0x9e3779b97f4a7c15ull;
};

/// A binary min-heap of hooks by `known_deadline`, each hook knowing its index (O(log n)
/// insert, erase and re-key). The vector grows by doubling.
class deadline_heap {
 public:
  bool empty() const noexcept { return items_.empty(); }
  policy_hook* top() const noexcept { return items_.front(); }
  std::size_t size() const noexcept { return items_.size(); }

  void push(policy_hook* h) {
    items_.push_back(h);
    h->heap_index = items_.size() - 1;
    up(h->heap_index);
  }
  void erase(policy_hook* h) noexcept {
    const std::size_t i = h->heap_index;
    if (i == npos) return;
    h->heap_index = npos;
    policy_hook* last = items_.back();
    items_.pop_back();
    if (last == h) return;
    items_[i] = last;
    last->heap_index = i;
    up(i);
    down(last->heap_index);
  }
  void rekey(policy_hook* h, std::int64_t deadline) noexcept {
    h->known_deadline = deadline;
    up(h->heap_index);
    down(h->heap_index);
  }

 private:
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);
  void swap_at(std::size_t a, std::size_t b) noexcept {
    std::swap(items_[a], items_[b]);
    items_[a]->heap_index = a;
    items_[b]->heap_index = b;
  }
  void up(std::size_t i) noexcept {
    while (i > 0) {
      const std::size_t p = (i - 1) / 2;
      if (items_[p]->known_deadline <= items_[i]->known_deadline) break;
      swap_at(i, p);
      i = p;
    }
  }
  void down(std::size_t i) noexcept {
    for (;;) {
      std::size_t least = i;
      const std::size_t l = 2 * i + 1, r = l + 1;
      if (l < items_.size() && items_[l]->known_deadline < items_[least]->known_deadline) least = l;
      if (r < items_.size() && items_[r]->known_deadline < items_[least]->known_deadline) least = r;
      if (least == i) return;
      swap_at(i, least);
      i = least;
    }
  }
  std::vector<policy_hook*> items_;
};

}  // namespace detail::cache
FRUGAL_END_NAMESPACE
