// frugal/batch.hpp: load and insert in batches instead of one row at a time.
//
// The N+1 pattern (one query for the parents, then one per parent for its children) costs a
// round trip per row. The fix is to load the children of every parent in one call and group
// them, and to insert many rows in one statement. This header holds the database-agnostic
// parts:
//
//   auto posts = fetch_posts_of(user_ids);                       // one query
//   auto by_user = frugal::group_by(posts, &post::user_id);      // one allocation
//   for (const user& u : users) render(u, by_user.find(u.id));   // a span per user
//
//   frugal::batch_loader<int, user> users(fetch_users);          // the DataLoader pattern
//   auto a = users.load(1), b = users.load(2), c = users.load(1);
//   users.dispatch();                                            // one call with {1, 2}
//
//   auto stmts = frugal::insert_rows("posts", {"user_id", "title"}, rows, to_params);
//
// The batch-function contract, shared by everything in frugal that loads in batches: a batch
// function receives `std::span<const K>` of distinct keys and returns a sized or forward range
// of `std::optional<V>` of the same length, in key order (`std::nullopt`: not found).
// `batch_from_rows`, `batch_from_grouped_rows` and `batch_from_map` adapt the shapes that
// queries usually return.
//
// Bad input: a batch function returning the wrong number of results is a std::logic_error
// naming both counts; an identifier with a NUL is a std::invalid_argument; sizes that do not
// fit throw std::length_error before anything is allocated. A key function or batch function
// that throws leaves nothing half-filled.
#pragma once

#include <frugal/builder.hpp>
#include <frugal/detail/config.hpp>

#include <algorithm>
#include <charconv>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <initializer_list>
#include <iterator>
#include <limits>
#include <memory>
#include <new>
#include <optional>
#include <ranges>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

FRUGAL_BEGIN_NAMESPACE

namespace detail {

// Open addressing over 32-bit ids (id + 1; 0 marks an empty slot), linear probing, at most
// half full. The hash is multiplied by 2^64 / phi and its top bits taken (Fibonacci hashing),
// so that identity hashes of keys with common low bits (multiples of 1024, say) still spread.
inline std::size_t slot_of(std::size_t hash, unsigned shift) noexcept {
  return static_cast<std::size_t>((static_cast<std::uint64_t>(hash) * 0x9E3779B97F4A7C15ull) >>
                                  shift);
}

// The number of slots (a power of two, at least 2) for up to `n` ids, and the shift that
// maps a 64-bit product onto them.
struct slot_shape {
  std::size_t slots;
  unsigned shift;
};
inline slot_shape slots_for(std::size_t n) noexcept {
  std::size_t slots = 2;
  unsigned bits = 1;
  while (slots / 2 < n) {
    slots *= 2;
    ++bits;
  }
  return {slots, 64u - bits};
}

// Returns the slot holding the id whose key equals `key`, or the empty slot where it belongs.
template <class Q, class Eq, class KeyAt>
std::uint32_t* probe(std::uint32_t* slots, std::size_t mask, std::size_t start, const Q& key,
                     Eq& eq, KeyAt key_at) {
  for (std::size_t i = start;; i = (i + 1) & mask) {
    std::uint32_t* s = slots + i;
    if (*s == 0 || eq(key_at(*s - 1), key)) return s;
  }
}

[[noreturn]] FRUGAL_COLD inline void throw_batch_length(const char* what, std::size_t n,
                                                        std::size_t limit) {
  FRUGAL_THROW(std::length_error(std::string(what) + ": " + std::to_string(n) +
                                 " elements exceed the limit of " + std::to_string(limit)));
}

inline std::size_t checked_mul(std::size_t a, std::size_t b, const char* what) {
  if (b != 0 && a > std::numeric_limits<std::size_t>::max() / b) {
    throw_batch_length(what, a, std::numeric_limits<std::size_t>::max() / b);
  }
  return a * b;
}

inline std::size_t align_up(std::size_t n, std::size_t a, const char* what) {
  const std::size_t r = checked_add(n, a - 1, std::numeric_limits<std::size_t>::max(), what);
  return r / a * a;
}

// The largest row count a grouping holds: ids are 32-bit and one value marks empty slots.
inline constexpr std::size_t max_grouped_rows = std::numeric_limits<std::uint32_t>::max() - 1;

template <class... T>
constexpr std::size_t max_align() noexcept {
  std::size_t a = 1;
  ((a = alignof(T) > a ? alignof(T) : a), ...);
  return a;
}

template <std::size_t Align>
void* allocate_block(std::size_t bytes) {
  if constexpr (Align > __STDCPP_DEFAULT_NEW_ALIGNMENT__) {
    return ::operator new(bytes, std::align_val_t(Align));
  } else {
    return ::operator new(bytes);
  }
}

template <std::size_t Align>
void free_block(void* p, [[maybe_unused]] std::size_t bytes) noexcept {
#if defined(__cpp_sized_deallocation)
  if constexpr (Align > __STDCPP_DEFAULT_NEW_ALIGNMENT__) {
    ::operator delete(p, bytes, std::align_val_t(Align));
  } else {
    ::operator delete(p, bytes);
  }
#else
  if constexpr (Align > __STDCPP_DEFAULT_NEW_ALIGNMENT__) {
    ::operator delete(p, std::align_val_t(Align));
  } else {
    ::operator delete(p);
  }
#endif
}

template <class R>
std::size_t range_count(R& r) {
  if constexpr (std::ranges::sized_range<R>) {
    return static_cast<std::size_t>(std::ranges::size(r));
  } else {
    return static_cast<std::size_t>(std::ranges::distance(r));
  }
}

template <class R>
inline constexpr bool moves_elements_v =
    !std::is_lvalue_reference_v<R> && !std::ranges::view<std::remove_cvref_t<R>> &&
    std::is_lvalue_reference_v<std::ranges::range_reference_t<R>>;

// An element `x` of a range of type `R`, moved out when the range owns it (moves_elements_v)
// or yields it as a temporary or an rvalue (a transform view, std::views::as_rvalue: a
// move-only value must move), passed on as it is otherwise.
template <class R, class X>
constexpr decltype(auto) element_of(X&& x) noexcept {
  if constexpr (moves_elements_v<R> ||
                !std::is_lvalue_reference_v<std::ranges::range_reference_t<R>>) {
    return std::move(x);
  } else {
    return std::forward<X>(x);
  }
}

}  // namespace detail

template <class K, class V, class Hash = std::hash<K>, class Eq = std::equal_to<K>>
class grouped;

namespace detail {
template <class K, class V, class Hash, class Eq, class R, class KeyFn, class Make>
grouped<K, V, Hash, Eq> build_grouping(R& range, KeyFn& key_fn, Hash hash, Eq eq, Make make);
}  // namespace detail

