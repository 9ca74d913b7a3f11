// frugal/bytes.hpp: zero-copy byte buffers for network I/O (Rust's `bytes` crate for C++).
//
//   frugal::bytes_mut buf;                       // a parser's read buffer
//   buf.extend(received);                        // or frugal::read_from(fd, buf)
//   frugal::bytes frame = buf.split_to(n).freeze();  // O(1): the frame shares the buffer
//   frugal::bytes head = frame.slice(0, 16);     // O(1), no copy, keeps the buffer alive
//
// `bytes` is an immutable view of bytes that keeps its storage alive: 24 bytes (pointer,
// length, control block), cloned and dropped with one relaxed increment and one release
// decrement of a shared count, or none at all for static data. `bytes_mut` is a unique,
// growable buffer; `freeze()` turns it into `bytes` without a copy, and `split_to(n)` hands
// out the front while the buffer keeps filling its tail. Once every piece handed out has been
// dropped, `reserve` reuses the allocation: the room after the unread bytes, or the whole of
// it with the bytes moved to the front when the room in front of them holds them all.
// `bytes_chain` holds several `bytes` (a header and a body) to be written with one `writev`.
//
// Backings, one control block per backing (the static backing has none):
//   static data     `from_static`, `"..."_bytes`  no allocation, no count
//   shared buffer   `copy_from`, `bytes_mut`      control block and data in one allocation
//   adopted         `bytes(std::string&&)`,       one allocation for the control block, the
//                   `bytes(std::vector<std::byte>&&)`  data is not copied (a short string is)
//   owner           `from_owner(data, owner)`     one allocation; the owner (a mapped file, a
//                                                 release callback) is released with the last view
//
// Bad input: `slice`, `split_to`, `split_off`, `advance` and `slice_ref` past the end throw
// `std::out_of_range` naming the values, in every build mode; `truncate(n)` past the end does
// nothing. Element access `operator[]` is checked by FRUGAL_ASSERT. Sizes that overflow throw
// `std::length_error`.
//
// Files, sockets and descriptors (map_file, file_chunks, read_from, send_all, send_file) are in
// <frugal/bytes_io.hpp>, which needs POSIX.
#pragma once

#include <frugal/detail/config.hpp>
#include <frugal/small_vector.hpp>

#include <atomic>
#include <bit>
#include <compare>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <new>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

// glibc's __libc_single_threaded (2.32 and later); not under ThreadSanitizer, which should see
// every count change as the atomic operation it is once threads exist.
#if defined(__has_include) && !defined(__SANITIZE_THREAD__)
#if __has_include(<sys/single_threaded.h>)
#include <sys/single_threaded.h>
#define FRUGAL_BYTES_HAVE_SINGLE_THREADED 1
#endif
#endif
#ifndef FRUGAL_BYTES_HAVE_SINGLE_THREADED
#define FRUGAL_BYTES_HAVE_SINGLE_THREADED 0
#endif

FRUGAL_BEGIN_NAMESPACE

class bytes;
class bytes_mut;

