// frugal::detail cache timer wheel: the expiry schedule of frugal::cache, O(1) to schedule and to
// cancel whatever the deadlines, so that a per-entry expiry (`expire_after_write`) costs what a
// fixed time to live does. Users never include this header directly.
#pragma once

#include <frugal/detail/config.hpp>

#include <bit>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>

FRUGAL_BEGIN_NAMESPACE
namespace detail::cache {

/// A deadline that never comes (nanoseconds).
inline constexpr std::int64_t never = std::numeric_limits<std::int64_t>::max();

/// The slot number of a hook in none of the wheel's lists.
inline constexpr std::uint16_t no_wheel_slot = 0xffff;

/// The timer wheel's part of an entry: which of the wheel's lists holds it (`no_wheel_slot`:
/// none), its neighbours there, and the deadline it is scheduled at (for the cache, at or
/// before the entry's own, which a read moves later when entries expire after idling).
struct expiry_hook {
  expiry_hook* wheel_prev = nullptr;
  expiry_hook* wheel_next = nullptr;
  std::int64_t known_deadline = never;
  std::uint16_t wheel_slot = no_wheel_slot;
};

/// A hierarchical timer wheel of hooks by `known_deadline` (nanoseconds, any std::int64_t;
/// `never` is not scheduled).
/// - 9 levels of 64 slots; a slot of level k spans 2^(10 + 6k) ns: 1.024 us, 65.5 us, 4.19 ms,
///   268 ms, 17.2 s, 18.3 min, 19.5 h, 52.1 days and 9.1 years, so that the levels cover every
///   64-bit time. Each slot is a doubly linked list through the hooks (`wheel_prev`,
///   `wheel_next`; `wheel_slot` says which list, so a hook leaves in O(1)).
/// - A hook sits at the lowest level whose slot one level up it shares with the wheel's time
///   `now()` (so the level is that of the highest bit in which the deadline and `now()`
///   differ: a near deadline mostly sits low, a far one high). A deadline not after `now()`
///   sits in level 0's slot of `now()`.
/// - `advance(t)`, t at or after `now()`, takes out every slot that began at or before `t`:
///   the hooks due by then go to the due list (`next_due`), the others are placed again from
///   `t`, at a lower level or in level 0's slot of `t`. Over its life a hook is moved at most
///   once per level, plus once per advance while its deadline is in level 0's slot of the
///   wheel's time (1.024 us). Slots with hooks are found with one 64-bit mask per level: an
///   advance costs O(levels + hooks taken out).
/// - `advance(t)`, t before `now()` (a clock set back), places every hook again from `t`:
///   O(hooks), once per step back.
/// - Exact: after `advance(t)` every hook due by `t` is in the due list, and every hook it put
///   there is due by `t` (hooks an earlier advance put there and the caller left stay).
/// Allocates its 577 list heads (4,616 bytes) at `reserve()`, never after; never throws after.
class timer_wheel {
 public:
  static constexpr int levels = 9;
  static constexpr int slots = 64;
  static constexpr int first_shift = 10;  // level 0's slot: 2^10 ns
  static constexpr std::uint16_t due_slot = levels * slots;
  static constexpr std::uint16_t no_slot = no_wheel_slot;

  /// Allocates the list heads; the other functions may be called only after it.
  void reserve() {
    if (!heads_) heads_ = std::make_unique<expiry_hook*[]>(std::size_t{due_slot} + 1);
  }

  /// The wheel's time: the latest `advance`'s (the least std::int64_t before the first).
  std::int64_t now() const noexcept { return now_; }
  /// How many hooks are scheduled or due.
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }

  /// Sets `h->known_deadline` to `deadline` and schedules it there (taking it out of wherever
  /// it was first); a deadline of `never` leaves it unscheduled.
  void schedule(expiry_hook* h, std::int64_t deadline) noexcept {
    erase(h);
    h->known_deadline = deadline;
    if (deadline == never) return;
    place(h);
    ++size_;
  }

