// frugal::detail cache policy: the W-TinyLFU eviction policy of frugal::cache, kept apart from
// the concurrent table so that the policy's sizes can adapt to the workload (window_chooser,
// below) without touching the rest. Users never include this header directly.
//
// The policy sees entries through an intrusive hook (`policy_hook`) and hashes; it never
// allocates after construction. Every function here is called with the cache's policy mutex
// held.
#pragma once

#include <frugal/detail/config.hpp>

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <limits>
#include <memory>
#include <utility>

FRUGAL_BEGIN_NAMESPACE
namespace detail::cache {

/// Backward-shift deletion in a linear-probing table: whether the item at slot `j`, whose
/// home slot is `k`, stays where it is when slot `i` (before `j`, cyclically) is emptied.
inline bool stays_after_backward_shift(std::size_t i, std::size_t j, std::size_t k) noexcept {
  return i <= j ? (i < k && k <= j) : (i < k || k <= j);
}

/// Which of the three LRU queues an entry sits in.
enum class queue : std::uint8_t { none, window, probation, protected_ };

/// The policy's part of an entry: links, queue, weight and counts (40 bytes; the miniatures'
/// nodes are hooks too).
struct policy_hook {
  policy_hook* prev = nullptr;
  policy_hook* next = nullptr;
  std::uint64_t hash = 0;
  std::uint32_t weight = 1;
  queue where = queue::none;
  // The read count kept with the entry (see w_tinylfu::on_access): the low 4 bits are its
  // reads not yet in the sketch's table, the high 4 bits the table's estimate when it last
  // looked, both as of the sketch's `epoch` (its halvings, modulo 2^16: an entry left
  // untouched for a multiple of 65,536 halvings plus 0 to 3, about 327,680 x capacity counts
  // or more, would see part of its old counts again, at most 15).
  std::uint8_t counts = 0;
  std::uint16_t epoch = 0;
  // Whether the window chooser sees this key's requests (sampled_at; set by on_add).
  bool sampled = false;
  // For a sampled entry: the window chooser's count of replayed requests as of this entry's
  // last replay (see replay_clock; on_add sets it long ago).
  std::uint32_t replayed_at = 0;
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
/// one 64-byte block, halved every `sample_size` additions (increments that raised a counter,
/// and reads counted outside the table) so old popularity fades (the TinyLFU "reset"). One
/// allocation at construction.
class frequency_sketch {
 public:
  explicit frequency_sketch(std::uint64_t capacity) {
    const std::uint64_t wanted = std::clamp<std::uint64_t>(capacity, 64, std::uint64_t{1} << 22);
    words_ = std::bit_ceil(static_cast<std::size_t>(wanted));
    table_ = std::make_unique<std::uint64_t[]>(words_);
    // Ten times the capacity, saturating: a bound near 2^64 would otherwise wrap to a few
    // additions and halve the table on almost every read.
    constexpr std::uint64_t most = std::numeric_limits<std::uint64_t>::max();
    sample_size_ = capacity > most / 10 ? most : 10 * std::max<std::uint64_t>(capacity, 1);
  }

  /// Returns the estimated number of recent occurrences of `hash`, 0 to 15.
  unsigned frequency(std::uint64_t hash) const noexcept {
    return least(block_of(hash), spread(hash));
  }

  /// Counts one occurrence of `hash`; halves every counter after `sample_size` additions.
  void increment(std::uint64_t hash) noexcept {
    if (add_one(hash)) halve();
  }

  /// Counts one occurrence of `hash` (an addition when a counter was below 15); returns true
  /// when the additions reached `sample_size`: the caller halves.
  FRUGAL_ALWAYS_INLINE bool add_one(std::uint64_t hash) noexcept {
    unsigned estimate;
    return add_one(hash, estimate);
  }

  /// As add_one(hash), and sets `estimate` to the key's estimate after the addition.
  FRUGAL_ALWAYS_INLINE bool add_one(std::uint64_t hash, unsigned& estimate) noexcept {
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
    estimate = least(block, mixed);  // after every row was added to: two may share a counter
    return added && ++additions_ >= sample_size_;
  }

  /// Adds `n` to each of `hash`'s counters, each saturating at 15, without counting
  /// additions (they were counted by count_additions).
  void add(std::uint64_t hash, unsigned n) noexcept {
    const std::uint64_t mixed = spread(hash);
    const std::size_t block = block_of(hash);
    for (unsigned i = 0; i < 4; ++i) {
      std::uint64_t& word = table_[index(block, mixed, i)];
      const unsigned s = shift(mixed, i);
      const auto now = static_cast<unsigned>((word >> s) & 15);
      word += std::uint64_t{std::min(15 - now, n)} << s;
    }
  }

