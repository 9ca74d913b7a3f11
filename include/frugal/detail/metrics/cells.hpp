// Per-thread cells behind frugal's counters and histograms. Internal: include
// <frugal/metrics.hpp>.
//
// Every counter or histogram owns a range of "slots". Each thread that updates a metric owns a
// cache-line-aligned array of std::atomic<uint64_t> cells indexed by slot; only that thread
// writes its array, with a relaxed load and a relaxed store (no read-modify-write), and the
// scrape sums one slot over every array. A thread that exits adds its cells into the
// `retired` sums under the table's lock, so its counts survive it. The table is one per
// process (exported across -fvisibility=hidden shared objects) and never destroyed, so that
// threads and metrics may outlive static destruction.
#pragma once

#include <frugal/detail/config.hpp>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <mutex>
#include <new>
#include <utility>
#include <vector>

#if defined(__GNUC__) || defined(__clang__)
#ifndef FRUGAL_METRICS_EXPORT
#define FRUGAL_METRICS_EXPORT __attribute__((visibility("default")))
#endif
#else
#ifndef FRUGAL_METRICS_EXPORT
#define FRUGAL_METRICS_EXPORT
#endif
#endif

FRUGAL_BEGIN_NAMESPACE
namespace metrics::detail {

using cell = std::atomic<std::uint64_t>;

// Bytes per cache line; a thread's array starts on one and its capacity is a multiple of it,
// so no two threads' cells share a line.
inline constexpr std::size_t cache_line = 64;
inline constexpr std::size_t cells_per_line = cache_line / sizeof(cell);

// What the fast path reads: the calling thread's cells. Trivially destructible, so that
// reading it needs no TLS initialisation guard.
struct thread_block;

struct thread_cells {
  cell* cells = nullptr;
  std::size_t capacity = 0;
  thread_block* block = nullptr;  // this thread's entry in the table's list
  bool exited = false;            // set by the thread-exit hook; later updates go to `retired`
};

inline constinit thread_local thread_cells tls_cells{};

// A thread's entry in the table's list of live threads (intrusive: registering a thread
// allocates only the block and its cells).
struct thread_block {
  cell* cells = nullptr;
  std::size_t capacity = 0;
  thread_block* prev = nullptr;
  thread_block* next = nullptr;
};

inline cell* allocate_cells(std::size_t n) {
  void* p = ::operator new (n * sizeof(cell), std::align_val_t{cache_line});
  auto* c = static_cast<cell*>(p);
  for (std::size_t i = 0; i < n; ++i) ::new (static_cast<void*>(c + i)) cell(0);
  return c;
}

inline void free_cells(cell* c) noexcept {
  if (c != nullptr) ::operator delete (static_cast<void*>(c), std::align_val_t{cache_line});
}

class cell_table {
 public:
  std::mutex mutex;

  // Reserves `n` consecutive slots, all zero in every thread; the slots whose offsets are in
  // `doubles` hold doubles (as bits). Takes the lock. First fit over the free ranges (sorted
  // and merged, so at most one more than the ranges in use): O(free ranges). Allocates only
  // to grow its bookkeeping, which also keeps room for every range in use to come back
  // (free_slots never allocates); throws std::bad_alloc, then reserves nothing.
  std::size_t allocate_slots(std::size_t n, std::initializer_list<std::size_t> doubles = {}) {
    std::lock_guard lock(mutex);
    std::size_t start = next_;
    std::size_t found = free_.size();
    for (std::size_t i = 0; i < free_.size(); ++i) {
      if (free_[i].second >= n) {
        found = i;
        start = free_[i].first;
        break;
      }
    }
    if (is_double_.size() < start + n) is_double_.resize(start + n, false);
    if (free_.capacity() < free_.size() + ranges_ + 1) {
      free_.reserve(std::max<std::size_t>(64, 2 * (free_.size() + ranges_ + 1)));
    }
    for (std::size_t d : doubles) is_double_[start + d] = true;
    if (found == free_.size()) {
      next_ += n;
    } else if (free_[found].second == n) {
      free_.erase(free_.begin() + static_cast<std::ptrdiff_t>(found));
    } else {
      free_[found].first += n;
      free_[found].second -= n;
    }
    ++ranges_;
    return start;
  }