namespace detail {

// The shared part of every non-static backing. `destroy` is the backing's one operation: it
// releases the storage and the block itself. [base, base + capacity) is the storage a unique
// holder may write to (`writable` backings only).
struct bytes_control {
  std::atomic<std::size_t> refs{1};
  void (*destroy)(bytes_control*) noexcept = nullptr;
  std::byte* base = nullptr;
  std::size_t capacity = 0;
  bool writable = false;
};

// True while the process has never started a second thread (glibc's flag, which libstdc++'s
// shared_ptr reads for the same purpose): counts then need no atomic read-modify-write, which
// costs about 5 ns on x86. Creating a thread clears the flag before the thread runs, and
// happens before anything the thread does, so counts changed before are seen by it.
inline bool bytes_single_threaded() noexcept {
#if FRUGAL_BYTES_HAVE_SINGLE_THREADED
  return __libc_single_threaded != 0;
#else
  return false;
#endif
}

inline void bytes_retain(bytes_control* c) noexcept {
  if (c == nullptr) return;
  if (bytes_single_threaded()) {
    c->refs.store(c->refs.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  } else {
    c->refs.fetch_add(1, std::memory_order_relaxed);
  }
}

inline void bytes_release(bytes_control* c) noexcept {
  if (c == nullptr) return;
  if (bytes_single_threaded()) {
    const std::size_t n = c->refs.load(std::memory_order_relaxed);
    if (n != 1) {
      c->refs.store(n - 1, std::memory_order_relaxed);
      return;
    }
    c->destroy(c);
    return;
  }
  if (c->refs.fetch_sub(1, std::memory_order_release) == 1) {
    // Acquire the other holders' releases before freeing. An acquire load of the count (which
    // every decrement's release sequence ends in) does what a fence would, and ThreadSanitizer
    // understands it (Rust's Arc does the same under TSan). Free on x86; one ldar on ARM.
    (void)c->refs.load(std::memory_order_acquire);
    c->destroy(c);
  }
}

// True when the caller holds the only reference; the acquire pairs with the release of every
// other holder's drop, so their reads of the storage happen before the caller's writes.
inline bool bytes_unique(const bytes_control* c) noexcept {
  return c != nullptr && c->refs.load(std::memory_order_acquire) == 1;
}

// The shared buffer: the control block and `capacity` bytes after it, one allocation.
struct bytes_heap_control : bytes_control {};

inline constexpr std::size_t bytes_heap_header =
    (sizeof(bytes_heap_control) + alignof(std::max_align_t) - 1) / alignof(std::max_align_t) *
    alignof(std::max_align_t);

inline void bytes_heap_destroy(bytes_control* c) noexcept {
  static_cast<bytes_heap_control*>(c)->~bytes_heap_control();
  ::operator delete(static_cast<void*>(c));
}

[[noreturn]] FRUGAL_COLD inline void throw_bytes_length(const char* what, std::size_t have,
                                                        std::size_t more) {
  FRUGAL_THROW(std::length_error(std::string(what) + ": size " + std::to_string(have) + " + " +
                                 std::to_string(more) + " overflows"));
}

[[noreturn]] FRUGAL_COLD inline void throw_bytes_capacity(std::size_t capacity) {
  FRUGAL_THROW(std::length_error("bytes: a capacity of " + std::to_string(capacity) +
                                 " bytes is more than can be allocated"));
}

// Allocates a control block with `capacity` bytes of storage after it. Allocates once; throws
// std::bad_alloc, or std::length_error when the total size overflows.
inline bytes_heap_control* bytes_heap_allocate(std::size_t capacity) {
  if (capacity > std::numeric_limits<std::size_t>::max() - bytes_heap_header) {
    throw_bytes_capacity(capacity);
  }
  void* raw = ::operator new(bytes_heap_header + capacity);
  auto* c = ::new (raw) bytes_heap_control();
  c->destroy = &bytes_heap_destroy;
  c->base = static_cast<std::byte*>(raw) + bytes_heap_header;
  c->capacity = capacity;
  c->writable = true;
  return c;
}

// An adopted container (std::string, std::vector<std::byte>) kept alive by the block.
template <class Container>
struct bytes_adopted_control : bytes_control {
  explicit bytes_adopted_control(Container&& c) noexcept : container(std::move(c)) {}
  Container container;
  static void destroy_fn(bytes_control* c) noexcept {
    delete static_cast<bytes_adopted_control*>(c);
  }
};

// A user-supplied owner; when it is callable with no arguments, that call is its release.
template <class Owner>
struct bytes_owner_control : bytes_control {
  explicit bytes_owner_control(Owner&& o) : owner(std::move(o)) {}
  Owner owner;
  static void destroy_fn(bytes_control* c) noexcept {
    auto* self = static_cast<bytes_owner_control*>(c);
    if constexpr (std::is_invocable_v<Owner&>) std::invoke(self->owner);
    delete self;
  }
};

[[noreturn]] FRUGAL_COLD inline void throw_bytes_range(const char* what, std::size_t begin,
                                                       std::size_t end, std::size_t size) {
  FRUGAL_THROW(std::out_of_range(std::string(what) + ": range [" + std::to_string(begin) + ", " +
                                 std::to_string(end) + ") out of bounds of size " +
                                 std::to_string(size)));
}

[[noreturn]] FRUGAL_COLD inline void throw_bytes_index(const char* what, std::size_t n,
                                                       std::size_t size) {
  FRUGAL_THROW(std::out_of_range(std::string(what) + ": " + std::to_string(n) + " > size " +
                                 std::to_string(size)));
}

}  // namespace detail

/// An immutable, cheaply cloneable view of bytes that keeps its storage alive (Rust's
/// `bytes::Bytes`). Copying clones the view: one relaxed atomic increment (none for static
/// data; a plain increment while the process has never started a second thread, as
/// libstdc++'s shared_ptr does on glibc), never an allocation; destruction is one release
/// decrement (likewise plain while single-threaded), and the last view of a
/// backing frees it. Views of one backing may be cloned and dropped on different threads.
/// Slicing, splitting and advancing are O(1) and never copy the bytes.
class bytes {
 public:
  using value_type = std::byte;
  using size_type = std::size_t;
  using const_iterator = const std::byte*;
  using iterator = const_iterator;

  /// Constructs an empty view. Never allocates, never throws.
  constexpr bytes() noexcept = default;

  /// Clones `other`: one relaxed atomic increment, none for static data. Never allocates.
  bytes(const bytes& other) noexcept : ptr_(other.ptr_), len_(other.len_), ctrl_(other.ctrl_) {
    detail::bytes_retain(ctrl_);
  }

  /// Takes `other`'s view and leaves `other` empty. Never allocates, never throws.
  bytes(bytes&& other) noexcept
      : ptr_(std::exchange(other.ptr_, nullptr)),
        len_(std::exchange(other.len_, 0)),
        ctrl_(std::exchange(other.ctrl_, nullptr)) {}

  /// Makes this a clone of `other`, dropping the previous view. Never allocates. Safe when
  /// `other` is this view or shares its backing.
  bytes& operator=(const bytes& other) noexcept {
    detail::bytes_retain(other.ctrl_);
    detail::bytes_control* old = ctrl_;
    ptr_ = other.ptr_;
    len_ = other.len_;
    ctrl_ = other.ctrl_;
    detail::bytes_release(old);
    return *this;
  }

