#include <frugal/slice.hpp>
#include <frugal/small_vector.hpp>
#include <frugal/testing/allocation_counter.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <numeric>
#include <random>
#include <ranges>
#include <span>
#include <string>
#include <string_view>
#include <vector>

using namespace std::string_view_literals;

namespace {

template <class V>
std::vector<int> to_vec(const V& v) {
  return std::vector<int>(v.begin(), v.end());
}

template <class Outer>
std::vector<std::vector<int>> to_vecs(const Outer& outer) {
  std::vector<std::vector<int>> out;
  for (auto piece : outer) out.push_back(to_vec(piece));
  return out;
}

// Naive index-based references.
std::vector<std::vector<int>> ref_chunks(const std::vector<int>& v, std::size_t n) {
  std::vector<std::vector<int>> out;
  for (std::size_t i = 0; i < v.size(); i += n) {
    out.emplace_back(v.begin() + static_cast<long>(i),
                     v.begin() + static_cast<long>(std::min(v.size(), i + n)));
  }
  return out;
}
std::vector<std::vector<int>> ref_chunks_exact(const std::vector<int>& v, std::size_t n) {
  std::vector<std::vector<int>> out;
  for (std::size_t i = 0; i + n <= v.size(); i += n) {
    out.emplace_back(v.begin() + static_cast<long>(i), v.begin() + static_cast<long>(i + n));
  }
  return out;
}
std::vector<std::vector<int>> ref_rchunks(const std::vector<int>& v, std::size_t n) {
  std::vector<std::vector<int>> out;
  for (std::size_t end = v.size(); end > 0;) {
    const std::size_t begin = end > n ? end - n : 0;
    out.emplace_back(v.begin() + static_cast<long>(begin), v.begin() + static_cast<long>(end));
    end = begin;
  }
  return out;
}
std::vector<std::vector<int>> ref_windows(const std::vector<int>& v, std::size_t n) {
  std::vector<std::vector<int>> out;
  for (std::size_t i = 0; i + n <= v.size(); ++i) {
    out.emplace_back(v.begin() + static_cast<long>(i), v.begin() + static_cast<long>(i + n));
  }
  return out;
}
template <class Pred>
std::vector<std::vector<int>> ref_split(const std::vector<int>& v, Pred pred) {
  std::vector<std::vector<int>> out(1);
  for (int x : v) {
    if (pred(x)) {
      out.emplace_back();
    } else {
      out.back().push_back(x);
    }
  }
  return out;
}
template <class Pred>
std::vector<std::vector<int>> ref_chunk_by(const std::vector<int>& v, Pred pred) {
  std::vector<std::vector<int>> out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i == 0 || !pred(v[i - 1], v[i])) out.emplace_back();
    out.back().push_back(v[i]);
  }
  return out;
}

std::vector<int> iota_vec(std::size_t n) {
  std::vector<int> v(n);
  std::iota(v.begin(), v.end(), 1);
  return v;
}

}  // namespace

// Types -------------------------------------------------------------------------------------

TEST_CASE("views have the element or string type of their range", "[slice]") {
  std::vector<int> v{1, 2, 3};
  const std::vector<int> cv{1, 2, 3};
  std::string s = "abc";
  int arr[3] = {1, 2, 3};
  frugal::small_vector<int, 4> sv{1, 2, 3};
  STATIC_REQUIRE(std::is_same_v<decltype(frugal::first_n(v, 1)), std::span<int>>);
  STATIC_REQUIRE(std::is_same_v<decltype(frugal::first_n(cv, 1)), std::span<const int>>);
  STATIC_REQUIRE(std::is_same_v<decltype(frugal::first_n(s, 1)), std::string_view>);
  STATIC_REQUIRE(std::is_same_v<decltype(frugal::first_n("abc"sv, 1)), std::string_view>);
  STATIC_REQUIRE(std::is_same_v<decltype(frugal::first_n(arr, 1)), std::span<int>>);
  STATIC_REQUIRE(std::is_same_v<decltype(frugal::first_n(sv, 1)), std::span<int>>);
  STATIC_REQUIRE(std::is_same_v<decltype(frugal::first_n(std::span<int>(v), 1)), std::span<int>>);
  std::array<double, 2> a{1.0, 2.0};
  REQUIRE(frugal::last_n(a, 1)[0] == 2.0);
}

TEST_CASE("temporaries of borrowed ranges are accepted, owning temporaries are not", "[slice]") {
  std::vector<int> v{1, 2, 3};
  REQUIRE(frugal::first_n(std::span<int>(v), 2).size() == 2);
  REQUIRE(frugal::first_n(std::string_view("abc"), 2) == "ab");
  STATIC_REQUIRE(frugal::sliceable<std::vector<int>&>);
  STATIC_REQUIRE(frugal::sliceable<std::span<int>>);
  STATIC_REQUIRE(frugal::sliceable<std::string_view>);
  STATIC_REQUIRE_FALSE(frugal::sliceable<std::vector<int>>);
  STATIC_REQUIRE_FALSE(frugal::sliceable<std::string>);
  STATIC_REQUIRE_FALSE(frugal::sliceable<std::vector<int>&&>);
}

// Prefixes, suffixes, splits ------------------------------------------------------------------

TEST_CASE("first_n and last_n clamp to the size", "[slice]") {
  for (std::size_t size = 0; size < 12; ++size) {
    const auto v = iota_vec(size);
    for (std::size_t n = 0; n < 15; ++n) {
      const std::size_t k = std::min(n, size);
      REQUIRE(to_vec(frugal::first_n(v, n)) ==
              std::vector<int>(v.begin(), v.begin() + static_cast<long>(k)));
      REQUIRE(to_vec(frugal::last_n(v, n)) ==
              std::vector<int>(v.end() - static_cast<long>(k), v.end()));
    }
  }
  const std::string hello = "hello";
  REQUIRE(frugal::first_n(hello, 0).empty());
  REQUIRE(frugal::last_n(hello, 3) == "llo");
}

TEST_CASE("split_at checks its index, try_split_at returns an optional", "[slice]") {
  for (std::size_t size = 0; size < 8; ++size) {
    const auto v = iota_vec(size);
    for (std::size_t i = 0; i <= size + 2; ++i) {
      const auto parts = frugal::try_split_at(v, i);
      if (i > size) {
        REQUIRE_FALSE(parts.has_value());
        REQUIRE_THROWS_AS(frugal::split_at(v, i), std::out_of_range);
      } else {
        REQUIRE(parts.has_value());
        REQUIRE(to_vec(parts->first) ==
                std::vector<int>(v.begin(), v.begin() + static_cast<long>(i)));
        REQUIRE(to_vec(parts->second) ==
                std::vector<int>(v.begin() + static_cast<long>(i), v.end()));
        const auto [head, tail] = frugal::split_at(v, i);
        REQUIRE(head.size() + tail.size() == size);
      }
    }
  }
  const std::vector<int> ten(10);
  REQUIRE_THROWS_WITH(frugal::split_at(ten, 12), "split_at: index 12 > size 10");
  const auto [key, rest] = frugal::split_at(std::string_view("key=value"), 3);
  REQUIRE(key == "key");
  REQUIRE(rest == "=value");
}

TEST_CASE("subslice is Rust's get(from..to)", "[slice]") {
  const auto v = iota_vec(6);
  for (std::size_t from = 0; from < 9; ++from) {
    for (std::size_t to = 0; to < 9; ++to) {
      const auto s = frugal::subslice(v, from, to);
      if (from <= to && to <= v.size()) {
        REQUIRE(s.has_value());
        REQUIRE(to_vec(*s) == std::vector<int>(v.begin() + static_cast<long>(from),
                                               v.begin() + static_cast<long>(to)));
      } else {
        REQUIRE_FALSE(s.has_value());
      }
    }
  }
}

TEST_CASE("split_first and split_last give a reference and the rest", "[slice]") {
  std::vector<int> v{1, 2, 3};
  auto first = frugal::split_first(v);
  REQUIRE(first.has_value());
  first->first = 10;  // a reference into v
  REQUIRE(v[0] == 10);
  REQUIRE(to_vec(first->second) == std::vector<int>{2, 3});
  auto last = frugal::split_last(v);
  REQUIRE(last->first == 3);
  REQUIRE(to_vec(last->second) == std::vector<int>{10, 2});
  std::vector<int> empty;
  REQUIRE_FALSE(frugal::split_first(empty).has_value());
  REQUIRE_FALSE(frugal::split_last(empty).has_value());
  const auto one = frugal::split_last(std::string_view("x"));
  REQUIRE(one->first == 'x');
  REQUIRE(one->second.empty());
}

