// frugal::shared_config: an Arc-style, hot-swappable configuration holder for read-mostly data.
//
// Every request handler reads the configuration; now and then an operator reloads it.
// `read()` costs about a pointer load: it takes no lock, performs no atomic read-modify-write
// and writes no shared cache line. It returns a guard through which the version stays valid
// even if a writer publishes a new one meanwhile.
//
//   frugal::shared_config<settings> config(load_settings());
//   auto s = config.read();              // in a handler: s->timeout, s->limits
//   config.store(load_settings());       // on reload, from any thread
//
// How: each thread keeps, per holder, the last version it read (a shared_ptr) and that
// version's number. A read compares the number with the holder's current one (an acquire
// load of a word only writers write) and uses its copy while they match. When they differ it
// refreshes out of line, under a mutex that writers hold only to swap a pointer.
//
// Memory bound: besides the versions that guards and snapshots hold, each (thread, holder)
// pair keeps at most one version alive, the last one that thread read through that holder,
// until the thread reads that holder again or exits. Destroying a holder releases every
// version it published that no guard or snapshot holds, in every thread, at once.
//
// A guard belongs to the thread that made it (checked by FRUGAL_ASSERT in debug builds);
// nested reads while a guard is alive see the outermost guard's version.
#pragma once

#include <frugal/detail/config.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

FRUGAL_BEGIN_NAMESPACE

namespace detail {

// What one thread remembers of one holder.
struct alignas(64) config_slot {  // 64 bytes: indexing is a shift
  // An empty slot's version matches no holder's, so the first read of a holder (or of a new
  // holder that reuses a destroyed one's id) takes the slow path.
  static constexpr std::uint64_t no_version = ~std::uint64_t{0};

  const void* value = nullptr;         // the version's object, for the fast path
  std::shared_ptr<const void> keep;    // keeps that version alive
  std::uint64_t version = no_version;  // its number
  std::uint32_t pins = 0;              // guards alive on this thread
};

struct thread_slots;

// The calling thread's slots: a plain pointer for the fast path (no TLS initialisation check).
inline constinit thread_local thread_slots* current_slots = nullptr;

// The process-wide list of threads that have read some holder, and the holder ids.
struct config_registry {
  std::mutex mu;
  std::vector<thread_slots*> threads;
  std::vector<std::uint32_t> free_ids;
  std::uint32_t next_id = 0;

  static config_registry& get() {
    static config_registry r;  // never destroyed before the threads that use it: see below
    return r;
  }
};

// One per thread that has read a holder. `mu` is taken by the owning thread on the slow
// path and by holders' destructors; the fast path reads `slots` without it.
struct thread_slots {
  std::mutex mu;
  std::vector<config_slot> slots;

  thread_slots() {
    config_registry& r = config_registry::get();
    std::lock_guard lock(r.mu);
    r.threads.push_back(this);
  }
  thread_slots(const thread_slots&) = delete;
  thread_slots& operator=(const thread_slots&) = delete;
  ~thread_slots() {
    {
      config_registry& r = config_registry::get();
      std::lock_guard lock(r.mu);
      for (auto& t : r.threads) {
        if (t == this) {
          t = r.threads.back();
          r.threads.pop_back();
          break;
        }
      }
    }
    std::vector<config_slot> released;
    {
      std::lock_guard lock(mu);
      released.swap(slots);
    }
    current_slots = nullptr;
    // The versions are released here, outside every lock.
  }
};

// The owning object of the calling thread's slots, created on the slow path; its destructor
// runs at thread exit.

FRUGAL_NOINLINE inline thread_slots& make_current_slots() {
  thread_local thread_slots owner;
  current_slots = &owner;
  return owner;
}

}  // namespace detail

/// Holds the current version of a read-mostly `T` and publishes new ones. See the file comment.
template <class T>
class shared_config {
  static_assert(!std::is_reference_v<T> && !std::is_array_v<T>,
                "shared_config<T>: T must be an object type");

 public:
  /// A read of the current version: `->` and `*` give `const T&`, valid until the guard is
  /// destroyed, whatever writers do meanwhile. Belongs to the thread that made it; cheap to
  /// create and destroy; not copyable (take a `snapshot()` to keep a version).
  class guard {
   public:
    guard(const guard&) = delete;
    guard& operator=(const guard&) = delete;
    guard(guard&& other) noexcept : value_(std::exchange(other.value_, nullptr)), id_(other.id_) {
#if FRUGAL_ASSERTIONS_ENABLED
      owner_ = other.owner_;
#endif
    }
    ~guard() {
      if (value_ != nullptr) {
#if FRUGAL_ASSERTIONS_ENABLED
        const bool guard_destroyed_on_its_own_thread = owner_ == std::this_thread::get_id();
        FRUGAL_ASSERT(guard_destroyed_on_its_own_thread);
#endif
        // By index: the thread's slot table may have grown (and moved) since.
        --detail::current_slots->slots[id_].pins;
      }
    }
    const T& operator*() const noexcept { return *value_; }
    const T* operator->() const noexcept { return value_; }
    const T& get() const noexcept { return *value_; }

   private:
    friend shared_config;
    guard(std::uint32_t id, const void* value) noexcept
        : value_(static_cast<const T*>(value)), id_(id) {
#if FRUGAL_ASSERTIONS_ENABLED
      owner_ = std::this_thread::get_id();
#endif
    }
    const T* value_;
    std::uint32_t id_;
#if FRUGAL_ASSERTIONS_ENABLED
    std::thread::id owner_;
#endif
  };