  /// Takes `other`'s view, dropping the previous one, and leaves `other` empty (unless it is
  /// this view). Never allocates, never throws.
  bytes& operator=(bytes&& other) noexcept {
    if (this != &other) {
      detail::bytes_control* old = ctrl_;
      ptr_ = std::exchange(other.ptr_, nullptr);
      len_ = std::exchange(other.len_, 0);
      ctrl_ = std::exchange(other.ctrl_, nullptr);
      detail::bytes_release(old);
    }
    return *this;
  }

  /// Drops the view: one release decrement; the last view of a backing frees it.
  ~bytes() { detail::bytes_release(ctrl_); }

  /// Adopts `s` without copying its heap buffer: one allocation for the control block. A
  /// string held in its short-string buffer is copied along with it (at most a few bytes).
  /// An empty string allocates nothing. Throws std::bad_alloc (then `s` is unchanged).
  explicit bytes(std::string&& s) { adopt(std::move(s)); }

  /// Adopts `v` without copying its elements: one allocation for the control block, none for
  /// an empty vector. Throws std::bad_alloc (then `v` is unchanged).
  explicit bytes(std::vector<std::byte>&& v) { adopt(std::move(v)); }

  /// Returns a view of `data`, which must outlive every view of it (string literals, static
  /// tables). No allocation, no reference count. O(1).
  static bytes from_static(std::span<const std::byte> data) noexcept {
    return bytes(data.data(), data.size(), nullptr);
  }

  /// Returns a view of static text, as `from_static(std::as_bytes(...))`. O(1), no allocation.
  static bytes from_static(std::string_view text) noexcept {
    return bytes(reinterpret_cast<const std::byte*>(text.data()), text.size(), nullptr);
  }

  /// Returns a copy of `data` in a shared buffer: one allocation (control block and data
  /// together), none when `data` is empty. O(n). Throws std::bad_alloc.
  static bytes copy_from(std::span<const std::byte> data) {
    if (data.empty()) return bytes();
    detail::bytes_heap_control* c = detail::bytes_heap_allocate(data.size());
    std::memcpy(c->base, data.data(), data.size());
    return bytes(c->base, data.size(), c);
  }

  /// Returns a copy of `text` in a shared buffer, as the span overload. O(n).
  static bytes copy_from(std::string_view text) {
    return copy_from(std::as_bytes(std::span<const char>(text.data(), text.size())));
  }

  /// Returns a copy of `data`'s bytes in a buffer of their own (keeps a small frame without
  /// keeping the big buffer it views), as the span overload. O(n).
  static bytes copy_from(const bytes& data) { return copy_from(data.as_span()); }

  /// Returns a view of `data` that keeps `owner` alive: `owner` is moved into a control block
  /// (one allocation) and destroyed with the last view; when it is callable with no arguments,
  /// it is called first (a release callback). `data` must stay valid while `owner` lives.
  /// Throws std::bad_alloc or what moving `owner` throws; a callable owner is then called
  /// before the exception leaves, so the resource it guards is not leaked. The release call
  /// runs where the last view drops, on whatever thread, and must not throw (it would
  /// terminate).
  template <class Owner>
  requires std::is_nothrow_destructible_v<Owner> && std::is_move_constructible_v<Owner>
  static bytes from_owner(std::span<const std::byte> data, Owner owner) {
    using control = detail::bytes_owner_control<Owner>;
    control* c = nullptr;
#if FRUGAL_HAS_EXCEPTIONS
    try {
      c = new control(std::move(owner));
    } catch (...) {
      if constexpr (std::is_invocable_v<Owner&>) std::invoke(owner);
      throw;
    }
#else
    c = new control(std::move(owner));
#endif
    c->destroy = &control::destroy_fn;
    return bytes(data.data(), data.size(), c);
  }

  /// Returns the number of bytes. O(1).
  constexpr size_type size() const noexcept { return len_; }
  /// Returns true when there are no bytes. O(1).
  constexpr bool empty() const noexcept { return len_ == 0; }
  /// Returns a pointer to the first byte (may be null when empty). O(1).
  constexpr const std::byte* data() const noexcept FRUGAL_LIFETIMEBOUND { return ptr_; }
  /// Returns an iterator to the first byte. O(1).
  constexpr const_iterator begin() const noexcept FRUGAL_LIFETIMEBOUND { return ptr_; }
  /// Returns an iterator past the last byte. O(1).
  constexpr const_iterator end() const noexcept FRUGAL_LIFETIMEBOUND { return ptr_ + len_; }

  /// Returns byte `i`. Precondition `i < size()`, checked by FRUGAL_ASSERT. O(1).
  std::byte operator[](size_type i) const noexcept {
    FRUGAL_ASSERT(i < len_);
    return ptr_[i];
  }

  /// Returns the bytes as a span, without copying; valid while this view's backing lives.
  /// (`std::span<const std::byte> s = b;` works too: `bytes` is a contiguous range.)
  std::span<const std::byte> as_span() const noexcept FRUGAL_LIFETIMEBOUND { return {ptr_, len_}; }
  /// Returns the bytes as text, without copying; valid while this view's backing lives.
  std::string_view as_string_view() const noexcept FRUGAL_LIFETIMEBOUND {
    return {reinterpret_cast<const char*>(ptr_), len_};
  }
  /// Converts to text without copying (see `as_string_view`).
  operator std::string_view() const noexcept FRUGAL_LIFETIMEBOUND { return as_string_view(); }