TEST_CASE("strip_prefix and strip_suffix", "[slice]") {
  REQUIRE(frugal::strip_prefix("Bearer abc"sv, "Bearer ") ==
          std::optional<std::string_view>("abc"));
  REQUIRE_FALSE(frugal::strip_prefix("Basic abc"sv, "Bearer ").has_value());
  const std::string path = "/api/v1/users";
  REQUIRE(frugal::strip_prefix(path, std::string("/api")) ==
          std::optional<std::string_view>("/v1/users"));
  REQUIRE(frugal::strip_suffix(path, "users"sv) == std::optional<std::string_view>("/api/v1/"));
  REQUIRE(frugal::strip_prefix(path, "") == std::optional<std::string_view>(path));
  REQUIRE_FALSE(frugal::strip_suffix("ab"sv, "abc").has_value());
  const std::vector<int> v{1, 2, 3, 4};
  const std::array<int, 2> head{1, 2};
  REQUIRE(to_vec(*frugal::strip_prefix(v, head)) == std::vector<int>{3, 4});
  REQUIRE(to_vec(*frugal::strip_suffix(v, std::vector<int>{3, 4})) == std::vector<int>{1, 2});
  REQUIRE_FALSE(frugal::strip_suffix(v, head).has_value());
}

// Chunked views -------------------------------------------------------------------------------

TEST_CASE("chunks, chunks_exact, rchunks and windows match index-based references", "[slice]") {
  for (std::size_t size = 0; size < 23; ++size) {
    const auto v = iota_vec(size);
    for (std::size_t n = 1; n < 26; ++n) {
      REQUIRE(to_vecs(frugal::chunks(v, n)) == ref_chunks(v, n));
      REQUIRE(to_vecs(frugal::chunks_exact(v, n)) == ref_chunks_exact(v, n));
      REQUIRE(to_vec(frugal::chunks_exact(v, n).remainder()) ==
              std::vector<int>(v.begin() + static_cast<long>(size / n * n), v.end()));
      REQUIRE(to_vecs(frugal::rchunks(v, n)) == ref_rchunks(v, n));
      REQUIRE(to_vecs(frugal::windows(v, n)) == ref_windows(v, n));
      REQUIRE(frugal::chunks(v, n).size() == ref_chunks(v, n).size());
      REQUIRE(frugal::windows(v, n).size() == ref_windows(v, n).size());
    }
  }
}

namespace {
// Checks random access against the reference: indexing, stepping back from the end, distances.
template <class View>
void check_random_access(const View& view, const std::vector<std::vector<int>>& ref) {
  const auto n = static_cast<std::ptrdiff_t>(ref.size());
  REQUIRE(view.end() - view.begin() == n);
  REQUIRE(view.begin() - view.end() == -n);
  for (std::ptrdiff_t i = 0; i < n; ++i) {
    REQUIRE(to_vec(view.begin()[i]) == ref[static_cast<std::size_t>(i)]);
    REQUIRE(to_vec(*(view.end() - (n - i))) == ref[static_cast<std::size_t>(i)]);
    auto it = view.end();
    for (std::ptrdiff_t k = n; k > i; --k) --it;
    REQUIRE(it - view.begin() == i);
    REQUIRE(to_vec(*it) == ref[static_cast<std::size_t>(i)]);
    REQUIRE((view.begin() + i < view.end()));
  }
}
}  // namespace

TEST_CASE("chunked views support random access", "[slice]") {
  for (std::size_t size = 0; size < 14; ++size) {
    const auto v = iota_vec(size);
    for (std::size_t n = 1; n < 16; ++n) {
      check_random_access(frugal::chunks(v, n), ref_chunks(v, n));
      check_random_access(frugal::chunks_exact(v, n), ref_chunks_exact(v, n));
      check_random_access(frugal::rchunks(v, n), ref_rchunks(v, n));
      check_random_access(frugal::windows(v, n), ref_windows(v, n));
    }
  }
}

TEST_CASE("chunked views are random-access, sized, borrowed views", "[slice]") {
  using C = decltype(frugal::chunks(std::declval<std::vector<int>&>(), 1));
  using W = decltype(frugal::windows(std::declval<std::string&>(), 1));
  STATIC_REQUIRE(std::ranges::view<C>);
  STATIC_REQUIRE(std::ranges::borrowed_range<C>);
  STATIC_REQUIRE(std::ranges::random_access_range<C>);
  STATIC_REQUIRE(std::ranges::sized_range<C>);
  STATIC_REQUIRE(std::ranges::view<W>);
  STATIC_REQUIRE(std::ranges::random_access_range<W>);
  STATIC_REQUIRE(std::is_same_v<std::ranges::range_value_t<W>, std::string_view>);
  const auto v = iota_vec(10);
  auto c = frugal::chunks(v, 3);
  REQUIRE(to_vec(c[3]) == std::vector<int>{10});
  REQUIRE(to_vec(*(c.begin() + 2)) == std::vector<int>{7, 8, 9});
  REQUIRE(c.end() - c.begin() == 4);
  REQUIRE(to_vec(c.back()) == std::vector<int>{10});
  std::string text = "abcdef";
  std::vector<std::string_view> grams(frugal::windows(text, 4).begin(),
                                      frugal::windows(text, 4).end());
  REQUIRE(grams == std::vector<std::string_view>{"abcd", "bcde", "cdef"});
}

TEST_CASE("a chunk size of zero throws std::invalid_argument", "[slice]") {
  const auto v = iota_vec(4);
  REQUIRE_THROWS_AS(frugal::chunks(v, 0), std::invalid_argument);
  REQUIRE_THROWS_WITH(frugal::chunks_exact(v, 0), "chunks_exact: chunk size must be positive");
  REQUIRE_THROWS_AS(frugal::rchunks(v, 0), std::invalid_argument);
  REQUIRE_THROWS_WITH(frugal::windows(v, 0), "windows: chunk size must be positive");
}

// Splitting by predicate ----------------------------------------------------------------------

TEST_CASE("split and chunk_by match references on random input", "[slice]") {
  std::mt19937 rng(99);
  for (int round = 0; round < 2000; ++round) {
    std::vector<int> v(rng() % 20);
    for (auto& x : v) x = static_cast<int>(rng() % 5);
    const int sep = static_cast<int>(rng() % 5);
    auto is_sep = [sep](int x) { return x == sep; };
    REQUIRE(to_vecs(frugal::split(v, is_sep)) == ref_split(v, is_sep));
    auto same_parity = [](int a, int b) { return (a % 2) == (b % 2); };
    REQUIRE(to_vecs(frugal::chunk_by(v, same_parity)) == ref_chunk_by(v, same_parity));
    auto ascending = [](int a, int b) { return a <= b; };  // not symmetric: order matters
    REQUIRE(to_vecs(frugal::chunk_by(v, ascending)) == ref_chunk_by(v, ascending));
  }
  using S = decltype(frugal::split(std::declval<std::vector<int>&>(), [](int) { return true; }));
  STATIC_REQUIRE(std::ranges::view<S>);
  STATIC_REQUIRE(std::ranges::forward_range<S>);
}

TEST_CASE("split of strings by a character class", "[slice]") {
  std::vector<std::string_view> parts;
  for (auto p : frugal::split("a,b,,c,"sv, [](char c) { return c == ','; })) parts.push_back(p);
  REQUIRE(parts == std::vector<std::string_view>{"a", "b", "", "c", ""});
  parts.clear();
  for (auto p : frugal::split(""sv, [](char c) { return c == ','; })) parts.push_back(p);
  REQUIRE(parts == std::vector<std::string_view>{""});
}

// Strings -------------------------------------------------------------------------------------

TEST_CASE("split_once at a character or a string", "[slice]") {
  const auto kv = frugal::split_once("Host: example.com"sv, ": ");
  REQUIRE(kv.has_value());
  REQUIRE(kv->first == "Host");
  REQUIRE(kv->second == "example.com");
  const std::string query = "a=b=c";
  const auto q = frugal::split_once(query, '=');
  REQUIRE(q->first == "a");
  REQUIRE(q->second == "b=c");
  REQUIRE_FALSE(frugal::split_once("abc"sv, '=').has_value());
  const auto e = frugal::split_once("abc"sv, "");
  REQUIRE(e->first.empty());
  REQUIRE(e->second == "abc");
}

TEST_CASE("trim, trim_start and trim_end remove ASCII whitespace", "[slice]") {
  REQUIRE(frugal::trim(" \t hello world \r\n"sv) == "hello world");
  REQUIRE(frugal::trim_start("  x  "sv) == "x  ");
  REQUIRE(frugal::trim_end("  x  "sv) == "  x");
  REQUIRE(frugal::trim("   "sv).empty());
  REQUIRE(frugal::trim(""sv).empty());
  const std::string owned = "\f\tkeep\xC2\xA0";  // a non-ASCII space is kept
  REQUIRE(frugal::trim(owned) == "keep\xC2\xA0");
}

// constexpr and allocation -------------------------------------------------------------------

namespace {
constexpr int constexpr_sum() {
  std::array<int, 7> a{1, 2, 3, 4, 5, 6, 7};
  int total = 0;
  for (auto c : frugal::chunks(a, 3)) total += static_cast<int>(c.size()) * c[0];
  for (auto w : frugal::windows(a, 6)) total += w.back();
  auto [head, tail] = frugal::split_at(a, 2);
  total += head[1] + tail[0];
  total += frugal::subslice(a, 1, 3)->front();
  total += static_cast<int>(frugal::trim("  ab "sv).size());
  for (auto p : frugal::split(a, [](int x) { return x == 4; })) total += static_cast<int>(p.size());
  return total;  // 3*1 + 3*4 + 1*7 + 6 + 7 + 2 + 3 + 2 + 2 + 3 + 3
}
}  // namespace

