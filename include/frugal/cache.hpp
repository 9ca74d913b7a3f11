// frugal::cache: a concurrent, bounded, expiring in-process cache (Caffeine's and moka's
// design, for C++).
//
//   frugal::cache<std::uint64_t, user> users({.max_capacity = 10'000,
//                                            .time_to_live = std::chrono::minutes(5)});
//   std::shared_ptr<const user> u = users.get_with(id, [&] { return db.load_user(id); });
//
// Layout: the entries live in a sharded open-addressing table, each shard behind a
// reader-writer spin lock that writers take; a reader claims its read-buffer stripe instead,
// for the lookup and the reference-count increment only (see lookup).
// The eviction policy (W-TinyLFU, detail/cache/policy.hpp) sits behind one policy mutex that
// no read ever waits for: a read records the entry it hit in a per-thread stripe of small lossy
// ring buffers, and a write appends "added" and "removed" events to a bounded write buffer.
// A writer that takes the policy mutex (with a try-lock, or waiting when the write buffer is
// full) drains every buffer and evicts; a reader that filled its stripe's ring drains that
// ring only, when the mutex is free and no thread waits for it. There is no background
// thread.
//
// Where user code runs:
// - Hash: on the calling thread, outside every lock, except that a load (get_with, get_all)
//   also hashes its key under the shard's write lock, in the shard's map of loads in flight.
// - Eq: on the calling thread, while the shard's writers wait or under the shard's lock.
// - loaders and batch functions: on the thread of the caller that owns the load, no lock held.
// - the eviction listener: on the thread that ran the maintenance (an `insert`, `invalidate*`,
//   `get_with` or `get_all` that loaded, or `run_pending_tasks`), after every lock is released
//   and after the call's own loads are done (a get_all: every key), so it may call the cache,
//   get_with included, without waiting in a cycle with another thread's load; never in
//   `get`, `visit` or `contains`. The writes a loader or batch function makes itself are
//   told by its thread once its load is done, not within the write.
// - V's destructor: where the last `shared_ptr<const V>` goes away. The cache drops its own
//   reference (with the stored key) after a maintenance, at least one maintenance after the
//   entry left the table, with no lock held and none of the thread's own loads in flight
//   (a loader's own writes free nothing), so the destructor may call the cache (not one
//   being destroyed; a loaded value that could not be stored is destroyed while its load is
//   in flight: get_with of its own key there is a std::logic_error); a `get`, `visit` or
//   `contains` never destroys a value itself; a caller that keeps the last `shared_ptr` of
//   an evicted value destroys it when dropping it.
// - K's destructor: also under a shard's write lock (the copies of keys in the map of loads
//   in flight), so it must not call the cache.
// - the clock: on the calling thread, also under a shard's write lock (an insert that
//   replaces an entry, get_with and get_all) and in a maintenance under the policy lock: it
//   must not call the cache.
//
// Out of memory: a maintenance that cannot grow its lists (retired entries, the listener's
// notifications; the expiry schedule never grows) throws std::bad_alloc from the call that
// ran it, whose own change may or may not be done (a store that had to empty a full write
// buffer first is not; a get_with whose maintenance failed after its store has handed the
// value to its waiters).
// The cache stays whole: each queued event and each removal is applied whole or not at all,
// room is made before an entry leaves the table, so none is lost or freed early, the listener
// is told of each removal counted so far before the exception leaves, and the next maintenance
// goes on where this one stopped. A load whose store fails so fails for its waiters too, and
// leaves no load in flight.
#pragma once

#include <frugal/batch.hpp>
#include <frugal/detail/cache/policy.hpp>
#include <frugal/detail/cache/timer_wheel.hpp>
#include <frugal/detail/config.hpp>

#include <algorithm>
#include <atomic>
#include <bit>
#include <chrono>
#include <concepts>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <ranges>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

FRUGAL_BEGIN_NAMESPACE

/// Why an entry left the cache, as told to the eviction listener.
enum class removal_cause : std::uint8_t {
  size,         ///< evicted by the policy to stay within the capacity
  expired,      ///< its time to live, time to idle or per-entry expiry passed
  replaced,     ///< an `insert` (or a load) put a new value under its key
  invalidated,  ///< removed explicitly: `invalidate`, `invalidate_if`, `invalidate_all`
};

/// The default hash of a cache: `std::hash<K>`, and for `std::basic_string` keys a transparent
/// hash of `std::basic_string_view`, so a `std::string`-keyed cache finds a `std::string_view`
/// (or a string literal) without building a string.
template <class K>
struct cache_hash : std::hash<K> {};

/// Hashes any text as a `std::basic_string_view` (transparent).
template <class C, class T, class A>
struct cache_hash<std::basic_string<C, T, A>> {
  using is_transparent = void;
  /// Returns the standard hash of `text`. Never allocates, never throws.
  std::size_t operator()(std::basic_string_view<C, T> text) const noexcept {
    return std::hash<std::basic_string_view<C, T>>{}(text);
  }
};

/// What a cache has counted since it was built. Hits and misses come from `get`, `visit`,
/// `get_with`, `optionally_get_with` and `get_all`; loads from the last three.
struct cache_stats {
  std::uint64_t hits = 0;    ///< lookups that found a live value
  /// lookups that found nothing or an expired value (a load's lookup that missed counts
  /// even when the value another thread stored meanwhile is then found and returned)
  std::uint64_t misses = 0;
  /// loader or batch calls that returned (a batch: one result per key); each call counts once
  std::uint64_t loads = 0;
  /// loader or batch calls that threw, or batch calls that returned another number of results
  std::uint64_t load_failures = 0;
  /// Time spent in loaders and batch functions, all together, by std::chrono::steady_clock
  /// (not the options' clock, which tests may hold still).
  std::chrono::nanoseconds total_load_time{0};
  std::uint64_t evicted_size = 0;               ///< removals with removal_cause::size
  std::uint64_t evicted_expired = 0;            ///< removals with removal_cause::expired
  std::uint64_t replaced = 0;                   ///< removals with removal_cause::replaced
  std::uint64_t invalidated = 0;                ///< removals with removal_cause::invalidated

  /// Returns hits / (hits + misses), or 0 before any lookup.
  double hit_ratio() const noexcept {
    const std::uint64_t total = hits + misses;
    return total == 0 ? 0.0 : static_cast<double>(hits) / static_cast<double>(total);
  }
};

/// How a cache is bounded, expires entries and reports removals. Every field has a default;
/// designated initialisers read best: `{.max_capacity = 10'000, .time_to_live = 5min}`.
template <class K, class V>
struct cache_options {
  /// The bound: the number of entries, or with a `weigher` the total weight. 0 makes a cache
  /// that stores nothing (every insert is told to the listener as evicted for size at once;
  /// `get_with` still coalesces concurrent loads and returns the value).
  std::uint64_t max_capacity = 10'000;
  /// Returns an entry's weight (at least 0, at most `max_capacity`); empty: every entry
  /// weighs 1. Called once per insert, on the inserting thread, outside every lock.
  std::function<std::uint32_t(const K&, const V&)> weigher{};
  /// How long an entry lives after it was written; empty: forever. Must not be negative.
  /// `nanoseconds::max()`, or a duration whose deadline reaches the clock's greatest value
  /// (or overflows), is forever too; that greatest reading counts as one nanosecond before it
  /// (the same for `time_to_idle` and `expire_after_write`).
  std::optional<std::chrono::nanoseconds> time_to_live{};
  /// How long an entry lives after it was last read or written (the latest such time, should
  /// the clock go back); empty: forever. Must not be negative.
  std::optional<std::chrono::nanoseconds> time_to_idle{};
  /// Returns a per-entry time to live, replacing `time_to_live` for that entry (std::nullopt:
  /// keep `time_to_live`). A negative duration is rejected at insert (std::invalid_argument).
  std::function<std::optional<std::chrono::nanoseconds>(const K&, const V&)> expire_after_write{};
  /// Returns the current time; empty: std::chrono::steady_clock::now. Tests inject a fake.
  std::function<std::chrono::steady_clock::time_point()> clock{};
  /// Is told of every entry that leaves the cache and why (not of entries dropped by the
  /// cache's destructor). See the file comment for the thread it runs on. If it throws, the
  /// other notifications of that batch are still delivered and the first exception then
  /// propagates to the caller whose operation ran the maintenance.
  std::function<void(const K&, const std::shared_ptr<const V>&, removal_cause)> eviction_listener{};
  /// The most keys one call of a `get_all` batch function receives (at least 1).
  std::size_t max_batch = 1000;
  /// The number of table shards (each with its own reader-writer lock), rounded up to a power
  /// of two, at most 1024; 0: sixteen per hardware thread, at least 64, at most 1024. Many
  /// shards keep threads that read different keys off each other's lock words.
  std::size_t shards = 0;
  /// The number of add/remove events writers may queue before one of them must drain them
  /// (at least 2, at most 2^20; the cache reserves room for twice this many events when it
  /// is built). Between maintenances the cache holds at most the capacity plus this many
  /// entries.
  std::size_t write_buffer = 128;
  /// Whether the admission window adapts to the workload (miniature simulations of a
  /// sample of keys pick 1 % or all of the capacity; docs/cache.md). false keeps the
  /// window at 1 %, which saves the simulations' cost (a store per read applied, a few policy
  /// steps per sampled request, about 32 KiB) where the workload is known to be
  /// frequency-skewed. A cache with a `weigher` keeps 1 % whatever this says: the miniatures
  /// are sized in entries, and a weight bound says nothing of how many entries it holds.
  bool adaptive_window = true;
};