  /// Returns a view of bytes [begin, end) sharing this backing: O(1), no copy, no allocation.
  /// Throws std::out_of_range naming the values unless `begin <= end <= size()`.
  bytes slice(size_type begin, size_type end) const {
    if (FRUGAL_UNLIKELY(begin > end || end > len_)) {
      detail::throw_bytes_range("bytes::slice", begin, end, len_);
    }
    if (begin == end) return bytes();
    detail::bytes_retain(ctrl_);
    return bytes(ptr_ + begin, end - begin, ctrl_);
  }

  /// Returns the view of `part`, which must lie within this view's bytes (a `string_view` a
  /// parser found in `as_string_view()`). O(1), no copy. Throws std::out_of_range otherwise.
  bytes slice_ref(std::string_view part) const {
    const auto p = reinterpret_cast<std::uintptr_t>(part.data());
    const auto b = reinterpret_cast<std::uintptr_t>(ptr_);
    if (part.empty()) return bytes();
    if (FRUGAL_UNLIKELY(p < b || p - b > len_ || part.size() > len_ - (p - b))) {
      FRUGAL_THROW(std::out_of_range("bytes::slice_ref: the " + std::to_string(part.size()) +
                                     " bytes given are not within this view of " +
                                     std::to_string(len_) + " bytes"));
    }
    return slice(p - b, p - b + part.size());
  }

  /// Removes and returns the first `n` bytes; this view keeps [n, size()). O(1), no copy, no
  /// allocation. Throws std::out_of_range naming the values when `n > size()`.
  bytes split_to(size_type n) {
    if (FRUGAL_UNLIKELY(n > len_)) detail::throw_bytes_index("bytes::split_to", n, len_);
    if (n == len_) return std::exchange(*this, bytes());
    if (n == 0) return bytes();
    detail::bytes_retain(ctrl_);
    bytes front(ptr_, n, ctrl_);
    ptr_ += n;
    len_ -= n;
    return front;
  }

  /// Removes and returns bytes [n, size()); this view keeps the first `n`. O(1), no copy, no
  /// allocation. Throws std::out_of_range naming the values when `n > size()`.
  bytes split_off(size_type n) {
    if (FRUGAL_UNLIKELY(n > len_)) detail::throw_bytes_index("bytes::split_off", n, len_);
    if (n == 0) return std::exchange(*this, bytes());
    if (n == len_) return bytes();
    detail::bytes_retain(ctrl_);
    bytes back(ptr_ + n, len_ - n, ctrl_);
    len_ = n;
    return back;
  }

  /// Drops the first `n` bytes from this view. O(1). Throws std::out_of_range naming the
  /// values when `n > size()`.
  void advance(size_type n) {
    if (FRUGAL_UNLIKELY(n > len_)) detail::throw_bytes_index("bytes::advance", n, len_);
    ptr_ += n;
    len_ -= n;
  }

  /// Keeps the first `n` bytes; does nothing when `n >= size()` (as Rust's `truncate`).
  /// O(1), never throws. The backing stays alive until the view is dropped or cleared.
  void truncate(size_type n) noexcept {
    if (n < len_) len_ = n;
  }

  /// Drops the view, leaving it empty; frees the backing if this was its last view.
  void clear() noexcept { *this = bytes(); }

  /// Returns true when this is the only view of a writable backing (a shared buffer or an
  /// adopted container), so that `try_into_mut` would succeed. Static data and owners are
  /// never unique. O(1).
  bool is_unique() const noexcept {
    return ctrl_ != nullptr && ctrl_->writable && detail::bytes_unique(ctrl_);
  }

  /// Turns this view into a `bytes_mut` without copying when it is unique (`is_unique()`),
  /// leaving this view empty; otherwise returns an empty optional and leaves it unchanged.
  /// The result may grow into the backing's storage after this view's bytes. O(1), never
  /// allocates.
  std::optional<bytes_mut> try_into_mut() noexcept;

  /// Returns a copy of the bytes as a std::string. One allocation unless short. O(n).
  std::string to_string() const { return std::string(as_string_view()); }

  /// Compares the bytes (not the backings). O(n).
  friend bool operator==(const bytes& a, const bytes& b) noexcept {
    return a.as_string_view() == b.as_string_view();
  }
  /// Compares the bytes with text. O(n).
  friend bool operator==(const bytes& a, std::string_view b) noexcept {
    return a.as_string_view() == b;
  }
  /// Orders by the bytes, lexicographically as unsigned values. O(n).
  friend std::strong_ordering operator<=>(const bytes& a, const bytes& b) noexcept {
    return a.as_string_view() <=> b.as_string_view();
  }

 private:
  friend class bytes_mut;

  bytes(const std::byte* p, std::size_t n, detail::bytes_control* c) noexcept
      : ptr_(p), len_(n), ctrl_(c) {}

  template <class Container>
  void adopt(Container&& c) {
    if (c.empty()) return;
    using control = detail::bytes_adopted_control<std::remove_cvref_t<Container>>;
    auto* block = new control(std::move(c));
    block->destroy = &control::destroy_fn;
    block->base = reinterpret_cast<std::byte*>(block->container.data());
    // Only the elements are writable storage: the string's spare capacity is not its own.
    block->capacity = block->container.size();
    block->writable = true;
    ptr_ = block->base;
    len_ = block->capacity;
    ctrl_ = block;
  }