TEST_CASE("everything is constexpr", "[slice]") {
  STATIC_REQUIRE(constexpr_sum() == 50);
  STATIC_REQUIRE(frugal::first_n("abcdef"sv, 3) == "abc");
  STATIC_REQUIRE(frugal::split_once("k=v"sv, '=')->second == "v");
  STATIC_REQUIRE(frugal::strip_suffix("file.txt"sv, ".txt"sv) ==
                 std::optional<std::string_view>("file"));
}

TEST_CASE("slicing never allocates", "[slice][alloc]") {
  const auto v = iota_vec(1000);
  const std::string line = "GET /index.html HTTP/1.1";
  REQUIRE(frugal::testing::count_allocations([&] {
            long total = 0;
            for (auto c : frugal::chunks(v, 7)) total += c[0];
            for (auto w : frugal::windows(v, 3)) total += w[2];
            for (auto p : frugal::split(v, [](int x) { return x % 10 == 0; }))
              total += static_cast<long>(p.size());
            for (auto r : frugal::chunk_by(v, [](int a, int b) { return a / 10 == b / 10; }))
              total += r[0];
            total +=
                static_cast<long>(frugal::first_n(v, 10).size() + frugal::last_n(v, 500).size());
            const auto [method, rest] = *frugal::split_once(line, ' ');
            total += static_cast<long>(method.size() + rest.size());
            REQUIRE(total > 0);
          }) == 0);
}

// Predicates that cannot be assigned -----------------------------------------------------------

TEST_CASE("split and chunk_by with capturing predicates are views that compose", "[slice][views]") {
  const std::vector<int> v{1, 0, 2, 3, 0, 4};
  int sep = 0;                                       // not const: a constant would need no capture
  auto is_sep = [&sep](int x) { return x == sep; };  // captures: not assignable
  STATIC_REQUIRE_FALSE(std::is_copy_assignable_v<decltype(is_sep)>);
  using S = decltype(frugal::split(v, is_sep));
  STATIC_REQUIRE(std::ranges::view<S>);
  STATIC_REQUIRE(std::ranges::forward_range<S>);
  STATIC_REQUIRE(std::is_copy_assignable_v<S>);
  STATIC_REQUIRE(std::is_move_assignable_v<S>);
  std::vector<std::vector<int>> first;
  for (auto piece : frugal::split(v, is_sep) | std::views::take(1)) first.push_back(to_vec(piece));
  REQUIRE(first == std::vector<std::vector<int>>{{1}});
  std::vector<std::vector<int>> rest;
  for (auto piece : frugal::split(v, is_sep) | std::views::drop(1)) rest.push_back(to_vec(piece));
  REQUIRE(rest == std::vector<std::vector<int>>{{2, 3}, {4}});

  int limit = 2;
  auto close = [limit](int a, int b) { return b - a < limit && b - a > -limit; };
  using C = decltype(frugal::chunk_by(v, close));
  STATIC_REQUIRE(std::ranges::view<C>);
  STATIC_REQUIRE(std::ranges::forward_range<C>);
  std::vector<std::vector<int>> runs;
  for (auto run : frugal::chunk_by(v, close) | std::views::take(2)) runs.push_back(to_vec(run));
  REQUIRE(runs == std::vector<std::vector<int>>{{1, 0}, {2, 3}});

  // Assignment replaces the predicate too.
  const std::vector<int> w{5, 9, 5};
  int nine = 9;
  auto is_nine = [&nine](int x) { return x == nine; };
  auto a = frugal::split(std::span<const int>(v), is_sep);
  auto b = frugal::split(std::span<const int>(w), is_sep);
  b = a;
  REQUIRE(to_vecs(b) == ref_split(v, is_sep));
  auto c = frugal::split(std::span<const int>(w), is_nine);
  auto d = c;
  c = std::move(d);
  REQUIRE(to_vecs(c) == ref_split(w, is_nine));
  auto e = frugal::chunk_by(std::span<const int>(w), close);
  e = frugal::chunk_by(std::span<const int>(v), close);
  REQUIRE(to_vecs(e) == ref_chunk_by(v, close));
}

TEST_CASE("split and chunk_by take move-only predicates", "[slice][views]") {
  const std::vector<int> v{1, 0, 2, 0, 3};
  auto owned = std::make_unique<int>(0);
  auto is_sep = [p = std::move(owned)](int x) { return x == *p; };
  STATIC_REQUIRE_FALSE(std::is_copy_constructible_v<decltype(is_sep)>);
  auto s = frugal::split(v, std::move(is_sep));
  STATIC_REQUIRE(std::ranges::view<decltype(s)>);
  REQUIRE(to_vecs(s) == std::vector<std::vector<int>>{{1}, {2}, {3}});
  auto moved = std::move(s);
  REQUIRE(to_vecs(moved) == std::vector<std::vector<int>>{{1}, {2}, {3}});
  auto t =
      frugal::chunk_by(v, [p = std::make_unique<int>(1)](int a, int b) { return a + b == *p; });
  STATIC_REQUIRE(std::ranges::view<decltype(t)>);
  REQUIRE(to_vecs(t) == std::vector<std::vector<int>>{{1, 0}, {2}, {0}, {3}});
}

// Chunk sizes beyond the slice ------------------------------------------------------------------

TEST_CASE("huge chunk sizes give the pieces of a size just past the slice", "[slice][views]") {
  const std::size_t huge[] = {std::size_t(PTRDIFF_MAX) - 1, std::size_t(PTRDIFF_MAX),
                              std::size_t(PTRDIFF_MAX) + 1, SIZE_MAX - 1, SIZE_MAX};
  for (std::size_t size = 0; size < 6; ++size) {
    const auto v = iota_vec(size);
    for (const std::size_t n : huge) {
      INFO("size " << size << ", n " << n);
      const std::size_t same = size + 1;  // any n > size gives these pieces
      check_random_access(frugal::chunks(v, n), ref_chunks(v, same));
      check_random_access(frugal::chunks_exact(v, n), ref_chunks_exact(v, same));
      check_random_access(frugal::rchunks(v, n), ref_rchunks(v, same));
      check_random_access(frugal::windows(v, n), ref_windows(v, same));
      REQUIRE(frugal::chunks(v, n).size() == (size == 0 ? 0 : 1));
      REQUIRE(frugal::rchunks(v, n).size() == (size == 0 ? 0 : 1));
      REQUIRE(frugal::chunks_exact(v, n).empty());
      REQUIRE(to_vec(frugal::chunks_exact(v, n).remainder()) == v);
      REQUIRE(frugal::windows(v, n).empty());
      auto c = frugal::chunks(v, n);
      for (auto it = c.begin(); it != c.end(); ++it) REQUIRE(to_vec(*it) == v);
      REQUIRE(c.begin() + static_cast<std::ptrdiff_t>(c.size()) == c.end());
    }
  }
}

TEST_CASE("chunk sizes at and around the slice size", "[slice][views]") {
  for (std::size_t size = 0; size < 9; ++size) {
    const auto v = iota_vec(size);
    for (std::size_t n = size <= 1 ? 1 : size - 1; n <= size + 2; ++n) {
      check_random_access(frugal::chunks(v, n), ref_chunks(v, n));
      check_random_access(frugal::chunks_exact(v, n), ref_chunks_exact(v, n));
      check_random_access(frugal::rchunks(v, n), ref_rchunks(v, n));
      check_random_access(frugal::windows(v, n), ref_windows(v, n));
      REQUIRE(to_vec(frugal::chunks_exact(v, n).remainder()) ==
              std::vector<int>(v.begin() + static_cast<long>(size / n * n), v.end()));
    }
  }
}

// String literals ---------------------------------------------------------------------------------

TEST_CASE("a string literal is sliced without its terminating NUL", "[slice]") {
  STATIC_REQUIRE(std::is_same_v<decltype(frugal::first_n("hello", 10)), std::span<const char>>);
  REQUIRE(frugal::first_n("hello", 10).size() == 5);
  REQUIRE(frugal::as_slice("hello").size() == 5);
  REQUIRE(frugal::as_slice("").size() == 0);
  REQUIRE(std::string_view(frugal::last_n("hello", 2).data(), 2) == "lo");
  REQUIRE(frugal::last_n("hello", 10).size() == 5);
  REQUIRE(frugal::split_last("hello")->first == 'o');
  REQUIRE(frugal::split_at("hello", 5).second.empty());
  REQUIRE_THROWS_WITH(frugal::split_at("hello", 6), "split_at: index 6 > size 5");
  REQUIRE_FALSE(frugal::subslice("hello", 0, 6).has_value());
  REQUIRE(frugal::chunks("abcdef", 4).size() == 2);
  REQUIRE(frugal::chunks("abcdef", 4)[1].size() == 2);
  REQUIRE(frugal::windows("abc", 3).size() == 1);
  REQUIRE(frugal::chunks_exact("abcde", 2).remainder().size() == 1);
  REQUIRE(frugal::rchunks("abcde", 2)[0].back() == 'e');
  std::vector<std::size_t> sizes;
  for (auto piece : frugal::split("a,bc", [](char c) { return c == ','; }))
    sizes.push_back(piece.size());
  REQUIRE(sizes == std::vector<std::size_t>{1, 2});
  REQUIRE(frugal::as_slice(L"hi").size() == 2);
  REQUIRE(frugal::as_slice(u8"hi").size() == 2);
  REQUIRE(frugal::as_slice(u"hi").size() == 2);
  REQUIRE(frugal::as_slice(U"hi").size() == 2);
  STATIC_REQUIRE(frugal::first_n("abc", 9).size() == 3);
}