/// One group of a `grouped`: its key and its rows, in the order they came.
template <class K, class V>
struct group_ref {
  const K& key;
  std::span<const V> rows;
};

/// The result of `group_by` and `group_indices_by`: distinct keys in first-appearance order,
/// each with its rows (or row indices) in their original order, stored in flat arrays in one
/// allocation (a CSR layout: keys, offsets, rows, and a hash index over the keys). Groups are
/// handed out as spans, by position or by key. Move-only; moving never allocates or throws.
/// Spans and key references stay valid until the `grouped` is destroyed or assigned to.
template <class K, class V, class Hash, class Eq>
class grouped {
 public:
  using key_type = K;
  using value_type = V;

  /// Walks the groups by position, yielding `group_ref`s by value (a random-access
  /// iterator in the C++20 sense). Valid while the `grouped` lives and is not assigned to.
  class iterator {
   public:
    using iterator_concept = std::random_access_iterator_tag;
    using iterator_category = std::input_iterator_tag;
    using value_type = group_ref<K, V>;
    using difference_type = std::ptrdiff_t;

    iterator() = default;
    group_ref<K, V> operator*() const { return (*owner_)[i_]; }
    group_ref<K, V> operator[](difference_type d) const {
      return (*owner_)[i_ + static_cast<std::size_t>(d)];
    }
    iterator& operator++() {
      ++i_;
      return *this;
    }
    iterator operator++(int) {
      iterator t = *this;
      ++i_;
      return t;
    }
    iterator& operator--() {
      --i_;
      return *this;
    }
    iterator operator--(int) {
      iterator t = *this;
      --i_;
      return t;
    }
    iterator& operator+=(difference_type d) {
      i_ += static_cast<std::size_t>(d);
      return *this;
    }
    iterator& operator-=(difference_type d) {
      i_ -= static_cast<std::size_t>(d);
      return *this;
    }
    friend iterator operator+(iterator a, difference_type d) { return a += d; }
    friend iterator operator+(difference_type d, iterator a) { return a += d; }
    friend iterator operator-(iterator a, difference_type d) { return a -= d; }
    friend difference_type operator-(const iterator& a, const iterator& b) {
      return static_cast<difference_type>(a.i_) - static_cast<difference_type>(b.i_);
    }
    friend bool operator==(const iterator& a, const iterator& b) { return a.i_ == b.i_; }
    friend auto operator<=>(const iterator& a, const iterator& b) { return a.i_ <=> b.i_; }

   private:
    friend class grouped;
    iterator(const grouped* owner, std::size_t i) : owner_(owner), i_(i) {}
    const grouped* owner_ = nullptr;
    std::size_t i_ = 0;
  };

  /// Creates an empty grouping. Never allocates, never throws.
  grouped() noexcept = default;
  grouped(const grouped&) = delete;
  grouped& operator=(const grouped&) = delete;
  /// Takes `other`'s arrays; `other` is left empty. Never allocates, never throws.
  grouped(grouped&& other) noexcept { steal(other); }
  /// Releases this grouping's arrays and takes `other`'s. Never allocates, never throws.
  grouped& operator=(grouped&& other) noexcept {
    if (this != &other) {
      release();
      steal(other);
    }
    return *this;
  }
  /// Destroys the rows and keys and frees the one allocation.
  ~grouped() { release(); }

  /// Returns the number of groups (distinct keys). O(1).
  std::size_t size() const noexcept { return groups_; }
  /// Returns true when there are no groups (the input was empty). O(1).
  bool empty() const noexcept { return groups_ == 0; }
  /// Returns the number of rows in all groups together. O(1).
  std::size_t row_count() const noexcept { return rows_n_; }

  /// Returns the key of group `i`. Precondition (FRUGAL_ASSERT): `i < size()`. O(1).
  const K& key(std::size_t i) const noexcept FRUGAL_LIFETIMEBOUND {
    FRUGAL_ASSERT(i < groups_);
    return keys_[i];
  }
  /// Returns the rows of group `i`, never empty. Precondition (FRUGAL_ASSERT): `i < size()`.
  std::span<const V> group(std::size_t i) const noexcept FRUGAL_LIFETIMEBOUND {
    FRUGAL_ASSERT(i < groups_);
    return std::span<const V>(rows_ + offsets_[i], offsets_[i + 1] - offsets_[i]);
  }
  /// Returns group `i`'s key and rows. Precondition (FRUGAL_ASSERT): `i < size()`. O(1).
  group_ref<K, V> operator[](std::size_t i) const noexcept FRUGAL_LIFETIMEBOUND {
    return group_ref<K, V>{key(i), group(i)};
  }

  /// Returns the position of `key`'s group, or std::nullopt. O(1) expected: one hash and
  /// the key comparisons of a linear probe. Never allocates; throws what Hash and Eq throw.
  std::optional<std::size_t> index_of(const K& key) const {
    if (groups_ == 0) return std::nullopt;
    const std::uint32_t* s = find_slot(key);
    if (*s == 0) return std::nullopt;
    return static_cast<std::size_t>(*s - 1);
  }
  /// Returns the rows whose key equals `key`, or an empty span when there are none (a user
  /// without posts). O(1) expected; never allocates.
  std::span<const V> find(const K& key) const FRUGAL_LIFETIMEBOUND {
    const auto i = index_of(key);
    return i ? group(*i) : std::span<const V>();
  }
  /// Returns true when some row has key `key`. O(1) expected; never allocates.
  bool contains(const K& key) const { return index_of(key).has_value(); }

  /// Returns the distinct keys in first-appearance order. O(1).
  std::span<const K> keys() const noexcept FRUGAL_LIFETIMEBOUND {
    return std::span<const K>(keys_, groups_);
  }
  /// Returns every row, grouped: group `i` is `rows()[offsets()[i] .. offsets()[i + 1])`.
  std::span<const V> rows() const noexcept FRUGAL_LIFETIMEBOUND {
    return std::span<const V>(rows_, rows_n_);
  }
  /// Returns the `size() + 1` group boundaries into `rows()` (empty when there are no groups).
  std::span<const std::uint32_t> offsets() const noexcept FRUGAL_LIFETIMEBOUND {
    return groups_ == 0 ? std::span<const std::uint32_t>()
                        : std::span<const std::uint32_t>(offsets_, groups_ + 1);
  }

  /// Iterates over the groups as `group_ref`s, in first-appearance order of their keys.
  iterator begin() const noexcept FRUGAL_LIFETIMEBOUND { return iterator(this, 0); }
  iterator end() const noexcept FRUGAL_LIFETIMEBOUND { return iterator(this, groups_); }

