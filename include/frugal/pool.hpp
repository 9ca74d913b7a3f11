// frugal/pool.hpp: a pool of expensive objects (database connections, TLS sessions, clients).
//
// Opening a PostgreSQL connection costs a TCP handshake, authentication and a backend process:
// milliseconds. A service that opens one per request spends most of its time there. A pool
// keeps a bounded number of them, hands one out for the length of a request and takes it back:
//
//   frugal::pool<connection> db(connect, {.max_size = 20, .min_idle = 5,
//                                         .acquire_timeout = 3s, .idle_timeout = 600s,
//                                         .max_lifetime = 1800s});
//   db.reap();                                  // creates the first min_idle objects
//   {
//     auto conn = db.acquire();                 // waits up to 3 s, throws pool_timeout
//     conn->query("SELECT ...");
//   }                                           // returned to the pool here
//
// What it does:
// - hands out idle objects newest first (so that the surplus ones age out by idle_timeout),
//   creates one with the factory when none is idle and fewer than max_size exist, and
//   otherwise queues the caller: waiters are served strictly first come, first served, each
//   returned object handed straight to the oldest waiter;
// - runs no thread of its own: idle and lifetime expiry happen on acquire and release (the
//   oldest idle object is checked on each), and `reap()` sweeps all of them and tops the pool
//   up to min_idle when the caller wants (from a timer the service already has);
// - retries a failing factory until the acquire timeout, and reports its last error in the
//   `pool_timeout` it throws then;
// - never allocates on acquire or release: objects live in slots allocated with the pool, and
//   waiters queue in nodes on their own stacks.
//
// A pool may be destroyed while leases are out: it destroys its idle objects at once, and each
// outstanding object is destroyed when its lease ends; the shared state goes with the last.
#pragma once

#include <frugal/detail/config.hpp>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <ratio>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

FRUGAL_BEGIN_NAMESPACE