TEST_CASE("other arrays keep every element", "[slice]") {
  char buffer[4] = "abc";  // not const: a buffer, all four bytes
  REQUIRE(frugal::as_slice(buffer).size() == 4);
  const char raw[3] = {'a', 'b', 'c'};  // no terminator
  REQUIRE(frugal::as_slice(raw).size() == 3);
  const char inner[4] = {'a', '\0', 'b', 'c'};
  REQUIRE(frugal::as_slice(inner).size() == 4);
  const int ints[3] = {1, 2, 0};
  REQUIRE(frugal::as_slice(ints).size() == 3);
  const unsigned char bytes[2] = {1, 0};
  REQUIRE(frugal::as_slice(bytes).size() == 2);
  const signed char sbytes[2] = {1, 0};
  REQUIRE(frugal::as_slice(sbytes).size() == 2);
}

TEST_CASE("string literal patterns match element ranges of characters", "[slice]") {
  const std::vector<char> hello{'h', 'e', 'l', 'l', 'o'};
  const auto rest = frugal::strip_prefix(hello, "he");
  REQUIRE(rest.has_value());
  REQUIRE(std::string(rest->begin(), rest->end()) == "llo");
  const auto front = frugal::strip_suffix(hello, "llo");
  REQUIRE(front.has_value());
  REQUIRE(std::string(front->begin(), front->end()) == "he");
  REQUIRE_FALSE(frugal::strip_prefix(hello, "hex").has_value());
  REQUIRE(frugal::strip_prefix(hello, "")->size() == 5);
  REQUIRE(frugal::strip_prefix(hello, "hello")->empty());
  const std::array<char, 3> with_nul{'h', 'e', '\0'};  // not an array type: unchanged
  REQUIRE_FALSE(frugal::strip_prefix(hello, with_nul).has_value());
  char buffer[3] = "he";  // a mutable array: all three bytes, the '\0' included
  REQUIRE_FALSE(frugal::strip_prefix(hello, buffer).has_value());
  const std::vector<char> with_terminator{'h', 'e', '\0'};
  REQUIRE(frugal::strip_prefix(with_terminator, buffer)->empty());
  // String slices still read a C string up to its terminator.
  REQUIRE(frugal::strip_prefix("hello"sv, "he") == std::optional<std::string_view>("llo"));
  char tail[4] = "lo";
  REQUIRE(frugal::strip_suffix("hello"sv, tail) == std::optional<std::string_view>("hel"));
}

// trim is Rust's trim_ascii -------------------------------------------------------------------

TEST_CASE("trim removes exactly Rust's ASCII whitespace: not the vertical tab", "[slice]") {
  REQUIRE(frugal::trim(" \t\n\f\r x \r\f\n\t "sv) == "x");
  REQUIRE(frugal::trim("\vx\v"sv) == "\vx\v");
  REQUIRE(frugal::trim_start("\v x"sv) == "\v x");
  REQUIRE(frugal::trim_end("x \v"sv) == "x \v");
  REQUIRE(frugal::trim(" \v "sv) == "\v");
  // Every byte: whitespace exactly when Rust's u8::is_ascii_whitespace says so.
  for (int b = 0; b < 256; ++b) {
    const char c = static_cast<char>(b);
    const bool rust = c == ' ' || c == '\t' || c == '\n' || c == '\x0C' || c == '\r';
    const std::string s(1, c);
    INFO("byte " << b);
    REQUIRE(frugal::trim(std::string_view(s)).empty() == rust);
    REQUIRE(frugal::trim_start(std::string_view(s)).empty() == rust);
    REQUIRE(frugal::trim_end(std::string_view(s)).empty() == rust);
  }
}

// Element types -------------------------------------------------------------------------------

namespace {
// Counts every construction, copy, move and assignment; slicing must do none.
struct noisy {
  static inline int events = 0;
  int value = 0;
  explicit noisy(int v) : value(v) {}
  noisy(const noisy& o) : value(o.value) { ++events; }
  noisy(noisy&& o) noexcept(false) : value(o.value) { ++events; }
  noisy& operator=(const noisy& o) {
    ++events;
    value = o.value;
    return *this;
  }
  noisy& operator=(noisy&&) = delete;
  bool operator==(const noisy& o) const { return value == o.value; }
};
struct alignas(64) over_aligned {
  int value = 0;
  bool operator==(const over_aligned&) const = default;
};
struct fixed {
  const int value;
  bool operator==(const fixed&) const = default;
};
}  // namespace

TEST_CASE("slices of move-only, non-assignable, over-aligned and throwing-move elements",
          "[slice]") {
  std::vector<std::unique_ptr<int>> owners;
  for (int i = 0; i < 7; ++i) owners.push_back(std::make_unique<int>(i));
  auto [first, rest] = *frugal::split_first(owners);
  REQUIRE(*first == 0);
  first.reset();
  REQUIRE(owners[0] == nullptr);  // a reference, not a copy
  REQUIRE(frugal::chunks(owners, 3).size() == 3);
  REQUIRE(*frugal::last_n(owners, 1)[0] == 6);

  std::vector<noisy> values;
  values.reserve(6);
  for (int i = 0; i < 6; ++i) values.emplace_back(i % 3);
  noisy::events = 0;
  int total = 0;
  for (auto w : frugal::windows(values, 2)) total += w[1].value;
  for (auto p : frugal::split(values, [](const noisy& x) { return x.value == 0; }))
    total += static_cast<int>(p.size());
  for (auto r :
       frugal::chunk_by(values, [](const noisy&a, const noisy&b) { return a.value < b.value; }))
    total += static_cast<int>(r.size());
  const std::array<noisy, 1> zero{noisy(0)};
  noisy::events = 0;
  REQUIRE(frugal::strip_prefix(values, zero).has_value());
  REQUIRE(frugal::strip_suffix(values, zero).has_value() == false);
  REQUIRE(noisy::events == 0);
  REQUIRE(total > 0);

  std::array<over_aligned, 5> aligned{};
  for (auto c : frugal::chunks(aligned, 2)) {
    REQUIRE(reinterpret_cast<std::uintptr_t>(c.data()) % 64 == 0);
  }
  REQUIRE(frugal::rchunks(aligned, 2)[2].size() == 1);

  const fixed constants[4] = {{1}, {2}, {3}, {4}};
  REQUIRE(frugal::chunks_exact(constants, 3).remainder()[0].value == 4);
  REQUIRE(frugal::split_last(constants)->first.value == 4);
}

// Lifetimes: which overload takes what ---------------------------------------------------------

namespace {
template <class R>
concept can_trim = requires(R&& r) {
  frugal::trim(std::forward<R>(r));
};
template <class R>
concept can_take = requires(R&& r) {
  frugal::first_n(std::forward<R>(r), 1);
};
}  // namespace

TEST_CASE("owners are taken as lvalues only, borrowed ranges by value", "[slice]") {
  STATIC_REQUIRE(can_take<std::vector<int>&>);
  STATIC_REQUIRE(can_take<const std::vector<int>&>);
  STATIC_REQUIRE_FALSE(can_take<std::vector<int>>);
  STATIC_REQUIRE_FALSE(can_take<const std::vector<int>>);
  STATIC_REQUIRE(can_take<std::span<int>>);
  STATIC_REQUIRE(can_take<std::span<int>&>);
  STATIC_REQUIRE(can_take<const std::span<int>&>);
  STATIC_REQUIRE(can_take<std::string_view>);
  STATIC_REQUIRE(can_take<int(&)[3]>);
  STATIC_REQUIRE(can_take<std::ranges::subrange<int*>>);
  STATIC_REQUIRE(can_trim<std::string&>);
  STATIC_REQUIRE(can_trim<std::string_view>);
  STATIC_REQUIRE(can_trim<const std::string_view&>);
  STATIC_REQUIRE_FALSE(can_trim<std::string>);
  STATIC_REQUIRE_FALSE(can_trim<std::vector<char>&>);
  std::vector<int> v{1, 2, 3};
  std::ranges::subrange<int*> sub(v.data(), v.data() + 3);
  REQUIRE(frugal::first_n(sub, 2).size() == 2);
  STATIC_REQUIRE(std::is_same_v<decltype(frugal::first_n(sub, 2)), std::span<int>>);
  // A string lvalue's first element stays a mutable reference.
  std::string s = "abc";
  frugal::split_first(s)->first = 'x';
  REQUIRE(s == "xbc");
  frugal::split_last(s)->first = 'z';
  REQUIRE(s == "xbz");
}