  /// Counts `n` additions kept outside the table (0 or 1: see w_tinylfu::count_read); returns
  /// true when the additions reached `sample_size`: the caller halves.
  bool count_additions(unsigned n) noexcept { return (additions_ += n) >= sample_size_; }

  /// Halves every counter (the periodic reset).
  void halve() noexcept {
    for (std::size_t i = 0; i < words_; ++i) table_[i] = (table_[i] >> 1) & 0x7777777777777777ull;
    additions_ /= 2;
    ++epoch_;
  }

  /// The number of halvings so far, modulo 2^16.
  std::uint16_t epoch() const noexcept { return epoch_; }

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
  // The smallest of a key's four counters.
  unsigned least(std::size_t block, std::uint64_t mixed) const noexcept {
    unsigned out = 15;
    for (unsigned i = 0; i < 4; ++i) {
      out = std::min(
          out, static_cast<unsigned>((table_[index(block, mixed, i)] >> shift(mixed, i)) & 15));
    }
    return out;
  }

  std::unique_ptr<std::uint64_t[]> table_;
  std::size_t words_ = 0;
  std::uint64_t sample_size_ = 0;
  std::uint64_t additions_ = 0;
  std::uint16_t epoch_ = 0;
};

/// The sizes of the three regions, by weight. `window` is the admission window (1 % of the
/// capacity at first; the window chooser moves it between 1 % and all of it), `protected_` the
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