  /// Returns the number of bytes of the one allocation (0 when empty), for capacity planning.
  std::size_t allocated_bytes() const noexcept { return bytes_; }

 private:
  template <class K2, class V2, class H2, class E2, class R, class KeyFn, class Make>
  friend grouped<K2, V2, H2, E2> detail::build_grouping(R& range, KeyFn& key_fn, H2 hash, E2 eq,
                                                        Make make);

  static constexpr std::size_t block_align = detail::max_align<K, V, std::uint32_t>();

  const std::uint32_t* find_slot(const K& key) const {
    const std::size_t h = hash_(key);
    return detail::probe(slots_, mask_, detail::slot_of(h, shift_), key, eq_,
                         [this](std::uint32_t id) -> const K& { return keys_[id]; });
  }

  void release() noexcept {
    if (block_ == nullptr) return;
    std::destroy_n(rows_, rows_n_);
    std::destroy_n(keys_, groups_);
    detail::free_block<block_align>(block_, bytes_);
    block_ = nullptr;
    bytes_ = rows_n_ = groups_ = mask_ = 0;
  }
  void steal(grouped& o) noexcept {
    block_ = std::exchange(o.block_, nullptr);
    bytes_ = std::exchange(o.bytes_, 0);
    rows_ = o.rows_;
    keys_ = o.keys_;
    offsets_ = o.offsets_;
    slots_ = o.slots_;
    rows_n_ = std::exchange(o.rows_n_, 0);
    groups_ = std::exchange(o.groups_, 0);
    mask_ = std::exchange(o.mask_, 0);
    shift_ = o.shift_;
    hash_ = o.hash_;
    eq_ = o.eq_;
  }

  void* block_ = nullptr;
  std::size_t bytes_ = 0;
  V* rows_ = nullptr;
  K* keys_ = nullptr;
  std::uint32_t* offsets_ = nullptr;
  std::uint32_t* slots_ = nullptr;
  std::size_t rows_n_ = 0;
  std::size_t groups_ = 0;
  std::size_t mask_ = 0;
  unsigned shift_ = 63;
  [[no_unique_address]] Hash hash_{};
  [[no_unique_address]] Eq eq_{};
};

namespace detail {

// The key of a row that is read again later (copied or moved into a group, or looked up a
// second time): `key_fn` gets the row as an lvalue where it accepts one, so that a range of
// rvalue references (`T&&`) cannot have its rows moved from by the key function (a by-value
// parameter, a member pointer's `std::string&&`) before they are read.
template <class KeyFn, class Row>
decltype(auto) key_of_row(KeyFn& key_fn, Row&& row) {
  if constexpr (std::invocable<KeyFn&, Row&>) {
    return std::invoke(key_fn, row);
  } else {
    return std::invoke(key_fn, std::forward<Row>(row));
  }
}

// Builds the grouping of `range` (a forward range walked twice; `key_fn` is called once per
// row, on the first walk); `make(where, row_reference, index)` constructs a row in place.
template <class K, class V, class Hash, class Eq, class R, class KeyFn, class Make>
grouped<K, V, Hash, Eq> build_grouping(R& range, KeyFn& key_fn, Hash hash, Eq eq, Make make) {
  using G = grouped<K, V, Hash, Eq>;
  G g;
  g.hash_ = std::move(hash);
  g.eq_ = std::move(eq);
  const std::size_t n = detail::range_count(range);
  if (n == 0) return g;
  if (n > detail::max_grouped_rows) {
    detail::throw_batch_length("group_by", n, detail::max_grouped_rows);
  }
  const char* const what = "group_by";
  const detail::slot_shape shape = detail::slots_for(n);
  // Rows, then keys, then the slots, the offsets and each row's group id: one block.
  const std::size_t keys_at =
      detail::align_up(detail::checked_mul(n, sizeof(V), what), alignof(K), what);
  const std::size_t slots_at =
      detail::align_up(detail::checked_add(keys_at, detail::checked_mul(n, sizeof(K), what),
                                           std::numeric_limits<std::size_t>::max(), what),
                       alignof(std::uint32_t), what);
  const std::size_t u32s = detail::checked_add(
      shape.slots, detail::checked_add(n + 1, n, std::numeric_limits<std::size_t>::max(), what),
      std::numeric_limits<std::size_t>::max(), what);
  const std::size_t bytes =
      detail::checked_add(slots_at, detail::checked_mul(u32s, sizeof(std::uint32_t), what),
                          std::numeric_limits<std::size_t>::max(), what);

  char* const block = static_cast<char*>(allocate_block<G::block_align>(bytes));
  V* const rows = reinterpret_cast<V*>(block);
  K* const keys = reinterpret_cast<K*>(block + keys_at);
  std::uint32_t* const slots = reinterpret_cast<std::uint32_t*>(block + slots_at);
  std::uint32_t* const offsets = slots + shape.slots;
  std::uint32_t* const gid = offsets + (n + 1);
  std::fill_n(slots, shape.slots, std::uint32_t{0});
  const std::size_t mask = shape.slots - 1;

  // Undoes whatever was built when a key function, hash, comparison or constructor throws.
  struct undo {
    char* block;
    std::size_t bytes;
    K* keys;
    std::size_t keys_built = 0;
    V* rows;
    std::uint32_t* offsets;
    std::uint32_t* gid;
    std::size_t rows_built = 0;
    bool done = false;
    ~undo() {
      if (done) return;
      // Row j sits at the position its group's cursor had when it was placed: walking back
      // rewinds the cursors to exactly those positions.
      for (std::size_t j = rows_built; j-- > 0;) std::destroy_at(rows + --offsets[gid[j] + 1]);
      std::destroy_n(keys, keys_built);
      free_block<G::block_align>(block, bytes);
    }
  } guard{block, bytes, keys, 0, rows, offsets, gid};

  offsets[0] = 0;
  std::size_t groups = 0;
  {
    std::size_t i = 0;
    for (auto it = std::ranges::begin(range); i < n; ++it, ++i) {
      auto&& row = *it;  // kept alive while `k` may refer into it
      decltype(auto) k = detail::key_of_row(key_fn, std::forward<decltype(row)>(row));
      const std::size_t h = g.hash_(std::as_const(k));
      std::uint32_t* s =
          detail::probe(slots, mask, detail::slot_of(h, shape.shift), std::as_const(k), g.eq_,
                        [keys](std::uint32_t id) -> const K& { return keys[id]; });
      if (*s == 0) {
        ::new (static_cast<void*>(keys + groups)) K(std::forward<decltype(k)>(k));
        guard.keys_built = ++groups;
        *s = static_cast<std::uint32_t>(groups);
        offsets[groups] = 1;
        gid[i] = static_cast<std::uint32_t>(groups - 1);
      } else {
        gid[i] = *s - 1;
        ++offsets[*s];
      }
    }
  }
  // offsets[k + 1] becomes the start of group k, then its cursor; after the placement walk it
  // is the end of group k, which is the start of group k + 1.
  std::uint32_t running = 0;
  for (std::size_t k = 1; k <= groups; ++k) {
    const std::uint32_t c = offsets[k];
    offsets[k] = running;
    running += c;
  }
  {
    std::size_t i = 0;
    for (auto it = std::ranges::begin(range); i < n; ++it, ++i) {
      const std::uint32_t pos = offsets[gid[i] + 1];
      make(rows + pos, *it, i);
      ++offsets[gid[i] + 1];
      guard.rows_built = i + 1;
    }
  }
  guard.done = true;
  g.block_ = block;
  g.bytes_ = bytes;
  g.rows_ = rows;
  g.keys_ = keys;
  g.offsets_ = offsets;
  g.slots_ = slots;
  g.rows_n_ = n;
  g.groups_ = groups;
  g.mask_ = mask;
  g.shift_ = shape.shift;
  return g;
}

}  // namespace detail