// Splitting strings by a character or a string ---------------------------------------------

namespace {

using strings = std::vector<std::string>;

template <class R>
strings collect(R&& r) {
  strings out;
  for (auto piece : r) out.emplace_back(piece);
  return out;
}

// The byte lengths of the characters of `s`, read as UTF-8 (a stray continuation byte counts
// as part of the character before it, as frugal never splits before one).
std::vector<std::size_t> char_starts(const std::string& s) {
  std::vector<std::size_t> starts;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80 || i == 0) starts.push_back(i);
  }
  return starts;
}

// References written from Rust's documented results, with std::string::find and rfind.
strings ref_split(const std::string& s, const std::string& sep) {
  strings out;
  if (sep.empty()) {
    out.emplace_back();
    const auto starts = char_starts(s);
    for (std::size_t k = 0; k < starts.size(); ++k) {
      const std::size_t end = k + 1 < starts.size() ? starts[k + 1] : s.size();
      out.push_back(s.substr(starts[k], end - starts[k]));
    }
    out.emplace_back();
    return out;
  }
  std::size_t start = 0;
  for (std::size_t at; (at = s.find(sep, start)) != std::string::npos; start = at + sep.size()) {
    out.push_back(s.substr(start, at - start));
  }
  out.push_back(s.substr(start));
  return out;
}
strings ref_rsplit(const std::string& s, const std::string& sep) {
  if (sep.empty()) {
    strings out = ref_split(s, sep);
    return strings(out.rbegin(), out.rend());
  }
  strings out;
  std::size_t end = s.size();
  while (end >= sep.size()) {
    const std::size_t at = s.rfind(sep, end - sep.size());
    if (at == std::string::npos) break;
    out.push_back(s.substr(at + sep.size(), end - at - sep.size()));
    end = at;
  }
  out.push_back(s.substr(0, end));
  return out;
}
strings ref_splitn(const std::string& s, std::size_t n, const std::string& sep) {
  if (n == 0) return {};
  const strings all = ref_split(s, sep);
  if (all.size() <= n) return all;
  strings out(all.begin(), all.begin() + static_cast<long>(n - 1));
  std::size_t used = 0;
  for (const auto& p : out) used += p.size() + sep.size();
  out.push_back(s.substr(used));
  return out;
}
strings ref_rsplitn(const std::string& s, std::size_t n, const std::string& sep) {
  if (n == 0) return {};
  const strings all = ref_rsplit(s, sep);
  if (all.size() <= n) return all;
  strings out(all.begin(), all.begin() + static_cast<long>(n - 1));
  std::size_t used = 0;
  for (const auto& p : out) used += p.size() + sep.size();
  if (sep.empty()) {
    used = 0;
    for (const auto& p : out) used += p.size();
  }
  out.push_back(s.substr(0, s.size() - used));
  return out;
}
strings ref_split_terminator(const std::string& s, const std::string& sep) {
  strings out = ref_split(s, sep);
  if (!out.empty() && out.back().empty()) out.pop_back();
  return out;
}
strings ref_split_inclusive(const std::string& s, const std::string& sep) {
  strings out = ref_split(s, sep);
  for (std::size_t i = 0; i + 1 < out.size(); ++i) out[i] += sep;
  if (!out.empty() && out.back().empty()) out.pop_back();
  return out;
}
strings ref_lines(const std::string& s) {
  strings out = ref_split_terminator(s, "\n");
  const bool ended = !s.empty() && s.back() == '\n';
  for (std::size_t i = 0; i < out.size(); ++i) {
    if ((i + 1 < out.size() || ended) && !out[i].empty() && out[i].back() == '\r')
      out[i].pop_back();
  }
  return out;
}
strings ref_words(const std::string& s) {
  strings out;
  std::string word;
  for (char c : s) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f') {
      if (!word.empty()) out.push_back(word);
      word.clear();
    } else {
      word += c;
    }
  }
  if (!word.empty()) out.push_back(word);
  return out;
}

std::string random_text(std::mt19937& rng, std::size_t max_len) {
  static constexpr char alphabet[] = {'a', 'b', ',', ':', ' ', '\n', '\r', '\0', '\xC3', '\xA9'};
  std::uniform_int_distribution<std::size_t> len(0, max_len);
  std::uniform_int_distribution<std::size_t> pick(0, sizeof(alphabet) - 1);
  std::string s(len(rng), ' ');
  for (auto& c : s) c = alphabet[pick(rng)];
  return s;
}

}  // namespace

TEST_CASE("split by a character or a string: Rust's examples", "[slice][split]") {
  CHECK(collect(frugal::split("Mary had a little lamb"sv, ' ')) ==
        strings{"Mary", "had", "a", "little", "lamb"});
  CHECK(collect(frugal::split("lionXXtigerXleopard"sv, "X")) ==
        strings{"lion", "", "tiger", "leopard"});
  CHECK(collect(frugal::split("lion::tiger::leopard"sv, "::")) ==
        strings{"lion", "tiger", "leopard"});
  CHECK(collect(frugal::split("a,b,c"sv, ',')) == strings{"a", "b", "c"});
  CHECK(collect(frugal::split(""sv, 'X')) == strings{""});
  CHECK(collect(frugal::split("(///)"sv, '/')) == strings{"(", "", "", ")"});
  CHECK(collect(frugal::split("010"sv, '0')) == strings{"", "1", ""});
  CHECK(collect(frugal::split("rust"sv, "")) == strings{"", "r", "u", "s", "t", ""});
  CHECK(collect(frugal::split(""sv, "")) == strings{"", ""});
  CHECK(collect(frugal::split("    a  b c"sv, ' ')) == strings{"", "", "", "", "a", "", "b", "c"});
  // UTF-8: an empty separator never splits inside a character.
  CHECK(collect(frugal::split("h\xC3\xA9!"sv, "")) == strings{"", "h", "\xC3\xA9", "!", ""});
  CHECK(collect(frugal::rsplit("h\xC3\xA9!"sv, "")) == strings{"", "!", "\xC3\xA9", "h", ""});
  // Embedded NULs are characters like any other, as separator and as text.
  const std::string_view nul("a\0b\0\0c", 6);
  CHECK(collect(frugal::split(nul, '\0')) == strings{"a", "b", "", "c"});
  CHECK(collect(frugal::split(nul, std::string_view("\0\0", 2))) ==
        strings{std::string("a\0b", 3), "c"});
}

TEST_CASE("rsplit, splitn and rsplitn: Rust's examples", "[slice][split]") {
  CHECK(collect(frugal::rsplit("Mary had a little lamb"sv, ' ')) ==
        strings{"lamb", "little", "a", "had", "Mary"});
  CHECK(collect(frugal::rsplit(""sv, 'X')) == strings{""});
  CHECK(collect(frugal::rsplit("lionXXtigerXleopard"sv, 'X')) ==
        strings{"leopard", "tiger", "", "lion"});
  CHECK(collect(frugal::rsplit("lion::tiger::leopard"sv, "::")) ==
        strings{"leopard", "tiger", "lion"});
  // Overlapping matches: from the back, the last one wins.
  CHECK(collect(frugal::rsplit("aaa"sv, "aa")) == strings{"", "a"});
  CHECK(collect(frugal::split("aaa"sv, "aa")) == strings{"", "a"});
  CHECK(collect(frugal::splitn("Mary had a little lambda"sv, 3, ' ')) ==
        strings{"Mary", "had", "a little lambda"});
  CHECK(collect(frugal::splitn("lionXXtigerXleopard"sv, 3, "X")) ==
        strings{"lion", "", "tigerXleopard"});
  CHECK(collect(frugal::splitn("abcXdef"sv, 1, 'X')) == strings{"abcXdef"});
  CHECK(collect(frugal::splitn(""sv, 1, 'X')) == strings{""});
  CHECK(collect(frugal::splitn("a,b"sv, 0, ',')).empty());
  CHECK(collect(frugal::rsplitn("Mary had a little lamb"sv, 3, ' ')) ==
        strings{"lamb", "little", "Mary had a"});
  CHECK(collect(frugal::rsplitn("lionXXtigerXleopard"sv, 3, 'X')) ==
        strings{"leopard", "tiger", "lionX"});
  CHECK(collect(frugal::rsplitn("lion::tiger::leopard"sv, 2, "::")) ==
        strings{"leopard", "lion::tiger"});
  CHECK(collect(frugal::rsplitn("a,b"sv, 0, ',')).empty());
  CHECK(collect(frugal::splitn("a,b"sv, 100, ',')) == strings{"a", "b"});
  CHECK(collect(frugal::splitn("a,b"sv, SIZE_MAX, ',')) == strings{"a", "b"});
}