  /// As for_capacity, the window rounded to the nearest entry instead of down (a window
  /// chooser's miniature: 3 of 256 entries for 1 %, the nearest to a scaled 1 % window).
  static region_sizes nearest(std::uint64_t capacity, double window_fraction) {
    return with_window(capacity, std::max<std::uint64_t>(
                                     1, static_cast<std::uint64_t>(
                                            static_cast<double>(capacity) * window_fraction + 0.5)));
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

class window_chooser;

/// A request the policy noted for its window chooser: the hook requested (see
/// w_tinylfu::note_request), read (and its replay stamp written) when the notes are handed
/// over, which is no later than the hook's `on_remove`.
using noted_request = policy_hook*;

/// How many noted requests the policy holds before it hands them to the chooser.
inline constexpr std::size_t noted_capacity = 64;
/// The most reads one `w_tinylfu::on_accesses` applies.
inline constexpr std::size_t max_access_run = 64;
/// The noted requests' buffer: below `noted_capacity` between calls, plus one run of reads.
inline constexpr std::size_t noted_room = noted_capacity + max_access_run;

/// Whether a window chooser of sampling rate `rate` (window_chooser::rate) sees the requests
/// of the key of `hash`: `rate` of every 2^32 hash values are sampled.
inline bool sampled_at(std::uint64_t hash, std::uint64_t rate) noexcept {
  return ((hash * 0x9e3779b97f4a7c15ull) >> 32) < rate;
}

/// W-TinyLFU: new entries enter an LRU window; entries leaving the window become candidates
/// for the segmented main space (probation + protected) and are admitted only when the sketch
/// says they are more popular than the probation queue's LRU victim. Hooks are linked and
/// unlinked by the cache; `evict_one` names the next victim without unlinking it.
///
/// With `window_sizing::adaptive`, `on_add` and `on_access` also note the requests of a
/// hash-sampled subset of keys for a `window_chooser` (miniature copies of this policy with
/// different windows), which now and then names a new window size. The noted requests reach
/// the chooser in order, in batches: when 64 are noted, at the end of an `on_accesses` run
/// that reaches 64, and at `flush_samples` (`evict_one` and `on_remove` call it first). New
/// sizes take effect lazily: `evict_one` moves the window's overflow into probation and
/// demotes the protected queue's overflow, O(entries moved).
class w_tinylfu {
 public:
  /// Starts with a window of `window_fraction` of the capacity (at least 1 entry, clamped to
  /// the capacity). Allocates the sketch and, when adaptive, the window chooser.
  explicit w_tinylfu(std::uint64_t capacity, window_sizing sizing = window_sizing::adaptive,
                     double window_fraction = 0.01);
  /// Starts with the regions `sizes` (of `sizes.capacity`).
  w_tinylfu(const region_sizes& sizes, window_sizing sizing);
  ~w_tinylfu();
  w_tinylfu(const w_tinylfu&) = delete;
  w_tinylfu& operator=(const w_tinylfu&) = delete;

  /// Links a new entry at the window's MRU end and counts its key once.
  void on_add(policy_hook* h) noexcept {
    h->sampled = sampled(h->hash);
    if (h->sampled) [[unlikely]] stamp_new(*h);
    note_request(*h);
    unsigned estimate;
    const bool due = sketch_.add_one(h->hash, estimate);
    h->counts = static_cast<std::uint8_t>(estimate << 4);
    h->epoch = sketch_.epoch();
    if (due) sketch_.halve();
    h->where = queue::window;
    window_.push_back(h);
    window_weight_ += h->weight;
    total_weight_ += h->weight;
    ++count_;
  }

  /// Records a read: counts the key and moves the entry toward the protected queue. The count
  /// is kept with the entry (`counts`), not in the sketch's table, whose block for the key is
  /// seldom in the CPU's cache while the entry, just read, is: the table gets the entry's
  /// reads when it leaves (on_remove), and an admission adds them to the table's estimate.
  /// As the table would, a read counts (toward the halving) only while the estimate is below
  /// 15, judged by the table's estimate when it last looked; a halving halves the entry's
  /// counts too, lazily, when it is next touched (see pending_reads for the rounding).
  FRUGAL_ALWAYS_INLINE void on_access(policy_hook* h) noexcept {
    note_request(*h);
    apply_access(h);
  }

  /// Applies a run of at most `max_access_run` reads in order: `hook_at(i)` for i below `n`,
  /// a nullptr being skipped. The same as `on_access` on each, except that the chooser gets
  /// the run's sampled requests at its end, not as the 64th is noted. Cheaper per read: the
  /// noting keeps its buffer position in a register through the run.
  template <class HookAt>
  FRUGAL_ALWAYS_INLINE void on_accesses(std::size_t n, HookAt&& hook_at) noexcept {
    if (rate_ == 0) {
      for (std::size_t i = 0; i < n; ++i) {
        if (policy_hook* h = hook_at(i)) apply_access(h);
      }
      return;
    }
    noted_request* const notes = samples_;
    std::size_t count = sample_count_;  // below noted_capacity: room for the whole run
    for (std::size_t i = 0; i < n; ++i) {
      if (policy_hook* h = hook_at(i)) {
        notes[count] = h;
        count += static_cast<std::size_t>(h->sampled);
        apply_access(h);
      }
    }
    sample_count_ = count;
    if (count >= noted_capacity) [[unlikely]] hand_samples();
  }

 private:
  // on_access without the noting.
  FRUGAL_ALWAYS_INLINE void apply_access(policy_hook* h) noexcept {
    count_read(*h);
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

 public:
  /// Unlinks an entry from whichever queue holds it; its pending reads go to the sketch. The
  /// requests noted so far reach the chooser first, so that none outlives its hook.
  void on_remove(policy_hook* h) noexcept {
    flush_samples();  // the notes go before their hook can
    if (const unsigned p = pending_reads(*h); p != 0) sketch_.add(h->hash, p);
    h->counts = 0;
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

  /// The most entries one `evict_one` (or `on_access`) moves between queues after the window
  /// was resized: a big change of size spreads over several maintenances instead of holding
  /// the policy lock for a pass over the whole cache.
  static constexpr std::size_t max_moves = 1024;

  /// Moves the window's overflow (at most `max_moves` entries) into probation as candidates,
  /// then returns the entry to evict next (still linked; the caller unlinks it with
  /// on_remove), or nullptr when nothing is over.
  policy_hook* evict_one() noexcept {
    flush_samples();  // a size the notes make the chooser name applies to this eviction
    demote_protected();
    for (std::size_t moved = 0;
         moved < max_moves && window_weight_ > sizes_.window && !window_.empty(); ++moved) {
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
    policy_hook* victim = probation_.front();
    if (candidate_ == nullptr || victim == nullptr) {
      // No fresh candidate: the LRU end of probation, then protected, then the window.
      if (victim != nullptr) return victim;
      if (!protected_.empty()) return protected_.front();
      return window_.front();
    }
    if (victim == candidate_) return candidate_;
    return admit(*candidate_, *victim) ? victim : candidate_;
  }

  /// Returns the estimated number of recent occurrences of a linked entry's key, 0 to 15:
  /// the sketch's estimate plus the entry's pending reads.
  unsigned frequency(const policy_hook& h) const noexcept {
    return std::min(15u, sketch_.frequency(h.hash) + pending_reads(h));
  }

  /// Returns true when a candidate should replace the victim: more popular, or, to defeat
  /// hash flooding, now and then when it is warm (frequency above 5) but not more popular.
  bool admit(const policy_hook& candidate, const policy_hook& victim) noexcept {
    const unsigned c = frequency(candidate);
    const unsigned v = frequency(victim);
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
  /// Returns the window chooser, or nullptr for a fixed window (or a zero capacity).
  const window_chooser* chooser() const noexcept { return chooser_.get(); }
  bool adaptive() const noexcept { return chooser_ != nullptr; }
  /// How many sampled requests are noted and not yet handed to the chooser.
  std::size_t noted_count() const noexcept { return sample_count_; }

  /// Hands the sampled requests noted since the last call to the window chooser, oldest
  /// first; a window size it names takes effect here. `evict_one` calls it first; a caller
  /// that drives the policy by hand and wants a read's choice applied at once calls it after
  /// `on_access`.
  void flush_samples() noexcept {
    if (sample_count_ != 0) [[unlikely]] hand_samples();
  }

 private:
  // Whether the chooser sees this key's requests: `rate_` of every 2^32 hashes (0 when fixed).
  bool sampled(std::uint64_t hash) const noexcept { return sampled_at(hash, rate_); }
  // Notes a request for the chooser when its key is sampled (the hook's flag, set once by
  // on_add). The request is stored whether or not, and the count moves by 0 or 1: no branch on
  // the sample, which would go one way or the other at random in a drain of reads (a tenth of
  // the requests are sampled in the Zipf benchmark, whose most popular key is).
  FRUGAL_ALWAYS_INLINE void note_request(policy_hook& h) noexcept {
    if (rate_ == 0) return;
    samples_[sample_count_] = &h;
    sample_count_ += static_cast<std::size_t>(h.sampled);
    if (sample_count_ == noted_capacity) [[unlikely]] hand_samples();
  }
  void hand_samples() noexcept;  // out of line, below the chooser
  void stamp_new(policy_hook& h) const noexcept;  // below the chooser

  // How many halvings came since an entry's counts were stored.
  std::uint16_t age_of(const policy_hook& h) const noexcept {
    return static_cast<std::uint16_t>(sketch_.epoch() - h.epoch);
  }
  // An entry's counts as of now: halved once for every halving since they were stored.
  unsigned aged(const policy_hook& h, unsigned value) const noexcept {
    const std::uint16_t age = age_of(h);
    return age >= 4 ? 0u : value >> age;
  }
  // The pending reads as of now. A halving of the table turns c + p counts into
  // floor((c + p) / 2); halved apart, floor(c / 2) + floor(p / 2) can be 1 short (c and p
  // odd). Not knowing c, an odd p is rounded up or down by a bit of the key's hash (a different
  // bit for each halving), which is right on average.
  unsigned pending_reads(const policy_hook& h) const noexcept {
    const std::uint16_t age = age_of(h);
    unsigned p = h.counts & 15u;
    if (age >= 4) return 0;
    for (unsigned i = 0; i < age; ++i) {
      p = (p + static_cast<unsigned>((h.hash >> ((h.epoch + i) & 63)) & 1)) >> 1;
    }
    return p;
  }
  // Rewrites an entry's counts as of the sketch's current epoch.
  void catch_up(policy_hook& h) const noexcept {
    const unsigned pending = pending_reads(h);
    const unsigned seen = aged(h, h.counts >> 4);
    h.counts = static_cast<std::uint8_t>(seen << 4 | pending);
    h.epoch = sketch_.epoch();
  }
  FRUGAL_ALWAYS_INLINE void count_read(policy_hook& h) noexcept {
    if (h.epoch != sketch_.epoch()) [[unlikely]] catch_up(h);
    // Without a branch on the count: whether a read still counts depends on the key's
    // popularity, which a branch predictor cannot learn (callgrind's branch simulation of a
    // Zipf load of hits counted a wrong guess here for about one read in two).
    const unsigned c = h.counts;
    const unsigned counts = (c >> 4) + (c & 15u) < 15 ? 1u : 0u;
    h.counts = static_cast<std::uint8_t>(c + counts);
    if (sketch_.count_additions(counts)) [[unlikely]] sketch_.halve();
  }

  void demote_protected() noexcept {
    for (std::size_t moved = 0;
         moved < max_moves && protected_weight_ > sizes_.protected_ && !protected_.empty();
         ++moved) {
      policy_hook* h = protected_.front();
      protected_.erase(h);
      protected_weight_ -= h->weight;
      h->where = queue::probation;
      probation_.push_back(h);
    }
  }

  region_sizes sizes_;
  frequency_sketch sketch_;
  std::uint64_t rate_ = 0;
  std::unique_ptr<window_chooser> chooser_;
  // The chooser's buffer of noted requests (null for a fixed window), and how many it holds.
  noted_request* samples_ = nullptr;
  std::size_t sample_count_ = 0;
  lru_list window_, probation_, protected_;
  policy_hook* candidate_ = nullptr;
  std::uint64_t window_weight_ = 0, protected_weight_ = 0, total_weight_ = 0, count_ = 0;
  std::uint64_t seed_ = 0x9e3779b97f4a7c15ull;
};

/// One miniature of the policy: a fixed-window `w_tinylfu` of a few hundred entries over its
/// own node pool and index (open addressing by hash), fed one sampled key's request at a time.
/// Its window is rounded to the nearest entry (region_sizes::nearest), which is the closest to
/// the cache's window scaled down: 3 entries of 256 for 1 % (2.56).
/// A miniature whose window is the whole capacity runs a plain LRU list instead, which hits
/// exactly as that policy does (its main space is empty, so the entries that leave the window
/// to make room are the least recently used ones, and each is evicted, being the only
/// candidate against itself) without that policy's work: no sketch to count in, no admission.
/// Allocates at construction only.
class miniature {
 public:
  miniature(std::uint64_t capacity, double window_fraction)
      : capacity_(capacity),
        policy_(window_fraction >= 1.0
                    ? nullptr
                    : std::make_unique<w_tinylfu>(region_sizes::nearest(capacity, window_fraction),
                                                  window_sizing::fixed)),
        nodes_(std::make_unique<policy_hook[]>(capacity + 1)),
        mask_(std::bit_ceil(2 * (capacity + 1)) - 1),
        index_(std::make_unique<std::uint32_t[]>(mask_ + 1)) {
    for (std::uint64_t i = 0; i <= capacity; ++i) release(&nodes_[i]);
  }

  /// One request to replay: a key's hash and its weight.
  struct request {
    std::uint64_t hash;
    std::uint32_t weight;
  };

  /// Replays one request of `hash` (a weight of 0 counts as 1; at most the capacity); counts
  /// a hit.
  void access(std::uint64_t hash, std::uint32_t weight) noexcept {
    const request one{hash, weight};
    replay(&one, 1);
  }

  /// Replays `n` requests in order, as `access` on each (in one loop per kind of miniature).
  void replay(const request* requests, std::size_t n) noexcept {
    if (policy_) {
      for (std::size_t i = 0; i < n; ++i) access_policy(requests[i].hash, requests[i].weight);
    } else {
      for (std::size_t i = 0; i < n; ++i) access_lru(requests[i].hash, requests[i].weight);
    }
  }

  /// Returns the hits counted since the last call.
  std::uint64_t take_hits() noexcept { return std::exchange(hits_, 0); }

  /// Returns true when an entry of `hash` is cached (changes nothing).
  bool contains(std::uint64_t hash) const noexcept {
    for (std::size_t i = hash & mask_; index_[i] != 0; i = (i + 1) & mask_) {
      if (nodes_[index_[i] - 1].hash == hash) return true;
    }
    return false;
  }

 private:
  // The node of `hash`, or nullptr with `i` at the free slot of its probe sequence.
  FRUGAL_ALWAYS_INLINE policy_hook* find(std::uint64_t hash, std::size_t& i) noexcept {
    for (i = hash & mask_; index_[i] != 0; i = (i + 1) & mask_) {
      policy_hook* h = &nodes_[index_[i] - 1];
      if (h->hash == hash) return h;
    }
    return nullptr;
  }
  // Takes a free node for `hash` into the index at slot `i`. Every weight is at least 1, so
  // at most capacity + 1 nodes are linked before eviction.
  FRUGAL_ALWAYS_INLINE policy_hook* take(std::uint64_t hash, std::uint32_t weight,
                                         std::size_t i) noexcept {
    policy_hook* h = free_;
    free_ = h->next;
    h->hash = hash;
    h->weight = std::max<std::uint32_t>(weight, 1);
    index_[i] = static_cast<std::uint32_t>(h - nodes_.get()) + 1;
    return h;
  }
  FRUGAL_ALWAYS_INLINE void access_policy(std::uint64_t hash, std::uint32_t weight) noexcept {
    std::size_t i;
    if (policy_hook* h = find(hash, i)) {
      ++hits_;
      policy_->on_access(h);
      return;
    }
    policy_->on_add(take(hash, weight, i));
    while (policy_hook* victim = policy_->evict_one()) {
      policy_->on_remove(victim);
      drop(victim);
    }
  }
  FRUGAL_ALWAYS_INLINE void access_lru(std::uint64_t hash, std::uint32_t weight) noexcept {
    std::size_t i;
    if (policy_hook* h = find(hash, i)) {
      ++hits_;
      lru_.move_to_back(h);
      return;
    }
    policy_hook* h = take(hash, weight, i);
    lru_.push_back(h);
    lru_weight_ += h->weight;
    while (lru_weight_ > capacity_) {
      policy_hook* victim = lru_.front();
      lru_.erase(victim);
      lru_weight_ -= victim->weight;
      drop(victim);
    }
  }

  void release(policy_hook* h) noexcept {
    h->prev = nullptr;
    h->next = free_;
    free_ = h;
  }
  // Takes an evicted node out of the index (backward-shift deletion, as the cache's shards
  // do) and back to the pool.
  void drop(policy_hook* victim) noexcept {
    const auto id = static_cast<std::uint32_t>(victim - nodes_.get()) + 1;
    std::size_t i = victim->hash & mask_;
    while (index_[i] != id) i = (i + 1) & mask_;
    for (std::size_t j = (i + 1) & mask_; index_[j] != 0; j = (j + 1) & mask_) {
      if (stays_after_backward_shift(i, j, nodes_[index_[j] - 1].hash & mask_)) continue;
      index_[i] = index_[j];
      i = j;
    }
    index_[i] = 0;
    release(victim);
  }

  std::uint64_t capacity_;
  std::unique_ptr<w_tinylfu> policy_;  // null: the whole capacity is window, run as an LRU
  lru_list lru_;
  std::uint64_t lru_weight_ = 0;
  std::unique_ptr<policy_hook[]> nodes_;
  std::size_t mask_;
  std::unique_ptr<std::uint32_t[]> index_;
  policy_hook* free_ = nullptr;
  std::uint64_t hits_ = 0;
};

/// The window chooser's sure-hit rule. Every sampled entry carries a stamp (`replayed_at`):
/// the count of replayed requests as of its own last replay. An entry replayed among the last
/// `span` replayed requests, where `span` is at most the window's entries of a fixed-window
/// W-TinyLFU those replays went through, is still cached there, while every request weighs 1:
/// its replay left it at the MRU end of the window (a miss or a window hit) or of the
/// protected queue (a main-space hit; a protected queue of no entries, which a window of two
/// or more never comes with, would leave it in probation), and each later replay inserts at
/// most one entry or moves one ahead of it, so pushing it out of the window takes `span` of
/// them, and out of the protected queue more (it is larger than the window wherever the window
/// has two entries or more). A request of such an entry is not replayed (the caller counts it
/// as a hit) and leaves its stamp alone. Once a request of a weight above 1 is replayed, no
/// entry is sure any more (an entry inserted heavy stays heavy, so later unit requests can push
/// out more than one entry at a time): the span drops to 0. The count wraps at 2^32: an entry
/// left unreplayed for about 2^31 replays (2^32 after a replay of its own) is taken once for
/// sure, one miscounted hit.
class replay_clock {
 public:
  /// `span` counts as at least 1.
  explicit replay_clock(std::uint64_t span) noexcept
      : span_(static_cast<std::uint32_t>(
            std::clamp<std::uint64_t>(span, 1, std::numeric_limits<std::uint32_t>::max()))) {}

  /// A stamp for an entry never replayed: none of its requests is sure.
  std::uint32_t long_ago() const noexcept { return now_ - (std::uint32_t{1} << 31); }
  /// Whether an entry stamped `replayed_at` is among the last span() replayed.
  bool sure(std::uint32_t replayed_at) const noexcept { return now_ - replayed_at < span_; }
  /// Counts a replayed request of `weight` and stamps its entry.
  void replayed(std::uint32_t weight, std::uint32_t& replayed_at) noexcept {
    if (weight > 1) span_ = 0;
    replayed_at = ++now_;
  }
  /// How many of the last replays make an entry sure (0 once a heavy request was replayed).
  std::uint32_t span() const noexcept { return span_; }

 private:
  std::uint32_t span_;
  std::uint32_t now_ = 0;
};

/// Chooses the admission window by miniature simulation (the idea of Waldspurger et al.,
/// "Cache Modeling and Optimization using Miniature Simulations", 2017; these rules and
/// constants are frugal's). Why: a small window (1 %) suits frequency-skewed workloads (Zipf,
/// scans over a popular set), a large one suits recency-heavy ones (bursts, a working set that
/// moves), and no fixed split suits both.
/// - A key is sampled when its hash falls in `rate` of every 2^32 hash values, so that about
///   `miniature_entries` (256) entries' worth of keys are sampled (every key for a cache of
///   that size or smaller), whatever the capacity.
/// - Sampled requests are queued and replayed, `batch` (32) at a time, through one miniature
///   copy of the policy per candidate window (1 % and 100 % of the capacity; the 100 % one
///   is an LRU list, see `miniature`), each of capacity x rate / 2^32 (256 to 512 entries);
///   a miniature goes through the whole queue before the next one starts, so that its nodes
///   stay in the CPU's cache.
/// - Every quarter of the miniatures' capacity in sampled requests (`period_divisor`; rounded
///   up to whole batches), each miniature's hits of that period are added to its score after
///   the old score is multiplied by `decay` (0.9). The window changes to the best score's when
///   that beats the current window's score by more than `switch_margin` (1 %), so that
///   near-ties do not make it flap; the new size applies at once, growing the window or
///   draining it into probation as entries come and go.
/// - A sampled request whose entry was replayed among the last w replayed requests (w: the
///   smallest miniature window, in entries) is a hit in every miniature, and is counted as
///   one without a replay (see `replay_clock`; the entry carries the stamp). An
///   approximation: the replay would raise the key's count and renew its place in the
///   miniatures.
/// Cost: the policy notes every request with a store of its hook's address and an add (a
/// drain's run of reads keeps the count in a register; whether the key is sampled is decided
/// once, when its entry is added); a sampled request costs a compare of its entry's stamp,
/// and, unless that finds it sure, a lookup and a policy step in each miniature.
/// Sampling is by key, so the share of requests sampled is `rate` / 2^32 on average but more
/// when a very popular key happens to be sampled.
/// Allocates at construction only (the miniatures' nodes, indexes and the 1 % one's sketch,
/// about 32 KiB for a big cache), never throws after.
class window_chooser {
 public:
  static constexpr double windows[] = {0.01, 1.0};
  static constexpr std::size_t window_count = std::size(windows);
  static constexpr std::uint64_t miniature_entries = 256;
  static constexpr std::uint64_t period_divisor = 4;
  static constexpr double decay = 0.9;
  static constexpr double switch_margin = 0.01;
  static constexpr std::size_t batch = 32;

  explicit window_chooser(std::uint64_t capacity)
      : capacity_(capacity),
        rate_(capacity <= miniature_entries
                  ? all_hashes
                  : std::max<std::uint64_t>(
                        1, (all_hashes * miniature_entries + capacity - 1) / capacity)),
        // capacity * rate_ cannot overflow: rate_ is 2^32 up to 256 entries, about
        // 2^40 / capacity above, and 1 above 2^40.
        mini_capacity_(
            std::clamp<std::uint64_t>((capacity * rate_) >> 32, 1, 2 * miniature_entries)),
        period_(std::max<std::uint64_t>(1, mini_capacity_ / period_divisor)),
        clock_(region_sizes::nearest(mini_capacity_, windows[0]).window) {
    for (std::size_t i = 0; i < window_count; ++i) {
      minis_[i] = std::make_unique<miniature>(mini_capacity_, windows[i]);
    }
  }

  /// The sampling rate's unit: `rate()` of every `all_hashes` hash values are sampled.
  static constexpr std::uint64_t all_hashes = std::uint64_t{1} << 32;
  /// How many of every `all_hashes` hash values are sampled.
  std::uint64_t rate() const noexcept { return rate_; }
  /// The buffer, `noted_room` long, in which the policy notes requests for this chooser
  /// (w_tinylfu::note_request): kept here, so that a fixed-window policy (each miniature is
  /// one) carries none.
  noted_request* noted() noexcept { return noted_; }
  /// The miniatures' capacity.
  std::uint64_t miniature_capacity() const noexcept { return mini_capacity_; }
  /// How many of the last replayed requests make an entry's request sure (the smallest
  /// miniature window, in entries; 0 once a request of a weight above 1 was replayed; see
  /// replay_clock).
  std::size_t sure_span() const noexcept { return clock_.span(); }
  /// The replay stamp for an entry added now (replay_clock::long_ago).
  std::uint32_t long_ago() const noexcept { return clock_.long_ago(); }
  /// How many periods have ended (each one a choice).
  std::uint64_t choices() const noexcept { return choices_; }
  /// The fraction of the capacity the last choice gave the window (1 % before any).
  double window_fraction() const noexcept { return windows[best_]; }

  /// Observes one sampled request of the key of `hash`, whose entry's replay stamp is
  /// `replayed_at` (long_ago() for a new entry): counts a sure hit (see replay_clock), or
  /// queues the request, stamping the entry, and replays the queue when it is full. Returns
  /// the window size (by weight, at least 1) when that ends a period, 0 otherwise.
  FRUGAL_ALWAYS_INLINE std::uint64_t observe(std::uint64_t hash, std::uint32_t weight,
                                             std::uint32_t& replayed_at) noexcept {
    if (clock_.sure(replayed_at)) {
      ++repeats_;  // a hit in every miniature: the smallest window bounds the rest
      return 0;
    }
    return enqueue(hash, weight, replayed_at);
  }

 private:
  std::uint64_t enqueue(std::uint64_t hash, std::uint32_t weight,
                        std::uint32_t& replayed_at) noexcept {
    if (weight > mini_capacity_) return 0;  // could never fit in a miniature
    clock_.replayed(weight, replayed_at);
    // Re-mixed, so that the miniatures' index and sketch do not see only sampled hash bits (a
    // bijection: equal keys are equal hashes).
    std::uint64_t key = hash * 0xd6e8feb86659fd93ull;
    key ^= key >> 32;
    queued_[queued_count_++] = {key, std::max<std::uint32_t>(weight, 1)};
    if (queued_count_ < batch) return 0;
    // One miniature at a time through the whole queue: its nodes stay in the CPU's cache.
    for (auto& m : minis_) m->replay(queued_, batch);
    queued_count_ = 0;
    seen_ += batch + repeats_;
    period_repeats_ += repeats_;
    repeats_ = 0;
    if (seen_ < period_) return 0;
    seen_ = 0;
    ++choices_;
    std::size_t top = 0;
    for (std::size_t i = 0; i < window_count; ++i) {
      scores_[i] =
          scores_[i] * decay + static_cast<double>(minis_[i]->take_hits() + period_repeats_);
      if (scores_[i] > scores_[top]) top = i;
    }
    period_repeats_ = 0;
    if (scores_[top] > scores_[best_] * (1 + switch_margin)) best_ = top;
    if (windows[best_] >= 1.0) return capacity_;
    return std::max<std::uint64_t>(
        1, static_cast<std::uint64_t>(static_cast<double>(capacity_) * windows[best_]));
  }

  std::uint64_t capacity_;
  std::uint64_t rate_;
  std::uint64_t mini_capacity_;
  std::uint64_t period_;
  std::unique_ptr<miniature> minis_[window_count];
  miniature::request queued_[batch] = {};
  noted_request noted_[noted_room] = {};
  std::size_t queued_count_ = 0;
  replay_clock clock_;                // its span: the smallest miniature window
  std::uint64_t repeats_ = 0;         // since the last replay
  std::uint64_t period_repeats_ = 0;  // replayed periods' repeats not yet scored
  double scores_[window_count] = {};
  std::uint64_t seen_ = 0;
  std::uint64_t choices_ = 0;
  std::size_t best_ = 0;
};

inline w_tinylfu::w_tinylfu(std::uint64_t capacity, window_sizing sizing, double window_fraction)
    : w_tinylfu(region_sizes::for_capacity(capacity, window_fraction), sizing) {}

inline w_tinylfu::w_tinylfu(const region_sizes& sizes, window_sizing sizing)
    : sizes_(sizes), sketch_(sizes.capacity) {
  if (sizing == window_sizing::adaptive && sizes.capacity > 0) {
    chooser_ = std::make_unique<window_chooser>(sizes.capacity);
    rate_ = chooser_->rate();
    samples_ = chooser_->noted();
  }
}

inline w_tinylfu::~w_tinylfu() = default;

FRUGAL_NOINLINE inline void w_tinylfu::hand_samples() noexcept {
  window_chooser& chooser = *chooser_;
  const noted_request* const notes = samples_;
  const std::size_t n = sample_count_;
  for (std::size_t i = 0; i < n; ++i) {
    policy_hook& h = *notes[i];
    const std::uint64_t window = chooser.observe(h.hash, h.weight, h.replayed_at);
    if (window != 0) sizes_ = region_sizes::with_window(sizes_.capacity, window);
  }
  sample_count_ = 0;
}

inline void w_tinylfu::stamp_new(policy_hook& h) const noexcept {
  h.replayed_at = chooser_->long_ago();
}

}  // namespace detail::cache
FRUGAL_END_NAMESPACE