/// The key type `group_by(range, key_fn)` groups by.
template <class R, class KeyFn>
using group_key_t =
    std::remove_cvref_t<std::invoke_result_t<KeyFn&, std::ranges::range_reference_t<R>>>;

/// Groups the rows of `range` by `key_fn(row)` (anything std::invoke takes: a lambda, a
/// pointer to member): groups in first-appearance order of their keys, rows in their original
/// order within a group. Copies the rows (moves them when `range` is an rvalue container)
/// into a `grouped` with exactly one allocation, or none for an empty range, of
/// n * (sizeof(row) + sizeof(key) + 8) + 8 * 2^ceil(log2 n) + 4 bytes plus alignment padding
/// (room for one key per row, the worst case, since the key count is not known before the
/// allocation). O(n) expected:
/// `key_fn` is called once per row, and the range is walked twice, so it must be a forward
/// range (collect a single-pass range first). Throws std::length_error past 2^32 - 2 rows,
/// and whatever `key_fn`, the hash, the comparison or the row's constructor throws, having
/// then destroyed and freed everything.
template <std::ranges::forward_range R, class KeyFn, class Hash = std::hash<group_key_t<R, KeyFn>>,
          class Eq = std::equal_to<group_key_t<R, KeyFn>>>
requires std::invocable<KeyFn&, std::ranges::range_reference_t<R>>
auto group_by(R&& range, KeyFn key_fn, Hash hash = {}, Eq eq = {}) {
  using K = group_key_t<R, KeyFn>;
  using V = std::ranges::range_value_t<R>;
  return detail::build_grouping<K, V, Hash, Eq>(
      range, key_fn, std::move(hash), std::move(eq), [](V* where, auto&& row, std::size_t) {
        ::new (static_cast<void*>(where)) V(detail::element_of<R>(row));
      });
}

/// Like `group_by`, but the groups hold the rows' positions in `range` (std::size_t) instead
/// of copies: nothing is copied, the rows stay where they are. One allocation; `key_fn` once
/// per row; throws what `key_fn`, the hash and the comparison throw, and std::length_error
/// past 2^32 - 2 rows.
template <std::ranges::forward_range R, class KeyFn, class Hash = std::hash<group_key_t<R, KeyFn>>,
          class Eq = std::equal_to<group_key_t<R, KeyFn>>>
requires std::invocable<KeyFn&, std::ranges::range_reference_t<R>>
auto group_indices_by(R&& range, KeyFn key_fn, Hash hash = {}, Eq eq = {}) {
  using K = group_key_t<R, KeyFn>;
  return detail::build_grouping<K, std::size_t, Hash, Eq>(
      range, key_fn, std::move(hash), std::move(eq),
      [](std::size_t* where, auto&&, std::size_t i) { *where = i; });
}

/// Groups the rows of `range` into a map of vectors (`Map` is, say,
/// `std::unordered_map<K, std::vector<Row>>` or `std::map`), for code that wants one. Each
/// group's vector is reserved to its exact size first, so the allocations are: one for the
/// grouping of indices, the map's own, and exactly one per vector. `key_fn` is called once per
/// row for random-access ranges and twice for other forward ranges. Returns a new map, so a
/// throw (from `key_fn`, an allocation or a row's constructor) changes nothing outside.
template <class Map, std::ranges::forward_range R, class KeyFn>
requires std::invocable<KeyFn&, std::ranges::range_reference_t<R>> Map group_into(R&& range,
                                                                                  KeyFn key_fn) {
  using MK = typename Map::key_type;
  auto idx = group_indices_by(range, key_fn);
  Map out;
  if constexpr (requires(Map & m, std::size_t n) { m.reserve(n); }) out.reserve(idx.size());
  const auto put = [](auto& vec, auto&& row) { vec.push_back(detail::element_of<R>(row)); };
  for (const auto g : idx) {
    auto& vec = out[MK(g.key)];
    if constexpr (requires { vec.reserve(std::size_t{}); }) vec.reserve(vec.size() + g.rows.size());
    if constexpr (std::ranges::random_access_range<R>) {
      const auto first = std::ranges::begin(range);
      for (const std::size_t i : g.rows) {
        put(vec, first[static_cast<std::ranges::range_difference_t<R>>(i)]);
      }
    }
  }
  if constexpr (!std::ranges::random_access_range<R>) {
    for (auto&& row : range) {
      // The key as the first pass got it: key_fn may take its row by non-const reference.
      auto& vec =
          out.find(MK(detail::key_of_row(key_fn, std::forward<decltype(row)>(row))))->second;
      put(vec, std::forward<decltype(row)>(row));
    }
  }
  return out;
}

// The batch-function contract ------------------------------------------------------------------

namespace detail {
// Whether the results `R` of a batch call give `std::optional<V>`s: by conversion of each
// element, or by moving it out of a container the call returned (so move-only values work).
template <class R, class V>
concept batch_results = std::ranges::forward_range<R> &&
    (std::convertible_to<std::ranges::range_reference_t<R>, std::optional<V>> ||
     (moves_elements_v<R> &&
      std::convertible_to<std::ranges::range_rvalue_reference_t<R>, std::optional<V>>));
}  // namespace detail

