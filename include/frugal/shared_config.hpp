// frugal::shared_config: an Arc-style, hot-swappable configuration holder for read-mostly data.
//
// Every request handler reads the configuration; now and then an operator reloads it.
// `read()` on its fast path costs a pointer comparison: it takes no lock, performs no atomic
// read-modify-write and writes no shared cache line. It returns a guard through which the
// version stays valid even if a writer publishes a new one meanwhile.
//
//   frugal::shared_config<settings> config(load_settings());
//   auto s = config.read();              // in a handler: s->timeout, s->limits
//   config.store(load_settings());       // on reload, from any thread
//
// How: each thread keeps, per holder, the last version it read (a shared_ptr, whose stored
// pointer identifies the version). A read compares that pointer with the holder's current one
// (an acquire load of a word only writers write) and uses its copy while they match. Because
// the thread's copy keeps its version alive, no other object can take its address meanwhile,
// so equal pointers mean the same version, whichever holder or shared library the slot last
// served. When they differ the read refreshes out of line (see pin_slow).
//
// Where versions are destroyed: never in read(). A holder keeps every version it replaced in
// a retired list until no thread, guard or snapshot refers to it, and destroys such versions
// in store(), update(), reclaim() and its destructor, on the writer's thread.
//
// A guard belongs to the thread that made it and must not outlive its holder (both checked by
// FRUGAL_ASSERT in debug and hardened builds); nested reads while a guard is alive see the
// outermost guard's version.
#pragma once

#include <frugal/detail/config.hpp>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <new>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

// The process-wide holder registry is exported even from shared objects built with
// -fvisibility=hidden, so that they all share one (g++ makes it a unique symbol). Defining
// FRUGAL_SHARED_CONFIG_EXPORT empty gives each shared object its own registry: reads stay
// correct, see the docs for what changes.
#if defined(__GNUC__) || defined(__clang__)
#ifndef FRUGAL_SHARED_CONFIG_EXPORT
#define FRUGAL_SHARED_CONFIG_EXPORT __attribute__((visibility("default")))
#endif
#define FRUGAL_SHARED_CONFIG_NONNULL __attribute__((returns_nonnull))
#else
#ifndef FRUGAL_SHARED_CONFIG_EXPORT
#define FRUGAL_SHARED_CONFIG_EXPORT
#endif
#define FRUGAL_SHARED_CONFIG_NONNULL
#endif
// Tells clang's lifetime analysis that a guard refers to its holder, so that -Wdangling
// catches a guard of a temporary holder.
#if defined(__clang__)
#define FRUGAL_SHARED_CONFIG_VIEW [[gsl::Pointer]]
#else
#define FRUGAL_SHARED_CONFIG_VIEW
#endif

FRUGAL_BEGIN_NAMESPACE

namespace detail {

// What one thread remembers of one holder. A guard points at its slot, so a thread's slots
// never move while one of them is pinned.
struct config_slot {
  // Pin count of a detached slot (see shared_config::read_detached) with one guard: each
  // nested read adds one, and the last guard's release takes the count to INT_MIN, which frees
  // the slot.
  static constexpr std::int32_t detached_pins = INT_MIN + 1;
  // Pin count of a table slot whose holder was destroyed while `p` guards of it were alive on
  // the slot's thread (a precondition violation): orphaned_pins + p. Each of those guards'
  // release takes one off, and the last one's frees the slot (0). Until then a new holder
  // with the same id reads around the slot (read_detached), so the stale guards' releases
  // never take its pins.
  static constexpr std::int32_t orphaned_pins = -(1 << 29);

