#include <frugal/slice.hpp>
#include <frugal/small_vector.hpp>
#include <frugal/testing/allocation_counter.hpp>

#include <catch2/catch.hpp>

#include <array>
#include <numeric>
#include <random>
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