/// A batch function for keys `K` and values `V`: called with `std::span<const K>` of distinct
/// keys, it returns a sized or forward range of `std::optional<V>` (or of values convertible
/// to it), one per key, in key order. The elements of a range it returns by value that is not
/// a view (a container) are moved out, so `V` may be move-only; a range that refers to
/// elements owned elsewhere must be a view (`std::span`, a `std::ranges::view`), whose
/// elements are copied.
template <class F, class K, class V>
concept batch_function = std::invocable<F&, std::span<const K>> &&
    detail::batch_results<std::invoke_result_t<F&, std::span<const K>>, V>;

namespace detail {

[[noreturn]] FRUGAL_COLD inline void throw_result_count(const char* what, std::size_t results,
                                                        std::size_t keys) {
  FRUGAL_THROW(std::logic_error(std::string(what) + ": the batch function returned " +
                                std::to_string(results) + " results for " + std::to_string(keys) +
                                " keys"));
}

}  // namespace detail

/// Adapts a query that returns one row per found key, each row carrying its key
/// (`SELECT * FROM users WHERE id = ANY($1)`), to the batch-function contract: the rows are
/// matched back to the keys with `group_indices_by(rows, key_fn)` and moved out. A key with no
/// row gets std::nullopt; a key with several rows gets the first. `fetch(keys)` must return a
/// random-access range (a vector) of rows. Allocations per call: the fetch's, one for the
/// grouping, one for the result vector, and what moving the rows costs.
template <class Fetch, class KeyFn>
auto batch_from_rows(Fetch fetch, KeyFn key_fn) {
  return [fetch = std::move(fetch), key_fn = std::move(key_fn)]<class K>(std::span<const K> keys) {
    auto rows = fetch(keys);
    using Row = std::ranges::range_value_t<decltype(rows)>;
    static_assert(std::ranges::random_access_range<decltype(rows)>,
                  "batch_from_rows: the fetch function must return a random-access range");
    auto by_key = group_indices_by(rows, key_fn);
    std::vector<std::optional<Row>> out;
    out.reserve(keys.size());
    const auto first = std::ranges::begin(rows);
    for (const K& k : keys) {
      const auto found = by_key.find(k);
      if (found.empty()) {
        out.emplace_back();
      } else {
        out.emplace_back(std::move(
            first[static_cast<std::ranges::range_difference_t<decltype(rows)>>(found.front())]));
      }
    }
    return out;
  };
}

/// Adapts a query that returns many rows per key (`SELECT * FROM posts WHERE user_id =
/// ANY($1)`) to the batch-function contract with `std::vector<Row>` values, each in the rows'
/// order. A key without rows gets an empty vector (found, with no children), not std::nullopt.
/// Allocations per call: the fetch's, one for the grouping, the result vector, and one per key
/// that has rows.
template <class Fetch, class KeyFn>
auto batch_from_grouped_rows(Fetch fetch, KeyFn key_fn) {
  return [fetch = std::move(fetch), key_fn = std::move(key_fn)]<class K>(std::span<const K> keys) {
    auto rows = fetch(keys);
    using Row = std::ranges::range_value_t<decltype(rows)>;
    static_assert(std::ranges::random_access_range<decltype(rows)>,
                  "batch_from_grouped_rows: the fetch function must return a random-access range");
    auto by_key = group_indices_by(rows, key_fn);
    std::vector<std::optional<std::vector<Row>>> out;
    out.reserve(keys.size());
    const auto first = std::ranges::begin(rows);
    for (const K& k : keys) {
      const auto found = by_key.find(k);
      std::vector<Row>& v = out.emplace_back(std::in_place).value();
      v.reserve(found.size());
      for (const std::size_t i : found) {
        v.push_back(
            std::move(first[static_cast<std::ranges::range_difference_t<decltype(rows)>>(i)]));
      }
    }
    return out;
  };
}

/// Adapts a function returning a map from key to value (`std::unordered_map`, `std::map`,
/// anything with `find` and `end`) to the batch-function contract: keys missing from the map
/// get std::nullopt; values are moved out of the map. Allocations per call: the fetch's and
/// one for the result vector.
template <class Fetch>
auto batch_from_map(Fetch fetch) {
  return [fetch = std::move(fetch)]<class K>(std::span<const K> keys) {
    auto map = fetch(keys);
    using V = typename decltype(map)::mapped_type;
    std::vector<std::optional<V>> out;
    out.reserve(keys.size());
    for (const K& k : keys) {
      auto it = map.find(k);
      if (it == map.end()) {
        out.emplace_back();
      } else {
        out.emplace_back(std::move(it->second));
      }
    }
    return out;
  };
}

// batch_loader --------------------------------------------------------------------------------

/// Options of a `batch_loader`.
struct batch_options {
  /// The most keys one call of the batch function receives (at least 1).
  std::size_t max_batch = 1000;
  /// When true, a key already loaded in this unit of work is answered from the loader
  /// (found or missing) without being sent again; failed keys are always sent again.
  bool memoize = true;
};

/// What one `dispatch()` did.
struct dispatch_stats {
  /// The number of calls of the batch function.
  std::size_t batches = 0;
  /// The number of keys sent, in all calls together.
  std::size_t keys = 0;
  /// The number of calls that threw (their keys' handles rethrow the exception).
  std::size_t failed_batches = 0;
  friend bool operator==(const dispatch_stats&, const dispatch_stats&) = default;
};

/// Where a loaded key stands.
enum class load_status : std::uint8_t { pending, found, missing, failed };

namespace detail {

// Stores a batch result `x` (a std::optional<V> or anything that converts to one) in `slot`,
// without assigning a V when V cannot be assigned (a type with const members).
template <class V, class X>
void put_result(std::optional<V>& slot, X&& x) {
  if constexpr (std::is_assignable_v<std::optional<V>&, X&&>) {
    slot = std::forward<X>(x);
  } else {
    std::optional<V> value(std::forward<X>(x));
    slot.reset();
    if (value) slot.emplace(std::move(*value));
  }
}

template <class K, class V>
struct batch_call {
  virtual ~batch_call() = default;
  // Writes keys.size() values at `out`, or throws having written nothing it leaves behind.
  virtual void call(std::span<const K> keys, std::optional<V>* out) = 0;
};

template <class K, class V, class F>
struct batch_call_of final : batch_call<K, V> {
  explicit batch_call_of(F f) : fn(std::move(f)) {}
  void call(std::span<const K> keys, std::optional<V>* out) override {
    auto&& result = fn(keys);
    const std::size_t n = range_count(result);
    if (n != keys.size()) throw_result_count("batch_loader", n, keys.size());
    std::size_t i = 0;
    for (auto&& x : result) put_result(out[i++], element_of<decltype(result)>(x));
  }
  F fn;
};

}  // namespace detail