  std::shared_ptr<const void> keep;  // the version this thread read last; get() identifies it
  const void* owner = nullptr;       // the holder it was read through
  std::int32_t pins = 0;             // guards alive on this thread
#if FRUGAL_ASSERTIONS_ENABLED
  std::uint64_t serial = 0;  // the owner's serial number, to catch guards outliving holders
#endif
};

// The calling thread's slot table as the fast path sees it: plain thread-locals with constant
// initialisation and no destructor, so they stay valid during the whole of thread exit.
inline constinit thread_local config_slot* tls_slots = nullptr;
inline constinit thread_local std::size_t tls_table_bytes = 0;  // capacity * sizeof(config_slot)
// 0: no table yet; 1: table live; 2: table destroyed (thread exit): reads take their own copy,
// unless nested in a guard that outlived the table (see tls_exited_slots).
inline constinit thread_local std::uint8_t tls_state = 0;

// The slot array of this thread's destroyed table when a guard outlived the table (kept for
// ever, see ~config_table_owner), so that a read nested in such a guard during thread exit
// shares its version.
inline constinit thread_local config_slot* tls_exited_slots = nullptr;
inline constinit thread_local std::uint32_t tls_exited_capacity = 0;

// One per (thread, shared object) that has read a holder. `mu` is taken by the owning thread
// when it changes the table and by holders' destructors; the fast path reads without it.
struct config_table {
  std::mutex mu;
  config_slot* slots = nullptr;
  std::uint32_t capacity = 0;
};

struct detached_config_slot;

// The slot array of an exited thread's table that a guard outlived (see ~config_table_owner).
struct orphaned_config_slots {
  config_slot* slots;
  std::uint32_t capacity;
};

// The process-wide list of thread tables, and the holder ids.
struct config_registry {
  std::mutex mu;
  std::vector<config_table*> tables;
  // Ids of destroyed holders, reused first. Its capacity stays above every id handed out
  // (reserved in shared_config::register_holder), so a holder's destructor returns its id
  // without allocating.
  std::vector<std::uint32_t> free_ids;
  // Slot arrays of exited threads that a guard outlived: kept, and reachable, for ever.
  std::vector<orphaned_config_slots> orphaned;
  std::uint32_t next_id = 0;
  std::uint64_t next_serial = 1;
#if FRUGAL_ASSERTIONS_ENABLED
  // Every thread's live detached slots, so that a holder's destructor finds the guards of it
  // that no table holds. detached_mu is the innermost lock: nothing is locked while it is held.
  std::mutex detached_mu;
  detached_config_slot* detached = nullptr;
#endif

  // Never destroyed: threads and static holders may use it during static destruction.
  FRUGAL_SHARED_CONFIG_EXPORT static config_registry& get() {
    alignas(config_registry) static unsigned char storage[sizeof(config_registry)];
    static config_registry* r = ::new (static_cast<void*>(storage)) config_registry;
    return *r;
  }
};

// Owns the calling thread's table; its destructor runs at thread exit.
struct config_table_owner {
  config_table table;