/// The settings of a `pool`, named as in sqlx's `PgPoolOptions` and HikariCP. A zero
/// `idle_timeout` or `max_lifetime` turns that expiry off.
struct pool_options {
  /// The most objects that exist at once: lent out, idle, or being created. At least 1.
  std::size_t max_size = 10;
  /// The fewest objects kept: idle expiry never takes the pool below it, and `reap()` creates
  /// objects up to it. At most `max_size`.
  std::size_t min_idle = 0;
  /// How long `acquire()` waits for an object before throwing `pool_timeout`.
  std::chrono::milliseconds acquire_timeout{30'000};
  /// How long an object may stay idle before it is destroyed (while more than `min_idle`
  /// exist). Zero: never.
  std::chrono::milliseconds idle_timeout{600'000};
  /// How long after its creation an object is destroyed instead of handed out or returned
  /// (servers and load balancers drop old connections). Zero: never.
  std::chrono::milliseconds max_lifetime{1'800'000};
};

/// The checks a `pool` runs on its objects. Each is optional (empty: no check).
template <class T>
struct pool_checks {
  /// Runs before an object that was used before is handed out (not a new one); an object
  /// for which it returns false or throws is destroyed and another taken or created.
  std::function<bool(T&)> validate;
  /// Runs when a lease ends without `discard()`; an object for which it returns false or
  /// throws is destroyed instead of returned (a connection whose session broke).
  std::function<bool(T&)> reusable;
};

/// What a `pool` holds and has done, from `pool::stats()`.
struct pool_stats {
  /// Objects lent out now (leases alive).
  std::size_t in_use = 0;
  /// Objects waiting in the pool now.
  std::size_t idle = 0;
  /// Objects being created or destroyed now, outside the pool's lock.
  std::size_t pending = 0;
  /// Callers queued in `acquire()` now.
  std::size_t waiting = 0;
  /// Leases handed out since the pool was made.
  std::uint64_t acquired = 0;
  /// Acquires that threw `pool_timeout`.
  std::uint64_t timeouts = 0;
  /// Objects the factory made.
  std::uint64_t created = 0;
  /// Objects destroyed (expired, discarded, failed a check, or the pool's end).
  std::uint64_t destroyed = 0;
  /// Factory calls that threw.
  std::uint64_t create_failures = 0;
  /// Objects that failed `validate` or `reusable`.
  std::uint64_t check_failures = 0;

  /// Returns the number of objects that exist or are being made: in use, idle and pending.
  std::size_t size() const noexcept { return in_use + idle + pending; }
};

/// What `pool::reap()` did.
struct reap_result {
  /// Idle objects destroyed because they had expired.
  std::size_t destroyed = 0;
  /// Objects created to bring the pool up to `min_idle`.
  std::size_t created = 0;
};

/// Thrown by `pool::acquire()` when no object became available in time. The message says how
/// long the caller waited, how many objects were in use and how many callers waited, and, when
/// creating objects was failing, the factory's last error:
/// `pool: no object available after 3000 ms (20 of 20 in use, 4 waiting)`.
/// Copying never throws (the figures are stored, the texts live in `what()`).
class pool_timeout : public std::runtime_error {
 public:
  /// Builds the exception and its message. Allocates the message once.
  pool_timeout(std::chrono::milliseconds waited, std::size_t in_use, std::size_t max_size,
               std::size_t waiting, std::string_view last_error)
      : std::runtime_error(message(waited, in_use, max_size, waiting, last_error)),
        waited_(waited),
        in_use_(in_use),
        max_size_(max_size),
        error_size_(last_error.size()) {}

  /// Returns how long the acquire waited.
  std::chrono::milliseconds waited() const noexcept { return waited_; }
  /// Returns the number of objects in use when it gave up.
  std::size_t in_use() const noexcept { return in_use_; }
  /// Returns the pool's `max_size`.
  std::size_t max_size() const noexcept { return max_size_; }
  /// Returns the factory's last error when creating objects was failing, else an empty view.
  /// It views `what()`, so it lives as long as the exception.
  std::string_view last_error() const noexcept FRUGAL_LIFETIMEBOUND {
    const std::string_view all(what());
    return all.substr(all.size() - error_size_);
  }

 private:
  static std::string message(std::chrono::milliseconds waited, std::size_t in_use,
                             std::size_t max_size, std::size_t waiting,
                             std::string_view last_error) {
    std::string m = "pool: no object available after " + std::to_string(waited.count()) + " ms (" +
                    std::to_string(in_use) + " of " + std::to_string(max_size) + " in use, " +
                    std::to_string(waiting) + " waiting)";
    if (!last_error.empty()) {
      m += "; creating one failed: ";
      m += last_error;
    }
    return m;
  }

  std::chrono::milliseconds waited_;
  std::size_t in_use_;
  std::size_t max_size_;
  std::size_t error_size_;
};

template <class T, class Clock>
class pool;

namespace detail {

template <class T, class TimePoint>
struct pool_slot {
  pool_slot* prev = nullptr;               // idle list only
  pool_slot* next = nullptr;               // idle list, free list, retire chains
  TimePoint retire_at = TimePoint::max();  // creation + max_lifetime
  TimePoint idle_since{};
  std::optional<T> object;
  bool used = false;  // lent out before: `validate` runs before it is lent again
};

// A caller queued in acquire(), on its own stack. Handing it something dequeues it, under the
// lock, so the notification happens before the waiter can return and destroy its node.
template <class Slot>
struct pool_waiter {
  std::condition_variable cv;
  pool_waiter* next = nullptr;
  Slot* given = nullptr;  // an object (counted in use) or an empty slot (counted pending)
  std::uint64_t ticket = 0;  // the caller's order of arrival: the line is kept in this order
  bool queued = false;
};

// Converts to the factory's result, so that optional::emplace constructs the object from the
// returned prvalue in place: T need not be movable.
template <class F>
struct pool_invoke {
  F& f;
  operator std::invoke_result_t<F&>() const { return f(); }
};

[[noreturn]] FRUGAL_COLD inline void pool_bad_option(const std::string& why) {
  FRUGAL_THROW(std::invalid_argument("pool: " + why));
}

// The state every lease of a pool shares. Deleted by the pool's destructor, or by the last
// lease to end after it.
template <class T, class Clock>
struct pool_state {
  using slot = pool_slot<T, typename Clock::time_point>;
  using waiter = pool_waiter<slot>;
  using wait_clock = std::chrono::steady_clock;

  pool_state(std::function<T()> make, const pool_options& o, pool_checks<T> c)
      : factory(std::move(make)),
        checks(std::move(c)),
        options(o),
        slots(new slot[o.max_size]),
        idle_timeout(o.idle_timeout.count() != 0 ? saturating_ceil(o.idle_timeout)
                                                 : Clock::duration::max()),
        max_lifetime(saturating_ceil(o.max_lifetime)),
        expiry(o.idle_timeout.count() != 0 || o.max_lifetime.count() != 0) {
    for (std::size_t i = o.max_size; i-- > 0;) {
      slots[i].next = free;
      free = &slots[i];
    }
    // Not the clock's epoch: a clock whose now() is before it (std::chrono::file_clock)
    // would have every time clamped up to the epoch, and nothing would ever expire.
    if (expiry) latest = Clock::now();
  }

  std::mutex mu;
  std::function<T()> factory;
  pool_checks<T> checks;
  pool_options options;
  std::unique_ptr<slot[]> slots;
  typename Clock::duration idle_timeout;  // duration::max() when off
  typename Clock::duration max_lifetime;
  bool expiry;

  slot* free = nullptr;
  slot* idle_head = nullptr;  // newest first
  slot* idle_tail = nullptr;
  waiter* wait_head = nullptr;
  waiter* wait_tail = nullptr;
  std::size_t idle = 0;
  std::size_t in_use = 0;
  std::size_t pending = 0;
  std::size_t waiting = 0;
  bool closed = false;
  bool creation_failing = false;
  std::uint64_t tickets = 0;  // handed out in order of arrival to callers that may queue
  std::uint64_t acquired = 0;
  std::uint64_t timeouts = 0;
  std::uint64_t created = 0;
  std::uint64_t destroyed = 0;
  std::uint64_t create_failures = 0;
  std::uint64_t check_failures = 0;
  typename Clock::time_point latest{};  // the latest time read (from construction on), when
                                        // expiry is on
  std::string last_error;

  std::size_t size() const noexcept { return in_use + idle + pending; }

  // `d` in the clock's units, rounded up; the largest duration when it does not fit (an
  // option of a thousand years in a nanosecond clock).
  template <class Rep, class Period>
  static typename Clock::duration saturating_ceil(std::chrono::duration<Rep, Period> d) noexcept {
    using seconds = std::chrono::duration<double>;
    if (seconds(d) >= seconds(Clock::duration::max())) return Clock::duration::max();
    return std::chrono::ceil<typename Clock::duration>(d);
  }

  // Expiry compares with instants and durations computed in advance (an expiry that is off
  // is the largest value), so that the fast path makes two comparisons per object.
  static bool lifetime_over(const slot& s, typename Clock::time_point now) noexcept {
    return now >= s.retire_at;
  }
  // Idle expiry of one object, given how many objects would remain without it.
  bool idle_over(const slot& s, typename Clock::time_point now,
                 std::size_t remaining) const noexcept {
    return now - s.idle_since >= idle_timeout && remaining >= options.min_idle;
  }
  bool expired(const slot& s, typename Clock::time_point now) const noexcept {
    return lifetime_over(s, now) || idle_over(s, now, size() - 1);
  }

  void push_idle(slot* s) noexcept {
    s->prev = nullptr;
    s->next = idle_head;
    if (idle_head != nullptr) {
      idle_head->prev = s;
    } else {
      idle_tail = s;
    }
    idle_head = s;
    ++idle;
  }
  void unlink_idle(slot* s) noexcept {
    (s->prev != nullptr ? s->prev->next : idle_head) = s->next;
    (s->next != nullptr ? s->next->prev : idle_tail) = s->prev;
    --idle;
  }

  // Queues `w` in order of arrival: at the back, unless callers that arrived after it queued
  // first (it was creating or checking meanwhile: a caller whose factory call failed rejoins
  // the line where it arrived, mostly at its head).
  void enqueue(waiter& w) noexcept {
    waiter* prev = wait_tail;
    if (prev != nullptr && prev->ticket > w.ticket) {
      prev = nullptr;
      for (waiter* p = wait_head; p->ticket < w.ticket; p = p->next) prev = p;
    }
    waiter*& link = prev != nullptr ? prev->next : wait_head;
    w.next = link;
    link = &w;
    if (w.next == nullptr) wait_tail = &w;
    w.queued = true;
    ++waiting;
  }
  // Whether a caller with `ticket`, not queued, arrived before every waiter.
  bool ahead_of_waiters(std::uint64_t ticket) const noexcept {
    return wait_head == nullptr || wait_head->ticket > ticket;
  }
  waiter* dequeue_head() noexcept {
    waiter* w = wait_head;
    wait_head = w->next;
    if (wait_head == nullptr) wait_tail = nullptr;
    w->queued = false;
    --waiting;
    return w;
  }
  // Takes a waiter out of the queue and wakes the one now at its head: room or an object it
  // could take may have waited for `w` to leave.
  void leave_queue(waiter& w) noexcept {
    dequeue(w);
    if (wait_head != nullptr) wait_head->cv.notify_one();
  }
  void dequeue(waiter& w) noexcept {
    waiter* prev = nullptr;
    for (waiter* p = wait_head; p != &w; p = p->next) prev = p;
    (prev != nullptr ? prev->next : wait_head) = w.next;
    if (wait_tail == &w) wait_tail = prev;
    w.queued = false;
    --waiting;
  }

  // The free list of empty slots: a push, and a pop that counts the slot as pending (its
  // holder is about to create an object in it).
  void push_free(slot* s) noexcept {
    s->next = free;
    free = s;
  }
  slot* claim_free() noexcept {
    slot* s = free;
    free = s->next;
    ++pending;
    return s;
  }

  // Hands an empty slot to the oldest waiter, which then creates an object in it, or puts it
  // on the free list.
  void give_capacity(slot* s) noexcept {
    if (wait_head != nullptr && !closed) {
      waiter* w = dequeue_head();
      w->given = s;
      ++pending;
      w->cv.notify_one();
      return;
    }
    push_free(s);
  }
  // Puts an empty slot on the free list and wakes the oldest waiter, which takes it once its
  // retry delay has passed: a failing factory is not retried in a tight loop.
  void offer_capacity(slot* s) noexcept {
    push_free(s);
    if (wait_head != nullptr) wait_head->cv.notify_one();
  }

  // Destroys the object of `s` (counted in `pending`, on no list) with the lock released,
  // then frees the slot. Returns true when the pool is gone and nothing else is out: the
  // caller deletes the state once it has released the lock.
  bool retire(std::unique_lock<std::mutex>& lk, slot* s) noexcept {
    empty_slot(lk, s);
    --pending;
    if (closed) {
      push_free(s);
      return in_use + pending == 0;
    }
    give_capacity(s);
    return false;
  }

  // Records a factory failure (lock held).
  void note_failure(const char* what) noexcept {
    ++create_failures;
    creation_failing = true;
#if FRUGAL_HAS_EXCEPTIONS
    try {
      last_error = what;
    } catch (...) {
      last_error.clear();
    }
#else
    last_error = what;
#endif
  }

  // Creates an object in `s` (counted in `pending`) with the lock released. Returns with the
  // lock held and `s` no longer pending; on failure the error is recorded.
  bool create(std::unique_lock<std::mutex>& lk, slot* s) noexcept {
    lk.unlock();
    const char* error = nullptr;
    std::string error_text;
#if FRUGAL_HAS_EXCEPTIONS
    try {
      s->object.emplace(pool_invoke<std::function<T()>>{factory});
    } catch (const std::exception& e) {
      try {
        error_text = e.what();
        error = error_text.c_str();
      } catch (...) {
        error = "out of memory while recording the error";
      }
    } catch (...) {
      error = "the factory threw an exception not derived from std::exception";
    }
#else
    s->object.emplace(pool_invoke<std::function<T()>>{factory});
#endif
    typename Clock::time_point made{};
    if (error == nullptr && expiry) made = Clock::now();
    s->used = false;
    lk.lock();
    --pending;
    if (error == nullptr && expiry) {
      // Expiry compares with the latest time the pool has read: a clock that stepped back
      // must not make a new object look older than it is.
      using time_point = typename Clock::time_point;
      if (made < latest) made = latest;
      s->retire_at = max_lifetime.count() == 0 || made > time_point::max() - max_lifetime
                         ? time_point::max()
                         : made + max_lifetime;
      note_time(made);
    }
    if (error != nullptr) {
      note_failure(error);
      return false;
    }
    ++created;
    creation_failing = false;
    return true;
  }

  // Runs a check on an object the caller holds alone; a throw counts as a failure.
  static bool run_check(const std::function<bool(T&)>& check, T& object) noexcept {
#if FRUGAL_HAS_EXCEPTIONS
    try {
      return check(object);
    } catch (...) {
      return false;
    }
#else
    return check(object);
#endif
  }

  // Ends a lease (lock not held). Returns true when the caller must delete the state.
  // Reads no clock unless it hands the object to a waiter: the object is stamped with the
  // latest time an acquire read, which errs towards expiring it early, never late.
  bool release(slot* s, bool discard) noexcept {
    s->used = true;
    bool keep = !discard;
    if (keep && checks.reusable && !run_check(checks.reusable, *s->object)) {
      keep = false;
      std::lock_guard<std::mutex> g(mu);
      ++check_failures;
    }
    mu.lock();
    --in_use;
    if (FRUGAL_LIKELY(keep && !closed && wait_head == nullptr &&
                      !(expiry && lifetime_over(*s, latest)))) {
      s->idle_since = latest;
      push_idle(s);
      mu.unlock();
      return false;
    }
    std::unique_lock<std::mutex> lk(mu, std::adopt_lock);
    if (keep && !closed && wait_head != nullptr) {
      if (expiry) note_time(Clock::now());
      if (!(expiry && lifetime_over(*s, latest))) {
        waiter* w = dequeue_head();
        w->given = s;
        ++in_use;
        ++acquired;
        w->cv.notify_one();
        return false;
      }
    }
    ++pending;
    return retire(lk, s);
  }

  void note_time(typename Clock::time_point now) noexcept {
    if (now > latest) latest = now;
  }

  // Takes the newest idle object off the list and lends it out (lock held, list not empty).
  slot* lend_head() noexcept {
    slot* s = idle_head;
    idle_head = s->next;
    (idle_head != nullptr ? idle_head->prev : idle_tail) = nullptr;
    --idle;
    ++in_use;
    ++acquired;
    return s;
  }

  // Destroys the object of `s` (counted in `pending`, on no list) with the lock released,
  // keeping the empty slot for the caller, who creates in it or passes it on.
  void empty_slot(std::unique_lock<std::mutex>& lk, slot* s) noexcept {
    lk.unlock();
    s->object.reset();
    lk.lock();
    ++destroyed;
  }

  // Takes an idle object for a caller with nobody queued ahead (lock held), destroying
  // expired ones on the way; the lock may be released meanwhile. Returns the object's slot,
  // else the slot of the last object it destroyed, empty and counted in `pending` (the
  // caller creates in it: callers that queued while an object was being destroyed stay
  // behind this one), else nullptr.
  slot* take_idle(std::unique_lock<std::mutex>& lk) noexcept {
    slot* emptied = nullptr;  // not counted in `pending` while held here
    while (expiry && idle_head != nullptr) {
      note_time(Clock::now());
      slot* old = idle_tail;
      if (!expired(*old, latest)) {
        old = idle_head;
        if (!lifetime_over(*old, latest)) break;
      }
      unlink_idle(old);
      ++pending;
      if (emptied != nullptr) give_capacity(emptied);
      empty_slot(lk, old);
      --pending;
      emptied = old;
    }
    if (emptied != nullptr) {
      if (idle_head == nullptr) {
        ++pending;
        return emptied;
      }
      give_capacity(emptied);
    }
    return idle_head != nullptr ? lend_head() : nullptr;
  }
  // A pending empty slot that its holder passes on (give_capacity counts it again when it
  // hands it to a waiter).
  slot* unpend(slot* s) noexcept {
    --pending;
    return s;
  }
};

}  // namespace detail

/// A lease on an object of a `pool`: the object is the caller's alone until the lease ends
/// (destruction, `reset()`, assignment), when it goes back to the pool, or to the oldest
/// waiter. Move-only; 16 bytes; never allocates. A lease may outlive its pool: the object is
/// then destroyed when the lease ends.
template <class T, class Clock = std::chrono::steady_clock>
class pool_lease {
 public:
  /// Creates an empty lease. Never allocates, never throws.
  pool_lease() noexcept = default;
  pool_lease(const pool_lease&) = delete;
  pool_lease& operator=(const pool_lease&) = delete;
  /// Takes `other`'s object; `other` is left empty. Never throws.
  pool_lease(pool_lease&& other) noexcept
      : state_(std::exchange(other.state_, nullptr)), slot_(std::exchange(other.slot_, nullptr)) {}
  /// Returns this lease's object, then takes `other`'s. Never throws.
  pool_lease& operator=(pool_lease&& other) noexcept {
    if (this != &other) {
      end(false);
      state_ = std::exchange(other.state_, nullptr);
      slot_ = std::exchange(other.slot_, nullptr);
    }
    return *this;
  }
  /// Returns the object to the pool (see `reset()`).
  ~pool_lease() { end(false); }

  /// Returns the object. Precondition (FRUGAL_ASSERT): the lease is not empty.
  T& operator*() const noexcept FRUGAL_LIFETIMEBOUND {
    FRUGAL_ASSERT(slot_ != nullptr);
    return *slot_->object;
  }
  /// Accesses the object's members. Precondition (FRUGAL_ASSERT): the lease is not empty.
  T* operator->() const noexcept FRUGAL_LIFETIMEBOUND {
    FRUGAL_ASSERT(slot_ != nullptr);
    return &*slot_->object;
  }
  /// Returns the object. Precondition (FRUGAL_ASSERT): the lease is not empty.
  T& get() const noexcept FRUGAL_LIFETIMEBOUND { return **this; }
  /// Returns true when the lease holds an object.
  explicit operator bool() const noexcept { return slot_ != nullptr; }

  /// Returns the object to the pool now and empties the lease: it goes to the oldest waiter,
  /// or is kept idle, or is destroyed when the `reusable` check fails, its lifetime is over or
  /// the pool is gone. Does nothing on an empty lease. Never allocates, never throws.
  void reset() noexcept { end(false); }
  /// Destroys the object instead of returning it (a connection found broken) and empties the
  /// lease; the pool creates a new one when it needs one. Does nothing on an empty lease.
  /// Never allocates, never throws.
  void discard() noexcept { end(true); }

 private:
  friend class pool<T, Clock>;
  using state = detail::pool_state<T, Clock>;
  pool_lease(state* st, typename state::slot* s) noexcept : state_(st), slot_(s) {}

  void end(bool discard) noexcept {
    if (slot_ == nullptr) return;
    state* st = std::exchange(state_, nullptr);
    if (st->release(std::exchange(slot_, nullptr), discard)) delete st;
  }

  state* state_ = nullptr;
  typename state::slot* slot_ = nullptr;
};

/// A bounded pool of `T` made by a factory; see the file comment. Thread-safe: any thread may
/// acquire, and a lease may end on any thread. `Clock` measures idle time and lifetime (a
/// test clock, or a coarse one); acquire timeouts always use std::chrono::steady_clock.
/// Neither copyable nor movable (leases point into it); hold it in a std::unique_ptr or a
/// member to move it around.
template <class T, class Clock = std::chrono::steady_clock>
class pool {
  using state = detail::pool_state<T, Clock>;
  using slot = typename state::slot;

 public:
  /// The type of the pooled objects.
  using value_type = T;
  /// The RAII handle `acquire()` returns.
  using lease = pool_lease<T, Clock>;
  /// The clock of idle and lifetime expiry.
  using clock = Clock;

  /// Makes an empty pool: no object is created until the first `acquire()` or `reap()`.
  /// Allocates twice: the shared state and `max_size` slots (each `sizeof(T)` plus four
  /// words). Throws std::invalid_argument for an empty factory, `max_size == 0`,
  /// `min_idle > max_size` or a negative duration, naming the values.
  explicit pool(std::function<T()> factory, pool_options options = {}, pool_checks<T> checks = {})
      : st_(make_state(std::move(factory), options, std::move(checks))) {}

  pool(const pool&) = delete;
  pool& operator=(const pool&) = delete;

  /// Destroys the idle objects; objects still lent out are destroyed when their leases end,
  /// and the shared state with the last of them. Precondition: no thread is inside
  /// `acquire()` or `reap()` of this pool (FRUGAL_ASSERT checks that nobody waits).
  ~pool() {
    std::unique_lock<std::mutex> lk(st_->mu);
    FRUGAL_ASSERT(st_->wait_head == nullptr);
    st_->closed = true;
    while (slot* s = st_->idle_head) {
      st_->unlink_idle(s);
      ++st_->pending;
      st_->retire(lk, s);
    }
    const bool last = st_->in_use + st_->pending == 0;
    lk.unlock();
    if (last) delete st_;
  }

  /// Lends out an object, waiting up to `options().acquire_timeout`: see `acquire_for`.
  lease acquire() { return acquire_for(st_->options.acquire_timeout); }

  /// Lends out an object: the newest idle one (after `validate`, when set), else a new one
  /// from the factory while fewer than `max_size` exist, else the first one returned after
  /// every caller that waited longer was served. A factory that throws is retried (after 5 ms,
  /// doubling up to 500 ms) until the timeout. Never allocates on the pool's part (the
  /// factory and checks may). Holding the lock costs O(1); expiry destroys at most the
  /// expired objects it meets. Throws `pool_timeout` when `timeout` passes first (a negative
  /// or NaN one counts as zero: no wait), and std::system_error if the mutex fails.
  template <class Rep, class Period>
  lease acquire_for(std::chrono::duration<Rep, Period> timeout) {
    state& st = *st_;
    // The fast path: an idle object, nobody queued, nothing expired. One clock read when
    // expiry is on, taken before the lock so that the lock is held for a few loads and stores.
    const typename Clock::time_point now = st.expiry ? Clock::now() : typename Clock::time_point{};
    st.mu.lock();
    if (st.expiry) st.note_time(now);
    if (FRUGAL_LIKELY(st.wait_head == nullptr && st.idle_head != nullptr)) {
      if (FRUGAL_LIKELY(!st.expiry || (!st.expired(*st.idle_tail, st.latest) &&
                                       !st.lifetime_over(*st.idle_head, st.latest)))) {
        slot* s = st.lend_head();
        const bool check = st.checks.validate && s->used;
        // A caller whose check fails may queue: its place in line is taken now.
        const std::uint64_t ticket = check ? st.tickets++ : 0;
        st.mu.unlock();
        if (FRUGAL_LIKELY(!check)) return lease(st_, s);
        // The check's time counts toward the timeout.
        const auto checked_from = std::chrono::steady_clock::now();
        if (state::run_check(st.checks.validate, *s->object)) return lease(st_, s);
        // The caller keeps its place ahead of callers that queued meanwhile: it creates an
        // object in the slot of the one that failed.
        std::unique_lock<std::mutex> lk(st.mu);
        count_failed_check();
        st.empty_slot(lk, s);
        return acquire_slow(lk, timeout, s, checked_from, ticket);
      }
    }
    std::unique_lock<std::mutex> lk(st.mu, std::adopt_lock);
    return acquire_slow(lk, timeout);
  }

  /// Destroys every expired idle object (lifetime over, or idle past `idle_timeout` while
  /// more than `min_idle` exist), then creates objects until `min_idle` exist, handing each
  /// to a waiter or keeping it idle. O(idle) under the lock; objects are created and
  /// destroyed with it released. A factory that throws stops the top-up: its error is
  /// recorded (`stats().create_failures`, the next `pool_timeout`), not thrown. Never
  /// allocates on the pool's part. Call it once at start to fill the pool, then now and then.
  reap_result reap() {
    state& st = *st_;
    reap_result r;
    std::unique_lock<std::mutex> lk(st.mu);
    if (st.expiry) st.note_time(Clock::now());
    if (st.expiry && st.idle != 0) {
      const auto now = st.latest;
      std::size_t remaining = st.size();
      r.destroyed = retire_idle_if(lk, [&](const slot& s) {
        if (!st.lifetime_over(s, now) && !st.idle_over(s, now, remaining - 1)) return false;
        --remaining;
        return true;
      });
    }
    while (st.size() < st.options.min_idle && st.free != nullptr) {
      slot* s = st.claim_free();
      if (!st.create(lk, s)) {
        st.offer_capacity(s);
        break;
      }
      ++r.created;
      if (st.wait_head != nullptr) {
        typename state::waiter* w = st.dequeue_head();
        w->given = s;
        ++st.in_use;
        ++st.acquired;
        w->cv.notify_one();
      } else {
        s->idle_since = st.latest;
        st.push_idle(s);
      }
    }
    return r;
  }

  /// Destroys every idle object now, whatever its age; returns how many. For when they are
  /// all known to be bad (the server they talk to restarted or dropped its connections):
  /// the next `acquire()` makes a new one instead of being handed them one by one. Objects
  /// lent out are left alone (their holders see the failure and discard them). O(idle) under
  /// the lock; the objects are destroyed with it released. Never throws; never allocates.
  std::size_t discard_idle() noexcept {
    std::unique_lock<std::mutex> lk(st_->mu);
    return retire_idle_if(lk, [](const slot&) { return true; });
  }

  /// Returns a snapshot of the pool's counts. O(1); takes the lock; never allocates.
  pool_stats stats() const {
    std::lock_guard<std::mutex> g(st_->mu);
    const state& st = *st_;
    return pool_stats{st.in_use,   st.idle,    st.pending,   st.waiting,         st.acquired,
                      st.timeouts, st.created, st.destroyed, st.create_failures, st.check_failures};
  }

  /// Returns the factory's last error message (empty if it never threw), even if creation
  /// has succeeded since. Allocates a copy; throws std::bad_alloc.
  std::string last_error() const {
    std::lock_guard<std::mutex> g(st_->mu);
    return st_->last_error;
  }

  /// Returns the options the pool was made with.
  const pool_options& options() const noexcept { return st_->options; }

 private:
  // Takes the idle objects that `doomed(slot)` names (asked from the most recently used to the
  // least) out of the idle list under `lk`, then destroys them one by one with the lock
  // released (state::retire); returns how many.
  template <class Doomed>
  std::size_t retire_idle_if(std::unique_lock<std::mutex>& lk, Doomed doomed) noexcept {
    state& st = *st_;
    slot* taken = nullptr;
    for (slot* s = st.idle_tail; s != nullptr;) {
      slot* prev = s->prev;
      if (doomed(std::as_const(*s))) {
        st.unlink_idle(s);
        ++st.pending;
        s->next = taken;
        taken = s;
      }
      s = prev;
    }
    std::size_t retired = 0;
    for (; taken != nullptr; ++retired) {
      slot* s = taken;
      taken = s->next;
      st.retire(lk, s);
    }
    return retired;
  }

  static state* make_state(std::function<T()> factory, const pool_options& o,
                           pool_checks<T> checks) {
    if (!factory) detail::pool_bad_option("the factory is empty");
    if (o.max_size == 0) detail::pool_bad_option("max_size must be at least 1");
    if (o.min_idle > o.max_size) {
      detail::pool_bad_option("min_idle " + std::to_string(o.min_idle) + " > max_size " +
                              std::to_string(o.max_size));
    }
    const auto check = [](std::chrono::milliseconds d, const char* name) {
      if (d.count() < 0) {
        detail::pool_bad_option(std::string(name) + " is negative (" + std::to_string(d.count()) +
                                " ms)");
      }
    };
    check(o.acquire_timeout, "acquire_timeout");
    check(o.idle_timeout, "idle_timeout");
    check(o.max_lifetime, "max_lifetime");
    return new state(std::move(factory), o, std::move(checks));
  }

  // An object `s` (counted in use, lock held) failed `validate`: destroy it, free its slot.
  void failed_check(std::unique_lock<std::mutex>& lk, slot* s) noexcept {
    count_failed_check();
    st_->retire(lk, s);
  }
  // Counts an object that failed `validate` as no longer lent out but pending (lock held).
  void count_failed_check() noexcept {
    --st_->in_use;
    --st_->acquired;
    ++st_->check_failures;
    ++st_->pending;
  }

  // An object `s` this caller took (counted in use, lock held) failed `validate`. When other
  // callers wait, the caller keeps its place in line: the object is destroyed (lock released)
  // and the caller creates a new one in its slot (returns true, `s` counted in `pending`).
  // Otherwise as failed_check (returns false: the caller looks again).
  bool keep_place_after_failed_check(std::unique_lock<std::mutex>& lk, slot* s) noexcept {
    state& st = *st_;
    if (st.wait_head == nullptr || st.closed) {
      failed_check(lk, s);
      return false;
    }
    count_failed_check();
    st.empty_slot(lk, s);
    return true;
  }

  // `kept`: an empty slot (counted in `pending`) the caller holds already, or nullptr;
  // `checked_from`: when the check of an object that failed it (`kept`'s) began, which is
  // when the call's time began (nullopt: no check ran yet, the time begins now); `ticket`:
  // the caller's place in line, taken when it arrived (with `kept` only).
  template <class Rep, class Period>
  FRUGAL_NOINLINE lease acquire_slow(
      std::unique_lock<std::mutex>& lk, std::chrono::duration<Rep, Period> timeout,
      slot* kept = nullptr,
      std::optional<std::chrono::steady_clock::time_point> checked_from = std::nullopt,
      std::uint64_t ticket = 0) {
    using wait_clock = std::chrono::steady_clock;
    state& st = *st_;
    const auto start = checked_from ? *checked_from : wait_clock::now();
    // A century stands for "forever" without overflowing the clock.
    constexpr std::chrono::hours century{24 * 365 * 100};
    // Compared in floating seconds: a century in a fine unit (picoseconds) overflows.
    using seconds = std::chrono::duration<double>;
    // Negative or NaN: no wait. Under a century, the exact conversion to the clock's unit
    // where it is a plain multiplication or division of the count; otherwise (a millennium's
    // or 9223372037/3 s's ratio to nanoseconds overflows at compile time, a third of a second
    // multiplies the count by 10^9 before it divides) through floating seconds.
    const auto wait = [&]() -> wait_clock::duration {
      if (!(timeout > timeout.zero())) return wait_clock::duration::zero();
      const seconds s(timeout);
      if (s >= seconds(century)) return std::chrono::duration_cast<wait_clock::duration>(century);
      if constexpr (Period::num >= 3'155'760'000) {
        return std::chrono::ceil<wait_clock::duration>(s);
      } else if constexpr (std::ratio_divide<Period, wait_clock::period>::num != 1 &&
                           std::ratio_divide<Period, wait_clock::period>::den != 1) {
        return std::chrono::ceil<wait_clock::duration>(s);
      } else {
        return std::chrono::ceil<wait_clock::duration>(timeout);
      }
    }();
    const auto deadline = start + wait;
    // When a failed factory may be called again (none failed yet: nullopt).
    std::optional<wait_clock::time_point> retry_at;
    std::chrono::milliseconds backoff{5};

    typename state::waiter w;
    w.ticket = kept != nullptr ? ticket : st.tickets++;
    // Leaves the queue whichever way the call ends (state::leave_queue).
    struct unqueue {
      state& st;
      typename state::waiter& w;
      ~unqueue() {
        if (w.queued) st.leave_queue(w);
      }
    } guard{st, w};

    bool slept = false;
    bool checked = checked_from.has_value();  // a check of this call's has run and failed
    // Whether a factory call may start now: a first attempt made on arrival (no wait, no
    // check run; with a zero timeout, after a failed check too), always; otherwise only
    // before the deadline (a waiter woken late, past it, or a caller whose check ran past it,
    // must not start a call that can take long), and a retry only once its delay has passed,
    // unless the place was handed to this caller (`handed`: by a lease that ended, or its own
    // object that failed `validate`).
    const auto may_create = [&](bool handed) {
      if (!slept && !retry_at && (!checked || wait == wait.zero())) return true;
      const auto now = wait_clock::now();
      return now < deadline && (handed || !retry_at || now >= *retry_at);
    };
    // Wakes the waiter at the head when there is an idle object or room it may take (nobody
    // else wakes it for room that a caller leaves, or that waited for a caller's retry).
    const auto wake_head_for_room = [&] {
      if (st.wait_head != nullptr && (st.idle_head != nullptr || st.free != nullptr)) {
        st.wait_head->cv.notify_one();
      }
    };
    for (;;) {
      slot* s = nullptr;
      bool handed = true;
      // This caller's turn: at the head of the line, or not queued and ahead of every waiter.
      const bool turn = w.queued ? st.wait_head == &w : st.ahead_of_waiters(w.ticket);
      // After a check that ran past the deadline it takes no other idle object to check.
      const bool may_check = !checked || wait_clock::now() < deadline;
      if (w.given != nullptr) {
        s = std::exchange(w.given, nullptr);
      } else if (kept != nullptr) {
        s = std::exchange(kept, nullptr);
      } else if (turn && ((st.idle_head != nullptr && may_check) ||
                          (st.free != nullptr && may_create(false)))) {
        handed = false;
        if (w.queued) st.dequeue_head();
        if (may_check) s = st.take_idle(lk);
        if (s == nullptr && st.free != nullptr && may_create(false)) s = st.claim_free();
      }
      if (s != nullptr) {
        // Room left goes to the next waiter, except while the factory fails and this caller
        // is about to call it: callers then try a failing factory one at a time (a success
        // wakes the next, below).
        if (s->object || !st.creation_failing) wake_head_for_room();
        if (s->object) {
          if (!st.checks.validate || !s->used) return lease(st_, s);
          lk.unlock();
          if (state::run_check(st.checks.validate, *s->object)) return lease(st_, s);
          lk.lock();
          checked = true;
          if (!keep_place_after_failed_check(lk, s)) continue;
          handed = true;
        }
        if (!may_create(handed)) {
          // Past the deadline, or a retry still due: the place goes to the oldest waiter.
          st.give_capacity(st.unpend(s));  // this caller is not queued: never to itself
          continue;
        }
        if (st.create(lk, s)) {
          ++st.in_use;
          ++st.acquired;
          wake_head_for_room();
          return lease(st_, s);
        }
        // The caller rejoins the line where it arrived (mostly at its head), and its place
        // waits on the free list until its retry is due: the callers behind it do not call
        // the failing factory meanwhile, and the oldest is still served first. Its timeout
        // wakes the next waiter for the place (leave_queue).
        FRUGAL_ASSERT(!w.queued);
        st.push_free(s);
        st.enqueue(w);
        if (st.wait_head != &w) wake_head_for_room();  // a caller that arrived earlier
        retry_at = wait_clock::now() + backoff;
        backoff = backoff * 2 > std::chrono::milliseconds(500) ? std::chrono::milliseconds(500)
                                                               : backoff * 2;
        continue;
      }
      const auto now = wait_clock::now();
      if (now >= deadline) {
        if (w.queued) st.leave_queue(w);
        ++st.timeouts;
        const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(now - start);
        FRUGAL_THROW(pool_timeout(
            waited, st.in_use, st.options.max_size, st.waiting,
            st.creation_failing ? std::string_view(st.last_error) : std::string_view()));
      }
      if (!w.queued) st.enqueue(w);
      auto wake = deadline;
      if (st.free != nullptr && retry_at && *retry_at > now && *retry_at < wake) wake = *retry_at;
      w.cv.wait_until(lk, wake);
      slept = true;
    }
  }

  state* st_;
};

FRUGAL_END_NAMESPACE