namespace detail::cache {

/// A reader-writer spin lock of one word: readers add 4, a writer sets bit 0, a waiting writer
/// sets bit 1 so new readers hold back. Waiters yield the CPU after a few spins. The cache's
/// fast readers do not touch it: they claim their read-buffer stripe instead (cache::lookup).
class rw_lock {
 public:
  void lock_shared() noexcept {
    for (;;) {
      const std::uint32_t s = state_.fetch_add(4, std::memory_order_acquire);
      if ((s & 3) == 0) return;
      state_.fetch_sub(4, std::memory_order_relaxed);
      for (unsigned spins = 0; (state_.load(std::memory_order_relaxed) & 3) != 0; ++spins) {
        pause(spins);
      }
    }
  }
  void unlock_shared() noexcept { state_.fetch_sub(4, std::memory_order_release); }
  void lock() noexcept {
    for (unsigned spins = 0;; ++spins) {
      std::uint32_t s = state_.load(std::memory_order_relaxed);
      if ((s & ~std::uint32_t{2}) == 0) {
        // seq_cst: pairs with the fast readers' slot claim (see cache::lookup).
        if (state_.compare_exchange_weak(s, 1, std::memory_order_seq_cst,
                                         std::memory_order_relaxed)) {
          return;
        }
        continue;
      }
      if ((s & 2) == 0) state_.fetch_or(2, std::memory_order_relaxed);
      pause(spins);
    }
  }
  void unlock() noexcept { state_.fetch_and(~std::uint32_t{1}, std::memory_order_release); }
  /// Returns true while a writer holds the lock.
  bool writer_active() const noexcept { return (state_.load(std::memory_order_seq_cst) & 1) != 0; }

 private:
  static void pause(unsigned spins) noexcept {
    if (spins > 16) std::this_thread::yield();
  }
  std::atomic<std::uint32_t> state_{0};
};

/// Mixes a user hash so that identity hashes (std::hash<int>) spread over shards and slots.
inline std::uint64_t mix(std::uint64_t h) noexcept {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}

// t + d, or the greatest time when that would overflow (d at least 0; t may be negative).
inline std::int64_t saturating_add(std::int64_t t, std::int64_t d) noexcept {
  return t > std::numeric_limits<std::int64_t>::max() - d ? std::numeric_limits<std::int64_t>::max()
                                                          : t + d;
}

// The cache line size the layout of entries and shards assumes.
inline constexpr std::size_t line_size = 64;

template <class H>
concept transparent = requires {
  typename H::is_transparent;
};

}  // namespace detail::cache

/// A concurrent, bounded, expiring map from `K` to immutable `V` values handed out as
/// `std::shared_ptr<const V>`. Thread-safe: every member function may be called from any
/// thread at the same time. Not copyable or movable.
template <class K, class V, class Hash = cache_hash<K>, class Eq = std::equal_to<>>
class cache {
  struct entry_head : detail::cache::policy_hook, detail::cache::expiry_hook {
    std::atomic<std::int64_t> last_access{0};  // time to idle only
    std::atomic<bool> removed{false};          // taken out of the table
  };
  // Tags an entry whose value is what a call returns, made in place: a V returned by value
  // becomes the entry's own, and no V of the load's is destroyed inside it.
  struct value_of_call {};
  // Whether a load's loader was called, and whether it returned (see load).
  struct loader_call {
    bool called = false;
    bool returned = false;
  };
  // The key and value (only read once in the table) start 128 bytes after the start of
  // make_shared's block (16 bytes of reference counts, then the entry), so they never share a
  // cache line with the counts or with the policy's hook, which every maintenance that
  // applies a read rewrites: a thread that reads a key keeps its copy of the line. Padding,
  // not alignas: an over-aligned entry would need the slower aligned operator new.
  struct entry : entry_head {
    template <class KK, class... A>
    entry(KK&& k, A&&... a) : key(std::forward<KK>(k)), value(std::forward<A>(a)...) {}
    template <class KK, class F>
    entry(KK&& k, value_of_call, F& f) : key(std::forward<KK>(k)), value(f()) {}
    std::byte pad[sizeof(entry_head) < 112 ? 112 - sizeof(entry_head) : 1] = {};
    const K key;
    const V value;
    std::int64_t write_deadline = detail::cache::never;  // immutable once in the table
  };
  using entry_ptr = std::shared_ptr<entry>;

 public:
  using key_type = K;
  using mapped_type = V;
  using value_ptr = std::shared_ptr<const V>;
  using options_type = cache_options<K, V>;

  /// Builds a cache. Allocates the shards, the read buffers, the write buffer, the
  /// frequency sketch (8 to 16 bytes per unit of max_capacity, at least 512 bytes, at most
  /// 32 MiB) and, with `adaptive_window` and no weigher, the window chooser's miniatures (about
  /// 32 KiB from 256 entries up, less below) and, with any expiry, the timer wheel's list
  /// heads (4.5 KiB); nothing else until the first insert. Throws
  /// std::invalid_argument naming the value for a negative `time_to_live` or `time_to_idle`,
  /// `max_batch` 0 or `write_buffer` below 2 or above 2^20.
  explicit cache(options_type options = {})
      : options_(std::move(options)),
        policy_(options_.max_capacity, options_.adaptive_window && !options_.weigher
                                           ? detail::cache::window_sizing::adaptive
                                           : detail::cache::window_sizing::fixed) {
    check_duration(options_.time_to_live, "time_to_live");
    check_duration(options_.time_to_idle, "time_to_idle");
    if (options_.max_batch == 0) {
      FRUGAL_THROW(std::invalid_argument("cache: max_batch must be at least 1, got 0"));
    }
    if (const std::size_t buffer = options_.write_buffer; buffer < 2 || buffer > (1u << 20)) {
      FRUGAL_THROW(std::invalid_argument("cache: write_buffer must be from 2 to 1048576, got " +
                                         std::to_string(buffer)));
    }
    const std::size_t cpus = std::max(1u, std::thread::hardware_concurrency());
    std::size_t n = options_.shards;
    if (n == 0) n = std::clamp<std::size_t>(16 * cpus, 64, 1024);
    n = std::bit_ceil(std::min<std::size_t>(n, 1024));
    shard_count_ = n;
    shard_shift_ = 64u - static_cast<unsigned>(std::countr_zero(n));
    shards_ = std::make_unique<shard[]>(n);
    stripe_count_ = std::bit_ceil(std::min<std::size_t>(4 * cpus, 64));
    free_slot_count_ = std::clamp<std::size_t>(cpus, 2, 64);
    free_slots_ = std::make_unique<free_slot[]>(free_slot_count_);
    stripes_ = std::make_unique<stripe[]>(stripe_count_);
    has_expiry_ = options_.time_to_live || options_.time_to_idle ||
                  static_cast<bool>(options_.expire_after_write);
    ttl_ = options_.time_to_live ? options_.time_to_live->count() : detail::cache::never;
    tti_ = options_.time_to_idle ? options_.time_to_idle->count() : detail::cache::never;
    if (has_expiry_) wheel_.reserve();
    events_.reserve(options_.write_buffer);
    draining_.reserve(options_.write_buffer);
  }

  cache(const cache&) = delete;
  cache& operator=(const cache&) = delete;

  /// Destroys every entry (the listener is not told). Values still held by callers live on.
  ~cache() = default;

  /// Returns the value of `key`, or nullptr when it is absent or expired. O(1) expected;
  /// never allocates; one reference-count increment on a hit. Takes `key` as a `K` (or
  /// anything that converts to one: `get(42)` on a `std::uint64_t` key), or as any type the
  /// hash and equality accept when both are transparent (a `std::string_view` on a
  /// `std::string`-keyed cache, without building a string). The same holds for `visit`,
  /// `contains` and `invalidate`. Throws what Hash, Eq or the clock throw.
  value_ptr get(const K& key) const { return get<K>(key); }
  template <class Q = K>
  requires(std::same_as<Q, K> || (detail::cache::transparent<Hash> &&
                                  detail::cache::transparent<Eq>)) value_ptr get(const Q& key)
  const {
    value_ptr out;
    lookup(key, [&](const entry_ptr& e) { out = value_ptr(e, &e->value); });
    return out;
  }

  /// Calls `f(const V&)` with the value of `key` while the shard's writers wait, without
  /// touching a reference count or a shared lock; returns true when it found a live value.
  /// Never allocates. `f` must be short and must not call this cache (writers of the shard
  /// wait for it). Throws what Hash, Eq, the clock and `f` throw.
  template <class F>
  bool visit(const K& key, F&& f) const {
    return visit<K, F>(key, std::forward<F>(f));
  }
  template <class Q = K, class F>
  requires(std::same_as<Q, K> || (detail::cache::transparent<Hash> &&
                                  detail::cache::transparent<Eq>)) bool visit(const Q& key,
                                                                              F&& f) const {
    return lookup(key, [&](const entry_ptr& e) { std::forward<F>(f)(std::as_const(e->value)); });
  }

  /// Returns true when `key` has a live value. Counts no hit or miss and records no access.
  /// O(1) expected; never allocates. Throws what Hash, Eq or the clock throw.
  bool contains(const K& key) const { return contains<K>(key); }
  template <class Q = K>
  requires(std::same_as<Q, K> ||
           (detail::cache::transparent<Hash> &&
            detail::cache::transparent<Eq>)) bool contains(const Q& key) const {
    const std::uint64_t h = hash_of(key);
    const shard& s = shard_for(h);
    const std::int64_t now = has_expiry_ ? now_ns() : 0;
    s.lock.lock_shared();
    struct unlock_on_exit {
      const shard& s;
      ~unlock_on_exit() { s.lock.unlock_shared(); }
    } guard{s};
    const slot* sl = s.find(h, key, eq_);
    return sl != nullptr && (!has_expiry_ || deadline_of(*sl->e) > now);
  }

  /// Stores `value` under `key`, replacing (and telling the listener of) any previous value.
  /// Returns the stored value. Allocates once for the entry (key, value and reference count
  /// together), plus what building the K and V allocates (a long std::string key that is
  /// copied in), plus, amortised, when a shard's table doubles. Throws std::invalid_argument
  /// when the weigher returns more than max_capacity or the per-entry expiry is negative, and
  /// what V's constructor, Hash, Eq, the weigher, the clock and the listener throw. On a
  /// throw before the store, nothing is stored (a maintenance the insert ran first to empty a
  /// full write buffer stays done); the listener's exceptions, and the clock's from the
  /// maintenance the insert runs after its store (which reads it to expire entries), come
  /// after the store.
  template <class KK, class... Args>
  value_ptr insert(KK&& key, Args&&... value) {
    entry_ptr e = make_entry(std::forward<KK>(key), std::forward<Args>(value)...);
    value_ptr out(e, &e->value);
    after_store todo = store(std::move(e), nullptr);
    finish_store(todo);
    after_write();
    return out;
  }