  const std::byte* ptr_ = nullptr;
  std::size_t len_ = 0;
  detail::bytes_control* ctrl_ = nullptr;
};

static_assert(sizeof(bytes) <= 32, "a bytes handle is at most 32 bytes");

/// A unique, growable byte buffer (Rust's `bytes::BytesMut`): the bytes a parser reads into,
/// or a response it builds. `freeze()` turns it into `bytes` without copying; `split_to(n)`
/// hands out the front while this buffer keeps the tail, sharing one allocation. `reserve`
/// reuses the whole allocation once every piece handed out has been dropped. Move-only.
class bytes_mut {
 public:
  using value_type = std::byte;
  using size_type = std::size_t;
  using iterator = std::byte*;
  using const_iterator = const std::byte*;

  /// Constructs an empty buffer with no storage. Never allocates, never throws.
  constexpr bytes_mut() noexcept = default;

  /// Constructs an empty buffer with room for `capacity` bytes: one allocation (control
  /// block and storage together), none for 0. Throws std::bad_alloc or std::length_error.
  explicit bytes_mut(size_type capacity) {
    if (capacity != 0) {
      ctrl_ = detail::bytes_heap_allocate(capacity);
      ptr_ = ctrl_->base;
      cap_ = capacity;
    }
  }

  bytes_mut(const bytes_mut&) = delete;
  bytes_mut& operator=(const bytes_mut&) = delete;

  /// Takes `other`'s buffer and leaves `other` empty with no storage. Never throws.
  bytes_mut(bytes_mut&& other) noexcept
      : ptr_(std::exchange(other.ptr_, nullptr)),
        len_(std::exchange(other.len_, 0)),
        cap_(std::exchange(other.cap_, 0)),
        ctrl_(std::exchange(other.ctrl_, nullptr)) {}

  /// Takes `other`'s buffer, dropping this one, and leaves `other` empty. Never throws.
  bytes_mut& operator=(bytes_mut&& other) noexcept {
    if (this != &other) {
      detail::bytes_control* old = ctrl_;
      ptr_ = std::exchange(other.ptr_, nullptr);
      len_ = std::exchange(other.len_, 0);
      cap_ = std::exchange(other.cap_, 0);
      ctrl_ = std::exchange(other.ctrl_, nullptr);
      detail::bytes_release(old);
    }
    return *this;
  }

  /// Drops the buffer; the storage is freed when no piece split from it is alive.
  ~bytes_mut() { detail::bytes_release(ctrl_); }

  /// Returns the number of bytes written. O(1).
  size_type size() const noexcept { return len_; }
  /// Returns true when no bytes are written. O(1).
  bool empty() const noexcept { return len_ == 0; }
  /// Returns how many bytes fit before the next growth. O(1).
  size_type capacity() const noexcept { return cap_; }
  /// Returns a pointer to the first byte (null when there is no storage). O(1).
  std::byte* data() noexcept FRUGAL_LIFETIMEBOUND { return ptr_; }
  /// Returns a pointer to the first byte (null when there is no storage). O(1).
  const std::byte* data() const noexcept FRUGAL_LIFETIMEBOUND { return ptr_; }
  /// Returns an iterator to the first byte. O(1).
  iterator begin() noexcept FRUGAL_LIFETIMEBOUND { return ptr_; }
  /// Returns an iterator past the last byte. O(1).
  iterator end() noexcept FRUGAL_LIFETIMEBOUND { return ptr_ + len_; }
  /// Returns an iterator to the first byte. O(1).
  const_iterator begin() const noexcept FRUGAL_LIFETIMEBOUND { return ptr_; }
  /// Returns an iterator past the last byte. O(1).
  const_iterator end() const noexcept FRUGAL_LIFETIMEBOUND { return ptr_ + len_; }

  /// Returns byte `i`. Precondition `i < size()`, checked by FRUGAL_ASSERT. O(1).
  std::byte& operator[](size_type i) noexcept FRUGAL_LIFETIMEBOUND {
    FRUGAL_ASSERT(i < len_);
    return ptr_[i];
  }
  /// Returns byte `i` of a const buffer. Precondition `i < size()`, checked by
  /// FRUGAL_ASSERT. O(1).
  std::byte operator[](size_type i) const noexcept {
    FRUGAL_ASSERT(i < len_);
    return ptr_[i];
  }

  /// Returns the written bytes as a span. O(1); invalidated by growth.
  std::span<const std::byte> as_span() const noexcept FRUGAL_LIFETIMEBOUND { return {ptr_, len_}; }
  /// Returns the written bytes as text. O(1); invalidated by growth.
  std::string_view as_string_view() const noexcept FRUGAL_LIFETIMEBOUND {
    return {reinterpret_cast<const char*>(ptr_), len_};
  }

  /// Returns the uninitialised room after the written bytes, to read into; `commit(n)` then
  /// marks `n` of them written. O(1); invalidated by growth.
  std::span<std::byte> spare_capacity() noexcept FRUGAL_LIFETIMEBOUND {
    return {ptr_ + len_, cap_ - len_};
  }

  /// Marks the first `n` bytes of `spare_capacity()` as written. O(1). Throws
  /// std::out_of_range naming the values when `n` exceeds the spare capacity.
  void commit(size_type n) {
    if (FRUGAL_UNLIKELY(n > cap_ - len_)) {
      detail::throw_bytes_index("bytes_mut::commit", n, cap_ - len_);
    }
    len_ += n;
  }