  /// Holds `value` (moved in). One allocation (std::make_shared).
  explicit shared_config(T value) : shared_config(std::make_shared<const T>(std::move(value))) {}
  /// Holds the version `value` points to, which must not be null.
  explicit shared_config(std::shared_ptr<const T> value) : current_(std::move(value)) {
    FRUGAL_ASSERT(current_ != nullptr);
    register_holder();
  }
  /// Constructs the first version in place from `args`.
  template <class... Args>
  explicit shared_config(std::in_place_t, Args&&... args)
      : shared_config(std::make_shared<const T>(std::forward<Args>(args)...)) {}

  shared_config(const shared_config&) = delete;
  shared_config& operator=(const shared_config&) = delete;

  /// Releases every version this holder published that no guard or snapshot holds, in every
  /// thread. No guard of this holder may be alive, and no thread may be reading it.
  ~shared_config() {
    std::vector<std::shared_ptr<const void>> released;
    {
      detail::config_registry& r = detail::config_registry::get();
      std::lock_guard lock(r.mu);
      for (detail::thread_slots* t : r.threads) {
        std::lock_guard slot_lock(t->mu);
        if (id_ < t->slots.size()) {
          // The slot is this holder's: a holder's id is not reused before this clears it.
          detail::config_slot& s = t->slots[id_];
          released.push_back(std::move(s.keep));
          s = detail::config_slot{};
        }
      }
      r.free_ids.push_back(id_);
    }
    // `released` and `current_` are destroyed here, outside every lock.
  }

  /// Returns a guard on the current version. Fast path: a thread-local lookup, one acquire
  /// load and a comparison; no lock, no atomic read-modify-write, no shared write. After a
  /// store (in happens-before order) a thread holding no guard of this holder sees that
  /// version or a newer one. Never allocates after the thread's first read of this holder.
  guard read() const {
    detail::thread_slots* t = detail::current_slots;
    if (FRUGAL_LIKELY(t != nullptr && id_ < t->slots.size())) {
      detail::config_slot& s = t->slots[id_];
      if (FRUGAL_LIKELY(s.pins != 0 || s.version == version_.load(std::memory_order_acquire))) {
        ++s.pins;
        return guard(id_, s.value);
      }
    }
    return read_slow();
  }

  /// Returns a shared_ptr to the current version, which the caller may keep as long as it
  /// likes. Costs a reference-count increment on a count all snapshots of the version share.
  std::shared_ptr<const T> snapshot() const {
    std::lock_guard lock(write_mu_);
    return current_;
  }

  /// Publishes `value` (moved into a new version). The old version is destroyed when its last
  /// reader lets go, never while a lock is held.
  void store(T value) { store(std::make_shared<const T>(std::move(value))); }

  /// Publishes the version `value` points to, which must not be null.
  void store(std::shared_ptr<const T> value) {
    FRUGAL_ASSERT(value != nullptr);
    {
      std::lock_guard lock(write_mu_);
      current_.swap(value);
      version_.fetch_add(1, std::memory_order_acq_rel);
    }
    // `value` now holds the old version; it is released here, after the lock.
  }

  /// Publishes `f(current)` atomically with respect to other store/update calls: if another
  /// writer published in between, `f` runs again on the newer version, so `f` may run more
  /// than once and must not have side effects that matter. Returns the version published.
  template <class F>
  std::shared_ptr<const T> update(F f) {
    for (;;) {
      std::shared_ptr<const T> base;
      std::uint64_t seen;
      {
        std::lock_guard lock(write_mu_);
        base = current_;
        seen = version_.load(std::memory_order_relaxed);
      }
      auto next = std::make_shared<const T>(f(*base));  // user code, outside the lock
      std::shared_ptr<const T> published = next;
      {
        std::lock_guard lock(write_mu_);
        if (version_.load(std::memory_order_relaxed) != seen) continue;
        current_.swap(next);
        version_.fetch_add(1, std::memory_order_acq_rel);
      }
      return published;  // `next` (the old version) and `base` are released after the lock
    }
  }

  /// Returns the number of versions published after the first: it increases with every
  /// store and update.
  std::uint64_t version() const noexcept { return version_.load(std::memory_order_acquire); }

 private:
  void register_holder() {
    detail::config_registry& r = detail::config_registry::get();
    std::lock_guard lock(r.mu);
    if (!r.free_ids.empty()) {
      id_ = r.free_ids.back();
      r.free_ids.pop_back();
    } else {
      id_ = r.next_id++;
    }
  }

  // Refreshes this thread's copy of the current version; out of line, it is the only part of
  // read() that takes locks or touches reference counts.
  FRUGAL_NOINLINE guard read_slow() const {
    detail::thread_slots* t = detail::current_slots;
    if (t == nullptr) t = &detail::make_current_slots();
    std::shared_ptr<const void> fresh;
    std::uint64_t fresh_version;
    {
      std::lock_guard lock(write_mu_);
      fresh = current_;
      fresh_version = version_.load(std::memory_order_relaxed);
    }
    std::shared_ptr<const void> old;
    detail::config_slot* slot;
    {
      std::lock_guard lock(t->mu);
      if (id_ >= t->slots.size()) t->slots.resize(id_ + 1);
      slot = &t->slots[id_];
      if (slot->pins != 0) {
        // A guard is alive on this thread: keep its version (nested reads agree).
        ++slot->pins;
        return guard(id_, slot->value);
      }
      old = std::move(slot->keep);
      slot->value = fresh.get();
      slot->keep = std::move(fresh);
      slot->version = fresh_version;
      slot->pins = 1;
    }
    return guard(id_, slot->value);
    // `old`, the version this thread held before, is released here, outside every lock.
  }

  alignas(64) std::atomic<std::uint64_t> version_{0};  // written by writers only
  mutable std::mutex write_mu_;
  std::shared_ptr<const T> current_;
  std::uint32_t id_ = 0;
};

FRUGAL_END_NAMESPACE