  config_table_owner() {
    config_registry& r = config_registry::get();
    std::lock_guard lock(r.mu);
    r.tables.push_back(&table);
  }
  config_table_owner(const config_table_owner&) = delete;
  config_table_owner& operator=(const config_table_owner&) = delete;
  ~config_table_owner() {
    // From here on, reads on this thread (from a version's destructor, a later thread-local's
    // or a static's destructor) take their own reference instead of using this table.
    tls_state = 2;
    tls_slots = nullptr;
    tls_table_bytes = 0;
    config_slot* slots;
    std::uint32_t n;
    bool pinned = false;
    {
      // Under the registry's lock, so that no holder's destructor runs meanwhile: a holder
      // alive holds every version a slot of it holds (as its current one or a retired one),
      // so releasing them here destroys none (unless its holder lives in another registry);
      // and a holder destroyed before already took its versions out of this table. Released
      // after the lock instead, a version whose holder was destroyed in between would be
      // destroyed here, on an exiting thread.
      config_registry& r = config_registry::get();
      std::lock_guard lock(r.mu);
      auto it = std::find(r.tables.begin(), r.tables.end(), &table);
      if (it != r.tables.end()) {
        *it = r.tables.back();
        r.tables.pop_back();
      }
      std::lock_guard table_lock(table.mu);
      slots = std::exchange(table.slots, nullptr);
      n = std::exchange(table.capacity, 0);
      for (std::uint32_t i = 0; i < n; ++i) {
        if (slots[i].pins != 0) {
          pinned = true;  // a guard outlives this table: see below
        } else {
          slots[i].keep.reset();
        }
      }
#if FRUGAL_HAS_EXCEPTIONS
      try {
        if (pinned) r.orphaned.push_back({slots, n});
      } catch (...) {  // out of memory: the array is kept all the same, unlisted
      }
#else
      if (pinned) r.orphaned.push_back({slots, n});
#endif
    }
    // A guard still alive (kept in a static, or in a thread-local constructed before the
    // thread's first read) points into the slots: they stay allocated, with the versions the
    // pinned ones hold, for ever (a leak, not a use after free). Reads nested in such a guard
    // find its slot through tls_exited_slots.
    if (pinned) {
      tls_exited_slots = slots;
      tls_exited_capacity = n;
      return;
    }
    for (std::uint32_t i = 0; i < n; ++i) slots[i].~config_slot();
    ::operator delete(static_cast<void*>(slots));
  }
};

FRUGAL_NOINLINE inline config_table& current_table() {
  thread_local config_table_owner owner;
  tls_state = 1;
  return owner.table;
}

// Moves the table's slots into fresh storage of `capacity` slots. The caller holds table.mu and
// has checked that no slot is pinned (guards point at slots).
inline void grow_table(config_table& table, std::uint32_t capacity) {
  auto* fresh = static_cast<config_slot*>(::operator new(sizeof(config_slot) * capacity));
  for (std::uint32_t i = 0; i < capacity; ++i) {
    if (i < table.capacity) {
      ::new (static_cast<void*>(fresh + i)) config_slot(std::move(table.slots[i]));
      table.slots[i].~config_slot();
    } else {
      ::new (static_cast<void*>(fresh + i)) config_slot();
    }
  }
  ::operator delete(static_cast<void*>(table.slots));
  table.slots = fresh;
  table.capacity = capacity;
  tls_slots = fresh;
  tls_table_bytes = std::size_t{capacity} * sizeof(config_slot);
}

// A slot made for the guards of one read and the reads nested in it, where the thread's
// table cannot serve (see shared_config::read_detached). The thread's live ones form a list, so
// that a nested read of the same holder finds the outer guard's version.
struct detached_config_slot : config_slot {
  detached_config_slot* next = nullptr;
  // The list it is on: the tls_detached of the thread and of the shared object whose code made
  // it, which may not be the code that releases its last guard (a guard made in one shared
  // library with hidden visibility and destroyed in another, each with its own tls_detached).
  detached_config_slot** list = nullptr;
#if FRUGAL_ASSERTIONS_ENABLED
  // Links in the registry's list of every thread's detached slots, and the thread.
  config_registry* registry = nullptr;
  detached_config_slot* all_prev = nullptr;
  detached_config_slot* all_next = nullptr;
  std::thread::id thread;
#endif
};
inline constinit thread_local detached_config_slot* tls_detached = nullptr;

#if FRUGAL_ASSERTIONS_ENABLED
// Adds `s`, made on the calling thread, to the registry's list of detached slots.
inline void list_detached(detached_config_slot* s) noexcept {
  config_registry& r = config_registry::get();
  std::lock_guard lock(r.detached_mu);
  s->registry = &r;
  s->thread = std::this_thread::get_id();
  s->all_next = r.detached;
  if (r.detached != nullptr) r.detached->all_prev = s;
  r.detached = s;
}

// Takes `s` out of the list it was added to.
inline void unlist_detached(detached_config_slot* s) noexcept {
  std::lock_guard lock(s->registry->detached_mu);
  if (s->all_prev != nullptr) {
    s->all_prev->all_next = s->all_next;
  } else {
    s->registry->detached = s->all_next;
  }
  if (s->all_next != nullptr) s->all_next->all_prev = s->all_prev;
}
#endif

// A guard's release took its slot's pin count below zero: either the guard was one of a
// detached slot's (its count runs from INT_MIN + guards down to INT_MIN, which frees it), or
// its holder was destroyed first (the count runs from orphaned_pins + guards down to
// orphaned_pins, which frees the slot for the next holder of the id).
FRUGAL_NOINLINE inline void unpin_slow(config_slot* slot) noexcept {
  if (slot->pins < INT_MIN / 2) {
    if (slot->pins != INT_MIN) return;  // other guards of the detached slot remain
    auto* const d = static_cast<detached_config_slot*>(slot);
    for (detached_config_slot** p = d->list; *p != nullptr; p = &(*p)->next) {
      if (*p == d) {
        *p = d->next;
        break;
      }
    }
#if FRUGAL_ASSERTIONS_ENABLED
    unlist_detached(d);
#endif
    delete d;
    return;
  }
  [[maybe_unused]] const bool guard_outlived_its_holder = false;
  FRUGAL_ASSERT(guard_outlived_its_holder);
  if (slot->pins <= config_slot::orphaned_pins) slot->pins = 0;  // the last such guard
}

}  // namespace detail