  // Zeroes slots [start, start + n) in every thread and in the retired sums, then makes them
  // available again, merged with the free ranges next to them (a range that reaches the
  // top goes back to it). Never allocates (allocate_slots kept the room), never throws.
  void free_slots(std::size_t start, std::size_t n) noexcept {
    std::lock_guard lock(mutex);
    for (thread_block* b = head_; b != nullptr; b = b->next) {
      const std::size_t end = std::min(start + n, b->capacity);
      for (std::size_t s = start; s < end; ++s) b->cells[s].store(0, std::memory_order_relaxed);
    }
    const std::size_t end = std::min(start + n, retired_capacity_);
    for (std::size_t s = start; s < end; ++s) retired_[s].store(0, std::memory_order_relaxed);
    for (std::size_t s = start; s < start + n; ++s) is_double_[s] = false;
    --ranges_;
    auto it = std::lower_bound(free_.begin(), free_.end(), start,
                               [](const auto& r, std::size_t at) { return r.first < at; });
    if (it != free_.begin() && std::prev(it)->first + std::prev(it)->second == start) {
      --it;
      it->second += n;
    } else {
      it = free_.insert(it, {start, n});  // within the reserved capacity: no allocation
    }
    if (auto next = std::next(it); next != free_.end() && it->first + it->second == next->first) {
      it->second += next->second;
      free_.erase(next);
    }
    if (it->first + it->second == next_) {
      next_ = it->first;
      free_.erase(it);
    }
  }

  // Returns the sum of `slot` over every thread, live or exited. Precondition: `mutex` held.
  std::uint64_t sum_locked(std::size_t slot) const noexcept {
    std::uint64_t total =
        slot < retired_capacity_ ? retired_[slot].load(std::memory_order_relaxed) : 0;
    for (const thread_block* b = head_; b != nullptr; b = b->next) {
      if (slot < b->capacity) total += b->cells[slot].load(std::memory_order_relaxed);
    }
    return total;
  }

  // Returns the sum of the doubles stored (as bits) in `slot` over every thread. A thread's
  // exit adds its cell into the retired sum, so the same additions then run in another order
  // and the rounded total can come out an ulp or so lower: see monotone_sum for the metrics
  // whose sums must not go down. Precondition: `mutex` held.
  double sum_double_locked(std::size_t slot) const noexcept {
    double total = slot < retired_capacity_
                       ? std::bit_cast<double>(retired_[slot].load(std::memory_order_relaxed))
                       : 0.0;
    for (const thread_block* b = head_; b != nullptr; b = b->next) {
      if (slot < b->capacity) {
        total += std::bit_cast<double>(b->cells[slot].load(std::memory_order_relaxed));
      }
    }
    return total;
  }

  // The slow path of every update: registers the calling thread or grows its array to cover
  // `last`, or (once the thread's exit hook has run) updates the retired sums. Calls
  // `apply(cells)` with the cells to update, under the lock. Throws std::bad_alloc; then
  // nothing was updated.
  template <class Apply>
  FRUGAL_NOINLINE void update_slow(std::size_t last, Apply apply) {
    std::lock_guard lock(mutex);
    thread_cells& t = tls_cells;
    if (t.exited) {
      grow_retired_locked(last + 1);
      apply(retired_);
      return;
    }
    if (last >= t.capacity) grow_locked(t, last);
    apply(t.cells);
  }

  // Moves the calling thread's counts into the retired sums and forgets its array. Runs at
  // thread exit; never throws (out of memory, the array stays registered and counted).
  void thread_exit() noexcept {
    std::lock_guard lock(mutex);
    thread_cells& t = tls_cells;
    t.exited = true;
    thread_block* b = std::exchange(t.block, nullptr);
    t.cells = nullptr;
    t.capacity = 0;
    if (b == nullptr) return;
#if FRUGAL_HAS_EXCEPTIONS
    try {
      grow_retired_locked(b->capacity);
    } catch (...) {
      return;
    }
#else
    grow_retired_locked(b->capacity);
#endif
    for (std::size_t s = 0; s < b->capacity; ++s) {
      const std::uint64_t mine = b->cells[s].load(std::memory_order_relaxed);
      const std::uint64_t before = retired_[s].load(std::memory_order_relaxed);
      const std::uint64_t after = s < is_double_.size() && is_double_[s]
                                      ? std::bit_cast<std::uint64_t>(std::bit_cast<double>(before) +
                                                                     std::bit_cast<double>(mine))
                                      : before + mine;
      retired_[s].store(after, std::memory_order_relaxed);
    }
    (b->prev != nullptr ? b->prev->next : head_) = b->next;
    if (b->next != nullptr) b->next->prev = b->prev;
    --live_;
    free_cells(b->cells);
    delete b;
  }

  // Returns how many threads currently own cells.
  std::size_t live_threads() {
    std::lock_guard lock(mutex);
    return live_;
  }

 private:
  void grow_retired_locked(std::size_t n) {
    if (n <= retired_capacity_) return;
    const std::size_t cap = std::max(n, retired_capacity_ * 2);
    cell* fresh = allocate_cells(cap);
    for (std::size_t s = 0; s < retired_capacity_; ++s) {
      fresh[s].store(retired_[s].load(std::memory_order_relaxed), std::memory_order_relaxed);
    }
    free_cells(retired_);
    retired_ = fresh;
    retired_capacity_ = cap;
  }

