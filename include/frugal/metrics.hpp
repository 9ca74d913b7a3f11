// Prometheus metrics that cost nanoseconds: counters, gauges and histograms, alone or in
// labelled families, a registry, and the text exposition format (version 0.0.4) written into
// a caller's buffer. HTTP-agnostic: a service serves `registry::write`'s text at /metrics.
//
//   frugal::metrics::registry reg;
//   auto& requests = reg.add_counter_family("http_requests_total", "Requests served.",
//                                           {"method", "path"});
//   auto& users = requests.with({"GET", "/users"});  // resolve once, keep the handle
//   users.inc();                                      // a relaxed load and store, no lock
//   std::string body;
//   reg.write(body);                                  // the /metrics response
//
// Counter and histogram updates go to the calling thread's own cells (see
// detail/metrics/cells.hpp), summed when scraped; a gauge is one atomic.
#pragma once

#include <frugal/bytes.hpp>
#include <frugal/detail/config.hpp>
#include <frugal/detail/metrics/cells.hpp>

#include <algorithm>
#include <atomic>
#include <bit>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <memory>
#include <mutex>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

FRUGAL_BEGIN_NAMESPACE
namespace metrics {

/// Names the HTTP Content-Type of the text that `registry::write` produces.
inline constexpr std::string_view content_type = "text/plain; version=0.0.4; charset=utf-8";

namespace detail {

inline bool is_name_start(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
inline bool is_name_char(char c) noexcept { return is_name_start(c) || (c >= '0' && c <= '9'); }

// Metric names: [a-zA-Z_:][a-zA-Z0-9_:]*.
inline bool valid_metric_name(std::string_view n) noexcept {
  if (n.empty() || !(is_name_start(n[0]) || n[0] == ':')) return false;
  return std::all_of(n.begin(), n.end(), [](char c) { return is_name_char(c) || c == ':'; });
}

// Label names: [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__" (reserved).
inline bool valid_label_name(std::string_view n) noexcept {
  if (n.empty() || !is_name_start(n[0]) || n.starts_with("__")) return false;
  return std::all_of(n.begin(), n.end(), is_name_char);
}

// Returns true when `s` is well-formed UTF-8 (no overlong forms, no surrogates, <= U+10FFFF).
inline bool valid_utf8(std::string_view s) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p != end) {
    const unsigned c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    std::size_t n;
    unsigned cp;
    if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (static_cast<std::size_t>(end - p) <= n) return false;
    for (std::size_t i = 1; i <= n; ++i) {
      if ((p[i] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i] & 0x3Fu);
    }
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    p += n + 1;
  }
  return true;
}

// Appends `s` quoted for a label value: \ " and newline escaped.
inline void escape_label_value(std::string& out, std::string_view s) {
  for (char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

// Appends `s` escaped for a HELP line: \ and newline escaped.
inline void escape_help(std::string& out, std::string_view s) {
  for (char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

// The longest text `format_double` or `format_u64` writes.
inline constexpr std::size_t max_number_chars = 32;

// Writes `v` as the exposition format reads it: shortest round-trip digits, +Inf, -Inf, NaN.
inline std::size_t format_double(char* buf, double v) noexcept {
  if (std::isnan(v)) {
    std::char_traits<char>::copy(buf, "NaN", 3);
    return 3;
  }
  if (std::isinf(v)) {
    std::char_traits<char>::copy(buf, v > 0 ? "+Inf" : "-Inf", 4);
    return 4;
  }
  return static_cast<std::size_t>(std::to_chars(buf, buf + max_number_chars, v).ptr - buf);
}

inline std::size_t format_u64(char* buf, std::uint64_t v) noexcept {
  return static_cast<std::size_t>(std::to_chars(buf, buf + max_number_chars, v).ptr - buf);
}

inline std::string format_double(double v) {
  char buf[max_number_chars];
  return std::string(buf, format_double(buf, v));
}

// Where the exposition goes: a std::string or a bytes_mut, through one function pointer.
struct text_sink {
  void* target;
  void (*append)(void*, const char*, std::size_t);
  void put(std::string_view s) const { append(target, s.data(), s.size()); }
  void put(char c) const { append(target, &c, 1); }
  void put_u64(std::uint64_t v) const {
    char buf[max_number_chars];
    append(target, buf, format_u64(buf, v));
  }
  void put_double(double v) const {
    char buf[max_number_chars];
    append(target, buf, format_double(buf, v));
  }
};

// Throws std::invalid_argument with `what`.
[[noreturn]] FRUGAL_COLD inline void invalid(const std::string& what) {
  FRUGAL_THROW(std::invalid_argument(what));
}

// The bounds of a histogram's buckets and their `le` texts, shared by a family's series.
struct bucket_layout {
  std::vector<double> bounds;
  std::vector<std::string> le;  // one per bound, then "+Inf"
};

// Mixes one 64-bit word into `h` (a multiply and a fold, as in wyhash and FxHash).
inline std::uint64_t hash_word(std::uint64_t h, std::uint64_t w) noexcept {
  h = (h ^ w) * 0x9E3779B97F4A7C15ull;
  return h ^ (h >> 29);
}

// A hash of label values that includes their lengths, so ("ab","c") and ("a","bc") differ.
// Eight bytes per step.
inline std::uint64_t hash_values(std::span<const std::string_view> values) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (std::string_view v : values) {
    const char* p = v.data();
    std::size_t n = v.size();
    h = hash_word(h, n);
    for (; n >= 8; n -= 8, p += 8) {
      std::uint64_t w;
      std::memcpy(&w, p, 8);
      h = hash_word(h, w);
    }
    if (n != 0) {
      std::uint64_t w = 0;
      std::memcpy(&w, p, n);
      h = hash_word(h, w);
    }
  }
  return h;
}

}  // namespace detail

/// Bucket upper bounds for a histogram: strictly increasing and finite; the `+Inf` bucket is
/// always added. Build one with the constructor (explicit bounds), `linear` or `exponential`.
class histogram_buckets {
 public:
  /// Uses `bounds` as the buckets' upper bounds. One allocation. Throws
  /// std::invalid_argument naming the values when the list is empty, holds a NaN or an
  /// infinity, or is not strictly increasing.
  histogram_buckets(std::initializer_list<double> bounds)
      : histogram_buckets(std::vector<double>(bounds)) {}

  /// Uses `bounds` as the buckets' upper bounds; as the initializer_list overload.
  explicit histogram_buckets(std::vector<double> bounds) : bounds_(std::move(bounds)) {
    if (bounds_.empty()) detail::invalid("histogram_buckets: no bounds given");
    for (std::size_t i = 0; i < bounds_.size(); ++i) {
      if (!std::isfinite(bounds_[i])) {
        detail::invalid("histogram_buckets: bound " + std::to_string(i) + " is " +
                        detail::format_double(bounds_[i]) + ", not finite");
      }
      if (i > 0 && !(bounds_[i - 1] < bounds_[i])) {
        detail::invalid(
            "histogram_buckets: bounds not increasing: " + detail::format_double(bounds_[i - 1]) +
            " then " + detail::format_double(bounds_[i]));
      }
    }
  }

  /// Returns `count` bounds `start, start + width, ...`. One allocation. Throws
  /// std::invalid_argument when `count` is 0, `width` is not positive or a bound is not
  /// finite.
  static histogram_buckets linear(double start, double width, std::size_t count) {
    if (count == 0) detail::invalid("histogram_buckets::linear: count is 0");
    if (!(width > 0)) {
      detail::invalid("histogram_buckets::linear: width " + detail::format_double(width) +
                      " is not positive");
    }
    std::vector<double> b(count);
    for (std::size_t i = 0; i < count; ++i) b[i] = start + width * static_cast<double>(i);
    return histogram_buckets(std::move(b));
  }

  /// Returns `count` bounds `start, start * factor, start * factor^2, ...`. One allocation.
  /// Throws std::invalid_argument when `count` is 0, `start` is not positive or `factor` is
  /// not greater than 1, or a bound overflows to infinity.
  static histogram_buckets exponential(double start, double factor, std::size_t count) {
    if (count == 0) detail::invalid("histogram_buckets::exponential: count is 0");
    if (!(start > 0)) {
      detail::invalid("histogram_buckets::exponential: start " + detail::format_double(start) +
                      " is not positive");
    }
    if (!(factor > 1)) {
      detail::invalid("histogram_buckets::exponential: factor " + detail::format_double(factor) +
                      " is not greater than 1");
    }
    std::vector<double> b(count);
    double v = start;
    for (std::size_t i = 0; i < count; ++i, v *= factor) b[i] = v;
    return histogram_buckets(std::move(b));
  }

  /// Returns the bounds client libraries use for request latencies in seconds: 5 ms to 10 s
  /// (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10). One allocation.
  static histogram_buckets default_seconds() {
    return {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  }

  /// Returns the bounds, in increasing order, without the implicit +Inf. Never throws.
  std::span<const double> bounds() const noexcept FRUGAL_LIFETIMEBOUND { return bounds_; }

 private:
  std::vector<double> bounds_;
};

/// A monotonically increasing 64-bit integer count (requests served, bytes sent). Updates go
/// to the calling thread's own cell: a relaxed load and store, no lock, no read-modify-write.
/// Neither copyable nor movable: families and handlers keep references to it.
class counter {
 public:
  /// Constructs a counter at 0. Takes a process-wide lock once to reserve its slot;
  /// allocates only when that lock's bookkeeping grows. Throws std::bad_alloc.
  counter() : slot_(detail::table().allocate_slots(1)) {}
  counter(const counter&) = delete;
  counter& operator=(const counter&) = delete;
  /// Releases the slot (zeroed in every thread). Never throws. No update may run at the
  /// same time.
  ~counter() { detail::table().free_slots(slot_, 1); }

  /// Adds `n` (default 1). O(1). Never allocates after the calling thread's first update of
  /// a counter or histogram created since its last growth; that first update allocates the
  /// thread's cells (doubling, at least 4 KiB) and may throw std::bad_alloc, then nothing is
  /// added. Wraps modulo 2^64.
  FRUGAL_ALWAYS_INLINE void inc(std::uint64_t n = 1) { detail::add_u64(slot_, n); }

  /// Returns the sum over every thread, including exited ones. O(threads); takes the
  /// process-wide lock. Never allocates, never throws (beyond the lock's std::system_error).
  std::uint64_t value() const {
    auto& t = detail::table();
    std::lock_guard lock(t.mutex);
    return value_locked();
  }

  /// Returns value() while the caller holds the process-wide table lock.
  std::uint64_t value_locked() const noexcept { return detail::table().sum_locked(slot_); }

 private:
  std::size_t slot_;
};

/// A monotonically increasing floating count (seconds spent, bytes as a ratio). As `counter`,
/// with doubles: `inc(v)` adds `v` to the calling thread's own cell.
class float_counter {
 public:
  /// Constructs a counter at 0. As `counter::counter()`.
  float_counter() : slot_(detail::table().allocate_slots(1, {0})) {}
  float_counter(const float_counter&) = delete;
  float_counter& operator=(const float_counter&) = delete;
  /// Releases the slot. Never throws.
  ~float_counter() { detail::table().free_slots(slot_, 1); }

  /// Adds `v`. O(1); allocates as `counter::inc`. A negative, zero or NaN `v` is ignored: a
  /// counter never goes down (documented clamp, no exception on the hot path).
  FRUGAL_ALWAYS_INLINE void inc(double v = 1.0) {
    if (FRUGAL_LIKELY(v > 0)) detail::add_f64(slot_, v);
  }

  /// Returns the sum over every thread. As `counter::value`.
  double value() const {
    auto& t = detail::table();
    std::lock_guard lock(t.mutex);
    return value_locked();
  }

  /// Returns value() while the caller holds the process-wide table lock.
  double value_locked() const noexcept {
    return detail::monotone_sum(detail::table().sum_double_locked(slot_), floor_, true);
  }

 private:
  std::size_t slot_;
  mutable double floor_ = 0;  // the last value returned (under the table's lock)
};

/// A value that goes up and down (requests in flight, queue length, temperature): one
/// std::atomic holding a double, since a `set` cannot be summed per thread. Never allocates.
class gauge {
 public:
  /// Constructs a gauge at 0. Never allocates, never throws.
  gauge() noexcept = default;
  gauge(const gauge&) = delete;
  gauge& operator=(const gauge&) = delete;

  /// Sets the value. One relaxed store. Never throws.
  void set(double v) noexcept { bits_.store(std::bit_cast<std::uint64_t>(v), relaxed); }
  /// Adds `v` (default 1). A compare-exchange loop; never throws.
  void inc(double v = 1.0) noexcept {
    std::uint64_t old = bits_.load(relaxed);
    while (!bits_.compare_exchange_weak(
        old, std::bit_cast<std::uint64_t>(std::bit_cast<double>(old) + v), relaxed)) {
    }
  }
  /// Subtracts `v` (default 1). As `inc(-v)`.
  void dec(double v = 1.0) noexcept { inc(-v); }
  /// Returns the value. One relaxed load; never throws.
  double value() const noexcept { return std::bit_cast<double>(bits_.load(relaxed)); }

 private:
  static constexpr auto relaxed = std::memory_order_relaxed;
  std::atomic<std::uint64_t> bits_{std::bit_cast<std::uint64_t>(0.0)};
};

class histogram;

/// Observes the seconds from its construction to its destruction (or `stop()`) into a
/// histogram. Move-only; never allocates after the histogram's first observation on this
/// thread.
class [[nodiscard]] histogram_timer {
 public:
  /// Starts timing for `h`. Reads std::chrono::steady_clock; never throws.
  explicit histogram_timer(histogram& h) noexcept
      : h_(&h), start_(std::chrono::steady_clock::now()) {}
  /// Takes over `other`'s timing; `other` then observes nothing. Never throws.
  histogram_timer(histogram_timer&& other) noexcept
      : h_(std::exchange(other.h_, nullptr)), start_(other.start_) {}
  histogram_timer& operator=(histogram_timer&&) = delete;
  /// Observes the elapsed seconds unless `stop()` already did. May throw what
  /// `histogram::observe` throws only on the thread's first observation (then terminates,
  /// as any throwing destructor); call `stop()` to handle it.
  ~histogram_timer() {
    if (h_ != nullptr) stop();
  }

  /// Observes the elapsed seconds now and returns them; later calls and the destructor do
  /// nothing and return 0. Throws what `histogram::observe` throws.
  double stop();

 private:
  histogram* h_;
  std::chrono::steady_clock::time_point start_;
};

/// Counts observations (latencies, sizes) into buckets, with their sum. Updates go to the
/// calling thread's own cells: finding the bucket (a scan below 16 bounds, a binary search
/// above), then two relaxed load/store pairs. Neither copyable nor movable.
class histogram {
 public:
  /// Constructs an empty histogram with `buckets` (plus +Inf). A few allocations (the bounds
  /// and their texts) and the process-wide lock once. Throws std::bad_alloc.
  explicit histogram(const histogram_buckets& buckets = histogram_buckets::default_seconds())
      : histogram(make_layout(buckets)) {}

  /// Constructs an empty histogram sharing `layout` (a family's). Throws std::bad_alloc.
  explicit histogram(std::shared_ptr<const detail::bucket_layout> layout)
      : layout_(std::move(layout)),
        bounds_(layout_->bounds.data()),
        n_bounds_(layout_->bounds.size()),
        base_(detail::table().allocate_slots(n_bounds_ + 2, {n_bounds_ + 1})) {}

  histogram(const histogram&) = delete;
  histogram& operator=(const histogram&) = delete;
  /// Releases the slots. Never throws. No observation may run at the same time.
  ~histogram() { detail::table().free_slots(base_, n_bounds_ + 2); }

  /// Counts `v` in the first bucket whose bound is >= v (the +Inf bucket when none is, or
  /// when `v` is NaN) and adds `v` to the sum (a NaN makes the sum NaN, as in other clients).
  /// O(log buckets). Allocates and may throw std::bad_alloc only as `counter::inc`.
  FRUGAL_ALWAYS_INLINE void observe(double v) {
    if (FRUGAL_UNLIKELY(v < 0)) {
      if (!negative_.load(std::memory_order_relaxed)) {
        negative_.store(true, std::memory_order_relaxed);
      }
      // A scrape that reads the sum with this observation in it, then an acquire fence, sees
      // the flag: it never clamps a sum that went down (no instruction on x86).
      std::atomic_thread_fence(std::memory_order_release);
    }
    detail::observe(base_, bucket_of(v), base_ + n_bounds_ + 1, v);
  }

  /// Observes a duration in seconds.
  template <class Rep, class Period>
  void observe(std::chrono::duration<Rep, Period> d) {
    observe(std::chrono::duration<double>(d).count());
  }

  /// Returns a timer that observes the seconds until its destruction. Never throws.
  histogram_timer start_timer() noexcept { return histogram_timer(*this); }

  /// Returns the index of the bucket `v` falls in: 0..bounds().size(), the last is +Inf.
  std::size_t bucket_of(double v) const noexcept {
    if (n_bounds_ < 16) {
      std::size_t i = 0;
      while (i < n_bounds_ && !(v <= bounds_[i])) ++i;
      return i;
    }
    const double* p =
        std::partition_point(bounds_, bounds_ + n_bounds_, [v](double b) { return !(v <= b); });
    return static_cast<std::size_t>(p - bounds_);
  }

  /// Returns the bounds, without +Inf. Never throws.
  std::span<const double> bounds() const noexcept FRUGAL_LIFETIMEBOUND {
    return {bounds_, n_bounds_};
  }

  /// Holds one read of a histogram: per-bucket (not cumulative) counts, the last for +Inf,
  /// their total and the sum.
  struct snapshot_type {
    std::vector<std::uint64_t> buckets;  // one per bound, then +Inf
    std::uint64_t count = 0;
    double sum = 0;
  };

  /// Returns the counts and the sum over every thread. O(buckets x threads); one allocation;
  /// takes the process-wide lock. Throws std::bad_alloc.
  snapshot_type snapshot() const {
    snapshot_type s;
    s.buckets.resize(n_bounds_ + 1);
    auto& t = detail::table();
    std::lock_guard lock(t.mutex);
    for (std::size_t i = 0; i <= n_bounds_; ++i) {
      s.buckets[i] = t.sum_locked(base_ + i);
      s.count += s.buckets[i];
    }
    s.sum = sum_locked();
    return s;
  }

  /// Returns the number of observations. O(buckets x threads); takes the lock; never
  /// allocates.
  std::uint64_t count() const {
    auto& t = detail::table();
    std::lock_guard lock(t.mutex);
    std::uint64_t n = 0;
    for (std::size_t i = 0; i <= n_bounds_; ++i) n += t.sum_locked(base_ + i);
    return n;
  }
  /// Returns the sum of the observations. O(threads); takes the lock.
  double sum() const {
    auto& t = detail::table();
    std::lock_guard lock(t.mutex);
    return sum_locked();
  }
  /// Returns sum() while the caller holds the process-wide table lock. While no observation
  /// was negative, never less than the last sum returned (see the docs' "Thread exit").
  double sum_locked() const noexcept {
    const double total = detail::table().sum_double_locked(base_ + n_bounds_ + 1);
    std::atomic_thread_fence(std::memory_order_acquire);  // pairs with observe's release fence
    return detail::monotone_sum(total, floor_, !negative_.load(std::memory_order_relaxed));
  }

  /// Returns the shared bounds and `le` texts. Never throws.
  const detail::bucket_layout& layout() const noexcept { return *layout_; }
  /// Returns the first slot (for the exposition). Never throws.
  std::size_t first_slot() const noexcept { return base_; }

  /// Returns a layout for `buckets`, to share between histograms. Throws std::bad_alloc.
  static std::shared_ptr<const detail::bucket_layout> make_layout(
      const histogram_buckets& buckets) {
    auto l = std::make_shared<detail::bucket_layout>();
    l->bounds.assign(buckets.bounds().begin(), buckets.bounds().end());
    l->le.reserve(l->bounds.size() + 1);
    for (double b : l->bounds) l->le.push_back(detail::format_double(b));
    l->le.emplace_back("+Inf");
    return l;
  }

 private:
  std::shared_ptr<const detail::bucket_layout> layout_;
  const double* bounds_;
  std::size_t n_bounds_;
  std::size_t base_;
  std::atomic<bool> negative_{false};  // an observation was negative: the sum may go down
  mutable double floor_ = 0;           // the last sum returned (under the table's lock)
};

inline double histogram_timer::stop() {
  if (h_ == nullptr) return 0;
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  histogram* h = std::exchange(h_, nullptr);
  h->observe(s);
  return s;
}

namespace detail {

template <class Metric>
struct kind;
template <>
struct kind<counter> {
  static constexpr std::string_view type = "counter";
};
template <>
struct kind<float_counter> {
  static constexpr std::string_view type = "counter";
};
template <>
struct kind<gauge> {
  static constexpr std::string_view type = "gauge";
};
template <>
struct kind<histogram> {
  static constexpr std::string_view type = "histogram";
};

// What a registry holds: a family of any metric kind.
class family_base {
 public:
  virtual ~family_base() = default;
  // A scrape in two steps, so that the text fits the room reserved for it: plan_write notes
  // how many series the family has now and returns an upper bound of their text;
  // write_planned appends the HELP, TYPE and the samples of those series (a series created in
  // between waits for the next scrape). Both take the family's lock (write_planned then the
  // table's: the order series creation takes them in); the caller runs both under one lock
  // of its own (registry::write) so that no other scrape plans in between.
  virtual std::size_t plan_write() const = 0;
  virtual void write_planned(const text_sink& out) const = 0;
  const std::string& name() const noexcept { return name_; }
  // True for a histogram family (its samples add `_bucket`, `_sum` and `_count`).
  virtual bool is_histogram() const noexcept = 0;

 protected:
  std::string name_;
};

}  // namespace detail

/// Series of one metric told apart by label values: `family<counter>` with labels
/// {"method", "path"} holds one counter per (method, path) seen. Resolve a series once with
/// `with(...)` and keep the reference (valid as long as the family); looking one up again
/// allocates nothing and takes no lock when it exists. Thread-safe. Series are never removed.
template <class Metric>
class family final : public detail::family_base {
 public:
  /// Constructs an empty family named `name` (a metric name; counters must end in
  /// `_total`), documented by `help` (required, any UTF-8), with `label_names`. A family
  /// without labels holds its one series from the start. `buckets` is used by histograms
  /// only. Allocates its texts. Throws std::invalid_argument naming the value for an invalid
  /// metric name, a counter name without `_total`, an empty or non-UTF-8 help, an invalid,
  /// reserved (`__*`, and `le` for histograms) or repeated label name; std::bad_alloc.
  family(std::string_view name, std::string_view help,
         std::span<const std::string_view> label_names,
         const histogram_buckets& buckets = histogram_buckets::default_seconds()) {
    if (!detail::valid_metric_name(name)) {
      detail::invalid("metrics: invalid metric name \"" + std::string(name) +
                      "\" (allowed: [a-zA-Z_:][a-zA-Z0-9_:]*)");
    }
    if constexpr (std::is_same_v<Metric, counter> || std::is_same_v<Metric, float_counter>) {
      if (!name.ends_with("_total")) {
        detail::invalid("metrics: counter name \"" + std::string(name) +
                        "\" does not end in _total");
      }
    }
    if (help.empty() || !detail::valid_utf8(help)) {
      detail::invalid("metrics: the help of \"" + std::string(name) + "\" is empty or not UTF-8");
    }
    for (std::size_t i = 0; i < label_names.size(); ++i) {
      const std::string_view l = label_names[i];
      if (!detail::valid_label_name(l) ||
          (std::is_same_v<Metric, histogram> && l == std::string_view("le"))) {
        detail::invalid("metrics: invalid label name \"" + std::string(l) + "\" in \"" +
                        std::string(name) + "\"");
      }
      for (std::size_t j = 0; j < i; ++j) {
        if (label_names[j] == l) {
          detail::invalid("metrics: label name \"" + std::string(l) + "\" repeated in \"" +
                          std::string(name) + "\"");
        }
      }
      labels_.emplace_back(l);
    }
    name_ = std::string(name);
    header_ = "# HELP " + name_ + ' ';
    detail::escape_help(header_, help);
    header_ += "\n# TYPE " + name_ + ' ';
    header_ += detail::kind<Metric>::type;
    header_ += '\n';
    if constexpr (std::is_same_v<Metric, histogram>) layout_ = histogram::make_layout(buckets);
    if (labels_.empty()) {
      std::lock_guard lock(mutex_);
      create_locked({}, detail::hash_values({}));
    }
  }

  /// As the span overload.
  family(std::string_view name, std::string_view help,
         std::initializer_list<std::string_view> label_names = {},
         const histogram_buckets& buckets = histogram_buckets::default_seconds())
      : family(name, help, std::span<const std::string_view>(label_names), buckets) {}

  family(const family&) = delete;
  family& operator=(const family&) = delete;

  /// Returns the series with these label values (in the order of the label names), creating
  /// it on first use. An existing series: no lock, a hash of the values, an acquire load and
  /// a probe of an open-addressing index; never allocates. A new one: the family's lock and a
  /// few allocations. Throws std::invalid_argument naming the counts when the number of
  /// values differs from the number of label names, or when a new series' value is not
  /// UTF-8; std::bad_alloc (the family is then unchanged).
  Metric& with(std::span<const std::string_view> values) {
    if (FRUGAL_UNLIKELY(values.size() != labels_.size())) wrong_count(values.size());
    const std::uint64_t h = detail::hash_values(values);
    if (Metric* m = find(values, h)) return *m;
    return create(values, h);
  }

  /// As the span overload: `family.with({"GET", "/users"})`.
  Metric& with(std::initializer_list<std::string_view> values) {
    return with(std::span<const std::string_view>(values));
  }

  /// Returns the number of series. Takes the family's lock; never throws.
  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return series_.size();
  }

  /// Returns the label names. Never throws.
  std::span<const std::string> label_names() const noexcept FRUGAL_LIFETIMEBOUND { return labels_; }

  /// Appends this family's exposition to `out` (as `registry::write`, for a family used
  /// without a registry). Throws std::bad_alloc.
  void write(std::string& out) const {
    auto& t = detail::table();
    std::lock_guard lock(mutex_);
    out.reserve(out.size() + size_bound_locked());
    std::lock_guard table_lock(t.mutex);
    write_locked_impl(detail::text_sink{&out, [](void* s, const char* p, std::size_t n) {
                                          static_cast<std::string*>(s)->append(p, n);
                                        }});
  }

  // Appends the exposition: takes this family's lock, then the table lock (the order series
  // creation takes them in). Lookups of existing series do not wait.
  bool is_histogram() const noexcept override { return std::is_same_v<Metric, histogram>; }
  std::size_t plan_write() const override {
    std::lock_guard lock(mutex_);
    planned_series_ = series_.size();
    return size_bound_locked();
  }
  void write_planned(const detail::text_sink& out) const override {
    std::lock_guard lock(mutex_);
    std::lock_guard table_lock(detail::table().mutex);
    write_locked_impl(out, planned_series_);
  }

 private:
  struct series {
    template <class... Args>
    explicit series(Args&&... args) : metric(std::forward<Args>(args)...) {}
    std::vector<std::string> values;
    std::string labels;  // name="escaped",name="escaped" (no braces)
    std::uint64_t hash = 0;
    Metric metric;
  };

  [[noreturn]] FRUGAL_COLD void wrong_count(std::size_t given) const {
    std::string names;
    for (const auto& l : labels_) names += (names.empty() ? "" : ", ") + l;
    detail::invalid("metrics: " + std::to_string(given) + " label values given to \"" + name_ +
                    "\", which has " + std::to_string(labels_.size()) + " label names (" + names +
                    ")");
  }

  // An open-addressing table of series pointers, linear probing, at most half full. Readers
  // load the current table and its slots with acquire and never lock; the writer (holding
  // mutex_) fills an empty slot with a release store, or publishes a table twice the size.
  // Replaced tables stay allocated until the family is destroyed (a reader may still probe
  // one), so all of them together take at most twice the current one.
  struct index_table {
    explicit index_table(std::size_t n)
        : mask(n - 1), slots(std::make_unique<std::atomic<series*>[]>(n)) {}
    std::size_t mask;
    std::unique_ptr<std::atomic<series*>[]> slots;
  };

  Metric* find(std::span<const std::string_view> values, std::uint64_t h) const noexcept {
    const index_table* t = index_.load(std::memory_order_acquire);
    if (t == nullptr) return nullptr;
    for (std::size_t i = h & t->mask;; i = (i + 1) & t->mask) {
      series* s = t->slots[i].load(std::memory_order_acquire);
      if (s == nullptr) return nullptr;
      if (s->hash == h &&
          std::equal(s->values.begin(), s->values.end(), values.begin(), values.end())) {
        return &s->metric;
      }
    }
  }

  static void insert(const index_table& t, series* s) noexcept {
    std::size_t i = s->hash & t.mask;
    while (t.slots[i].load(std::memory_order_relaxed) != nullptr) i = (i + 1) & t.mask;
    t.slots[i].store(s, std::memory_order_release);
  }

  Metric& create(std::span<const std::string_view> values, std::uint64_t h) {
    std::lock_guard lock(mutex_);
    if (Metric* m = find(values, h)) return *m;
    return create_locked(values, h);
  }

  Metric& create_locked(std::span<const std::string_view> values, std::uint64_t h) {
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (!detail::valid_utf8(values[i])) {
        detail::invalid("metrics: the value of label \"" + labels_[i] + "\" in \"" + name_ +
                        "\" is not UTF-8");
      }
    }
    std::unique_ptr<series> s;
    if constexpr (std::is_same_v<Metric, histogram>) {
      s = std::make_unique<series>(layout_);
    } else {
      s = std::make_unique<series>();
    }
    s->hash = h;
    s->values.reserve(values.size());
    std::size_t text = 0;  // the label text's length when nothing needs escaping
    for (std::size_t i = 0; i < values.size(); ++i)
      text += labels_[i].size() + values[i].size() + 4;
    s->labels.reserve(text);
    for (std::size_t i = 0; i < values.size(); ++i) {
      s->values.emplace_back(values[i]);
      if (i > 0) s->labels += ',';
      s->labels += labels_[i];
      s->labels += "=\"";
      detail::escape_label_value(s->labels, values[i]);
      s->labels += '"';
    }
    if (series_.size() == series_.capacity()) series_.reserve(2 * series_.size() + 4);
    const index_table* t = index_.load(std::memory_order_relaxed);
    if (t == nullptr || 2 * (series_.size() + 1) > t->mask + 1) {
      // Grow: fill a table twice the size (8 slots at first), then publish it.
      const std::size_t n = t == nullptr ? 8 : 2 * (t->mask + 1);
      if (tables_.size() == tables_.capacity()) tables_.reserve(2 * tables_.size() + 4);
      auto fresh = std::make_unique<index_table>(n);
      for (const auto& old : series_) insert(*fresh, old.get());
      insert(*fresh, s.get());
      index_.store(fresh.get(), std::memory_order_release);
      tables_.push_back(std::move(fresh));
    } else {
      insert(*t, s.get());
    }
    series_.push_back(std::move(s));
    return series_.back()->metric;
  }

  std::size_t size_bound_locked() const noexcept {
    std::size_t n = header_.size();
    const std::size_t line = name_.size() + detail::max_number_chars + 4;
    for (const auto& s : series_) {
      if constexpr (std::is_same_v<Metric, histogram>) {
        for (const auto& le : layout_->le) n += line + 8 + s->labels.size() + 6 + le.size() + 2;
        n += 2 * (line + 6 + s->labels.size() + 2);
      } else {
        n += line + s->labels.size() + 2;
      }
    }
    return n;
  }

  // Writes the header and the first `count` series (all by default).
  void write_locked_impl(const detail::text_sink& out,
                         std::size_t count = static_cast<std::size_t>(-1)) const {
    out.put(header_);
    auto& t = detail::table();
    const std::size_t n = std::min(count, series_.size());
    for (std::size_t at = 0; at < n; ++at) {
      const series& s = *series_[at];
      if constexpr (std::is_same_v<Metric, histogram>) {
        const std::size_t nb = layout_->bounds.size();
        std::uint64_t cumulative = 0;
        for (std::size_t i = 0; i <= nb; ++i) {
          cumulative += t.sum_locked(s.metric.first_slot() + i);
          out.put(name_);
          out.put("_bucket{");
          if (!s.labels.empty()) {
            out.put(s.labels);
            out.put(',');
          }
          out.put("le=\"");
          out.put(layout_->le[i]);
          out.put("\"} ");
          out.put_u64(cumulative);
          out.put('\n');
        }
        put_sample(out, "_sum", s.labels);
        out.put_double(s.metric.sum_locked());
        out.put('\n');
        put_sample(out, "_count", s.labels);
        out.put_u64(cumulative);
        out.put('\n');
      } else {
        put_sample(out, "", s.labels);
        if constexpr (std::is_same_v<Metric, counter>) {
          out.put_u64(s.metric.value_locked());
        } else if constexpr (std::is_same_v<Metric, float_counter>) {
          out.put_double(s.metric.value_locked());
        } else {
          out.put_double(s.metric.value());
        }
        out.put('\n');
      }
    }
  }

  void put_sample(const detail::text_sink& out, std::string_view suffix,
                  const std::string& labels) const {
    out.put(name_);
    out.put(suffix);
    if (!labels.empty()) {
      out.put('{');
      out.put(labels);
      out.put('}');
    }
    out.put(' ');
  }

  std::vector<std::string> labels_;
  std::string header_;
  std::shared_ptr<const detail::bucket_layout> layout_;
  mutable std::mutex mutex_;  // guards series_ and tables_, and serialises index writers
  std::vector<std::unique_ptr<series>> series_;
  // The series count the last plan_write saw (guarded by mutex_; see family_base).
  mutable std::size_t planned_series_ = static_cast<std::size_t>(-1);
  std::atomic<const index_table*> index_{nullptr};
  std::vector<std::unique_ptr<index_table>> tables_;
};

/// Owns metric families and writes them all in the Prometheus text format. Thread-safe:
/// registration, lookups, updates and scrapes may run at once.
class registry {
 public:
  /// Constructs an empty registry. Never allocates, never throws.
  registry() noexcept = default;
  registry(const registry&) = delete;
  registry& operator=(const registry&) = delete;

  /// Adds a family of counters; returns it (valid as long as the registry). Throws
  /// std::invalid_argument naming the name when it is already registered, and what
  /// `family`'s constructor throws. Allocates.
  family<counter>& add_counter_family(std::string_view name, std::string_view help,
                                      std::initializer_list<std::string_view> label_names) {
    return add<counter>(name, help, label_names, nullptr);
  }
  /// Adds an unlabelled counter; returns it. As `add_counter_family`.
  counter& add_counter(std::string_view name, std::string_view help) {
    return add<counter>(name, help, {}, nullptr).with({});
  }
  /// Adds a family of floating counters; returns it. As `add_counter_family`.
  family<float_counter>& add_float_counter_family(
      std::string_view name, std::string_view help,
      std::initializer_list<std::string_view> label_names) {
    return add<float_counter>(name, help, label_names, nullptr);
  }
  /// Adds an unlabelled floating counter; returns it. As `add_counter_family`.
  float_counter& add_float_counter(std::string_view name, std::string_view help) {
    return add<float_counter>(name, help, {}, nullptr).with({});
  }
  /// Adds a family of gauges; returns it. As `add_counter_family`.
  family<gauge>& add_gauge_family(std::string_view name, std::string_view help,
                                  std::initializer_list<std::string_view> label_names) {
    return add<gauge>(name, help, label_names, nullptr);
  }
  /// Adds an unlabelled gauge; returns it. As `add_counter_family`.
  gauge& add_gauge(std::string_view name, std::string_view help) {
    return add<gauge>(name, help, {}, nullptr).with({});
  }
  /// Adds a family of histograms with `buckets`; returns it. As `add_counter_family`.
  family<histogram>& add_histogram_family(std::string_view name, std::string_view help,
                                          std::initializer_list<std::string_view> label_names,
                                          const histogram_buckets& buckets) {
    return add<histogram>(name, help, label_names, &buckets);
  }
  /// Adds an unlabelled histogram with `buckets`; returns it. As `add_counter_family`.
  histogram& add_histogram(std::string_view name, std::string_view help,
                           const histogram_buckets& buckets) {
    return add<histogram>(name, help, {}, &buckets).with({});
  }

  /// Appends the exposition of every family, in registration order, to `out`: per family
  /// HELP, TYPE, then its samples; histograms as cumulative `_bucket{le}` lines, `_sum` and
  /// `_count` (equal to the +Inf bucket: both come from one read). O(series x threads).
  /// Reserves an upper bound of the text first: one allocation when `out` lacks room, none
  /// when it has it (reuse the string between scrapes). Holds the process-wide table lock
  /// while it reads each family, so thread exits and first updates wait. Throws std::bad_alloc;
  /// `out` may then hold part of the text.
  void write(std::string& out) const {
    std::lock_guard lock(mutex_);
    std::size_t bound = 0;
    for (const auto& f : families_) bound += f->plan_write();
    out.reserve(out.size() + bound);
    write_all_locked(detail::text_sink{&out, [](void* s, const char* p, std::size_t n) {
                                         static_cast<std::string*>(s)->append(p, n);
                                       }});
  }

  /// As the std::string overload, into a `bytes_mut` (reserved once as well).
  void write(bytes_mut& out) const {
    std::lock_guard lock(mutex_);
    std::size_t bound = 0;
    for (const auto& f : families_) bound += f->plan_write();
    out.reserve(bound);
    write_all_locked(detail::text_sink{&out, [](void* s, const char* p, std::size_t n) {
                                         static_cast<bytes_mut*>(s)->extend(std::string_view(p, n));
                                       }});
  }

  /// Returns the exposition as a new string. One allocation.
  std::string text() const {
    std::string s;
    write(s);
    return s;
  }

  /// Returns the number of families. Never throws (beyond the lock).
  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return families_.size();
  }

 private:
  void write_all_locked(const detail::text_sink& out) const {
    for (const auto& f : families_) f->write_planned(out);
  }

  friend class request_metrics;

  template <class Metric>
  static std::unique_ptr<family<Metric>> make_family(
      std::string_view name, std::string_view help,
      std::initializer_list<std::string_view> label_names, const histogram_buckets* buckets) {
    if (buckets != nullptr) {
      return std::make_unique<family<Metric>>(name, help, label_names, *buckets);
    }
    return std::make_unique<family<Metric>>(name, help, label_names);
  }

  template <class Metric>
  family<Metric>& add(std::string_view name, std::string_view help,
                      std::initializer_list<std::string_view> label_names,
                      const histogram_buckets* buckets) {
    std::unique_ptr<family<Metric>> f = make_family<Metric>(name, help, label_names, buckets);
    family<Metric>& ref = *f;
    std::unique_ptr<detail::family_base> one[] = {std::move(f)};
    add_all(one);
    return ref;
  }

  // The names a family's samples use: its own, and a histogram's with `_bucket`, `_sum` and
  // `_count` (Prometheus reads `x_count` as a series of the histogram `x`, so no other family
  // may be named so).
  static void sample_names(const detail::family_base& f, std::string (&out)[4], std::size_t& n) {
    out[0] = std::string(f.name());
    n = 1;
    if (f.is_histogram()) {
      for (const char* suffix : {"_bucket", "_sum", "_count"}) out[n++] = out[0] + suffix;
    }
  }

  // Registers `fs` together, or none of them: throws std::invalid_argument naming the first
  // name already used (by a family, or by a histogram's samples), and std::bad_alloc.
  template <std::size_t N>
  void add_all(std::unique_ptr<detail::family_base> (&fs)[N]) {
    std::string names[N][4];
    std::size_t counts[N];
    for (std::size_t i = 0; i < N; ++i) sample_names(*fs[i], names[i], counts[i]);
    std::lock_guard lock(mutex_);
    for (std::size_t i = 0; i < N; ++i) {
      for (std::size_t j = 0; j < counts[i]; ++j) {
        const std::string& n = names[i][j];
        bool taken = names_.find(n) != names_.end();
        for (std::size_t k = 0; k < i && !taken; ++k) {
          for (std::size_t m = 0; m < counts[k]; ++m) taken = taken || names[k][m] == n;
        }
        if (!taken) continue;
        if (j == 0) detail::invalid("metrics: \"" + n + "\" is already registered");
        detail::invalid("metrics: \"" + n + "\", a sample name of the histogram \"" +
                        names[i][0] + "\", is already registered");
      }
    }
    if (families_.capacity() < families_.size() + N) families_.reserve(2 * families_.size() + 4);
    std::set<std::string, std::less<>> grown = names_;  // the names, whole or not at all
    for (std::size_t i = 0; i < N; ++i) {
      for (std::size_t j = 0; j < counts[i]; ++j) grown.insert(names[i][j]);
    }
    names_.swap(grown);
    for (auto& f : fs) families_.push_back(std::move(f));  // reserved: cannot throw
  }

  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<detail::family_base>> families_;
  std::set<std::string, std::less<>> names_;  // every family's sample names
};

/// Returns the process-wide registry: one per process, shared by shared objects built with
/// -fvisibility=hidden. Never destroyed (metrics may be updated during static destruction).
/// The first call allocates it; throws std::bad_alloc.
FRUGAL_METRICS_EXPORT inline registry& default_registry() {
  static registry* r = new registry;
  return *r;
}

/// The guide's per-request metrics: `<prefix>_requests_total{method,path}` and
/// `<prefix>_request_duration_seconds{method,path}` (a histogram), resolved together.
class request_metrics {
 public:
  /// Holds the handles of one (method, path): keep it in the route's handler.
  struct route {
    counter* requests;    // <prefix>_requests_total{method, path}
    histogram* duration;  // <prefix>_request_duration_seconds{method, path}