/// Holds the current version of a read-mostly `T` and publishes new ones. See the file comment.
template <class T>
class shared_config {
  static_assert(!std::is_reference_v<T> && !std::is_array_v<T>,
                "shared_config<T>: T must be an object type");

 public:
  /// A read of the current version: `->` and `*` give `const T&`, valid until the guard is
  /// destroyed, whatever writers do meanwhile. Belongs to the thread that made it and must be
  /// destroyed on that thread, before the holder (both asserted in debug and hardened builds);
  /// cheap to create and destroy; movable, not copyable (take a `snapshot()` to keep a version).
  class FRUGAL_SHARED_CONFIG_VIEW guard {
   public:
    guard(const guard&) = delete;
    guard& operator=(const guard&) = delete;
    guard& operator=(guard&&) = delete;
    guard(guard&& other) noexcept
        : value_(other.value_), slot_(std::exchange(other.slot_, nullptr)) {
#if FRUGAL_ASSERTIONS_ENABLED
      owner_ = other.owner_;
      serial_ = other.serial_;
#endif
    }
    ~guard() {
      if (slot_ == nullptr) return;
#if FRUGAL_ASSERTIONS_ENABLED
      const bool guard_destroyed_on_its_own_thread = owner_ == std::this_thread::get_id();
      FRUGAL_ASSERT(guard_destroyed_on_its_own_thread);
      const bool guard_destroyed_before_its_holder = slot_->serial == serial_;
      FRUGAL_ASSERT(guard_destroyed_before_its_holder);
#endif
      if (FRUGAL_UNLIKELY(--slot_->pins < 0)) detail::unpin_slow(slot_);
    }
    const T& operator*() const noexcept FRUGAL_LIFETIMEBOUND { return *value_; }
    const T* operator->() const noexcept FRUGAL_LIFETIMEBOUND { return value_; }
    const T& get() const noexcept FRUGAL_LIFETIMEBOUND { return *value_; }

   private:
    friend shared_config;
    guard(detail::config_slot* slot, const void* value) noexcept
        : value_(static_cast<const T*>(value)), slot_(slot) {
#if FRUGAL_ASSERTIONS_ENABLED
      owner_ = std::this_thread::get_id();
      serial_ = slot->serial;
#endif
    }
    const T* value_;
    detail::config_slot* slot_;
#if FRUGAL_ASSERTIONS_ENABLED
    std::thread::id owner_;
    std::uint64_t serial_ = 0;
#endif
  };

  /// Holds `value` (moved in). One allocation (std::make_shared).
  explicit shared_config(T value) : shared_config(std::make_shared<const T>(std::move(value))) {}
  /// Holds the version `value` points to. Throws std::invalid_argument if `value` is null.
  explicit shared_config(std::shared_ptr<const T> value) : current_(std::move(value)) {
    if (current_ == nullptr) {
      FRUGAL_THROW(std::invalid_argument("shared_config: the first version is a null pointer"));
    }
    current_ptr_.store(current_.get(), std::memory_order_relaxed);
    register_holder();
  }
  /// Constructs the first version in place from `args`.
  template <class... Args>
  explicit shared_config(std::in_place_t, Args&&... args)
      : shared_config(std::make_shared<const T>(std::forward<Args>(args)...)) {}