  /// Ensures room for `additional` more bytes. When the spare capacity is short and this
  /// buffer is the only holder of its storage (every piece split from it has been dropped),
  /// the allocation is reused where it is large enough (no allocation): the room after the
  /// written bytes when that is enough (no move), or else the whole allocation, the written
  /// bytes moved to the front (O(size())), provided the room in front of them holds them all
  /// (so each byte moves O(1) times amortised). Otherwise allocates once: at least double the
  /// capacity, and copies the written bytes. Throws std::bad_alloc, or std::length_error on
  /// overflow; on a throw the buffer is unchanged.
  void reserve(size_type additional) {
    if (FRUGAL_LIKELY(cap_ - len_ >= additional)) return;
    reserve_slow(additional);
  }

  /// Appends `data`. Amortised O(n); allocates only to grow (see `reserve`). Throws what
  /// `reserve` throws; then nothing is appended.
  ///
  /// `data` may view this buffer's own storage, anywhere in its allocation: its bytes, bytes
  /// it dropped with `advance` or `truncate`, or its spare capacity. What is appended is what
  /// `data` shows at the call. A view within the bytes moves with them when the growth
  /// reclaims the storage; any other view of the storage makes the growth allocate (never
  /// reclaim in place) and copy it from the old storage before releasing that.
  void extend(std::span<const std::byte> data) {
    if (FRUGAL_UNLIKELY(cap_ - len_ < data.size())) {
      extend_slow(data);
      return;
    }
    if (!data.empty()) std::memmove(ptr_ + len_, data.data(), data.size());
    len_ += data.size();
  }

  /// Appends `text`, as the span overload.
  void extend(std::string_view text) {
    extend(std::as_bytes(std::span<const char>(text.data(), text.size())));
  }

  /// Appends the bytes of `data`, as the span overload.
  void extend(const bytes& data) { extend(data.as_span()); }

  /// Appends one byte. Amortised O(1); allocates only to grow.
  void put_u8(std::uint8_t v) {
    reserve(1);
    ptr_[len_++] = static_cast<std::byte>(v);
  }

  /// Appends `value` in the byte order `order` (big endian, network order, by default).
  /// Amortised O(1); allocates only to grow. Throws what `reserve` throws.
  template <std::unsigned_integral T>
  void put_uint(T value, std::endian order = std::endian::big) {
    reserve(sizeof(T));
    for (std::size_t i = 0; i < sizeof(T); ++i) {
      const std::size_t shift = order == std::endian::big ? (sizeof(T) - 1 - i) * 8 : i * 8;
      ptr_[len_ + i] = static_cast<std::byte>((value >> shift) & 0xFFu);
    }
    len_ += sizeof(T);
  }
  /// Appends a 16-bit integer in big-endian (network) order.
  void put_u16_be(std::uint16_t v) { put_uint(v, std::endian::big); }
  /// Appends a 16-bit integer in little-endian order.
  void put_u16_le(std::uint16_t v) { put_uint(v, std::endian::little); }
  /// Appends a 32-bit integer in big-endian (network) order.
  void put_u32_be(std::uint32_t v) { put_uint(v, std::endian::big); }
  /// Appends a 32-bit integer in little-endian order.
  void put_u32_le(std::uint32_t v) { put_uint(v, std::endian::little); }
  /// Appends a 64-bit integer in big-endian (network) order.
  void put_u64_be(std::uint64_t v) { put_uint(v, std::endian::big); }
  /// Appends a 64-bit integer in little-endian order.
  void put_u64_le(std::uint64_t v) { put_uint(v, std::endian::little); }

  /// Removes and returns the first `n` bytes as a buffer of its own (capacity `n`); this
  /// buffer keeps the rest and its spare capacity. Both share one allocation. O(1), no copy,
  /// no allocation. Throws std::out_of_range naming the values when `n > size()`.
  bytes_mut split_to(size_type n) {
    if (FRUGAL_UNLIKELY(n > len_)) detail::throw_bytes_index("bytes_mut::split_to", n, len_);
    detail::bytes_retain(ctrl_);
    bytes_mut front(ptr_, n, n, ctrl_);
    ptr_ += n;
    len_ -= n;
    cap_ -= n;
    return front;
  }

  /// Removes and returns bytes [n, size()) with the spare capacity; this buffer keeps the
  /// first `n` bytes and capacity `n`. O(1), no copy, no allocation. Throws std::out_of_range
  /// naming the values when `n > size()`.
  bytes_mut split_off(size_type n) {
    if (FRUGAL_UNLIKELY(n > len_)) detail::throw_bytes_index("bytes_mut::split_off", n, len_);
    detail::bytes_retain(ctrl_);
    bytes_mut back(ptr_ + n, len_ - n, cap_ - n, ctrl_);
    len_ = n;
    cap_ = n;
    return back;
  }

  /// Removes and returns every written byte; this buffer keeps the spare capacity. As
  /// `split_to(size())`.
  bytes_mut split() { return split_to(len_); }

  /// Drops the first `n` written bytes. O(1). Throws std::out_of_range naming the values
  /// when `n > size()`.
  void advance(size_type n) {
    if (FRUGAL_UNLIKELY(n > len_)) detail::throw_bytes_index("bytes_mut::advance", n, len_);
    ptr_ += n;
    len_ -= n;
    cap_ -= n;
  }