  void grow_locked(thread_cells& t, std::size_t last) {
    std::size_t cap = std::max<std::size_t>(t.capacity * 2, 64 * cells_per_line);
    while (cap <= last) cap *= 2;
    cell* fresh = allocate_cells(cap);
    thread_block* b = t.block;
    if (b == nullptr) {
#if FRUGAL_HAS_EXCEPTIONS
      try {
        b = new thread_block;
      } catch (...) {
        free_cells(fresh);
        throw;
      }
#else
      b = new thread_block;
#endif
      b->next = head_;
      if (head_ != nullptr) head_->prev = b;
      head_ = b;
      ++live_;
      t.block = b;
      register_exit_hook();
    } else {
      for (std::size_t s = 0; s < t.capacity; ++s) {
        fresh[s].store(t.cells[s].load(std::memory_order_relaxed), std::memory_order_relaxed);
      }
      free_cells(t.cells);
    }
    b->cells = fresh;
    b->capacity = cap;
    t.cells = fresh;
    t.capacity = cap;
  }

  static void register_exit_hook() noexcept;

  thread_block* head_ = nullptr;
  std::size_t live_ = 0;
  cell* retired_ = nullptr;
  std::size_t retired_capacity_ = 0;
  std::vector<bool> is_double_;
  std::vector<std::pair<std::size_t, std::size_t>> free_;  // by start, merged
  std::size_t ranges_ = 0;                                  // ranges in use
  std::size_t next_ = 0;
};

// A float_counter's sum, or a histogram's while no observation was negative: it never goes
// below `floor`, the last sum returned (the rounding of a thread exit's reordered additions,
// see sum_double_locked, would show a counter reset). Precondition: the table's mutex held
// (it guards `floor` too).
inline double monotone_sum(double total, double& floor, bool monotone) noexcept {
  if (monotone && total < floor) total = floor;
  floor = total;
  return total;
}

// Returns the process-wide table. Never destroyed: threads may exit and metrics may be
// destroyed during static destruction. Exported so that shared objects built with
// -fvisibility=hidden share it.
FRUGAL_METRICS_EXPORT inline cell_table& table() {
  static cell_table* t = new cell_table;
  return *t;
}

// Runs at thread exit (a thread_local's destructor) and moves the thread's counts into the
// retired sums.
struct exit_hook {
  bool armed = false;
  ~exit_hook() {
    if (armed) table().thread_exit();
  }
};

inline thread_local exit_hook tls_exit_hook;

inline void cell_table::register_exit_hook() noexcept { tls_exit_hook.armed = true; }

// Adds `n` to the calling thread's cell `slot`: a relaxed load and store when the thread
// already has cells up to `slot`.
FRUGAL_ALWAYS_INLINE void add_u64(std::size_t slot, std::uint64_t n) {
  const thread_cells& t = tls_cells;
  if (FRUGAL_LIKELY(slot < t.capacity)) {
    cell& c = t.cells[slot];
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    return;
  }
  table().update_slow(slot, [slot, n](cell* cells) {
    cell& c = cells[slot];
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  });
}

// Adds `v` to the double held as bits in the calling thread's cell `slot`.
FRUGAL_ALWAYS_INLINE void add_f64(std::size_t slot, double v) {
  auto add = [slot, v](cell* cells) {
    cell& c = cells[slot];
    const double now = std::bit_cast<double>(c.load(std::memory_order_relaxed)) + v;
    c.store(std::bit_cast<std::uint64_t>(now), std::memory_order_relaxed);
  };
  const thread_cells& t = tls_cells;
  if (FRUGAL_LIKELY(slot < t.capacity)) {
    add(t.cells);
    return;
  }
  table().update_slow(slot, add);
}

// Counts one observation `v` in bucket cell `base + bucket` and adds it to the sum cell
// `sum_slot` (the last slot of the histogram).
FRUGAL_ALWAYS_INLINE void observe(std::size_t base, std::size_t bucket, std::size_t sum_slot,
                                  double v) {
  auto add = [=](cell* cells) {
    cell& c = cells[base + bucket];
    c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    cell& s = cells[sum_slot];
    const double now = std::bit_cast<double>(s.load(std::memory_order_relaxed)) + v;
    s.store(std::bit_cast<std::uint64_t>(now), std::memory_order_relaxed);
  };
  const thread_cells& t = tls_cells;
  if (FRUGAL_LIKELY(sum_slot < t.capacity)) {
    add(t.cells);
    return;
  }
  table().update_slow(sum_slot, add);
}

}  // namespace metrics::detail
FRUGAL_END_NAMESPACE