  shared_config(const shared_config&) = delete;
  shared_config& operator=(const shared_config&) = delete;

  /// Releases every version this holder published that no guard or snapshot holds, the copies
  /// cached by every thread included, and destroys them on the calling thread. Never allocates,
  /// never throws. No guard of this holder may be alive (asserted for the calling thread's
  /// guards in debug and hardened builds, for other threads' guards when they are destroyed),
  /// and no thread may be reading it.
  ~shared_config() {
    detail::config_registry& r = detail::config_registry::get();
    {
      std::lock_guard lock(r.mu);
      for (detail::config_table* t : r.tables) {
        std::lock_guard slot_lock(t->mu);
        if (id_ < t->capacity && t->slots[id_].owner == this) {
          detail::config_slot& s = t->slots[id_];
#if FRUGAL_ASSERTIONS_ENABLED
          const bool no_guard_of_a_destroyed_holder_on_this_thread =
              t->slots != detail::tls_slots || s.pins == 0;
          FRUGAL_ASSERT(no_guard_of_a_destroyed_holder_on_this_thread);
          s.serial = 0;
#endif
          // A slot of this holder holds its current version or a retired one, which current_
          // or retired_ holds too: this drops a reference and destroys nothing.
          s.keep.reset();
          s.owner = nullptr;
          // A guard of this holder alive on the slot's thread (a precondition violation) keeps
          // the slot out of use until it is released (see config_slot::orphaned_pins).
          s.pins = s.pins > 0 ? detail::config_slot::orphaned_pins +
                                    std::min(s.pins, -detail::config_slot::orphaned_pins - 1)
                              : 0;
        }
      }
#if FRUGAL_ASSERTIONS_ENABLED
      mark_guards_outside_tables(r);
#endif
      // Never full: register_holder reserved room for every id.
      if (r.free_ids.size() < r.free_ids.capacity()) r.free_ids.push_back(id_);
    }
    // `retired_` and `current_` are destroyed after the body, outside every lock: that
    // destroys the versions nothing else refers to.
  }

  /// Returns a guard on the current version. Fast path (the thread read this holder before and
  /// no store happened since): a thread-local table lookup, one acquire load, a comparison and
  /// a thread-local pin; no lock, no atomic read-modify-write, no shared write. Otherwise it
  /// refreshes out of line: see the docs for what that does. Never runs T's destructor. After
  /// a store (in happens-before order) a thread holding no guard of this holder sees that
  /// version or a newer one. Never allocates after the thread's first read of this holder,
  /// except in the cases the docs list (reads during thread exit, a table that must grow while
  /// a guard is alive).
  guard read() const FRUGAL_LIFETIMEBOUND {
    // Byte offsets, so that finding the slot is one addition.
    const std::size_t offset = slot_offset_;
    if (FRUGAL_LIKELY(offset < detail::tls_table_bytes)) {
      auto* s = reinterpret_cast<detail::config_slot*>(
          reinterpret_cast<unsigned char*>(detail::tls_slots) + offset);
      const void* cached = s->keep.get();
      if (FRUGAL_LIKELY(cached == current_ptr_.load(std::memory_order_acquire))) {
        ++s->pins;
        return guard(s, cached);
      }
    }
    detail::config_slot* s = pin_slow();
    return guard(s, s->keep.get());
  }

  /// Returns a shared_ptr to the current version, which the caller may keep as long as it
  /// likes. Takes the holder's publication mutex to copy it: a reference-count increment on a
  /// count all snapshots of the version share. Never allocates. Releasing a snapshot never
  /// destroys a version while the holder lives: the holder destroys it in a later writer call.
  std::shared_ptr<const T> snapshot() const {
    std::lock_guard lock(publish_mu_);
    return current_;
  }