/// The DataLoader pattern without timers or threads: `load(key)` records a key and returns a
/// handle; `dispatch()` sends the distinct keys recorded since the last dispatch to the batch
/// function, in calls of at most `max_batch` keys; each handle then yields its value, a miss,
/// or the exception its batch threw. A key requested twice before a dispatch is sent once
/// (and, with `memoize`, once per unit of work). Meant for one unit of work (a request):
/// `clear()` or a new loader starts the next. Not thread-safe: one thread at a time.
///
/// Handles are small values (a pointer and two integers) valid until `clear()` or the
/// loader's end; using one after `clear()` throws std::logic_error. Results stay in the
/// loader, so a handle's `get()` (and `key()`) returns a reference into its arrays, valid
/// until the next `load` (which may grow them) or `clear()`.
template <class K, class V, class Hash = std::hash<K>, class Eq = std::equal_to<K>>
class batch_loader {
 public:
  /// A ticket for one requested key.
  class handle {
   public:
    /// Returns the key. Throws std::logic_error when the handle is from before a `clear()`.
    const K& key() const {
      loader_->checked(*this);
      return loader_->keys_[index_];
    }
    /// Returns where the key stands. Throws std::logic_error when the handle is stale.
    load_status status() const {
      loader_->checked(*this);
      return loader_->states_[index_].status;
    }
    /// Returns true once the key's batch has run (found, missing or failed).
    bool ready() const { return status() != load_status::pending; }
    /// Returns the value (std::nullopt: not found). Rethrows the batch function's exception
    /// when its batch failed; throws std::logic_error when the key has not been dispatched or
    /// the handle is stale. Never allocates. O(1).
    const std::optional<V>& get() const {
      loader_->checked(*this);
      const auto& st = loader_->states_[index_];
      if (FRUGAL_UNLIKELY(st.status == load_status::pending)) throw_pending();
      if (FRUGAL_UNLIKELY(st.status == load_status::failed)) loader_->rethrow(st.error);
      return loader_->values_[index_];
    }

   private:
    friend class batch_loader;
    handle(const batch_loader* l, std::uint32_t i, std::uint64_t gen) noexcept
        : loader_(l), index_(i), generation_(gen) {}
    [[noreturn]] FRUGAL_COLD static void throw_pending() {
      FRUGAL_THROW(std::logic_error("batch_loader: get() before dispatch() sent the key"));
    }
    const batch_loader* loader_;
    std::uint32_t index_;
    std::uint64_t generation_;
  };

  /// Creates a loader around `fn`, which must satisfy `batch_function<F, K, V>`. Allocates
  /// twice: the type-erased function, and room to record one failed batch. Throws
  /// std::invalid_argument when `options.max_batch` is 0.
  template <class F>
  requires batch_function<F, K, V>
  explicit batch_loader(F fn, batch_options options = {}, Hash hash = {}, Eq eq = {})
      : fn_(std::make_unique<detail::batch_call_of<K, V, F>>(std::move(fn))),
        options_(options),
        hash_(std::move(hash)),
        eq_(std::move(eq)) {
    if (options_.max_batch == 0) {
      FRUGAL_THROW(std::invalid_argument("batch_loader: max_batch is 0; it must be at least 1"));
    }
#if FRUGAL_HAS_EXCEPTIONS
    errors_.reserve(1);
#endif
  }
  // Handles point at the loader: it stays where it was made.
  batch_loader(const batch_loader&) = delete;
  batch_loader& operator=(const batch_loader&) = delete;

  /// Records `key` for the next dispatch and returns its handle. A key already waiting, or
  /// (with `memoize`) already found or missing in this unit of work, gets the existing entry
  /// and is not sent again. O(1) expected; allocates only when its arrays grow (amortised,
  /// O(log n) times per unit of work). Throws std::logic_error when called from inside the
  /// batch function (during `dispatch()`); on any throw the loader is unchanged.
  handle load(const K& key) {
    if (FRUGAL_UNLIKELY(dispatching_)) {
      FRUGAL_THROW(std::logic_error("batch_loader: load() called from inside the batch function"));
    }
    if ((distinct_ + 1) * 2 > slots_.size()) rehash((distinct_ + 1) * 2);
    std::uint32_t* s = slot_for(key);
    if (*s != 0) {
      const std::uint32_t i = *s - 1;
      const load_status st = states_[i].status;
      if (st == load_status::pending || (options_.memoize && st != load_status::failed)) {
        return handle(this, i, generation_);
      }
    }
    if (FRUGAL_UNLIKELY(keys_.size() >= detail::max_grouped_rows)) {
      detail::throw_batch_length("batch_loader", keys_.size() + 1, detail::max_grouped_rows);
    }
    keys_.push_back(key);
#if FRUGAL_HAS_EXCEPTIONS
    try {
      values_.emplace_back();
      states_.emplace_back();
    } catch (...) {
      keys_.pop_back();
      if (values_.size() > keys_.size()) values_.pop_back();
      throw;
    }
#else
    values_.emplace_back();
    states_.emplace_back();
#endif
    if (*s == 0) ++distinct_;
    *s = static_cast<std::uint32_t>(keys_.size());
    return handle(this, static_cast<std::uint32_t>(keys_.size() - 1), generation_);
  }

  /// Sends the keys recorded since the last dispatch, in order of first request, in calls of
  /// at most `max_batch` keys. A call that throws, or returns the wrong number of results
  /// (std::logic_error naming both counts), fails its keys only: their handles rethrow it and
  /// none of its values are kept; the other calls go on. Returns what it did. Allocates
  /// nothing itself beyond what the batch function does. Throws std::logic_error when called
  /// from inside the batch function.
  dispatch_stats dispatch() {
    if (FRUGAL_UNLIKELY(dispatching_)) {
      FRUGAL_THROW(
          std::logic_error("batch_loader: dispatch() called from inside the batch function"));
    }
    dispatch_stats stats;
    dispatching_ = true;
    // Ends the dispatch, then does a clear() the batch function asked for (see clear()).
    struct reset {
      batch_loader& loader;
      ~reset() {
        loader.dispatching_ = false;
        if (loader.clear_after_dispatch_) {
          loader.clear_after_dispatch_ = false;
          loader.clear();
        }
      }
    } reset_flag{*this};
    const std::size_t end = keys_.size();
    while (first_pending_ < end) {
      const std::size_t begin = first_pending_;
      const std::size_t count = end - begin < options_.max_batch ? end - begin : options_.max_batch;
      ++stats.batches;
      stats.keys += count;
      if (!run_batch(begin, count)) ++stats.failed_batches;
      first_pending_ = begin + count;
    }
    return stats;
  }