  /// Removes `key`'s entry and tells the listener (removal_cause::invalidated); returns true
  /// when there was one. An entry past its deadline, which no read would find any more,
  /// counts as none: it leaves as removal_cause::expired. Allocates only in the maintenance it
  /// may run (its lists). Throws what Hash, Eq, the clock and the listener throw; the
  /// listener's exceptions come after the removal.
  bool invalidate(const K& key) { return invalidate<K>(key); }
  template <class Q = K>
  requires(std::same_as<Q, K> || (detail::cache::transparent<Hash> &&
                                  detail::cache::transparent<Eq>)) bool invalidate(const Q& key) {
    const std::uint64_t h = hash_of(key);
    shard& s = shard_for(h);
    const std::int64_t now = has_expiry_ ? now_ns() : 0;  // read before any lock is taken
    bool found = false;
    after_store todo;
    {
      deliver_on_throw unwinding(*this, todo.deliver);
      for (;;) {
        shard_write_lock lock(*this, s);
        std::unique_lock buffer(events_mutex_);
        if (!room_for(1, lock, buffer, todo)) continue;
        if (slot* sl = s.find(h, key, eq_)) {
          // An entry past its deadline is already gone to every reader: it leaves as expired,
          // and the call finds nothing, as get, contains and invalidate_if would.
          found = !has_expiry_ || deadline_of(*sl->e) > now;
          events_.push_back(
              {s.take(sl), found ? removal_cause::invalidated : removal_cause::expired, false});
        }
        break;
      }
      unwinding.release();
    }
    finish_store(todo);
    after_write();
    return found;
  }

  /// Removes every entry for which `pred(const K&, const V&)` returns true, telling the
  /// listener (removal_cause::invalidated); returns how many. An entry past its deadline when
  /// the scan reaches it leaves as expired instead, without `pred` and uncounted (with expiry
  /// on, the clock is read once per entry). O(n) over every shard, under the
  /// policy mutex and each shard's write lock in turn: `pred` must not call this cache. Throws
  /// what `pred`, the clock and the listener throw; every entry `pred` matched before it threw
  /// is removed (and the listener told).
  template <class Pred>
  std::size_t invalidate_if(Pred pred) {
    std::size_t removed = 0;
    then_deliver([&] {
      free_on_exit freer(*this);
      auto lock = lock_policy();
      maintain_locked(freer);
      struct publish_on_exit {
        cache& c;
        ~publish_on_exit() { c.publish_sizes(); }
      } published{*this};
      for (std::size_t i = 0; i < shard_count_; ++i) {
        shard& s = shards_[i];
        shard_write_lock shard_lock(*this, s);
        doomed_.clear();
        auto take_doomed = [&] {
          for (const auto& [d, cause] : doomed_) {
            make_room();
            entry_ptr e = s.take(s.find_entry(d));
            unlink(e.get());
            note(e, cause);
            retired_.push_back(std::move(e));
            if (cause == removal_cause::invalidated) ++removed;
          }
        };
#if FRUGAL_HAS_EXCEPTIONS
        try {
#endif
          for (std::size_t j = 0; s.slots && j <= s.mask; ++j) {
            const slot& sl = s.slots[j];
            if (!sl.e) continue;
            // Past its deadline when the scan reaches it (time moves during the scan, and a
            // writer may have stored it since the maintenance above): it leaves as expired,
            // unseen by `pred` and not counted. The clock is read per entry, expiry only.
            if (!live(*sl.e)) {
              doomed_.emplace_back(sl.e.get(), removal_cause::expired);
            } else if (pred(std::as_const(sl.e->key), std::as_const(sl.e->value))) {
              doomed_.emplace_back(sl.e.get(), removal_cause::invalidated);
            }
          }
#if FRUGAL_HAS_EXCEPTIONS
        } catch (...) {
          take_doomed();  // what `pred` matched before it threw goes, as in the shards before
          throw;
        }
#endif
        take_doomed();
      }
    });
    return removed;
  }

  /// Removes every entry, telling the listener of each (removal_cause::invalidated). O(n).
  void invalidate_all() {
    invalidate_if([](const K&, const V&) { return true; });
  }

  /// Returns `key`'s value, or runs `loader()` (returning V, or anything V is constructible
  /// from; a V returned by value need not be copyable or movable: it becomes the entry's
  /// own), stores its result and returns it; never nullptr. Concurrent callers that miss on
  /// the same key wait for the one load; the loader runs once. A caller that waited for a
  /// load that found nothing (optionally_get_with's std::nullopt, a get_all key its batch
  /// did not find) then runs its own loader, or waits for a load of the key that another
  /// caller began meanwhile (and so on, as long as such loads find nothing). An exception
  /// from the loader reaches every waiter and nothing is cached. The listener's and the
  /// clock's exceptions from the maintenance the load runs reach this caller only, after the
  /// value is stored and handed to the waiters. A loader that calls get_with (or
  /// optionally_get_with, get_all) for the key it is loading gets std::logic_error instead of
  /// a deadlock. A value the weigher finds heavier than max_capacity is not stored: every
  /// waiter gets std::invalid_argument (the loader's call still counts as a load). A hit
  /// allocates nothing; a load allocates the coalescing record, its node in the shard's map
  /// of loads in flight (with a copy of the key) and the entry.
  template <class Loader>
  requires(std::same_as<std::invoke_result_t<Loader&>, V> ||
           std::constructible_from<V, std::invoke_result_t<Loader&>>) value_ptr
      get_with(const K& key, Loader loader) {
    if (value_ptr hit = get(key)) return hit;
    for (;;) {
      value_ptr got = load(key, [&](loader_call& call) -> std::optional<entry_ptr> {
        // The loader's result initialises the entry's value directly (for a V returned by
        // value: no copy, no move, no V left to destroy while the key is in flight); the
        // entry's memory is allocated first, so the loader is not called without it.
        auto invoke = [&]() -> decltype(auto) {
          struct on_return {
            loader_call& call;
            int unwinding = std::uncaught_exceptions();
            ~on_return() { call.returned = std::uncaught_exceptions() == unwinding; }
          } mark{call};
          call.called = true;
          return loader();
        };
        return make_entry(key, value_of_call{}, invoke);
      });
      if (got) return got;
      // Only a wait can end without a value: for another caller's load that found nothing
      // (optionally_get_with's std::nullopt, or a get_all whose batch function did not find
      // the key). This caller's loader then gets its turn.
    }
  }

  /// Like get_with for a loader returning `std::optional<V>`: nothing is cached for
  /// std::nullopt, and the caller and every optionally_get_with or get_all waiter get
  /// nullptr (a get_with waiter then runs its own loader).
  template <class Loader>
  requires std::same_as<std::remove_cvref_t<std::invoke_result_t<Loader&>>, std::optional<V>>
      value_ptr optionally_get_with(const K& key, Loader loader) {
    if (value_ptr hit = get(key)) return hit;
    return load(key, [&](loader_call& call) -> std::optional<entry_ptr> {
      call.called = true;
      std::optional<V> v = loader();
      call.returned = true;
      if (!v) return std::nullopt;
      return make_entry(key, std::move(*v));
    });
  }

  /// Returns the values of `keys` in order (nullptr for a key the batch function did not
  /// find, and for a key whose load by another caller found nothing): the hits from the
  /// cache, the misses loaded by `batch(std::span<const K>)` (the batch-function contract of
  /// frugal/batch.hpp) with distinct keys, split into calls of at most `max_batch` keys. Keys
  /// another thread is loading are waited for, not loaded again, and concurrent get_with
  /// calls wait for this call's loads. Allocates the result, the list of missing keys and,
  /// per loaded key, one coalescing record, its node in the shard's map of loads in flight and
  /// one entry. Throws std::logic_error when `batch` returns another number of results than
  /// keys (naming both), and what `batch` throws (the keys of that batch call and of the
  /// calls it would have made after then fail for their waiters; those of the calls before
  /// are stored and theirs); the same for what Hash or Eq throw on its keys and for
  /// std::logic_error when one of them is a key this thread is loading (the loads registered
  /// before are failed, not left waiting).
  template <class Batch>
  requires batch_function<Batch, K, V> std::vector<value_ptr> get_all(std::span<const K> keys,
                                                                      Batch batch) {
    std::vector<value_ptr> out(keys.size());
    std::vector<std::pair<std::size_t, std::shared_ptr<load_state>>> waits;
    std::vector<std::size_t> owned;  // positions in keys of the keys this call loads
    const void* tag = &owned;
#if FRUGAL_HAS_EXCEPTIONS
    // Hash, Eq, a copy of K or an allocation may throw, or a key may be one this thread is
    // loading: the loads this loop registered are then failed, not left in flight.
    try {
#endif
      for (std::size_t i = 0; i < keys.size(); ++i) {
        if ((out[i] = get(keys[i]))) continue;
        const std::uint64_t h = hash_of(keys[i]);
        shard& s = shard_for(h);
        shard_write_lock lock(*this, s);
        if (slot* sl = s.find(h, keys[i], eq_); sl && live(*sl->e)) {
          out[i] = value_ptr(sl->e, &sl->e->value);
          continue;
        }
        auto it = s.loading.find(keys[i]);
        if (it != s.loading.end()) {
          if (it->second->tag != tag && it->second->owner == std::this_thread::get_id()) {
            throw_reentrant();
          }
          waits.emplace_back(i, it->second);
          continue;
        }
        auto st = std::make_shared<load_state>();
        st->tag = tag;
        s.loading.emplace(keys[i], st);
        waits.emplace_back(i, std::move(st));
        owned.push_back(i);
      }
#if FRUGAL_HAS_EXCEPTIONS
    } catch (...) {
      fail_tagged_loads(tag, std::current_exception());
      throw;
    }
#endif
    if (!owned.empty()) load_batches(keys, owned, batch);
    for (auto& [i, st] : waits) out[i] = st->wait();
    return out;
  }