TEST_CASE("split_terminator, split_inclusive, lines and split_whitespace: Rust's examples",
          "[slice][split]") {
  CHECK(collect(frugal::split_terminator("A.B."sv, '.')) == strings{"A", "B"});
  CHECK(collect(frugal::split_terminator("A..B.."sv, ".")) == strings{"A", "", "B", ""});
  CHECK(collect(frugal::split_terminator(""sv, '.')).empty());
  CHECK(collect(frugal::split_terminator("."sv, '.')) == strings{""});
  CHECK(collect(
            frugal::split_inclusive("Mary had a little lamb\nlittle lamb\nlittle lamb."sv, '\n')) ==
        strings{"Mary had a little lamb\n", "little lamb\n", "little lamb."});
  CHECK(collect(frugal::split_inclusive("lamb\nlamb\n"sv, '\n')) == strings{"lamb\n", "lamb\n"});
  CHECK(collect(frugal::split_inclusive(""sv, '\n')).empty());
  CHECK(collect(frugal::split_inclusive("a::b"sv, "::")) == strings{"a::", "b"});
  CHECK(collect(frugal::lines("foo\r\nbar\n\nbaz\r"sv)) == strings{"foo", "bar", "", "baz\r"});
  CHECK(collect(frugal::lines("foo\nbar\n\r\nbaz"sv)) == strings{"foo", "bar", "", "baz"});
  CHECK(collect(frugal::lines(""sv)).empty());
  CHECK(collect(frugal::lines("\n"sv)) == strings{""});
  CHECK(collect(frugal::lines("\r\n"sv)) == strings{""});
  CHECK(collect(frugal::lines("\r"sv)) == strings{"\r"});
  CHECK(collect(frugal::lines("a\r\r\n"sv)) == strings{"a\r"});
  CHECK(collect(frugal::split_whitespace(" Mary   had\ta\u2009little  \n\t lamb"sv)) ==
        strings{"Mary", "had", "a\u2009little", "lamb"});
  CHECK(collect(frugal::split_whitespace(""sv)).empty());
  CHECK(collect(frugal::split_whitespace("   "sv)).empty());
  CHECK(collect(frugal::split_whitespace("a\vb\fc"sv)) == strings{"a\vb", "c"});
}

TEST_CASE("string splits match references on random input", "[slice][split]") {
  std::mt19937 rng(20261202);
  const std::vector<std::string> seps = {",",    ":",  "a",  " ",  "\n", std::string(1, '\0'),
                                         "\xC3", "::", "ab", ",,", "aa", "\xC3\xA9",
                                         "a:b",  ""};
  for (int round = 0; round < 3000; ++round) {
    const std::string s = random_text(rng, 24);
    const std::string_view v = s;
    INFO("text of " << s.size() << " bytes, round " << round);
    const std::string& sep = seps[static_cast<std::size_t>(round) % seps.size()];
    const std::string_view sv = sep;
    REQUIRE(collect(frugal::split(v, sv)) == ref_split(s, sep));
    REQUIRE(collect(frugal::rsplit(v, sv)) == ref_rsplit(s, sep));
    REQUIRE(collect(frugal::split_terminator(v, sv)) == ref_split_terminator(s, sep));
    REQUIRE(collect(frugal::split_inclusive(v, sv)) == ref_split_inclusive(s, sep));
    const std::size_t n = static_cast<std::size_t>(round) % 6;
    REQUIRE(collect(frugal::splitn(v, n, sv)) == ref_splitn(s, n, sep));
    REQUIRE(collect(frugal::rsplitn(v, n, sv)) == ref_rsplitn(s, n, sep));
    if (sep.size() == 1) {
      const char c = sep[0];
      REQUIRE(collect(frugal::split(v, c)) == ref_split(s, sep));
      REQUIRE(collect(frugal::rsplit(v, c)) == ref_rsplit(s, sep));
      REQUIRE(collect(frugal::splitn(v, n, c)) == ref_splitn(s, n, sep));
      REQUIRE(collect(frugal::rsplitn(v, n, c)) == ref_rsplitn(s, n, sep));
      REQUIRE(collect(frugal::split_terminator(v, c)) == ref_split_terminator(s, sep));
      REQUIRE(collect(frugal::split_inclusive(v, c)) == ref_split_inclusive(s, sep));
      auto once = frugal::split_once(v, c);
      auto ronce = frugal::rsplit_once(v, c);
      const auto pieces = ref_split(s, sep);
      REQUIRE(once.has_value() == (pieces.size() > 1));
      REQUIRE(ronce.has_value() == (pieces.size() > 1));
      if (ronce) {
        REQUIRE(std::string(ronce->second) == pieces.back());
        REQUIRE(ronce->first.size() + 1 + ronce->second.size() == s.size());
      }
    }
    REQUIRE(collect(frugal::lines(v)) == ref_lines(s));
    REQUIRE(collect(frugal::split_whitespace(v)) == ref_words(s));
  }
}

TEST_CASE("string splits are borrowed forward views that compose", "[slice][split][views]") {
  using S = decltype(frugal::split("a"sv, ','));
  using T = decltype(frugal::split("a"sv, "::"));
  using R = decltype(frugal::rsplitn("a"sv, 2, "::"));
  using L = decltype(frugal::lines("a"sv));
  using W = decltype(frugal::split_whitespace("a"sv));
  using I = decltype(frugal::split_inclusive("a"sv, ','));
  using E = decltype(frugal::split_terminator("a"sv, ','));
  STATIC_REQUIRE(std::ranges::view<S>);
  STATIC_REQUIRE(std::ranges::view<T>);
  STATIC_REQUIRE(std::ranges::view<R>);
  STATIC_REQUIRE(std::ranges::view<L>);
  STATIC_REQUIRE(std::ranges::view<W>);
  STATIC_REQUIRE(std::ranges::view<I>);
  STATIC_REQUIRE(std::ranges::view<E>);
  STATIC_REQUIRE(std::ranges::borrowed_range<S>);
  STATIC_REQUIRE(std::ranges::borrowed_range<T>);
  STATIC_REQUIRE(std::ranges::borrowed_range<R>);
  STATIC_REQUIRE(std::ranges::borrowed_range<L>);
  STATIC_REQUIRE(std::ranges::borrowed_range<W>);
  STATIC_REQUIRE(std::ranges::forward_range<S>);
  STATIC_REQUIRE(std::ranges::forward_range<R>);
  STATIC_REQUIRE(std::ranges::common_range<S>);
  STATIC_REQUIRE(std::is_same_v<std::ranges::range_value_t<S>, std::string_view>);
  STATIC_REQUIRE(std::ranges::borrowed_range<decltype(frugal::rchunks_exact(std::span<int>(), 1))>);
  // An iterator outlives the view object it came from.
  std::string text = "k1=v1;k2=v2;k3";
  auto it = frugal::split(text, ';').begin();
  CHECK(*it == "k1=v1");
  CHECK(*++it == "k2=v2");
  strings taken;
  for (auto p : frugal::split(text, ';') | std::views::drop(1) | std::views::take(1))
    taken.emplace_back(p);
  CHECK(taken == strings{"k2=v2"});
  // Multi-pass: a copied iterator replays the same pieces; empty pieces at one position differ.
  auto parts = frugal::split(""sv, "");
  auto a = parts.begin();
  auto b = a;
  CHECK(a == b);
  ++a;
  CHECK(a != b);
  CHECK(*a == "");
  CHECK(*b == "");
  CHECK(std::ranges::distance(parts) == 2);
  CHECK(std::ranges::distance(frugal::splitn(""sv, 5, "")) == 2);
  CHECK(*std::ranges::next(frugal::split("a,b,c"sv, ',').begin(), 2) == "c");
  // A default-constructed view is empty text split once.
  S empty{};
  CHECK(collect(empty) == strings{""});
  CHECK(S::iterator() == empty.end());
}

TEST_CASE("string splits take strings, views, cow_strings and other character types",
          "[slice][split]") {
  const std::string owned = "a/b";
  CHECK(collect(frugal::split(owned, '/')) == strings{"a", "b"});
  const std::string sep = "/";
  CHECK(collect(frugal::split(owned, sep)) == strings{"a", "b"});
  const char* csep = "/";
  CHECK(collect(frugal::rsplit(owned, csep)) == strings{"b", "a"});
  const std::u16string_view u16 = u"x\u00e9y\u00e9";
  std::vector<std::u16string> pieces;
  for (auto p : frugal::split(u16, u'\u00e9')) pieces.emplace_back(p);
  CHECK(pieces == std::vector<std::u16string>{u"x", u"y", u""});
  std::size_t n = 0;
  for (auto p : frugal::split(std::wstring_view(L"ab"), L"")) n += p.size() + 1;
  CHECK(n == 6);  // "", "a", "b", ""
}