  /// Returns the number of distinct keys waiting for the next dispatch. O(1).
  std::size_t pending() const noexcept { return keys_.size() - first_pending_; }
  /// Returns the number of keys recorded in this unit of work. O(1).
  std::size_t size() const noexcept { return keys_.size(); }
  /// Returns the options.
  const batch_options& options() const noexcept { return options_; }

  /// Ends the unit of work: forgets every key, value and error, and makes every handle stale.
  /// Keeps the arrays' capacity, so the next unit of work allocates less. Never throws.
  /// Called from inside the batch function, it takes effect when `dispatch()` returns (the
  /// keys of that dispatch are all sent first).
  void clear() noexcept {
    if (FRUGAL_UNLIKELY(dispatching_)) {
      clear_after_dispatch_ = true;
      return;
    }
    keys_.clear();
    values_.clear();
    states_.clear();
#if FRUGAL_HAS_EXCEPTIONS
    errors_.clear();
#endif
    std::fill(slots_.begin(), slots_.end(), std::uint32_t{0});
    distinct_ = 0;
    first_pending_ = 0;
    ++generation_;
  }

 private:
  struct entry_state {
    load_status status = load_status::pending;
    std::uint32_t error = 0;
  };

  void checked(const handle& h) const {
    if (FRUGAL_UNLIKELY(h.generation_ != generation_)) {
      FRUGAL_THROW(std::logic_error("batch_loader: handle used after clear()"));
    }
  }

  [[noreturn]] void rethrow([[maybe_unused]] std::uint32_t error) const {
#if FRUGAL_HAS_EXCEPTIONS
    std::rethrow_exception(errors_[error]);
#else
    detail::fail("batch_loader", "a batch failed");
#endif
  }

  std::uint32_t* slot_for(const K& key) {
    return detail::probe(slots_.data(), slots_.size() - 1, detail::slot_of(hash_(key), shift_), key,
                         eq_, [this](std::uint32_t id) -> const K& { return keys_[id]; });
  }

  FRUGAL_NOINLINE void rehash(std::size_t at_least) {
    const detail::slot_shape shape = detail::slots_for(at_least);
    std::vector<std::uint32_t> grown(shape.slots, 0);  // may throw: nothing changed yet
    const std::size_t mask = shape.slots - 1;
    for (const std::uint32_t id : slots_) {
      if (id == 0) continue;
      std::size_t i = detail::slot_of(hash_(keys_[id - 1]), shape.shift);
      while (grown[i] != 0) i = (i + 1) & mask;
      grown[i] = id;
    }
    slots_ = std::move(grown);
    shift_ = shape.shift;
  }

  // Runs one call for keys [begin, begin + count); returns false when it failed.
  bool run_batch(std::size_t begin, std::size_t count) {
    std::optional<V>* out = values_.data() + begin;
#if FRUGAL_HAS_EXCEPTIONS
    // Room for this call's error first, so that recording a failure cannot fail.
    if (errors_.size() == errors_.capacity()) errors_.reserve(2 * errors_.size() + 1);
    try {
      fn_->call(std::span<const K>(keys_.data() + begin, count), out);
    } catch (...) {
      for (std::size_t i = 0; i < count; ++i) out[i].reset();
      const auto where = static_cast<std::uint32_t>(errors_.size());
      errors_.push_back(std::current_exception());
      for (std::size_t i = 0; i < count; ++i) {
        states_[begin + i] = entry_state{load_status::failed, where};
      }
      return false;
    }
#else
    fn_->call(std::span<const K>(keys_.data() + begin, count), out);
#endif
    for (std::size_t i = 0; i < count; ++i) {
      states_[begin + i].status = out[i].has_value() ? load_status::found : load_status::missing;
    }
    return true;
  }

#if FRUGAL_HAS_EXCEPTIONS
  std::vector<std::exception_ptr> errors_;
#endif

  std::unique_ptr<detail::batch_call<K, V>> fn_;
  batch_options options_;
  [[no_unique_address]] Hash hash_;
  [[no_unique_address]] Eq eq_;
  std::vector<K> keys_;
  std::vector<std::optional<V>> values_;
  std::vector<entry_state> states_;
  std::vector<std::uint32_t> slots_;
  unsigned shift_ = 63;
  std::size_t distinct_ = 0;
  std::size_t first_pending_ = 0;
  std::uint64_t generation_ = 0;
  bool dispatching_ = false;
  bool clear_after_dispatch_ = false;  // clear() called from inside the batch function
};

// Multi-row INSERT ------------------------------------------------------------------------------

/// Options of `insert_rows`.
struct insert_options {
  /// The schema of the table, quoted like the table; empty for none.
  std::string_view schema{};
  /// SQL appended verbatim after the VALUES list (" ON CONFLICT DO NOTHING"). Written by the
  /// programmer, never from user input: values belong in parameters.
  std::string_view suffix{};
  /// The most parameters one statement may carry: PostgreSQL's protocol limit by default.
  std::size_t max_params = 65535;
};

/// One INSERT statement and its parameters, row after row, numbered from $1.
template <class P>
struct insert_statement {
  std::string sql;
  std::vector<P> params;
  /// The position in the input of the statement's first row.
  std::size_t first_row = 0;
  /// The number of rows the statement inserts.
  std::size_t rows = 0;
};

namespace detail {

[[noreturn]] FRUGAL_COLD inline void throw_bad_identifier(const char* which, std::size_t index,
                                                          const char* why) {
  FRUGAL_THROW(std::invalid_argument(
      std::string("insert_rows: ") + which +
      (index == std::size_t(-1) ? std::string() : " " + std::to_string(index)) + " " + why));
}

// Checks an identifier and returns its length once double-quoted (quotes doubled inside).
inline std::size_t quoted_length(std::string_view id, const char* which, std::size_t index) {
  if (id.empty()) throw_bad_identifier(which, index, "is empty");
  std::size_t n = id.size() + 2;
  for (const char c : id) {
    if (c == '\0') throw_bad_identifier(which, index, "contains a NUL character");
    if (c == '"') ++n;
  }
  return n;
}

inline void append_quoted(builder<std::string>& b, std::string_view id) {
  b.append('"');
  for (std::size_t from = 0;;) {
    const std::size_t q = id.find('"', from);
    if (q == std::string_view::npos) {
      b.append(id.substr(from), '"');
      return;
    }
    b.append(id.substr(from, q + 1 - from), '"');
    from = q + 1;
  }
}

// The total number of decimal digits of 1, 2, ..., m.
inline std::size_t digits_up_to(std::size_t m) noexcept {
  std::size_t total = 0;
  std::size_t digits = 1;
  for (std::size_t low = 1; low <= m; low *= 10, ++digits) {
    const std::size_t high = low > m / 10 ? m : low * 10 - 1;
    total += (high - low + 1) * digits;
    if (low > std::numeric_limits<std::size_t>::max() / 10) break;
  }
  return total;
}

// Writes the VALUES list through a stack buffer, so that the builder sees one append per few
// hundred characters instead of one per placeholder.
class placeholder_writer {
 public:
  explicit placeholder_writer(builder<std::string>& b) noexcept : b_(b) {}
  void put(char c) {
    if (len_ == sizeof buf_) flush();
    buf_[len_++] = c;
  }
  void put_placeholder(std::size_t k) {
    if (len_ + 1 + max_number_chars<std::size_t>() > sizeof buf_) flush();
    buf_[len_++] = '$';
    len_ = static_cast<std::size_t>(std::to_chars(buf_ + len_, buf_ + sizeof buf_, k).ptr - buf_);
  }
  void flush() {
    b_.append(std::string_view(buf_, len_));
    len_ = 0;
  }