  /// Runs the maintenance now, waiting for the policy mutex: applies the queued writes and
  /// reads, removes expired entries, evicts down to the capacity, frees the entries retired
  /// before, after releasing the policy mutex, and tells the listener. Called from the
  /// destructor of a value this cache is freeing, it frees nothing; and an entry that another
  /// thread's maintenance took may still be being freed by that thread when this returns.
  /// Afterwards entry_count() and weighted_size() are exact and within the bound (until the
  /// next write). Throws what the listener and the clock throw, and std::bad_alloc (the next
  /// maintenance then goes on where it stopped).
  void run_pending_tasks() {
    then_deliver([&] {
      for (int pass = 0; pass < 2; ++pass) {
        // The second pass frees what the first retired: nothing of it can be in a read
        // buffer then.
        free_on_exit freer(*this);
        auto lock = lock_policy();
        maintain_locked(freer);
      }
    });
  }

  /// Returns the number of entries as of the last maintenance (exact after
  /// run_pending_tasks()). O(1), never allocates.
  std::uint64_t entry_count() const noexcept { return count_.load(std::memory_order_relaxed); }

  /// Returns the total weight of the entries (their number without a weigher) as of the last
  /// maintenance. O(1), never allocates.
  std::uint64_t weighted_size() const noexcept { return weight_.load(std::memory_order_relaxed); }

  /// Returns the counts so far. O(shards); never allocates. Hits and misses are summed from
  /// per-stripe counters without a lock, so a snapshot taken while other threads read may
  /// lag by their latest lookups.
  cache_stats stats() const noexcept {
    cache_stats s;
    for (std::size_t i = 0; i < stripe_count_; ++i) {
      // Every hit either advanced a stripe's head (its read was recorded) or was dropped.
      const stripe& st = stripes_[i];
      s.hits += st.head.load(std::memory_order_relaxed) +
                st.dropped.load(std::memory_order_relaxed) +
                st.unclaimed_dropped.load(std::memory_order_relaxed);
      s.misses += st.misses.load(std::memory_order_relaxed) +
                  st.unclaimed_misses.load(std::memory_order_relaxed);
    }
    s.loads = loads_.load(std::memory_order_relaxed);
    s.load_failures = load_failures_.load(std::memory_order_relaxed);
    s.total_load_time = std::chrono::nanoseconds(load_ns_.load(std::memory_order_relaxed));
    s.evicted_size = removals_[0].load(std::memory_order_relaxed);
    s.evicted_expired = removals_[1].load(std::memory_order_relaxed);
    s.replaced = removals_[2].load(std::memory_order_relaxed);
    s.invalidated = removals_[3].load(std::memory_order_relaxed);
    return s;
  }

  /// Returns the bound given at construction.
  std::uint64_t max_capacity() const noexcept { return options_.max_capacity; }

  /// Returns the policy's region sizes (`capacity`, `window`, `protected_`, in that order),
  /// for tuning and tests.
  detail::cache::region_sizes policy_sizes() const {
    auto lock = lock_policy();
    return policy_.sizes();
  }

 private:
  struct slot {
    std::uint64_t hash = 0;
    entry_ptr e;
  };

  struct load_state {
    std::mutex m;
    std::condition_variable cv;
    bool done = false;
    value_ptr value;
#if FRUGAL_HAS_EXCEPTIONS
    std::exception_ptr error;
#endif
    std::thread::id owner = std::this_thread::get_id();
    const void* tag = nullptr;

    void finish(value_ptr v) {
      {
        std::lock_guard lock(m);
        value = std::move(v);
        done = true;
      }
      cv.notify_all();
    }
#if FRUGAL_HAS_EXCEPTIONS
    void fail(std::exception_ptr e) {
      {
        std::lock_guard lock(m);
        error = std::move(e);
        done = true;
      }
      cv.notify_all();
    }
#endif
    value_ptr wait() {
      std::unique_lock lock(m);
      cv.wait(lock, [&] { return done; });
#if FRUGAL_HAS_EXCEPTIONS
      if (error) std::rethrow_exception(error);
#endif
      return value;
    }
  };

  // One shard: an open-addressing table (linear probing, backward-shift deletion) of slots,
  // and the loads in flight for its keys.
  struct alignas(64) shard {
    mutable detail::cache::rw_lock lock;
    std::unique_ptr<slot[]> slots;
    std::size_t mask = 0;
    std::size_t size = 0;
    std::unordered_map<K, std::shared_ptr<load_state>, Hash, Eq> loading;

    template <class Q>
    slot* find(std::uint64_t h, const Q& key, const Eq& eq) const {
      if (!slots) return nullptr;
      for (std::size_t i = h & mask;; i = (i + 1) & mask) {
        slot& s = slots[i];
        if (!s.e) return nullptr;
        if (s.hash == h && eq(s.e->key, key)) return &s;
      }
    }
    slot* find_entry(const entry* e) const {
      if (!slots) return nullptr;
      for (std::size_t i = e->hash & mask;; i = (i + 1) & mask) {
        slot& s = slots[i];
        if (!s.e) return nullptr;
        if (s.e.get() == e) return &s;
      }
    }
    // Makes room for one more slot (doubling at 3/4 full); may throw std::bad_alloc.
    void reserve_one() {
      if (slots && (size + 1) * 4 <= (mask + 1) * 3) return;
      const std::size_t n = slots ? (mask + 1) * 2 : 8;
      auto fresh = std::make_unique<slot[]>(n);
      for (std::size_t i = 0; slots && i <= mask; ++i) {
        if (!slots[i].e) continue;
        std::size_t j = slots[i].hash & (n - 1);
        while (fresh[j].e) j = (j + 1) & (n - 1);
        fresh[j] = std::move(slots[i]);
      }
      slots = std::move(fresh);
      mask = n - 1;
    }
    void put(std::uint64_t h, entry_ptr e) noexcept {
      std::size_t i = h & mask;
      while (slots[i].e) i = (i + 1) & mask;
      slots[i].hash = h;
      slots[i].e = std::move(e);
      ++size;
    }
    entry_ptr take(slot* s) noexcept {
      entry_ptr out = std::move(s->e);
      out->removed.store(true, std::memory_order_relaxed);
      std::size_t i = static_cast<std::size_t>(s - slots.get());
      for (std::size_t j = (i + 1) & mask; slots[j].e; j = (j + 1) & mask) {
        if (detail::cache::stays_after_backward_shift(i, j, slots[j].hash & mask)) continue;
        slots[i] = std::move(slots[j]);
        i = j;
      }
      slots[i].e.reset();
      slots[i].hash = 0;
      --size;
      return out;
    }
  };

  // One stripe of the read buffer, used by the threads whose number maps to it. A reader
  // claims the stripe by writing its shard's number + 1 into `reader` (0: free); while it
  // holds the claim, writers of that shard wait for it (lock_shard), so the reader needs no
  // shard lock, and it is the only thread that pushes to `ring`, a single-producer ring of
  // the entries recent reads hit (the policy mutex's holder consumes it). A reader that finds
  // the stripe claimed by another thread of the same stripe takes the shard's read lock and
  // does not record its read. `head` counts the recorded hits and `dropped` the others;
  // `misses` the misses. Those three are written by the claim's holder only, with a plain
  // load and store (no locked instruction on the read path); a reader without the claim
  // counts its misses and hits in the `unclaimed_` counters, with an atomic add.
  struct alignas(64) stripe {
    static constexpr std::uint64_t capacity = 64;
    std::atomic<std::uint32_t> reader{0};
    std::atomic<std::uint64_t> head{0};
    std::atomic<std::uint64_t> dropped{0};
    std::atomic<std::uint64_t> misses{0};
    std::atomic<std::uint64_t> unclaimed_dropped{0};
    std::atomic<std::uint64_t> unclaimed_misses{0};
    alignas(64) std::atomic<std::uint64_t> tail{0};
    std::atomic<entry*> ring[capacity] = {};
  };

  struct event {
    entry_ptr e;
    removal_cause cause;
    bool added;
  };

  static void check_duration(const std::optional<std::chrono::nanoseconds>& d, const char* name) {
    if (d && d->count() < 0) {
      FRUGAL_THROW(std::invalid_argument(std::string("cache: ") + name +
                                         " must not be negative, got " +
                                         std::to_string(d->count()) + " ns"));
    }
  }

  [[noreturn]] FRUGAL_COLD static void throw_reentrant() {
    FRUGAL_THROW(std::logic_error(
        "cache: a load asked for a key that its own thread is loading (a loader, batch function, "
        "listener or destructor calling get_with, optionally_get_with or get_all)"));
  }

  template <class Q>
  std::uint64_t hash_of(const Q& key) const {
    return detail::cache::mix(static_cast<std::uint64_t>(hash_(key)));
  }
  std::size_t shard_index(std::uint64_t h) const noexcept {
    return shard_count_ == 1 ? 0 : static_cast<std::size_t>(h >> shard_shift_);
  }
  shard& shard_for(std::uint64_t h) const noexcept { return shards_[shard_index(h)]; }

  // Takes a shard's write lock and waits until no fast reader holds a claim on it (see
  // lookup). O(stripes).
  void lock_shard(shard& s) const noexcept {
    s.lock.lock();
    const auto claim = static_cast<std::uint32_t>(&s - shards_.get()) + 1;
    for (const stripe *st = stripes_.get(), *end = st + stripe_count_; st != end; ++st) {
      if (st->reader.load(std::memory_order_seq_cst) == claim) [[unlikely]] wait_for(*st, claim);
    }
  }
  // Waits until a reader's claim on a stripe is no longer `claim` (lock_shard).
  FRUGAL_NOINLINE static void wait_for(const stripe& st, std::uint32_t claim) noexcept {
    for (unsigned spins = 0; st.reader.load(std::memory_order_seq_cst) == claim; ++spins) {
      if (spins > 16) std::this_thread::yield();
    }
  }
  // Holds a shard's write lock (lock_shard) for a scope: released on every way out,
  // exceptions from Hash, Eq or an allocation included.
  class shard_write_lock {
   public:
    shard_write_lock(const cache& c, shard& s) noexcept : s_(s) { c.lock_shard(s); }
    ~shard_write_lock() {
      if (held_) s_.lock.unlock();
    }
    shard_write_lock(const shard_write_lock&) = delete;
    shard_write_lock& operator=(const shard_write_lock&) = delete;
    void unlock() noexcept {
      s_.lock.unlock();
      held_ = false;
    }