  /// Publishes `value` (moved into a new version), then destroys the replaced version if nothing
  /// refers to it, and up to four older ones that nothing refers to any more. One allocation,
  /// plus the retired list's amortised growth.
  /// Throws std::logic_error if called from inside `update(f)`'s `f` on the same holder.
  void store(T value) { store(std::make_shared<const T>(std::move(value))); }

  /// Publishes the version `value` points to, then destroys the replaced versions as above.
  /// Allocates only when the retired list grows (amortised). Throws std::invalid_argument if
  /// `value` is null, std::logic_error if called from inside `update(f)`'s `f` on the same holder.
  void store(std::shared_ptr<const T> value) {
    if (value == nullptr) {
      FRUGAL_THROW(
          std::invalid_argument("shared_config::store: the new version is a null pointer"));
    }
    check_not_in_update("shared_config::store");
    dead_versions dead;
    std::shared_ptr<const T> old;
    {
      std::lock_guard writer(writer_mu_);
      prepare_publish(dead);
      old = publish(std::move(value));
      retire(old);
    }
    // `old` and `dead` are destroyed here, after the locks.
  }

  /// Publishes `f(current)` atomically with respect to other writers: writers are serialised,
  /// so `f` runs exactly once, on the version current when it runs, while other store, update
  /// and reclaim calls on this holder wait (reads and snapshots do not). `f` may read this
  /// holder; if it calls store, update or reclaim on it, that call throws std::logic_error. If
  /// `f` throws, nothing is published and the exception propagates. Returns the version
  /// published. One allocation, plus the retired list's amortised growth.
  template <class F>
  std::shared_ptr<const T> update(F f) {
    check_not_in_update("shared_config::update");
    dead_versions dead;
    std::shared_ptr<const T> old;
    std::shared_ptr<const T> published;
    {
      std::lock_guard writer(writer_mu_);
      writer_thread_.store(std::this_thread::get_id(), std::memory_order_relaxed);
      struct clear_writer {
        std::atomic<std::thread::id>& w;
        ~clear_writer() { w.store(std::thread::id(), std::memory_order_relaxed); }
      } clear{writer_thread_};
      // current_ changes only under writer_mu_, which this thread holds.
      published = std::make_shared<const T>(f(*current_));
      prepare_publish(dead);
      old = publish(published);
      retire(old);
    }
    return published;  // `old` and `dead` are destroyed after the locks
  }

  /// Destroys the replaced versions that no thread, guard or snapshot refers to any more, on
  /// the calling thread, and returns how many. store() and update() also destroy up to four
  /// such versions each; call this to free memory sooner when stores are rare. Never
  /// allocates. Throws std::logic_error if called from inside `update(f)`'s `f` on the same
  /// holder.
  std::size_t reclaim() {
    check_not_in_update("shared_config::reclaim");
    std::size_t n = 0;
    for (;;) {
      dead_versions dead;
      {
        std::lock_guard writer(writer_mu_);
        sweep(dead);
      }
      n += dead.n;
      if (dead.n == 0) return n;
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
      // Room for every id handed out, so that the destructor returns this one without
      // allocating (reserved before the id is taken: a throw leaves the registry as it was).
      if (r.free_ids.capacity() <= r.next_id) {
        r.free_ids.reserve(std::max<std::size_t>(16, 2 * std::size_t{r.next_id}));
      }
      id_ = r.next_id++;
    }
    slot_offset_ = std::size_t{id_} * sizeof(detail::config_slot);
#if FRUGAL_ASSERTIONS_ENABLED
    serial_ = r.next_serial++;
#endif
  }

#if FRUGAL_ASSERTIONS_ENABLED
  // Marks the guards of this holder on slots that no table holds (detached slots, and the
  // slots of exited threads that a guard outlived) as outliving it, and aborts if one is the
  // calling thread's. The caller holds the registry's mutex.
  void mark_guards_outside_tables(detail::config_registry& r) noexcept {
    {
      std::lock_guard lock(r.detached_mu);
      for (detail::detached_config_slot* d = r.detached; d != nullptr; d = d->all_next) {
        if (d->owner != this) continue;
        const bool no_guard_of_a_destroyed_holder_on_this_thread =
            d->thread != std::this_thread::get_id();
        FRUGAL_ASSERT(no_guard_of_a_destroyed_holder_on_this_thread);
        d->serial = 0;
      }
    }
    for (const detail::orphaned_config_slots& o : r.orphaned) {
      if (id_ < o.capacity && o.slots[id_].owner == this) {
        detail::config_slot& s = o.slots[id_];
        const bool no_guard_of_a_destroyed_holder_on_this_thread =
            o.slots != detail::tls_exited_slots || s.pins == 0;
        FRUGAL_ASSERT(no_guard_of_a_destroyed_holder_on_this_thread);
        s.serial = 0;
      }
    }
  }
#endif