 private:
  builder<std::string>& b_;
  std::size_t len_ = 0;
  char buf_[256];
};

}  // namespace detail

/// The parameter type `insert_rows` produces for rows of `R` turned into parameters by `F`.
template <class R, class F>
using insert_param_t =
    std::ranges::range_value_t<std::invoke_result_t<F&, std::ranges::range_reference_t<R>>>;

/// Builds `INSERT INTO "t" ("a", "b") VALUES ($1,$2),($3,$4),...` statements for `rows`,
/// each with its parameter array: `row_params(row)` returns a sized range of exactly
/// `columns.size()` values (a std::array of strings, say), which go into the parameters,
/// never into the SQL text. Rows are split into as few statements as `options.max_params`
/// allows (PostgreSQL's 65,535 by default), each numbering its parameters from $1.
/// Identifiers are double-quoted, with `"` doubled. Allocations: one for the statement
/// vector, and per statement exactly one for its text (measured first) and one for its
/// parameters, plus what the values cost. No rows: no statements, no allocation. Throws
/// std::invalid_argument for no columns, an empty identifier or one with a NUL, or more
/// columns than `max_params`; std::logic_error naming the row when `row_params` gives another
/// number of values; whatever `row_params` throws. Returns by value, so a throw leaves nothing.
template <std::ranges::forward_range R, class F>
requires std::invocable<F&, std::ranges::range_reference_t<R>>
    std::vector<insert_statement<insert_param_t<R, F>>> insert_rows(
        std::string_view table, std::span<const std::string_view> columns, R&& rows, F row_params,
        const insert_options& options = {}) {
  using P = insert_param_t<R, F>;
  const char* const what = "insert_rows";
  const std::size_t max = std::numeric_limits<std::size_t>::max();
  if (columns.empty()) {
    FRUGAL_THROW(std::invalid_argument("insert_rows: no columns"));
  }
  if (columns.size() > options.max_params) {
    FRUGAL_THROW(std::invalid_argument("insert_rows: " + std::to_string(columns.size()) +
                                       " columns exceed max_params " +
                                       std::to_string(options.max_params)));
  }
  // "INSERT INTO " [schema "."] table " (" columns joined by ", " ") VALUES "
  std::size_t head = 12 + detail::quoted_length(table, "table", std::size_t(-1)) + 2;
  if (!options.schema.empty()) {
    head += detail::quoted_length(options.schema, "schema", std::size_t(-1)) + 1;
  }
  for (std::size_t i = 0; i < columns.size(); ++i) {
    head = detail::checked_add(head, detail::quoted_length(columns[i], "column", i) + 2, max, what);
  }
  head = head - 2 + 9;  // the last column has no ", "; then ") VALUES "

  std::vector<insert_statement<P>> out;
  const std::size_t n = detail::range_count(rows);
  if (n == 0) return out;
  const std::size_t ncols = columns.size();
  const std::size_t per_statement = options.max_params / ncols;
  out.reserve((n + per_statement - 1) / per_statement);

  auto it = std::ranges::begin(rows);
  for (std::size_t first = 0; first < n; first += per_statement) {
    const std::size_t count = n - first < per_statement ? n - first : per_statement;
    const std::size_t params = count * ncols;
    // "(" "$k" x ncols with "," between ")" per row, "," between rows.
    const std::size_t text = head + params + detail::digits_up_to(params) + (params - count) +
                             2 * count + (count - 1) + options.suffix.size();
    insert_statement<P> st;
    st.first_row = first;
    st.rows = count;
    st.params.reserve(params);
    builder<std::string> b(text);
    b.append("INSERT INTO ");
    if (!options.schema.empty()) {
      detail::append_quoted(b, options.schema);
      b.append('.');
    }
    detail::append_quoted(b, table);
    b.append(" (");
    for (std::size_t c = 0; c < ncols; ++c) {
      if (c != 0) b.append(", ");
      detail::append_quoted(b, columns[c]);
    }
    b.append(") VALUES ");
    std::size_t k = 0;
    detail::placeholder_writer w{b};
    for (std::size_t r = 0; r < count; ++r, ++it) {
      auto&& values = std::invoke(row_params, *it);
      const std::size_t got = detail::range_count(values);
      if (got != ncols) {
        FRUGAL_THROW(std::logic_error("insert_rows: row " + std::to_string(first + r) + " gave " +
                                      std::to_string(got) + " parameters for " +
                                      std::to_string(ncols) + " columns"));
      }
      for (auto&& v : values) {
        st.params.push_back(
            detail::element_of<std::invoke_result_t<F&, std::ranges::range_reference_t<R>>>(v));
      }
      if (r != 0) w.put(',');
      w.put('(');
      for (std::size_t c = 0; c < ncols; ++c) {
        if (c != 0) w.put(',');
        w.put_placeholder(++k);
      }
      w.put(')');
    }
    w.flush();
    b.append(options.suffix);
    FRUGAL_ASSERT(b.regrowths() == 0 && b.size() == text);
    st.sql = std::move(b).build();
    out.push_back(std::move(st));
  }
  return out;
}

/// `insert_rows` with the columns as a braced list: `insert_rows("t", {"a", "b"}, rows, f)`.
template <std::ranges::forward_range R, class F>
requires std::invocable<F&, std::ranges::range_reference_t<R>>
    std::vector<insert_statement<insert_param_t<R, F>>> insert_rows(
        std::string_view table, std::initializer_list<std::string_view> columns, R&& rows,
        F row_params, const insert_options& options = {}) {
  return insert_rows(table, std::span<const std::string_view>(columns.begin(), columns.size()),
                     std::forward<R>(rows), std::move(row_params), options);
}

FRUGAL_END_NAMESPACE