   private:
    shard& s_;
    bool held_ = true;
  };

  // Takes a load's record out of its shard's in-flight loads, found by identity: no Hash or
  // Eq runs, so it cannot throw (an error path must not). O(loads in flight in the shard).
  static void forget_load(shard& s, const load_state* st) noexcept {
    for (auto it = s.loading.begin(); it != s.loading.end(); ++it) {
      if (it->second.get() == st) {
        s.loading.erase(it);
        return;
      }
    }
  }

#if FRUGAL_HAS_EXCEPTIONS
  // Fails every load of a get_all call (`tag`) still in flight: each waiter gets `error`, and
  // the keys can be loaded again. Runs no Hash or Eq. O(shards + loads in flight).
  void fail_tagged_loads(const void* tag, const std::exception_ptr& error) noexcept {
    for (std::size_t i = 0; i < shard_count_; ++i) {
      shard& s = shards_[i];
      shard_write_lock lock(*this, s);
      for (auto it = s.loading.begin(); it != s.loading.end();) {
        if (it->second->tag == tag) {
          it->second->fail(error);
          it = s.loading.erase(it);
        } else {
          ++it;
        }
      }
    }
  }
#endif

  // This thread's stripe number (modulo the stripe count). Threads start on consecutive
  // numbers; a thread that finds its stripe claimed by another thread moves to another
  // stripe (lookup), as Java's Striped64 moves a contended thread to another cell: two busy
  // threads that started on one stripe (thread numbers equal modulo the count) would
  // otherwise fight over its claim on every read.
  static std::uint32_t& stripe_number() noexcept {
    static std::atomic<std::uint32_t> next{0};
    thread_local std::uint32_t number = next.fetch_add(1, std::memory_order_relaxed);
    return number;
  }
  stripe& my_stripe() const noexcept { return stripes_[stripe_number() & (stripe_count_ - 1)]; }