  void check_not_in_update(const char* what) const {
    if (writer_thread_.load(std::memory_order_relaxed) == std::this_thread::get_id()) {
      FRUGAL_THROW(std::logic_error(std::string(what) +
                                    ": called from inside update(f) on the same holder"));
    }
  }

  // Makes `next` current; returns the version it replaced. The caller holds writer_mu_.
  std::shared_ptr<const T> publish(std::shared_ptr<const T> next) {
    {
      std::lock_guard lock(publish_mu_);
      // Readers and snapshots copy current_ under this lock only, so if nobody else refers to
      // it now, nobody will. Otherwise make room to retire it, so that retire() cannot fail
      // once `next` is published (the strong guarantee).
      if (current_.use_count() > 1 && retired_.size() == retired_.capacity()) {
        retired_.reserve(std::max<std::size_t>(8, 2 * retired_.capacity()));
      }
      current_.swap(next);
      current_ptr_.store(current_.get(), std::memory_order_release);
      version_.fetch_add(1, std::memory_order_release);
    }
    return next;
  }

  // Replaced versions that a writer call destroys after releasing its locks.
  static constexpr std::size_t sweep_batch = 4;
  struct dead_versions {
    std::shared_ptr<const T> v[sweep_batch];
    std::size_t n = 0;
  };

  // Moves up to sweep_batch retired versions that nothing else refers to into `dead`. The caller
  // holds writer_mu_. Only slots, guards and snapshots can hold a retired version, and none can
  // copy it from the holder any more, so a use count of 1 stays 1.
  void sweep(dead_versions& dead) {
    for (std::size_t i = 0; i < retired_.size() && dead.n < sweep_batch;) {
      if (retired_[i].use_count() == 1) {
        dead.v[dead.n++] = std::move(retired_[i]);
        retired_[i] = std::move(retired_.back());
        retired_.pop_back();
      } else {
        ++i;
      }
    }
  }

  static bool same_owner(const std::shared_ptr<const T>& a,
                         const std::shared_ptr<const T>& b) noexcept {
    return !a.owner_before(b) && !b.owner_before(a);
  }

  // Sweeps, before anything is published. The caller holds writer_mu_.
  void prepare_publish(dead_versions& dead) { sweep(dead); }

  // Keeps `old` in retired_ while something else refers to it, once per version (a version
  // stored again and replaced again must not be kept twice: the two references would keep
  // each other's use count above 1 for ever); otherwise leaves it to the caller, which releases
  // it after the locks. A version that is current again may stay in retired_; the sweep frees
  // it once it is replaced and unreferenced. The caller holds writer_mu_.
  void retire(std::shared_ptr<const T>& old) noexcept {
    for (const auto& r : retired_) {
      if (same_owner(r, old)) return;
    }
    if (old.use_count() > 1) retired_.push_back(std::move(old));
  }

