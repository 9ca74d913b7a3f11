// Tests that need no exceptions, built with -fno-exceptions by the `noexcept` preset. With no
// argument it checks the ordinary paths; with a case name it triggers that bad input, which
// must print a message naming the problem and abort (checked by expect_abort.cmake).
#include <frugal/frugal.hpp>

#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

int failures = 0;

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "FAILED: %s\n", what);
    ++failures;
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2) {
    if (std::strcmp(argv[1], "throw") == 0) {
      FRUGAL_THROW(std::out_of_range("noexcept_test: index 3 > size 2"));
    }
    frugal::small_vector<int, 2> v{1, 2};
    if (std::strcmp(argv[1], "small_vector_at") == 0) return v.at(7);
    if (std::strcmp(argv[1], "small_vector_reserve") == 0) v.reserve(std::size_t{1} << 40);
    const int arr[3] = {1, 2, 3};
    if (std::strcmp(argv[1], "slice_split_at") == 0) return frugal::split_at(arr, 9).first[0];
    if (std::strcmp(argv[1], "slice_chunks_zero") == 0)
      return static_cast<int>(frugal::chunks(arr, 0).size());
    if (std::strcmp(argv[1], "cow_empty_pattern") == 0)
      return static_cast<int>(frugal::replace_all("abc", "", "x").size());
    std::fprintf(stderr, "noexcept_test: unknown case %s\n", argv[1]);
    return 0;
  }
  check(FRUGAL_HAS_EXCEPTIONS == 0, "built without exceptions");
  {
    frugal::small_vector<int, 2> v;
    for (int i = 0; i < 10; ++i) v.push_back(i);
    v.insert(v.begin(), 5, -1);
    v.erase(v.begin() + 2, v.begin() + 4);
    check(v.size() == 13 && v.at(0) == -1 && v[12] == 9, "small_vector grows and edits");
    frugal::small_vector<int, 2> w = v;
    swap(v, w);
    w.clear();
    w.shrink_to_fit();
    check(w.is_inline() && v.size() == 13, "small_vector swaps and shrinks");
  }
  {
    const int arr[5] = {1, 2, 3, 4, 5};
    check(frugal::split_at(arr, 2).second.size() == 3, "slice split_at");
    check(frugal::chunks(arr, 2).size() == 3, "slice chunks");
    check(!frugal::try_split_at(arr, 6).has_value(), "slice try_split_at");
  }
  {
    const std::string clean = "already-lower-case-and-long-enough-to-allocate";
    const frugal::cow_string c = frugal::to_lower_ascii(clean);
    check(c.is_borrowed() && c.data() == clean.data(), "cow_string borrows unchanged text");
    check(frugal::escape_html("a<b").view() == "a&lt;b", "cow_string escapes");
  }
  {
    int told = 0;
    frugal::cache<int, int> c(
        {.max_capacity = 4,
         .eviction_listener = [&](const int&, const std::shared_ptr<const int>&,
                                  frugal::removal_cause) { ++told; }});
    for (int i = 0; i < 10; ++i) c.insert(i, i);
    check(*c.get_with(20, [] { return 7; }) == 7, "cache get_with loads");
    check(!c.optionally_get_with(21, [] { return std::optional<int>(); }),
          "cache optionally_get_with caches nothing for nullopt");
    const int keys[3] = {20, 30, 31};
    const auto got = c.get_all(std::span<const int>(keys), [](std::span<const int> ks) {
      std::vector<std::optional<int>> out;
      for (int k : ks) out.emplace_back(k * 2);
      return out;
    });
    check(*got[0] == 7 && *got[2] == 62, "cache get_all loads the misses");
    c.invalidate_if([](const int& k, const int&) { return k >= 30; });
    c.run_pending_tasks();
    check(c.entry_count() <= 4 && told >= 6, "cache evicts and tells the listener");
    check(c.stats().loads == 3 && c.stats().load_failures == 0, "cache counts each load once");
  }
  if (failures == 0) std::printf("noexcept_test: all checks passed\n");
  return failures == 0 ? 0 : 1;
}