    /// Counts one request that took `seconds`. Allocates only as `counter::inc`.
    void record(double seconds) {
      requests->inc();
      duration->observe(seconds);
    }
  };

  /// Counts a request and observes its duration when destroyed. Move-only.
  class [[nodiscard]] timer {
   public:
    /// Starts timing a request of `r`. Never throws.
    explicit timer(route r) noexcept : r_(r), start_(std::chrono::steady_clock::now()) {}
    /// Takes over `o`'s request; `o` then records nothing. Never throws.
    timer(timer&& o) noexcept
        : r_(std::exchange(o.r_, route{nullptr, nullptr})), start_(o.start_) {}
    timer& operator=(timer&&) = delete;
    /// Records the request unless moved from.
    ~timer() {
      if (r_.requests != nullptr) {
        r_.record(std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
      }
    }

   private:
    route r_;
    std::chrono::steady_clock::time_point start_;
  };

  /// Registers both families in `reg` under `prefix` (default "http"). Throws what
  /// `registry::add_counter_family` throws.
  explicit request_metrics(registry& reg, std::string_view prefix = "http",
                           const histogram_buckets& buckets = histogram_buckets::default_seconds())
      : request_metrics(register_both(reg, prefix, buckets)) {}

  /// Returns the handles of (method, path): two family lookups, no allocation once the
  /// series exist. Throws as `family::with` for a new series.
  route for_route(std::string_view method, std::string_view path) {
    return route{&requests_.with({method, path}), &duration_.with({method, path})};
  }