TEST_CASE("string splits, trims and parsing never allocate", "[slice][split][alloc]") {
  const std::string text = "k1=v1;k2=v2\r\nk3=v3\nflag one  two\t";
  std::size_t total = 0;
  REQUIRE(frugal::testing::count_allocations([&] {
            for (auto p : frugal::split(text, ';')) total += p.size();
            for (auto p : frugal::split(text, "=v")) total += p.size();
            for (auto p : frugal::rsplit(text, '=')) total += p.size();
            for (auto p : frugal::splitn(text, 2, ';')) total += p.size();
            for (auto p : frugal::rsplitn(text, 2, "\n")) total += p.size();
            for (auto p : frugal::split_terminator(text, '\t')) total += p.size();
            for (auto p : frugal::split_inclusive(text, '\n')) total += p.size();
            for (auto p : frugal::lines(text)) total += p.size();
            for (auto p : frugal::split_whitespace(text)) total += p.size();
            total += frugal::rsplit_once(text, '=')->second.size();
            total += frugal::trim_matches(text, 'k').size();
            total += frugal::trim_start_matches(text, "k1").size();
            total += frugal::trim_end_matches(text, [](char c) { return c == '\t'; }).size();
            total += static_cast<std::size_t>(*frugal::parse<int>("12345"));
            total += static_cast<std::size_t>(*frugal::parse<std::uint64_t>("ff", 16));
            total += frugal::first(text)->get() == 'k';
          }) == 0);
  CHECK(total > 0);
}

TEST_CASE("a temporary string separator is rejected at compile time", "[slice][split]") {
  // split(view, std::string("::")) would keep a view of a dead string: its static_assert fires.
  // A string lvalue, a literal, a view and a character are all accepted.
  STATIC_REQUIRE(!frugal::detail::split_pattern<int, std::string_view>);
  STATIC_REQUIRE(!frugal::detail::split_pattern<std::nullptr_t, std::string_view>);
  STATIC_REQUIRE(frugal::detail::split_pattern<const std::string&, std::string_view>);
  STATIC_REQUIRE(frugal::detail::split_pattern<const char(&)[3], std::string_view>);
  STATIC_REQUIRE(!frugal::detail::split_pattern<char, std::u16string_view>);
}

// rsplit_once, trim_*_matches, strip_prefix/suffix by character ------------------------------

TEST_CASE("rsplit_once: Rust's examples", "[slice]") {
  CHECK(!frugal::rsplit_once("cfg"sv, '=').has_value());
  CHECK(*frugal::rsplit_once("cfg=foo"sv, '=') == std::pair("cfg"sv, "foo"sv));
  CHECK(*frugal::rsplit_once("cfg=foo=bar"sv, '=') == std::pair("cfg=foo"sv, "bar"sv));
  CHECK(*frugal::rsplit_once("a::b::c"sv, "::") == std::pair("a::b"sv, "c"sv));
  CHECK(*frugal::rsplit_once("abc"sv, "") == std::pair("abc"sv, ""sv));
  CHECK(*frugal::rsplit_once("=x"sv, '=') == std::pair(""sv, "x"sv));
  CHECK(*frugal::rsplit_once("x="sv, '=') == std::pair("x"sv, ""sv));
  CHECK(!frugal::rsplit_once(""sv, '=').has_value());
  const std::string owned = "k=v";
  CHECK(frugal::rsplit_once(owned, std::string("="))->first == "k");
  STATIC_REQUIRE(frugal::rsplit_once("a.b.c"sv, '.')->second == "c");
}

TEST_CASE("trim_matches, trim_start_matches, trim_end_matches: Rust's examples", "[slice]") {
  CHECK(frugal::trim_matches("11foo1bar11"sv, '1') == "foo1bar");
  CHECK(frugal::trim_matches("123foo1bar123"sv, [](char c) { return c >= '0' && c <= '9'; }) ==
        "foo1bar");
  CHECK(frugal::trim_matches("1111"sv, '1') == "");
  CHECK(frugal::trim_matches(""sv, '1') == "");
  CHECK(frugal::trim_start_matches("11foo1bar11"sv, '1') == "foo1bar11");
  CHECK(frugal::trim_start_matches("123foo1bar123"sv,
                                   [](char c) { return c >= '0' && c <= '9'; }) == "foo1bar123");
  CHECK(frugal::trim_start_matches("ababcab"sv, "ab") == "cab");
  CHECK(frugal::trim_start_matches("abc"sv, "") == "abc");
  CHECK(frugal::trim_start_matches("aaa"sv, "aa") == "a");
  CHECK(frugal::trim_end_matches("11foo1bar11"sv, '1') == "11foo1bar");
  CHECK(frugal::trim_end_matches("1fooX"sv, [](char c) { return c == 'X'; }) == "1foo");
  CHECK(frugal::trim_end_matches("cabab"sv, "ab") == "c");
  CHECK(frugal::trim_end_matches("aaa"sv, "aa") == "a");
  CHECK(frugal::trim_end_matches("abc"sv, ""sv) == "abc");
  CHECK(frugal::trim_end_matches("abab"sv, "ab") == "");
  const std::string nul("\0\0x\0", 4);
  CHECK(frugal::trim_matches(nul, '\0') == "x");
  const std::string owned = "--x--";
  CHECK(frugal::trim_matches(owned, '-') == "x");
  CHECK(frugal::trim_start_matches(owned, std::string("-")) == "x--");
  STATIC_REQUIRE(frugal::trim_matches("xxaxx"sv, 'x') == "a");
  // Against a naive loop on random input.
  std::mt19937 rng(7);
  for (int round = 0; round < 500; ++round) {
    const std::string s = random_text(rng, 12);
    for (const std::string p : {"a", ",", "ab", "a:", "\xC3\xA9"}) {
      std::string_view front = s;
      while (front.starts_with(p)) front.remove_prefix(p.size());
      std::string_view back = s;
      while (back.ends_with(p)) back.remove_suffix(p.size());
      REQUIRE(frugal::trim_start_matches(std::string_view(s), std::string_view(p)) == front);
      REQUIRE(frugal::trim_end_matches(std::string_view(s), std::string_view(p)) == back);
      if (p.size() == 1) {
        REQUIRE(frugal::trim_start_matches(std::string_view(s), p[0]) == front);
        REQUIRE(frugal::trim_end_matches(std::string_view(s), p[0]) == back);
        const auto both = frugal::trim_matches(std::string_view(s), p[0]);
        REQUIRE(both == frugal::trim_end_matches(front, p[0]));
      }
    }
  }
}

TEST_CASE("strip_prefix and strip_suffix take one character", "[slice]") {
  CHECK(*frugal::strip_prefix("foo:bar"sv, 'f') == "oo:bar");
  CHECK(!frugal::strip_prefix("foo:bar"sv, 'o').has_value());
  CHECK(*frugal::strip_suffix("bar:foo"sv, 'o') == "bar:fo");
  CHECK(!frugal::strip_suffix("bar:foo"sv, 'x').has_value());
  CHECK(!frugal::strip_prefix(""sv, 'x').has_value());
  CHECK(!frugal::strip_suffix(""sv, 'x').has_value());
  CHECK(*frugal::strip_prefix("x"sv, 'x') == "");
  CHECK(*frugal::strip_suffix(std::string_view("a\0", 2), '\0') == "a");
  const std::string owned = "/path/";
  CHECK(*frugal::strip_suffix(owned, '/') == "/path");
  CHECK(*frugal::strip_prefix(owned, '/') == "path/");
  STATIC_REQUIRE(*frugal::strip_prefix("/x"sv, '/') == "x");
}

// first, last, get, rchunks_exact ---------------------------------------------------------

TEST_CASE("first, last and get return an element or nothing", "[slice]") {
  std::vector<int> v{10, 20, 30};
  CHECK(frugal::first(v)->get() == 10);
  CHECK(frugal::last(v)->get() == 30);
  CHECK(frugal::get(v, 1)->get() == 20);
  CHECK(!frugal::get(v, 3).has_value());
  CHECK(!frugal::get(v, SIZE_MAX).has_value());
  frugal::get(v, 2)->get() = 33;  // a reference into the vector
  CHECK(v[2] == 33);
  STATIC_REQUIRE(
      std::is_same_v<decltype(frugal::first(v)), std::optional<std::reference_wrapper<int>>>);
  const std::vector<int> cv = v;
  STATIC_REQUIRE(
      std::is_same_v<decltype(frugal::last(cv)), std::optional<std::reference_wrapper<const int>>>);
  std::vector<int> none;
  CHECK(!frugal::first(none).has_value());
  CHECK(!frugal::last(none).has_value());
  CHECK(!frugal::get(none, 0).has_value());
  CHECK(frugal::first("abc"sv)->get() == 'a');
  CHECK(frugal::last("abc")->get() == 'c');  // a literal without its '\0'
  CHECK(!frugal::first(""sv).has_value());
  const std::string s = "xy";
  CHECK(frugal::get(s, 1)->get() == 'y');
  STATIC_REQUIRE(frugal::get("abc"sv, 2)->get() == 'c');
  // Move-only and over-aligned elements are referred to, never copied.
  std::vector<std::unique_ptr<int>> ptrs;
  ptrs.push_back(std::make_unique<int>(5));
  CHECK(*frugal::first(ptrs)->get() == 5);
  struct alignas(64) wide {
    int x;
  };
  std::array<wide, 2> w{{{1}, {2}}};
  CHECK(frugal::last(w)->get().x == 2);
  CHECK(reinterpret_cast<std::uintptr_t>(&frugal::last(w)->get()) % 64 == 0);
}