  /// Keeps the first `n` written bytes; does nothing when `n >= size()`. O(1), never throws.
  void truncate(size_type n) noexcept {
    if (n < len_) len_ = n;
  }

  /// Forgets the written bytes, keeping the capacity. O(1), never throws.
  void clear() noexcept { len_ = 0; }

  /// Turns the buffer into an immutable `bytes` without copying, leaving this buffer empty
  /// with no storage. O(1), no allocation, never throws. The spare capacity stays reserved in
  /// the allocation until the last view drops.
  bytes freeze() && noexcept {
    bytes b;
    if (len_ != 0) {
      b = bytes(ptr_, len_, ctrl_);
    } else {
      detail::bytes_release(ctrl_);
    }
    ptr_ = nullptr;
    len_ = 0;
    cap_ = 0;
    ctrl_ = nullptr;
    return b;
  }

  /// Compares the written bytes. O(n).
  friend bool operator==(const bytes_mut& a, std::string_view b) noexcept {
    return a.as_string_view() == b;
  }

 private:
  friend class bytes;

  bytes_mut(std::byte* p, std::size_t n, std::size_t cap, detail::bytes_control* c) noexcept
      : ptr_(p), len_(n), cap_(cap), ctrl_(c) {}

  // Grows, then appends `data`, which needs more than the spare capacity and may view this
  // buffer's storage (see `extend`).
  FRUGAL_NOINLINE void extend_slow(std::span<const std::byte> data) {
    const std::less<const std::byte*> before;  // a total order, even for unrelated pointers
    const std::byte* const first = data.data();
    const std::byte* const last = data.data() + data.size();
    const std::byte* const old = ptr_;
    if (!before(first, old) && !before(old + len_, last)) {
      // Within the bytes: wherever the growth puts them, the view is at the same offset.
      const auto offset = static_cast<std::size_t>(first - old);
      reserve_slow(data.size());
      data = {ptr_ + offset, data.size()};
    } else if (ctrl_ != nullptr && before(first, ctrl_->base + ctrl_->capacity) &&
               before(ctrl_->base, last)) {
      // Elsewhere in the storage, where a reclaim might move the bytes over it or free it.
      const std::size_t old_len = len_;
      reallocate(checked_needed(data.size()), data);
      len_ = old_len + data.size();
      return;
    } else {
      reserve_slow(data.size());
    }
    std::memcpy(ptr_ + len_, data.data(), data.size());
    len_ += data.size();
  }

  std::size_t checked_needed(size_type additional) const {
    if (additional > std::numeric_limits<std::size_t>::max() - len_) {
      detail::throw_bytes_length("bytes_mut::reserve", len_, additional);
    }
    return len_ + additional;
  }

  FRUGAL_NOINLINE void reserve_slow(size_type additional) {
    const std::size_t needed = checked_needed(additional);
    // Every piece handed out is gone: the whole storage is ours again. The room after the
    // bytes (what a dropped split_off tail held) is taken back where it is enough, with no
    // move; otherwise the bytes move to the front, only when the room in front holds them
    // all, so each byte moves O(1) times amortised.
    if (ctrl_ != nullptr && ctrl_->writable && ctrl_->capacity >= needed) {
      const auto front = static_cast<std::size_t>(ptr_ - ctrl_->base);
      const std::size_t to_end = ctrl_->capacity - front;
      if ((to_end >= needed || front >= len_) && detail::bytes_unique(ctrl_)) {
        if (to_end >= needed) {
          cap_ = to_end;
          return;
        }
        if (len_ != 0) std::memcpy(ctrl_->base, ptr_, len_);
        ptr_ = ctrl_->base;
        cap_ = ctrl_->capacity;
        return;
      }
    }
    reallocate(needed, {});
  }

  // Moves the bytes into a new allocation of at least `needed` bytes and double the capacity,
  // with `tail` copied after them (from wherever it is, before the old storage is released);
  // `len_` still counts the bytes alone. Allocates once; on a throw the buffer is unchanged.
  void reallocate(std::size_t needed, std::span<const std::byte> tail) {
    std::size_t grown = cap_ > std::numeric_limits<std::size_t>::max() / 2 ? needed : 2 * cap_;
    if (grown < needed) grown = needed;
    if (grown < 64) grown = 64;
    detail::bytes_heap_control* c = detail::bytes_heap_allocate(grown);
    if (len_ != 0) std::memcpy(c->base, ptr_, len_);
    if (!tail.empty()) std::memcpy(c->base + len_, tail.data(), tail.size());
    detail::bytes_release(ctrl_);
    ctrl_ = c;
    ptr_ = c->base;
    cap_ = grown;
  }

  std::byte* ptr_ = nullptr;
  std::size_t len_ = 0;
  std::size_t cap_ = 0;
  detail::bytes_control* ctrl_ = nullptr;
};

static_assert(sizeof(bytes_mut) <= 32, "a bytes_mut handle is at most 32 bytes");

inline std::optional<bytes_mut> bytes::try_into_mut() noexcept {
  if (!is_unique()) return std::nullopt;
  auto* p = const_cast<std::byte*>(ptr_);
  const std::size_t cap = ctrl_->capacity - static_cast<std::size_t>(p - ctrl_->base);
  bytes_mut m(p, len_, cap, ctrl_);
  ptr_ = nullptr;
  len_ = 0;
  ctrl_ = nullptr;
  return m;
}

/// A sequence of `bytes` written as one message without concatenation (a response header
/// and its body, passed to `writev`). Holds up to four pending pieces without allocating;
/// the slots of consumed pieces are reused, so a chain used as a queue that never drains
/// keeps a buffer proportional to the most pieces it held pending at once.
class bytes_chain {
 public:
  /// Constructs an empty chain. Never allocates, never throws.
  bytes_chain() noexcept = default;