  // The clock's time in nanoseconds, below `never` (a deadline that saturated to `never`
  // stays in the future, for reads as for the timer wheel). Out of line: a clock read costs
  // more than the call, and the reads that inline it stay small enough to be inlined.
  FRUGAL_NOINLINE std::int64_t now_ns() const {
    const auto t = options_.clock ? options_.clock() : std::chrono::steady_clock::now();
    return std::min<std::int64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count(),
        detail::cache::never - 1);
  }
  std::int64_t deadline_of(const entry& e) const noexcept {
    if (tti_ == detail::cache::never) return e.write_deadline;
    return std::min(e.write_deadline, detail::cache::saturating_add(
                                          e.last_access.load(std::memory_order_relaxed), tti_));
  }
  bool live(const entry& e) const { return !has_expiry_ || deadline_of(e) > now_ns(); }

  // Moves an entry's last access forward to `now`, never back: a reader that read the clock
  // before another one stores after it must not shorten the idle deadline. Writes the shared
  // line only when the time moved.
  static void touch(entry& e, std::int64_t now) noexcept {
    std::int64_t seen = e.last_access.load(std::memory_order_relaxed);
    while (seen < now &&
           !e.last_access.compare_exchange_weak(seen, now, std::memory_order_relaxed)) {
    }
  }

  // The read path of get and visit. The fast way: claim this thread's stripe for the key's
  // shard (one atomic compare-exchange on a line no other thread writes while this one reads),
  // check that no writer holds the shard, look up and record the hit in the stripe's ring
  // with plain stores. A writer sets its lock bit before it waits for the claims of its shard
  // (lock_shard), and a reader claims before it checks the bit: both are sequentially
  // consistent, so either the reader sees the writer and backs off, or the writer sees the
  // claim and waits. When the stripe is taken (another thread of the same stripe is reading;
  // this thread then moves to the next stripe) or a writer holds the shard, the shard's read
  // lock is taken instead.
  template <class Q, class Use>
  bool lookup(const Q& key, Use&& use) const {
    const std::uint64_t h = hash_of(key);
    const std::size_t index = shard_index(h);
    const shard& s = shards_[index];
    stripe& st = my_stripe();
    const std::int64_t now = has_expiry_ ? now_ns() : 0;
    std::uint32_t free_claim = 0;
    if (st.reader.compare_exchange_strong(free_claim, static_cast<std::uint32_t>(index) + 1,
                                          std::memory_order_seq_cst)) {
      if (!s.lock.writer_active()) {
        // Releases the claim on every way out, then drains the ring if this read found it
        // full or filled it: no claim is held during a drain, so a writer of the shard never
        // waits for one (nor for a reader preempted in one).
        struct release_on_exit {
          const cache& c;
          stripe& st;
          bool full = false;
          ~release_on_exit() {
            st.reader.store(0, std::memory_order_release);
            if (full) c.drain_reads_if_free(st);
          }
        } guard{*this, st};
        return find_and_use<true>(s, st, h, key, now, use, guard.full);
      }
      st.reader.store(0, std::memory_order_release);
    } else {
      ++stripe_number();  // another thread holds this stripe: use the next one from now on
    }
    s.lock.lock_shared();
    struct unlock_on_exit {
      const shard& s;
      ~unlock_on_exit() { s.lock.unlock_shared(); }
    } guard{s};
    bool unused = false;
    return find_and_use<false>(s, st, h, key, now, use, unused);
  }

  // Looks `key` up and hands a live entry to `use`; sets `full` when the stripe's ring is
  // full after recording the hit (see record_hit).
  template <bool Claimed, class Q, class Use>
  bool find_and_use(const shard& s, stripe& st, std::uint64_t h, const Q& key, std::int64_t now,
                    Use& use, bool& full) const {
    const slot* sl = s.find(h, key, eq_);
    if (sl == nullptr || (has_expiry_ && deadline_of(*sl->e) <= now)) {
      if constexpr (Claimed) {
        bump(st.misses);
      } else {
        st.unclaimed_misses.fetch_add(1, std::memory_order_relaxed);
      }
      return false;
    }
    entry* e = sl->e.get();
    if (tti_ != detail::cache::never) touch(*e, now);
    // The hit is counted (and recorded) before `use` runs, so a `visit` whose `f` throws
    // still counts as the hit it was.
    full = record_hit<Claimed>(st, e);
    use(sl->e);
    return true;
  }

  // Records a hit while the entry is in the table (see drain_reads); returns true when the
  // ring is full: the reader then drains it, its claim released, when the policy mutex is free
  // and no thread waits for it (lookup). A read that finds the ring full (its last drain found
  // the mutex taken or waited for, or another thread of the stripe filled it and has not
  // drained it yet), or that has no claim, is dropped and counted as a dropped hit; on one
  // thread no read is dropped.
  // The reader drains its own ring only: the other rings' lines stay with their readers (a
  // reader that drained every ring took them from the other cores at every drain), and wait
  // for their own readers or for the next maintenance.
  template <bool Claimed>
  bool record_hit(stripe& st, entry* e) const noexcept {
    if constexpr (Claimed) {
      const std::uint64_t head = st.head.load(std::memory_order_relaxed);
      const std::uint64_t used = head - st.tail.load(std::memory_order_acquire);
      if (used < stripe::capacity) {
        st.ring[head & (stripe::capacity - 1)].store(e, std::memory_order_relaxed);
        st.head.store(head + 1, std::memory_order_release);
        return used + 1 == stripe::capacity;
      }
      bump(st.dropped);
      return true;
    } else {
      st.unclaimed_dropped.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
  }

  // Adds 1 to a counter that only the holder of its stripe's claim writes.
  static void bump(std::atomic<std::uint64_t>& counter) noexcept {
    counter.store(counter.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }

  template <class KK, class... Args>
  entry_ptr make_entry(KK&& key, Args&&... value) {
    entry_ptr e = std::make_shared<entry>(std::forward<KK>(key), std::forward<Args>(value)...);
    e->hash = hash_of(e->key);
    if (options_.weigher) {
      const std::uint32_t w = options_.weigher(e->key, e->value);
      if (w > options_.max_capacity && options_.max_capacity != 0) {
        FRUGAL_THROW(std::invalid_argument("cache: the weigher returned " + std::to_string(w) +
                                           ", more than max_capacity " +
                                           std::to_string(options_.max_capacity)));
      }
      e->weight = w;
    }
    if (has_expiry_) {
      const std::int64_t now = now_ns();
      std::int64_t ttl = ttl_;
      if (options_.expire_after_write) {
        if (auto d = options_.expire_after_write(e->key, e->value)) {
          if (d->count() < 0) {
            FRUGAL_THROW(
                std::invalid_argument("cache: expire_after_write returned a negative duration, " +
                                      std::to_string(d->count()) + " ns"));
          }
          ttl = d->count();
        }
      }
      e->write_deadline =
          ttl == detail::cache::never ? ttl : detail::cache::saturating_add(now, ttl);
      e->last_access.store(now, std::memory_order_relaxed);
    }
    return e;
  }

  // What a store (or an invalidate) leaves for its caller to do once the change is made and
  // the load it ends (if any) is finished: with a zero capacity, telling the listener of the
  // entry not kept; after a maintenance run to empty a full write buffer, delivering that
  // maintenance's notifications. finish_store does it, after the waiters have their value,
  // so that a throwing listener reaches the caller only, with its change done.
  struct after_store {
    entry_ptr unstored;
    bool deliver = false;
  };

  // Delivers the notifications of a maintenance run for a write buffer (`armed`) when the
  // change that needed the room throws (Hash, Eq, an allocation) and so never reaches
  // finish_store; the listener's exceptions are then dropped for the change's own.
  class deliver_on_throw {
   public:
    deliver_on_throw(cache& c, const bool& armed) noexcept : c_(c), armed_(armed) {}
    ~deliver_on_throw() {
      if (!released_ && armed_) c_.deliver_quietly();
    }
    deliver_on_throw(const deliver_on_throw&) = delete;
    deliver_on_throw& operator=(const deliver_on_throw&) = delete;
    void release() noexcept { released_ = true; }

   private:
    cache& c_;
    const bool& armed_;
    bool released_ = false;
  };

  // Tells the listener of a value a zero capacity did not store (there must be a listener).
  void tell_unstored(const entry_ptr& e) {
    options_.eviction_listener(e->key, value_ptr(e, &e->value), removal_cause::size);
  }

  // Does what a store left to do (after_store), with `held` (what a stretch holding loads
  // kept, see holding_loads); throws what the listener throws.
  void finish_store(after_store& todo, std::vector<event> held) {
    entry_ptr unstored = std::move(todo.unstored);
    if (!options_.eviction_listener) return;
    if (std::exchange(todo.deliver, false) || unstored || !held.empty()) {
      deliver(std::move(held), std::move(unstored));
    }
  }
  // The same with nothing held (a store outside a load), without a vector to pass.
  void finish_store(after_store& todo) {
    entry_ptr unstored = std::move(todo.unstored);
    if (!options_.eviction_listener) return;
    if (std::exchange(todo.deliver, false) || unstored) {
      deliver(std::vector<event>{}, std::move(unstored));
    }
  }

  // Runs a maintenance to make room in the write buffer for a change, and leaves its
  // notifications for the change's caller (finish_store). When the maintenance itself fails
  // (std::bad_alloc), delivers them and rethrows, as then_deliver does.
  FRUGAL_NOINLINE void empty_write_buffer() {
#if FRUGAL_HAS_EXCEPTIONS
    try {
#endif
      free_on_exit freer(*this);
      auto lock = lock_policy();
      maintain_locked(freer);
#if FRUGAL_HAS_EXCEPTIONS
    } catch (...) {
      deliver_quietly();
      throw;
    }
#endif
  }

  // With a shard's write lock and the write buffer's mutex held: true when the buffer has
  // room for `events` more; otherwise releases both, empties the buffer (its notifications
  // left in `todo`, see empty_write_buffer) and returns false: the caller takes them again.
  bool room_for(std::size_t events, shard_write_lock& lock, std::unique_lock<std::mutex>& buffer,
                after_store& todo) {
    if (events_.size() + events <= options_.write_buffer) return true;
    buffer.unlock();
    lock.unlock();
    empty_write_buffer();
    todo.deliver = true;
    return false;
  }

  // Puts `e` in its shard, replacing any entry of the same key, and queues the events; when
  // `loaded` is given, also ends that load (under the same lock, so a caller either waits for
  // the load or sees its value). Every Hash and Eq call (the table's lookup, the load's
  // record) comes before the first change: one that throws leaves nothing stored and the load
  // in flight, for the caller to fail. Returns what the caller still has to do (finish_store).
  [[nodiscard]] after_store store(entry_ptr e, const K* loaded) {
    const std::uint64_t h = e->hash;
    shard& s = shard_for(h);
    after_store todo;
    if (options_.max_capacity == 0) {
      {
        shard_write_lock lock(*this, s);
        if (loaded != nullptr) s.loading.erase(*loaded);
      }
      removals_[0].fetch_add(1, std::memory_order_relaxed);
      todo.unstored = std::move(e);
      return todo;
    }
    deliver_on_throw unwinding(*this, todo.deliver);
    for (;;) {
      shard_write_lock lock(*this, s);
      std::unique_lock buffer(events_mutex_);
      if (!room_for(2, lock, buffer, todo)) continue;
      const auto in_flight = loaded != nullptr ? s.loading.find(*loaded) : s.loading.end();
      if (slot* old = s.find(h, e->key, eq_)) {
        const bool expired = !live(*old->e);
        old->e->removed.store(true, std::memory_order_relaxed);
        events_.push_back(
            {std::move(old->e), expired ? removal_cause::expired : removal_cause::replaced, false});
        old->e = e;
      } else {
        s.reserve_one();
        s.put(h, e);
      }
      events_.push_back({std::move(e), removal_cause::size, true});
      if (in_flight != s.loading.end()) s.loading.erase(in_flight);  // cannot throw
      unwinding.release();
      return todo;
    }
  }

  template <class Make>
  value_ptr load(const K& key, Make make) {
    const std::uint64_t h = hash_of(key);
    shard& s = shard_for(h);
    std::shared_ptr<load_state> st;
    bool owner = false;
    {
      shard_write_lock lock(*this, s);
      if (slot* sl = s.find(h, key, eq_); sl && live(*sl->e))
        return value_ptr(sl->e, &sl->e->value);
      auto it = s.loading.find(key);
      if (it != s.loading.end()) {
        if (it->second->owner == std::this_thread::get_id()) throw_reentrant();
        st = it->second;
      } else {
        st = s.loading.emplace(key, std::make_shared<load_state>()).first->second;
        owner = true;
      }
    }
    if (!owner) return st->wait();
    const auto start = std::chrono::steady_clock::now();
    // Each loader call counts once: a load when it returned (even if its value could not be
    // stored), a failure when it threw; no call (memory ran out first), nothing.
    [[maybe_unused]] loader_call call;
    [[maybe_unused]] bool counted = false;
    // Until its waiters have the value (or the failure), this thread holds the load: what the
    // loader's own writes and the store leave for the listener, and the values they retire,
    // wait for the load's end (holding_loads).
    typename free_on_exit::holding_loads holding(*this);
#if FRUGAL_HAS_EXCEPTIONS
    try {
#endif
      std::optional<entry_ptr> made = make(call);
      count_load(start, true);
      counted = true;
      value_ptr out;
      after_store todo;
      if (made) {
        out = value_ptr(*made, &(*made)->value);
        todo = store(std::move(*made), &key);
      } else {
        shard_write_lock lock(*this, s);
        s.loading.erase(key);
      }
      st->finish(out);
      // The waiters have the value: a listener's throw reaches this caller.
      finish_store(todo, holding.end());
      after_write();
      return out;
#if FRUGAL_HAS_EXCEPTIONS
    } catch (...) {
      std::vector<event> held = holding.end();
      if (!st->done) {
        if (!counted && call.called) count_load(start, call.returned);
        {
          shard_write_lock lock(*this, s);
          forget_load(s, st.get());
        }
        st->fail(std::current_exception());
        // What the loader's writes and a store's maintenance removed before the throw.
        deliver_quietly(std::move(held));
      }
      throw;
    }
#endif
  }

  template <class Batch>
  void load_batches(std::span<const K> keys, const std::vector<std::size_t>& owned, Batch& batch) {
    std::size_t done = 0;  // owned keys finished (loaded or failed)
    auto start = std::chrono::steady_clock::now();
    // Until every key is finished, this thread holds the ones not finished yet
    // (holding_loads): what the batch function's own writes and the stores leave for the
    // listener, and the values they retire, wait until then.
    typename free_on_exit::holding_loads holding(*this);
    std::vector<entry_ptr> unstored;  // a zero capacity's values, told at the end
    bool to_deliver = false;
    // A batch call is under way (it counts once: a load when it returned, even if taking its
    // results out then threw, a failure when it threw or returned another number of results),
    // and whether it returned.
    [[maybe_unused]] bool in_call = false;
    [[maybe_unused]] bool returned = false;
#if FRUGAL_HAS_EXCEPTIONS
    try {
#endif
      // Reserved before any batch call, so that a call that returned is a load.
      std::vector<K> chunk;
      chunk.reserve(std::min(owned.size(), options_.max_batch));
      if (options_.max_capacity == 0 && options_.eviction_listener) unstored.reserve(owned.size());
      while (done < owned.size()) {
        const std::size_t n = std::min(owned.size() - done, options_.max_batch);
        chunk.clear();
        for (std::size_t i = 0; i < n; ++i) chunk.push_back(keys[owned[done + i]]);
        start = std::chrono::steady_clock::now();
        in_call = true;
        returned = false;
        auto&& results = batch(std::span<const K>(chunk));
        returned = true;
        // A forward range (batch_function): counted first (no result taken), then each result
        // taken out and stored in turn, so that a move or copy of V that throws fails its key
        // and the ones after it, not the ones before.
        const auto got = static_cast<std::size_t>(std::ranges::distance(results));
        in_call = false;
        count_load(start, got == n);
        if (got != n) detail::throw_result_count("cache::get_all", got, n);
        for (auto&& r : results) {
          std::optional<V> value(detail::element_of<decltype(results)>(r));
          after_store todo = finish_owned(keys[owned[done]], value);
          ++done;
          if (todo.unstored && options_.eviction_listener) {
            unstored.push_back(std::move(todo.unstored));  // reserved above: cannot throw
          }
          to_deliver = to_deliver || todo.deliver;
        }
      }
#if FRUGAL_HAS_EXCEPTIONS
    } catch (...) {
      std::vector<event> held = holding.end();
      if (in_call) count_load(start, returned);
      // The keys not finished yet are the call's loads still in flight (get_all's tag).
      fail_tagged_loads(&owned, std::current_exception());
      // What the finished keys' stores did is still told; the failure is what propagates.
      for (const entry_ptr& e : unstored) {
        try {
          tell_unstored(e);
        } catch (...) {
        }
      }
      unstored.clear();
      deliver_quietly(std::move(held));
      throw;
    }
#endif
    std::vector<event> held = holding.end();
    to_deliver = to_deliver || !held.empty();
    // Every key is finished and its waiters have their value: the listener is told of what
    // the stores and the batch function's own writes did, and its first exception reaches
    // this caller after all of it.
#if FRUGAL_HAS_EXCEPTIONS
    std::exception_ptr told;
    for (const entry_ptr& e : unstored) {
      try {
        tell_unstored(e);
      } catch (...) {
        if (!told) told = std::current_exception();
      }
    }
    unstored.clear();
    try {
      if (to_deliver) deliver(std::move(held));
    } catch (...) {
      if (!told) told = std::current_exception();
    }
    after_write();
    if (told) std::rethrow_exception(told);
#else
    for (const entry_ptr& e : unstored) tell_unstored(e);
    unstored.clear();
    if (to_deliver) deliver(std::move(held));
    after_write();
#endif
  }

  // Ends one owned load of a get_all with its value (or none); returns what the store left
  // to do (finish_store).
  [[nodiscard]] after_store finish_owned(const K& key, std::optional<V>& value) {
    const std::uint64_t h = hash_of(key);
    shard& s = shard_for(h);
    std::shared_ptr<load_state> st;
    {
      shard_write_lock lock(*this, s);
      st = s.loading.find(key)->second;
    }
    value_ptr out;
    after_store todo;
    if (value) {
      entry_ptr e = make_entry(key, std::move(*value));
      out = value_ptr(e, &e->value);
      todo = store(std::move(e), &key);
    } else {
      shard_write_lock lock(*this, s);
      s.loading.erase(key);
    }
    st->finish(std::move(out));
    return todo;
  }

  void count_load(std::chrono::steady_clock::time_point start, bool ok) noexcept {
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                        std::chrono::steady_clock::now() - start)
                        .count();
    load_ns_.fetch_add(static_cast<std::uint64_t>(std::max<std::int64_t>(ns, 0)),
                       std::memory_order_relaxed);
    (ok ? loads_ : load_failures_).fetch_add(1, std::memory_order_relaxed);
  }

  // --- maintenance (policy_mutex_ held) ---

  void after_write() {
    if (!policy_mutex_.try_lock()) return;
    then_deliver([&] {
      free_on_exit freer(*this);
      std::unique_lock lock(policy_mutex_, std::adopt_lock);
      maintain_locked(freer);
    });
  }

  // Runs `maintain` (which takes and releases the policy mutex), then tells the listener what
  // it removed, also when it threw (std::bad_alloc part-way): every removal the statistics
  // count is told. Its exception then propagates; one from the listener is dropped.
  template <class Maintain>
  void then_deliver(Maintain maintain) {
#if FRUGAL_HAS_EXCEPTIONS
    try {
      maintain();
    } catch (...) {
      deliver_quietly();
      throw;
    }
#else
    maintain();
#endif
    deliver();
  }

  // Retired entries on their way out: a maintenance hands them to a slot that no thread is
  // freeing (maintain_locked), and its caller frees them after releasing the policy mutex.
  // The vector keeps its capacity across uses.
  struct free_slot {
    std::vector<entry_ptr> entries;
    std::atomic<bool> busy{false};
  };

  // Drops the cache's references to the entries that a maintenance handed over, with no lock
  // held: V's destructor runs here and may call this cache. A maintenance of this cache that
  // such a call runs (on the freeing thread) hands nothing over: its retired entries wait for
  // a later maintenance, so a destructor that inserts values whose destructors insert cannot
  // nest frees without end. Every other maintenance frees what it took, another cache's on
  // this thread included (a destructor of this cache's values that writes into a second
  // cache, which frees its own), so threads that write at once free at once and freeing keeps
  // up with writers however slow the destructor. Frees nest at most once per cache.
  // Declared before the policy lock in its scope, so that it runs after the unlock, on every
  // way out (a maintenance that throws has already handed the entries over).
  class free_on_exit {
   public:
    explicit free_on_exit(const cache& of) noexcept : of_(of) {}
    ~free_on_exit() { now(); }
    free_on_exit(const free_on_exit&) = delete;
    free_on_exit& operator=(const free_on_exit&) = delete;
    // Takes the entries of a slot (its vector already swapped with the retired ones).
    void arm(free_slot& to_free) noexcept {
      FRUGAL_ASSERT(slot_ == nullptr && spilled_.empty());
      slot_ = &to_free;
    }
    // Takes the retired entries themselves, when every slot is being freed (more threads
    // freeing at once than slots): the cache's vector then starts again without a buffer.
    void take(std::vector<entry_ptr>& retired) noexcept {
      FRUGAL_ASSERT(slot_ == nullptr && spilled_.empty());
      spilled_.swap(retired);
    }
    // Frees now (the policy mutex must be released), once.
    void now() noexcept {
      if (slot_ == nullptr && spilled_.empty()) return;
      freeing frame{&of_, innermost()};
      innermost() = &frame;
      spilled_.clear();
      if (slot_ != nullptr) {
        free_slot& to_free = *std::exchange(slot_, nullptr);
        to_free.entries.clear();
        to_free.busy.store(false, std::memory_order_release);
      }
      innermost() = frame.outer;
    }
    // Empties `batch` as a free of `c`'s entries: a notification can hold an entry's last
    // reference (a maintenance the listener ran, or another thread's, freed the cache's),
    // and a V destructor run here must not free more of `c` from its own calls into it.
    static void drop(const cache& c, std::vector<event>& batch) noexcept {
      freeing frame{&c, innermost()};
      innermost() = &frame;
      batch.clear();
      innermost() = frame.outer;
    }
    // Whether this thread is inside a free of `c`'s entries (or holds loads of `c`, which
    // defers its frees the same way).
    static bool freeing_of(const cache& c) noexcept {
      for (const freeing* f = innermost(); f != nullptr; f = f->outer) {
        if (f->of == &c) return true;
      }
      return false;
    }
    // When this thread holds loads of `c` that other threads may be waiting for, the
    // notifications its innermost such stretch keeps for its end (holding_loads); otherwise
    // nullptr.
    static std::vector<event>* held_notes_of(const cache& c) noexcept {
      for (freeing* f = innermost(); f != nullptr; f = f->outer) {
        if (f->of == &c && f->held_notes != nullptr) return f->held_notes;
      }
      return nullptr;
    }

   private:
    // The frees this thread is inside of, innermost first, on its stack: a plain thread-local
    // pointer (no destructor) per cache type. A frame is a free, or a stretch holding loads.
    struct freeing {
      const cache* of;
      freeing* outer;
      std::vector<event>* held_notes = nullptr;  // a stretch holding loads: what it keeps
    };
    static freeing*& innermost() noexcept {
      thread_local freeing* top = nullptr;
      return top;
    }

    const cache& of_;
    free_slot* slot_ = nullptr;
    std::vector<entry_ptr> spilled_;

   public:
    // Marks, until end() (or its destruction), a stretch in which this thread holds loads of
    // `c` that other threads may wait for: a load, from its start until its waiters have
    // their value or its failure, the loader's or batch function's own calls into the cache
    // included. The cache runs no user code there that could wait for a load, or two threads
    // could each wait for the other's key: the maintenances of `c` this thread runs hand
    // nothing over for freeing (no V destructor runs; a later maintenance frees), and the
    // notifications deliver() finds (and a zero capacity's) are kept by the stretch, for this
    // thread to deliver at its end (end() hands them out), after the loads.
    class holding_loads {
     public:
      explicit holding_loads(const cache& c) noexcept : frame_{&c, innermost(), &notes_} {
        innermost() = &frame_;
      }
      ~holding_loads() {
        std::vector<event> left = end();
        drop(*frame_.of, left);  // empty: every caller delivers what end() hands out
      }
      holding_loads(const holding_loads&) = delete;
      holding_loads& operator=(const holding_loads&) = delete;
      // Ends the stretch, once (stretches end innermost first); returns the notifications
      // kept for its end, for the caller to deliver.
      std::vector<event> end() noexcept {
        if (std::exchange(ended_, true)) return {};
        innermost() = frame_.outer;
        return std::move(notes_);
      }

     private:
      std::vector<event> notes_;
      freeing frame_;
      bool ended_ = false;
    };
  };

  // Takes the policy mutex, waiting for it. While a thread waits here, readers whose ring is
  // full leave the mutex alone (drain_reads_if_free), so a stream of reads, each thread
  // taking the mutex in turn with a try-lock, cannot keep a writer from it.
  std::unique_lock<std::mutex> lock_policy() const {
    struct count_waiter {
      std::atomic<std::uint32_t>& n;
      explicit count_waiter(std::atomic<std::uint32_t>& w) : n(w) {
        n.fetch_add(1, std::memory_order_relaxed);
      }
      ~count_waiter() { n.fetch_sub(1, std::memory_order_relaxed); }
    } waiting{policy_waiters_};
    return std::unique_lock<std::mutex>(policy_mutex_);
  }

  // Drains one stripe's ring when the policy mutex is free and no thread waits for it;
  // otherwise leaves the ring full.
  FRUGAL_NOINLINE void drain_reads_if_free(stripe& st) const noexcept {
    if (policy_waiters_.load(std::memory_order_relaxed) != 0 || !policy_mutex_.try_lock()) return;
    std::unique_lock lock(policy_mutex_, std::adopt_lock);
    drain_stripe(st);
  }

  // Applies every recorded read. A record is pushed while its entry is in the table, and an
  // entry is freed only by the maintenance after the one that took it out of the table,
  // after this drain: so every pointer found here is alive.
  void drain_reads() const {
    for (stripe *st = stripes_.get(), *end = st + stripe_count_; st != end; ++st) {
      // An empty ring (as most are, in a maintenance that a write runs) needs no call.
      if (st->head.load(std::memory_order_acquire) != st->tail.load(std::memory_order_relaxed)) {
        drain_stripe(*st);
      }
    }
  }

  // Applies the reads recorded in one stripe's ring (the policy mutex held).
  void drain_stripe(stripe& st) const noexcept {
    static_assert(stripe::capacity <= detail::cache::max_access_run);
    const std::uint64_t head = st.head.load(std::memory_order_acquire);
    const std::uint64_t tail = st.tail.load(std::memory_order_relaxed);
    policy_.on_accesses(static_cast<std::size_t>(head - tail),
                        [&](std::size_t i) -> detail::cache::policy_hook* {
                          // The head's release store published the cell.
                          entry* e = st.ring[(tail + i) & (stripe::capacity - 1)].load(
                              std::memory_order_relaxed);
                          return e->where != detail::cache::queue::none ? e : nullptr;
                        });
    st.tail.store(head, std::memory_order_release);
  }

  // Runs one maintenance. Hands the entries retired by earlier maintenances (no read buffer
  // can hold them after drain_reads) to `freer`, which frees them after the caller releases
  // the policy mutex: through a free slot, whose vector swaps buffers with retired_, so a
  // steady stream of evictions allocates nothing here; when every slot is being freed, the
  // vector itself (retired_ then grows a new buffer). On a thread that is freeing this
  // cache's entries (a call from their V's destructor) it hands nothing over (see
  // free_on_exit).
  void maintain_locked(free_on_exit& freer) {
    drain_reads();
    if (!retired_.empty() && !free_on_exit::freeing_of(*this)) {
      for (std::size_t i = 0; i < free_slot_count_; ++i) {
        free_slot& fs = free_slots_[i];
        // Acquire: the last freeing of this slot (its clear) is done.
        if (fs.busy.load(std::memory_order_acquire)) continue;
        retired_.swap(fs.entries);
        fs.busy.store(true, std::memory_order_relaxed);
        freer.arm(fs);
        break;
      }
      if (!retired_.empty()) freer.take(retired_);
    }
    apply_events();  // what a maintenance that failed left first, then the queued writes
    {
      std::lock_guard buffer(events_mutex_);
      draining_.swap(events_);
    }
    apply_events();
    if (has_expiry_) expire();
    while (detail::cache::policy_hook* victim = policy_.evict_one()) {
      evict(static_cast<entry*>(victim), removal_cause::size);
    }
    publish_sizes();
  }

  // Applies the queued events from draining_[drained_] on, each whole or, when the memory it
  // needs cannot be had (std::bad_alloc), not at all: that event and those after it stay for
  // the next maintenance, which applies them before any newer event.
  void apply_events() {
    for (; drained_ < draining_.size(); ++drained_) {
      event& ev = draining_[drained_];
      if (ev.added) {
        // An entry taken out of the table by invalidate_if before its event came is not linked.
        if (ev.e->removed.load(std::memory_order_relaxed)) continue;
        policy_.on_add(ev.e.get());
        if (has_expiry_) wheel_.schedule(ev.e.get(), deadline_of(*ev.e));
      } else {
        make_room();
        unlink(ev.e.get());
        note(ev.e, ev.cause);
        retired_.push_back(std::move(ev.e));
      }
    }
    draining_.clear();
    drained_ = 0;
  }

  // Out of line: only caches with expiry call it, and the writes that inline the maintenance
  // stay small without it.
  FRUGAL_NOINLINE void expire() {
    // Read here, under the policy mutex, so the wheel's time goes back only when the clock does.
    const std::int64_t now = now_ns();
    wheel_.advance(now);
    // An entry whose eviction failed (std::bad_alloc) stays in the due list for the next one.
    while (detail::cache::expiry_hook* due = wheel_.next_due()) {
      entry* e = static_cast<entry*>(due);
      const std::int64_t d = deadline_of(*e);
      if (d > now) {
        wheel_.schedule(e, d);  // read since it was scheduled (time to idle)
      } else {
        evict(e, removal_cause::expired);
      }
    }
  }

  void unlink(entry* e) noexcept {
    policy_.on_remove(e);
    if (has_expiry_) wheel_.erase(e);
  }

  // Takes a linked entry out of the policy and, when the table still holds it, out of the
  // table (otherwise a queued removal event will tell its cause).
  void evict(entry* e, removal_cause cause) {
    make_room();
    unlink(e);
    shard& s = shard_for(e->hash);
    lock_shard(s);
    slot* sl = s.find_entry(e);
    entry_ptr taken = sl != nullptr ? s.take(sl) : nullptr;
    s.lock.unlock();
    if (taken) {
      note(taken, cause);
      retired_.push_back(std::move(taken));
    }
  }

  // Makes room to retire one more entry and note it for the listener, before the entry is
  // taken: a failed allocation then leaves it where it was, and taking, noting and retiring
  // it cannot fail (a retired entry may still be in a read buffer, so it must not be freed).
  // Both grow by doubling; the retired list keeps its buffer through the free slots, the
  // notifications go to the listener with theirs.
  void make_room() {
    grow_for_one(retired_);
    if (options_.eviction_listener) grow_for_one(notes_);
  }
  template <class T>
  static void grow_for_one(std::vector<T>& v) {
    if (v.size() == v.capacity()) v.reserve(std::max<std::size_t>(1, 2 * v.size()));
  }

  // While this thread holds loads, keeps a notification of `e` for the end of its stretch
  // (and resets `e`); otherwise, or when there is no memory to keep it, leaves `e` for the
  // caller to tell.
  void hold_note(entry_ptr& e, removal_cause cause) noexcept {
    std::vector<event>* held = free_on_exit::held_notes_of(*this);
    if (held == nullptr) return;
#if FRUGAL_HAS_EXCEPTIONS
    try {
#endif
      held->push_back({e, cause, false});
      e.reset();
#if FRUGAL_HAS_EXCEPTIONS
    } catch (...) {
    }
#endif
  }

  // Moves `from` to the end of `into` (swaps when `into` is empty), or leaves both as they
  // were when there is no memory for that.
  static void take_all(std::vector<event>& into, std::vector<event>& from) noexcept {
    if (from.empty()) return;
    if (into.empty()) {
      into.swap(from);
      return;
    }
#if FRUGAL_HAS_EXCEPTIONS
    try {
#endif
      into.reserve(into.size() + from.size());
#if FRUGAL_HAS_EXCEPTIONS
    } catch (...) {
      return;
    }
#endif
    for (event& e : from) into.push_back(std::move(e));  // reserved: cannot throw
    from.clear();
  }

  void note(const entry_ptr& e, removal_cause cause) {
    removals_[static_cast<int>(cause)].fetch_add(1, std::memory_order_relaxed);
    if (options_.eviction_listener) notes_.push_back({e, cause, false});
  }

  void publish_sizes() noexcept {
    count_.store(policy_.entry_count(), std::memory_order_relaxed);
    weight_.store(policy_.weighted_size(), std::memory_order_relaxed);
  }

  // deliver(), the listener's exceptions dropped: for a call that fails with its own.
  void deliver_quietly(std::vector<event> held = {}) noexcept {
#if FRUGAL_HAS_EXCEPTIONS
    try {
      deliver(std::move(held), nullptr);
    } catch (...) {
    }
#else
    deliver(std::move(held), nullptr);
#endif
  }

  // Tells the listener `held` (notifications a stretch holding loads kept), what the last
  // maintenances removed and `unstored` (a value a zero capacity did not store), outside
  // every lock. Not while this thread holds loads of this cache (free_on_exit::
  // holding_loads): its stretch then keeps them, for this thread to deliver once its loads
  // are done (what there is no memory to keep is told now). Without memory to gather them,
  // what was queued stays queued for the next delivery.
  // (With nothing held or unstored: a cache without a listener pays a test.)
  void deliver() {
    if (options_.eviction_listener) deliver(std::vector<event>{}, nullptr);
  }
  void deliver(std::vector<event> held, entry_ptr unstored = nullptr) {
    if (!options_.eviction_listener) return;  // nothing is ever noted
    std::vector<event> batch = std::move(held);
    struct drop_on_exit {
      const cache& c;
      std::vector<event>& batch;
      ~drop_on_exit() { free_on_exit::drop(c, batch); }
    } dropper{*this, batch};
    {
      auto lock = lock_policy();
      take_all(batch, notes_);
    }
    if (std::vector<event>* keep = free_on_exit::held_notes_of(*this)) {
      take_all(*keep, batch);
      if (unstored) hold_note(unstored, removal_cause::size);
    }
#if FRUGAL_HAS_EXCEPTIONS
    std::exception_ptr first;
    for (event& n : batch) {
      try {
        options_.eviction_listener(n.e->key, value_ptr(n.e, &n.e->value), n.cause);
      } catch (...) {
        if (!first) first = std::current_exception();
      }
    }
    if (unstored) {
      try {
        tell_unstored(unstored);
      } catch (...) {
        if (!first) first = std::current_exception();
      }
    }
    if (first) std::rethrow_exception(first);
#else
    for (event& n : batch)
      options_.eviction_listener(n.e->key, value_ptr(n.e, &n.e->value), n.cause);
    if (unstored) tell_unstored(unstored);
#endif
  }

  options_type options_;
  [[no_unique_address]] Hash hash_{};
  [[no_unique_address]] Eq eq_{};
  std::size_t shard_count_ = 1;
  unsigned shard_shift_ = 64;
  std::unique_ptr<shard[]> shards_;
  std::size_t stripe_count_ = 1;
  std::unique_ptr<stripe[]> stripes_;
  bool has_expiry_ = false;
  std::int64_t ttl_ = detail::cache::never;
  std::int64_t tti_ = detail::cache::never;

  std::mutex events_mutex_;
  std::vector<event> events_;

  mutable std::mutex policy_mutex_;
  mutable std::atomic<std::uint32_t> policy_waiters_{0};  // threads in lock_policy
  mutable detail::cache::w_tinylfu policy_;
  detail::cache::timer_wheel wheel_;  // with expiry only
  std::vector<event> draining_;
  std::size_t drained_ = 0;  // how many of draining_ are applied
  std::vector<entry_ptr> retired_;
  std::size_t free_slot_count_ = 0;
  std::unique_ptr<free_slot[]> free_slots_;  // one per CPU, at least 2 (see free_on_exit)
  std::vector<std::pair<entry*, removal_cause>> doomed_;  // invalidate_if's, per shard
  std::vector<event> notes_;

  std::atomic<std::uint64_t> count_{0}, weight_{0};
  std::atomic<std::uint64_t> loads_{0}, load_failures_{0}, load_ns_{0};
  std::atomic<std::uint64_t> removals_[4] = {};
};

FRUGAL_END_NAMESPACE