TEST_CASE("rchunks_exact matches Rust and a reference", "[slice]") {
  const std::vector<int> v{1, 2, 3, 4, 5};
  auto c = frugal::rchunks_exact(v, 2);
  CHECK(to_vecs(c) == std::vector<std::vector<int>>{{4, 5}, {2, 3}});
  CHECK(to_vec(c.remainder()) == std::vector<int>{1});
  CHECK(c.size() == 2);
  CHECK(to_vec(c[1]) == std::vector<int>{2, 3});
  CHECK(to_vecs(frugal::rchunks_exact(v, 5)) == std::vector<std::vector<int>>{{1, 2, 3, 4, 5}});
  CHECK(frugal::rchunks_exact(v, 5).remainder().empty());
  CHECK(frugal::rchunks_exact(v, 6).empty());
  CHECK(to_vec(frugal::rchunks_exact(v, 6).remainder()) == v);
  CHECK(to_vec(frugal::rchunks_exact(v, SIZE_MAX).remainder()) == v);
  const std::vector<int> none;
  CHECK(frugal::rchunks_exact(none, 3).empty());
  CHECK(frugal::rchunks_exact(none, 3).remainder().empty());
  CHECK_THROWS_AS(frugal::rchunks_exact(v, 0), std::invalid_argument);
  CHECK_THROWS_WITH(frugal::rchunks_exact(v, 0), "rchunks_exact: chunk size must be positive");
  // Reverse iteration and random access agree.
  std::vector<std::vector<int>> backwards;
  for (auto it = c.end(); it != c.begin();) backwards.push_back(to_vec(*--it));
  CHECK(backwards == std::vector<std::vector<int>>{{2, 3}, {4, 5}});
  std::mt19937 rng(3);
  for (int round = 0; round < 300; ++round) {
    const auto w = iota_vec(rng() % 40);
    const std::size_t n = 1 + rng() % 9;
    std::vector<std::vector<int>> ref;
    for (std::size_t end = w.size(); end >= n; end -= n) {
      ref.emplace_back(w.begin() + static_cast<long>(end - n), w.begin() + static_cast<long>(end));
    }
    const auto got = frugal::rchunks_exact(w, n);
    REQUIRE(to_vecs(got) == ref);
    REQUIRE(to_vec(got.remainder()) ==
            std::vector<int>(w.begin(), w.begin() + static_cast<long>(w.size() % n)));
    REQUIRE(got.end() - got.begin() == static_cast<std::ptrdiff_t>(ref.size()));
  }
}

// parse --------------------------------------------------------------------------------

TEST_CASE("parse reads whole numbers as Rust's str::parse does", "[slice][parse]") {
  CHECK(frugal::parse<int>("42") == 42);
  CHECK(frugal::parse<int>("-42") == -42);
  CHECK(frugal::parse<int>("+42") == 42);
  CHECK(frugal::parse<int>("0") == 0);
  CHECK(frugal::parse<int>("-0") == 0);
  CHECK(frugal::parse<int>("007") == 7);
  CHECK(!frugal::parse<int>(""));
  CHECK(!frugal::parse<int>("+"));
  CHECK(!frugal::parse<int>("-"));
  CHECK(!frugal::parse<int>("++1"));
  CHECK(!frugal::parse<int>("+-1"));
  CHECK(!frugal::parse<int>("--1"));
  CHECK(!frugal::parse<int>(" 1"));
  CHECK(!frugal::parse<int>("1 "));
  CHECK(!frugal::parse<int>("1x"));
  CHECK(!frugal::parse<int>("1.0"));
  CHECK(!frugal::parse<int>("0x10"));
  CHECK(!frugal::parse<int>(std::string_view("1\0", 2)));
  CHECK(!frugal::parse<int>("\xC3\xA9"));
  CHECK(frugal::parse<int>("2147483647") == 2147483647);
  CHECK(!frugal::parse<int>("2147483648"));
  CHECK(frugal::parse<int>("-2147483648") == INT32_MIN);
  CHECK(!frugal::parse<int>("-2147483649"));
  CHECK(frugal::parse<std::uint64_t>("18446744073709551615") == UINT64_MAX);
  CHECK(!frugal::parse<std::uint64_t>("18446744073709551616"));
  CHECK(!frugal::parse<unsigned>("-1"));
  CHECK(!frugal::parse<unsigned>("-0"));
  CHECK(frugal::parse<unsigned>("+0") == 0u);
  CHECK(frugal::parse<std::uint8_t>("255") == 255);
  CHECK(!frugal::parse<std::uint8_t>("256"));
  CHECK(frugal::parse<std::int8_t>("-128") == -128);
  CHECK(frugal::parse<std::int16_t>("-32768") == -32768);
  CHECK(frugal::parse<int>("ff", 16) == 255);
  CHECK(frugal::parse<int>("FF", 16) == 255);
  CHECK(frugal::parse<int>("-101", 2) == -5);
  CHECK(frugal::parse<int>("z", 36) == 35);
  CHECK(!frugal::parse<int>("2", 2));
  CHECK(frugal::parse<bool>("true") == true);
  CHECK(frugal::parse<bool>("false") == false);
  CHECK(!frugal::parse<bool>("True"));
  CHECK(!frugal::parse<bool>("1"));
  CHECK(!frugal::parse<bool>(""));
  STATIC_REQUIRE(std::is_same_v<decltype(frugal::parse<long>("1")), std::optional<long>>);
}

TEST_CASE("parse rejects a base outside [2, 36] with the base named", "[slice][parse]") {
  CHECK_THROWS_AS(frugal::parse<int>("1", 1), std::invalid_argument);
  CHECK_THROWS_WITH(frugal::parse<int>("1", 37), "parse: base 37 is not in [2, 36]");
  CHECK_THROWS_WITH(frugal::parse<int>("1", 0), "parse: base 0 is not in [2, 36]");
  CHECK_THROWS_WITH(frugal::parse<int>("1", -16), "parse: base -16 is not in [2, 36]");
  CHECK(frugal::parse<int>("1", 2) == 1);
  CHECK(frugal::parse<int>("1", 36) == 1);
}

TEST_CASE("parse agrees with std::to_string round trips and a strtoll model", "[slice][parse]") {
  std::mt19937_64 rng(11);
  for (int round = 0; round < 2000; ++round) {
    const auto x = static_cast<long long>(rng());
    REQUIRE(frugal::parse<long long>(std::to_string(x)) == x);
    const auto u = static_cast<unsigned long long>(rng());
    REQUIRE(frugal::parse<unsigned long long>(std::to_string(u)) == u);
    REQUIRE(frugal::parse<unsigned long long>("+" + std::to_string(u)) == u);
    // Short random texts: accepted exactly when they are an optional sign and digits that fit.
    std::mt19937 rng32(static_cast<unsigned>(round));
    std::string s = random_text(rng32, 4);
    for (auto& c : s) c = "0123456789+-a "[static_cast<unsigned char>(c) % 14];
    const bool digits = !s.empty() &&
                        std::all_of(s.begin() + (s[0] == '+' || s[0] == '-'), s.end(),
                                    [](char c) { return c >= '0' && c <= '9'; }) &&
                        s.size() > static_cast<std::size_t>(s[0] == '+' || s[0] == '-');
    REQUIRE(frugal::parse<int>(s).has_value() == digits);
    if (digits) REQUIRE(*frugal::parse<int>(s) == std::stoi(s));
  }
}

#if defined(__cpp_lib_to_chars) && __cpp_lib_to_chars >= 201611L
TEST_CASE("parse reads floating point as Rust does, without locale", "[slice][parse]") {
  CHECK(frugal::parse<double>("3.5") == 3.5);
  CHECK(frugal::parse<double>("-3.5e2") == -350.0);
  CHECK(frugal::parse<double>("+1e-3") == 0.001);
  CHECK(frugal::parse<double>(".5") == 0.5);
  CHECK(frugal::parse<double>("5.") == 5.0);
  CHECK(frugal::parse<float>("0.25") == 0.25f);
  CHECK(std::isinf(*frugal::parse<double>("inf")));
  CHECK(std::isinf(*frugal::parse<double>("-Infinity")));
  CHECK(std::isnan(*frugal::parse<double>("NaN")));
  CHECK(std::isnan(*frugal::parse<double>("+nan")));
  CHECK(!frugal::parse<double>("nan(1)"));
  CHECK(!frugal::parse<double>(""));
  CHECK(!frugal::parse<double>("."));
  CHECK(!frugal::parse<double>("e5"));
  CHECK(!frugal::parse<double>("1e"));
  CHECK(!frugal::parse<double>("1,5"));
  CHECK(!frugal::parse<double>(" 1"));
  CHECK(!frugal::parse<double>("0x1p3"));
  CHECK(!frugal::parse<double>("++1"));
  CHECK(!frugal::parse<double>("1e999"));  // out of range: empty, where Rust gives inf
  std::mt19937_64 rng(5);
  for (int round = 0; round < 1000; ++round) {
    const double x = std::bit_cast<double>(rng());
    if (!std::isfinite(x)) continue;
    char buf[64];
    const auto r = std::to_chars(buf, buf + sizeof buf, x);
    REQUIRE(frugal::parse<double>(std::string_view(buf, static_cast<std::size_t>(r.ptr - buf))) ==
            x);
  }
}
#endif