  /// Starts timing one request of (method, path). As `for_route`.
  timer start(std::string_view method, std::string_view path) {
    return timer(for_route(method, path));
  }

  /// Returns the request counters' family. Never throws.
  family<counter>& requests() noexcept { return requests_; }
  /// Returns the durations' family. Never throws.
  family<histogram>& durations() noexcept { return duration_; }

 private:
  // Registers both families, or neither (a name already taken leaves the registry as it was).
  static std::pair<family<counter>*, family<histogram>*> register_both(
      registry& reg, std::string_view prefix, const histogram_buckets& buckets) {
    auto requests = registry::make_family<counter>(std::string(prefix) + "_requests_total",
                                                   "Requests served, by method and path.",
                                                   {"method", "path"}, nullptr);
    auto duration = registry::make_family<histogram>(
        std::string(prefix) + "_request_duration_seconds",
        "Time to serve a request, by method and path.", {"method", "path"}, &buckets);
    std::pair<family<counter>*, family<histogram>*> out{requests.get(), duration.get()};
    std::unique_ptr<detail::family_base> both[] = {std::move(requests), std::move(duration)};
    reg.add_all(both);
    return out;
  }
  explicit request_metrics(std::pair<family<counter>*, family<histogram>*> fs)
      : requests_(*fs.first), duration_(*fs.second) {}

  family<counter>& requests_;
  family<histogram>& duration_;
};

}  // namespace metrics
FRUGAL_END_NAMESPACE