  /// Constructs a chain of `pieces`, in order. Allocates only past four pieces.
  bytes_chain(std::initializer_list<bytes> pieces) {
    for (const bytes& b : pieces) push_back(b);
  }

  /// Copies the pieces not yet consumed (each a view: no byte is copied). Allocates only
  /// past four pieces.
  bytes_chain(const bytes_chain& other) : size_(other.size_) {
    const auto rest = other.pieces();
    pieces_.assign(rest.begin(), rest.end());
  }
  bytes_chain& operator=(const bytes_chain& other) {
    if (this != &other) *this = bytes_chain(other);
    return *this;
  }
  /// Takes `other`'s pieces; `other` is left empty. Never throws.
  bytes_chain(bytes_chain&& other) noexcept
      : pieces_(std::move(other.pieces_)),
        first_(std::exchange(other.first_, 0)),
        size_(std::exchange(other.size_, 0)) {
    other.pieces_.clear();
  }
  bytes_chain& operator=(bytes_chain&& other) noexcept {
    if (this != &other) {
      pieces_ = std::move(other.pieces_);
      first_ = std::exchange(other.first_, 0);
      size_ = std::exchange(other.size_, 0);
      other.pieces_.clear();
    }
    return *this;
  }

  /// Appends `piece` (empty pieces are skipped). O(1) amortised. Reuses the slots of
  /// consumed pieces: allocates only when more than four pieces are pending, and then only
  /// to at most double the slots, which stay fewer than four times the most pieces pending at
  /// once. Throws std::bad_alloc; the chain is then unchanged.
  void push_back(bytes piece) {
    if (piece.empty()) return;
    if (pieces_.size() == pieces_.capacity() && first_ != 0) reuse_consumed();
    const std::size_t n = piece.size();
    pieces_.push_back(std::move(piece));
    size_ += n;
  }

  /// Returns the total number of bytes. O(1).
  std::size_t size() const noexcept { return size_; }
  /// Returns true when the chain holds no bytes. O(1).
  bool empty() const noexcept { return size_ == 0; }
  /// Returns the pieces not yet consumed, in order. O(1).
  std::span<const bytes> pieces() const noexcept FRUGAL_LIFETIMEBOUND {
    return {pieces_.data() + first_, pieces_.size() - first_};
  }

  /// Drops the first `n` bytes across pieces (after a partial write). O(pieces dropped), never
  /// allocates. Throws std::out_of_range naming the values when `n > size()`.
  void advance(std::size_t n) {
    if (FRUGAL_UNLIKELY(n > size_)) detail::throw_bytes_index("bytes_chain::advance", n, size_);
    size_ -= n;
    while (n != 0) {
      bytes& front = pieces_[first_];
      if (n < front.size()) {
        front.advance(n);
        return;
      }
      n -= front.size();
      front.clear();
      ++first_;
    }
    if (size_ == 0) clear();
  }

  /// Drops every piece. O(pieces), never throws.
  void clear() noexcept {
    pieces_.clear();
    first_ = 0;
    size_ = 0;
  }

  /// Returns the bytes concatenated into one shared buffer: one allocation, none when no
  /// piece is pending, none either when one is (that piece is returned as is, also when
  /// `advance` consumed the pieces before it or a part of it). O(size()).
  bytes concat() const {
    const auto rest = pieces();
    if (rest.empty()) return bytes();
    if (rest.size() == 1) return rest.front();
    bytes_mut out(size_);
    for (const bytes& b : rest) out.extend(b.as_span());
    return std::move(out).freeze();
  }

 private:
  static constexpr std::size_t inline_pieces = 4;

  // Called when every slot is taken and some hold consumed pieces: moves the pending pieces
  // to the front, over the consumed ones, when those are at least as many (the moves are then
  // paid for by the push_backs that filled the consumed slots: amortised O(1)), or when fewer
  // than four pieces are pending (at most three moves). Otherwise leaves the slots as they are,
  // and push_back doubles them: more than half are pending, so the slots stay fewer than four
  // times the pending pieces.
  void reuse_consumed() noexcept {
    const std::size_t pending = pieces_.size() - first_;
    if (first_ < pending && pending >= inline_pieces) return;
    pieces_.erase(pieces_.begin(), pieces_.begin() + static_cast<std::ptrdiff_t>(first_));
    first_ = 0;
  }

  small_vector<bytes, inline_pieces> pieces_;
  std::size_t first_ = 0;
  std::size_t size_ = 0;
};

namespace literals {

/// Returns a view of a string literal: `"HTTP/1.1 200 OK\r\n"_bytes`. No allocation, no
/// reference count, O(1).
inline bytes operator""_bytes(const char* text, std::size_t n) noexcept {
  return bytes::from_static(std::string_view(text, n));
}

}  // namespace literals

FRUGAL_END_NAMESPACE