  /// Takes `h` out of the wheel (or out of the due list); nothing when it is in neither.
  void erase(expiry_hook* h) noexcept {
    const std::uint16_t s = h->wheel_slot;
    if (s == no_slot) return;
    if (h->wheel_prev != nullptr) {
      h->wheel_prev->wheel_next = h->wheel_next;
    } else {
      heads_[s] = h->wheel_next;
      if (h->wheel_next == nullptr && s != due_slot) {
        occupied_[s / slots] &= ~(std::uint64_t{1} << (s % slots));
      }
    }
    if (h->wheel_next != nullptr) h->wheel_next->wheel_prev = h->wheel_prev;
    h->wheel_prev = h->wheel_next = nullptr;
    h->wheel_slot = no_slot;
    --size_;
  }

  /// Moves the wheel's time to `t` and puts every hook whose `known_deadline` is at or before
  /// `t` in the due list. A `t` before `now()` places every hook again.
  void advance(std::int64_t t) noexcept {
    const std::uint64_t from = key(now_);
    const std::uint64_t to = key(t);
    const bool back = to < from;
    // First take out every slot that began by `to` (every slot when the time goes back),
    // chained through wheel_next: hooks placed again below must not be taken out twice.
    expiry_hook* taken = nullptr;
    for (int k = 0; k < levels; ++k) {
      const int shift = first_shift + 6 * k;
      const bool same_parent = k == levels - 1 || (from >> (shift + 6)) == (to >> (shift + 6));
      std::uint64_t mask = same_parent && !back ? low_bits((to >> shift) % slots)
                                                : ~std::uint64_t{0};
      mask &= occupied_[k];
      occupied_[k] &= ~mask;
      while (mask != 0) {
        const auto i = static_cast<std::size_t>(k * slots + std::countr_zero(mask));
        mask &= mask - 1;
        expiry_hook* h = heads_[i];
        heads_[i] = nullptr;
        while (h != nullptr) {
          expiry_hook* next = h->wheel_next;
          h->wheel_next = taken;
          taken = h;
          h = next;
        }
      }
    }
    now_ = t;
    while (taken != nullptr) {
      expiry_hook* h = taken;
      taken = h->wheel_next;
      if (h->known_deadline <= t) {
        push(h, due_slot);
      } else {
        place(h);
      }
    }
  }

  /// A hook that `advance` found due and that is still in the due list (nullptr: none).
  /// The caller erases or re-schedules it.
  expiry_hook* next_due() const noexcept { return heads_[due_slot]; }

 private:
  // Times as unsigned keys in the same order: the sign bit flipped.
  static std::uint64_t key(std::int64_t t) noexcept {
    return static_cast<std::uint64_t>(t) ^ (std::uint64_t{1} << 63);
  }
  // Bits 0..i set.
  static std::uint64_t low_bits(std::uint64_t i) noexcept {
    return i == 63 ? ~std::uint64_t{0} : (std::uint64_t{1} << (i + 1)) - 1;
  }

  void place(expiry_hook* h) noexcept {
    const std::uint64_t now = key(now_);
    const std::uint64_t d = key(h->known_deadline);
    if (d <= now) {
      push(h, static_cast<std::uint16_t>((now >> first_shift) % slots));
      return;
    }
    // The lowest level k whose parent slot (bits from first_shift + 6(k + 1) up) d shares
    // with now: the differing bits above level 0's slot fit in 6(k + 1) bits.
    const std::uint64_t differ = (d ^ now) >> first_shift;
    const int k = differ == 0 ? 0 : (static_cast<int>(std::bit_width(differ)) - 1) / 6;
    const auto i = static_cast<std::uint16_t>((d >> (first_shift + 6 * k)) % slots);
    push(h, static_cast<std::uint16_t>(k * slots + i));
  }

  void push(expiry_hook* h, std::uint16_t s) noexcept {
    expiry_hook*& head = heads_[s];
    h->wheel_prev = nullptr;
    h->wheel_next = head;
    if (head != nullptr) head->wheel_prev = h;
    head = h;
    h->wheel_slot = s;
    if (s != due_slot) occupied_[s / slots] |= std::uint64_t{1} << (s % slots);
  }

  std::unique_ptr<expiry_hook*[]> heads_;  // levels x slots, then the due list
  std::uint64_t occupied_[levels] = {};    // per level, the slots whose list is not empty
  std::int64_t now_ = std::numeric_limits<std::int64_t>::min();
  std::size_t size_ = 0;
};

}  // namespace detail::cache
FRUGAL_END_NAMESPACE