  // A reference to the current version in a slot that serves this read and the reads nested
  // in it; the last of their guards frees it. Used where the thread's table cannot serve:
  // during thread exit, when a guard of another holder pins the slot, or when the table must
  // grow while one of its slots is pinned. A read while a detached slot of this holder is alive
  // on the thread (a nested read) shares it, so it sees the outer guard's version.
  detail::config_slot* read_detached(std::shared_ptr<const void> fresh) const {
    auto* s = new detail::detached_config_slot;
    s->keep = std::move(fresh);
    s->owner = this;
    s->pins = detail::config_slot::detached_pins;
#if FRUGAL_ASSERTIONS_ENABLED
    s->serial = serial_;
    detail::list_detached(s);
#endif
    s->next = detail::tls_detached;
    s->list = &detail::tls_detached;
    detail::tls_detached = s;
    return s;
  }

  // Refreshes this thread's copy of the current version. Copies the current shared_ptr under
  // publish_mu_ (a reference-count increment), then updates the slot under the thread's table
  // mutex; the copy it replaces is released after the locks (the holder still owns it, so no
  // version is destroyed here).
  // Returns the pinned slot of the guard that read() makes.
  FRUGAL_NOINLINE FRUGAL_SHARED_CONFIG_NONNULL detail::config_slot* pin_slow() const {
    // A detached slot of this holder alive on this thread: this read is nested in its guard's
    // (the fast path never sees detached slots), so it shares its version.
    for (detail::detached_config_slot* d = detail::tls_detached; d != nullptr; d = d->next) {
      if (d->owner == this) {
        ++d->pins;
        return d;
      }
    }
    if (detail::tls_state == 2 && id_ < detail::tls_exited_capacity) {
      // During thread exit, a guard of this holder that outlived the table pins its slot in
      // the kept array: this read is nested in it, so it shares its version.
      detail::config_slot& kept = detail::tls_exited_slots[id_];
      if (kept.pins > 0 && kept.owner == this) {
        ++kept.pins;
        return &kept;
      }
    }
    std::shared_ptr<const void> fresh;
    {
      std::lock_guard lock(publish_mu_);
      fresh = current_;
    }
    if (detail::tls_state == 2) return read_detached(std::move(fresh));
    detail::config_table& t = detail::current_table();
    std::shared_ptr<const void> old;
    detail::config_slot* slot;
    {
      std::lock_guard lock(t.mu);
      if (id_ >= t.capacity) {
        for (std::uint32_t i = 0; i < t.capacity; ++i) {
          if (t.slots[i].pins != 0) return read_detached(std::move(fresh));
        }
        const std::uint32_t wanted = std::max<std::uint32_t>(id_ + 1, 2 * t.capacity);
        detail::grow_table(t, std::max<std::uint32_t>(wanted, 8));
      }
      slot = &t.slots[id_];
      if (slot->pins != 0) {
        // A guard is alive on this thread. If it is this holder's, keep its version (nested
        // reads agree); if another holder sharing the id pinned the slot, read around it.
        if (slot->owner != this) return read_detached(std::move(fresh));
        ++slot->pins;
        return slot;
      }
      old = std::move(slot->keep);
      slot->keep = std::move(fresh);
      slot->owner = this;
      slot->pins = 1;
#if FRUGAL_ASSERTIONS_ENABLED
      slot->serial = serial_;
#endif
    }
    return slot;
  }

  // Read by every read(): written only when a version is published.
  alignas(64) std::atomic<const T*> current_ptr_{nullptr};
  std::size_t slot_offset_ = 0;  // id_ * sizeof(detail::config_slot)
  std::uint32_t id_ = 0;
#if FRUGAL_ASSERTIONS_ENABLED
  std::uint64_t serial_ = 0;
#endif
  // Writers' side, in its own cache line: snapshots and refreshes lock publish_mu_ here
  // without writing the line readers load.
  alignas(64) mutable std::mutex publish_mu_;  // guards current_
  std::shared_ptr<const T> current_;
  std::mutex writer_mu_;  // serialises store, update and reclaim; guards retired_
  std::vector<std::shared_ptr<const T>> retired_;
  std::atomic<std::uint64_t> version_{0};
  std::atomic<std::thread::id> writer_thread_{};  // the thread running update(f), if any
};

FRUGAL_END_NAMESPACE
