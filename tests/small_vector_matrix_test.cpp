// small_vector against std::vector under hostile conditions: failures injected at every
// allocation and every element construction, copy and move; arguments that are elements of the
// vector itself; every combination of allocator propagation and equality, with vectors of the
// same and of different N; std::pmr; element types that cannot be assigned, copied, or moved
// without throwing, and over-aligned ones.
#include <frugal/small_vector.hpp>
#include <frugal/testing/allocation_counter.hpp>

#include <catch2/catch.hpp>

#include <array>
#include <functional>
#include <iterator>
#include <list>
#include <map>
#include <memory>
#include <memory_resource>
#include <new>
#include <ranges>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

using frugal::small_vector;
using frugal::small_vector_base;
using frugal::testing::count_allocations;

namespace {

// An element that counts live instances, detects double destruction and use of destroyed
// objects, and throws on the k-th construction, copy, move or assignment from now.
struct fragile {
  static inline long live = 0;
  static inline long errors = 0;
  static inline long countdown = 0;

  static void maybe_throw() {
    if (countdown > 0 && --countdown == 0) throw std::runtime_error("fragile: injected failure");
  }
  void check() const {
    if (self != this) ++errors;
  }

  fragile(int v = 0) : value(v), self(this) {  // NOLINT: implicit on purpose
    maybe_throw();
    ++live;
  }
  fragile(const fragile& o) : value(o.value), self(this) {
    o.check();
    maybe_throw();
    ++live;
  }
  fragile(fragile&& o) noexcept(false) : value(o.value), self(this) {
    o.check();
    maybe_throw();
    o.value = -1;
    ++live;
  }
  fragile& operator=(const fragile& o) {
    check();
    o.check();
    maybe_throw();
    value = o.value;
    return *this;
  }
  fragile& operator=(fragile&& o) noexcept(false) {
    check();
    o.check();
    maybe_throw();
    value = o.value;
    o.value = -1;
    return *this;
  }
  ~fragile() {
    check();
    self = nullptr;
    --live;
  }

  int value;
  const fragile* self;
};

// Every block an allocator of the test family handed out, with the id of the allocator that
// allocated it: a block freed through an allocator that does not compare equal to that one is
// counted as a mismatch. `fail_countdown` makes the k-th allocation from now throw.
struct allocation_registry {
  static inline std::map<const void*, std::pair<int, std::size_t>> blocks;
  static inline long mismatches = 0;
  static inline long allocations = 0;
  static inline long fail_countdown = 0;

  static void reset() {
    REQUIRE(blocks.empty());
    mismatches = 0;
    allocations = 0;
    fail_countdown = 0;
  }
};

template <class T, bool Pocca, bool Pocma, bool Pocs, bool AlwaysEqual = false>
struct checked_allocator {
  using value_type = T;
  using propagate_on_container_copy_assignment = std::bool_constant<Pocca>;
  using propagate_on_container_move_assignment = std::bool_constant<Pocma>;
  using propagate_on_container_swap = std::bool_constant<Pocs>;
  using is_always_equal = std::bool_constant<AlwaysEqual>;
  template <class U>
  struct rebind {
    using other = checked_allocator<U, Pocca, Pocma, Pocs, AlwaysEqual>;
  };

  int id = 0;

  checked_allocator() = default;
  explicit checked_allocator(int i) : id(i) {}
  template <class U>
  checked_allocator(const checked_allocator<U, Pocca, Pocma, Pocs, AlwaysEqual>& o) : id(o.id) {}

  T* allocate(std::size_t n) {
    auto& r = allocation_registry::fail_countdown;
    if (r > 0 && --r == 0) throw std::bad_alloc();
    T* p = std::allocator<T>{}.allocate(n);
    allocation_registry::blocks[p] = {id, n};
    ++allocation_registry::allocations;
    return p;
  }
  void deallocate(T* p, std::size_t n) {
    const auto it = allocation_registry::blocks.find(p);
    if (it == allocation_registry::blocks.end() || it->second.second != n ||
        (!AlwaysEqual && it->second.first != id)) {
      ++allocation_registry::mismatches;
    }
    if (it != allocation_registry::blocks.end()) allocation_registry::blocks.erase(it);
    std::allocator<T>{}.deallocate(p, n);
  }
  friend bool operator==(const checked_allocator& a, const checked_allocator& b) {
    return AlwaysEqual || a.id == b.id;
  }
};

template <class V>
std::vector<int> values(const V& v) {
  std::vector<int> out;
  for (const auto& x : v) {
    if constexpr (std::is_same_v<std::decay_t<decltype(x)>, int>) {
      out.push_back(x);
    } else {
      out.push_back(x.value);
    }
  }
  return out;
}

std::vector<int> iota_values(int n, int from) {
  std::vector<int> out;
  for (int i = 0; i < n; ++i) out.push_back(from + i);
  return out;
}

template <class V>
void fill(V& v, const std::vector<int>& src) {
  for (int x : src) v.emplace_back(x);
}

// Runs `f` with fault injection paused.
template <class F>
void without_faults(F&& f) {
  const long elements = fragile::countdown, allocations = allocation_registry::fail_countdown;
  fragile::countdown = 0;
  allocation_registry::fail_countdown = 0;
  f();
  fragile::countdown = elements;
  allocation_registry::fail_countdown = allocations;
}

struct fault_guard {
  fault_guard() { disarm(); }
  ~fault_guard() { disarm(); }
  static void disarm() {
    fragile::countdown = 0;
    allocation_registry::fail_countdown = 0;
  }
};

}  // namespace

// Fault injection ----------------------------------------------------------------------------

namespace {

using fault_alloc = checked_allocator<fragile, false, false, false, true>;
using fv4 = small_vector<fragile, 4, fault_alloc>;
using fv8 = small_vector<fragile, 8, fault_alloc>;

// One operation on (v, w), mirrored on the model (a, b). `strong`: a throw leaves both as they
// were.
struct fault_case {
  const char* name;
  bool strong;
  std::function<void(fv4&, fv8&)> run;
  std::function<void(std::vector<int>&, std::vector<int>&)> model;
};

std::vector<fault_case> fault_cases() {
  using vi = std::vector<int>;
  auto mid = [](auto& v) { return v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2); };
  return {
      {"push_back", true, [](fv4& v, fv8&) { v.push_back(fragile(77)); },
       [](vi& a, vi&) { a.push_back(77); }},
      {"push_back(self)", true,
       [](fv4& v, fv8&) {
         if (!v.empty()) v.push_back(v[0]);
       },
       [](vi& a, vi&) {
         if (!a.empty()) a.push_back(a[0]);
       }},
      {"emplace_back", true, [](fv4& v, fv8&) { v.emplace_back(78); },
       [](vi& a, vi&) { a.push_back(78); }},
      {"reserve", true, [](fv4& v, fv8&) { v.reserve(v.capacity() + 3); }, [](vi&, vi&) {}},
      {"shrink_to_fit", false,
       [](fv4& v, fv8&) {
         without_faults([&] { v.reserve(v.capacity() + 9); });
         const std::vector<int> before = values(v);
         const std::size_t capacity = v.capacity();
         try {
           v.shrink_to_fit();
         } catch (...) {
           fault_guard::disarm();
           REQUIRE(values(v) == before);  // strong guarantee
           REQUIRE(v.capacity() == capacity);
           throw;
         }
       },
       [](vi&, vi&) {}},
      {"append_range", true,
       [](fv4& v, fv8&) {
         std::vector<fragile> src{fragile(1), fragile(2), fragile(3)};
         v.append_range(src);
       },
       [](vi& a, vi&) {
         a.insert(a.end(), {1, 2, 3});
       }},
      {"insert", false, [mid](fv4& v, fv8&) { v.insert(mid(v), fragile(5)); },
       [mid](vi& a, vi&) { a.insert(mid(a), 5); }},
      {"insert(self)", false,
       [mid](fv4& v, fv8&) {
         if (!v.empty()) v.insert(mid(v), v.back());
       },
       [mid](vi& a, vi&) {
         if (!a.empty()) a.insert(mid(a), a.back());
       }},
      {"insert n", false, [mid](fv4& v, fv8&) { v.insert(mid(v), 3, fragile(6)); },
       [mid](vi& a, vi&) { a.insert(mid(a), 3, 6); }},
      {"insert range", false,
       [mid](fv4& v, fv8&) {
         std::vector<fragile> src{fragile(1), fragile(2), fragile(3), fragile(4), fragile(5)};
         v.insert(mid(v), src.begin(), src.end());
       },
       [mid](vi& a, vi&) {
         a.insert(mid(a), {1, 2, 3, 4, 5});
       }},
      {"insert move_iterator", false,
       [mid](fv4& v, fv8&) {
         std::vector<fragile> src{fragile(1), fragile(2), fragile(3)};
         v.insert(mid(v), std::make_move_iterator(src.begin()), std::make_move_iterator(src.end()));
       },
       [mid](vi& a, vi&) {
         a.insert(mid(a), {1, 2, 3});
       }},
      {"insert list", false,
       [mid](fv4& v, fv8&) {
         std::list<fragile> src{fragile(1), fragile(2)};
         v.insert(mid(v), src.begin(), src.end());
       },
       [mid](vi& a, vi&) {
         a.insert(mid(a), {1, 2});
       }},
      {"emplace", false, [mid](fv4& v, fv8&) { v.emplace(mid(v), 9); },
       [mid](vi& a, vi&) { a.insert(mid(a), 9); }},
      {"erase", false,
       [mid](fv4& v, fv8&) {
         if (!v.empty()) v.erase(mid(v) == v.end() ? v.begin() : mid(v));
       },
       [mid](vi& a, vi&) {
         if (!a.empty()) a.erase(mid(a) == a.end() ? a.begin() : mid(a));
       }},
      {"assign n", false, [](fv4& v, fv8&) { v.assign(6, fragile(4)); },
       [](vi& a, vi&) { a.assign(6, 4); }},
      {"assign range", false, [](fv4& v, fv8& w) { v.assign(w.begin(), w.end()); },
       [](vi& a, vi& b) { a = b; }},
      {"resize", false, [](fv4& v, fv8&) { v.resize(7); }, [](vi& a, vi&) { a.resize(7); }},
      {"resize value", false, [](fv4& v, fv8&) { v.resize(6, fragile(3)); },
       [](vi& a, vi&) { a.resize(6, 3); }},
      {"copy construct", true, [](fv4& v, fv8&) { fv4 c(v); }, [](vi&, vi&) {}},
      {"copy construct from base", true,
       [](fv4& v, fv8& w) {
         fv4 c(static_cast<const small_vector_base<fragile, fault_alloc>&>(w));
         (void)v;
       },
       [](vi&, vi&) {}},
      {"move construct from base", false,
       [](fv4& v, fv8& w) {
         v.clear();
         fv4 c(static_cast<small_vector_base<fragile, fault_alloc>&&>(w));
         v.append_range(std::ranges::subrange(std::make_move_iterator(c.begin()),
                                              std::make_move_iterator(c.end())));
       },
       [](vi& a, vi& b) {
         a = b;
         b.clear();
       }},
      {"copy assign", false,
       [](fv4& v, fv8& w) { static_cast<small_vector_base<fragile, fault_alloc>&>(v) = w; },
       [](vi& a, vi& b) { a = b; }},
      {"move assign across N", false,
       [](fv4& v, fv8& w) {
         static_cast<small_vector_base<fragile, fault_alloc>&>(v) = std::move(w);
       },
       [](vi& a, vi& b) {
         a = b;
         b.clear();
       }},
      {"swap across N", false,
       [](fv4& v, fv8& w) { swap(static_cast<small_vector_base<fragile, fault_alloc>&>(v), w); },
       [](vi& a, vi& b) { std::swap(a, b); }},
      {"swap same N", false,
       [](fv4& v, fv8& w) {
         fv4 other(w.begin(), w.end());
         swap(v, other);
       },
       [](vi& a, vi& b) { a = b; }},
  };
}

}  // namespace

TEST_CASE("every failure point of every operation leaves valid vectors, strong ones unchanged",
          "[small_vector][exceptions][fault]") {
  fault_guard guard;
  allocation_registry::reset();
  fragile::live = 0;
  fragile::errors = 0;
  long failures = 0;
  for (const fault_case& c : fault_cases()) {
    for (int v_size : {0, 2, 4, 5, 9}) {
      for (int w_size : {0, 3, 8, 12}) {
        for (int kind = 0; kind < 2; ++kind) {
          for (long k = 1;; ++k) {
            INFO(c.name << " v_size=" << v_size << " w_size=" << w_size
                        << (kind == 0 ? " element failure " : " allocation failure ") << k);
            const std::vector<int> a0 = iota_values(v_size, 0), b0 = iota_values(w_size, 100);
            std::vector<int> a = a0, b = b0;
            bool done = false;
            {
              fv4 v;
              fv8 w;
              fill(v, a0);
              fill(w, b0);
              const std::size_t capacity0 = v.capacity();
              (kind == 0 ? fragile::countdown : allocation_registry::fail_countdown) = k;
              try {
                c.run(v, w);
                fault_guard::disarm();
                done = true;
              } catch (const std::runtime_error&) {
                fault_guard::disarm();
                ++failures;
              } catch (const std::bad_alloc&) {
                fault_guard::disarm();
                ++failures;
              }
              REQUIRE(fragile::live == static_cast<long>(v.size() + w.size()));
              REQUIRE(v.size() <= v.capacity());
              REQUIRE(w.size() <= w.capacity());
              if (done) {
                c.model(a, b);
                REQUIRE(values(v) == a);
                REQUIRE(values(w) == b);
              } else if (c.strong) {
                REQUIRE(values(v) == a0);
                REQUIRE(values(w) == b0);
                REQUIRE(v.capacity() == capacity0);
              }
              // Whatever happened, both are still usable.
              v.push_back(fragile(1));
              w.insert(w.begin(), fragile(2));
              REQUIRE(fragile::live == static_cast<long>(v.size() + w.size()));
            }
            REQUIRE(fragile::live == 0);
            REQUIRE(allocation_registry::blocks.empty());
            REQUIRE(allocation_registry::mismatches == 0);
            REQUIRE(fragile::errors == 0);
            if (done) break;
            REQUIRE(k < 200);
          }
        }
      }
    }
  }
  REQUIRE(failures > 1000);
}

TEST_CASE("a swap of elements that cannot be assigned survives a throw at every move",
          "[small_vector][exceptions][fault]") {
  using P = std::pair<const int, fragile>;
  STATIC_REQUIRE_FALSE(std::is_swappable_v<P>);
  fault_guard guard;
  fragile::live = 0;
  fragile::errors = 0;
  for (int a_size : {0, 1, 3, 4}) {
    for (int b_size : {0, 2, 4}) {
      for (long k = 1;; ++k) {
        INFO("a_size=" << a_size << " b_size=" << b_size << " k=" << k);
        bool done = false;
        {
          small_vector<P, 4> a, b;
          for (int i = 0; i < a_size; ++i) a.emplace_back(i, i);
          for (int i = 0; i < b_size; ++i) b.emplace_back(10 + i, 10 + i);
          fragile::countdown = k;
          try {
            swap(a, b);
            done = true;
          } catch (const std::runtime_error&) {
          }
          fault_guard::disarm();
          REQUIRE(fragile::live == static_cast<long>(a.size() + b.size()));
          if (done) {
            REQUIRE(a.size() == static_cast<std::size_t>(b_size));
            REQUIRE(b.size() == static_cast<std::size_t>(a_size));
            for (std::size_t i = 0; i < a.size(); ++i)
              REQUIRE(a[i].second.value == 10 + static_cast<int>(i));
            for (std::size_t i = 0; i < b.size(); ++i) REQUIRE(b[i].first == static_cast<int>(i));
          }
          a.emplace_back(99, 99);
        }
        REQUIRE(fragile::live == 0);
        REQUIRE(fragile::errors == 0);
        if (done) break;
        REQUIRE(k < 100);
      }
    }
  }
}

// Aliasing -------------------------------------------------------------------------------------

namespace {

// Runs `op` on a small_vector and on a std::vector holding the same strings (long enough to
// live on the heap, so that a read of a destroyed or moved element shows under ASan), for every
// size around N and every index, and compares the results.
template <class Op>
void alias_check(const char* name, Op op) {
  for (int n : {1, 2, 3, 4, 5, 7, 8, 9}) {
    for (int i = 0; i < n; ++i) {
      INFO(name << " size=" << n << " index=" << i);
      small_vector<std::string, 4> v;
      std::vector<std::string> ref;
      for (int j = 0; j < n; ++j) {
        v.push_back("element " + std::to_string(j) + std::string(24, 'x'));
        ref.push_back("element " + std::to_string(j) + std::string(24, 'x'));
      }
      op(v, static_cast<std::size_t>(i));
      op(ref, static_cast<std::size_t>(i));
      REQUIRE(std::vector<std::string>(v.begin(), v.end()) == ref);
      v.reserve(v.capacity() + 1);  // the heap state too
      v.shrink_to_fit();
    }
  }
}

}  // namespace

TEST_CASE("every mutating call accepts an argument that is part of the vector itself",
          "[small_vector][aliasing]") {
  alias_check("push_back", [](auto& v, std::size_t i) { v.push_back(v[i]); });
  alias_check("push_back twice", [](auto& v, std::size_t i) {
    v.push_back(v[i]);
    v.push_back(v[i]);
  });
  alias_check("emplace_back", [](auto& v, std::size_t i) { v.emplace_back(v[i]); });
  alias_check("emplace_back(size, char)",
              [](auto& v, std::size_t i) { v.emplace_back(v[i].size(), v[i][0]); });
  alias_check("insert(begin, v[i])", [](auto& v, std::size_t i) { v.insert(v.begin(), v[i]); });
  alias_check("insert(mid, v[i])", [](auto& v, std::size_t i) {
    v.insert(v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v[i]);
  });
  alias_check("insert(begin, 3, v[i])",
              [](auto& v, std::size_t i) { v.insert(v.begin(), 3, v[i]); });
  alias_check("insert(end, 5, v[i])", [](auto& v, std::size_t i) { v.insert(v.end(), 5, v[i]); });
  alias_check("emplace(begin, v[i])", [](auto& v, std::size_t i) { v.emplace(v.begin(), v[i]); });
  alias_check("emplace(mid, v[i])", [](auto& v, std::size_t i) {
    v.emplace(v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v[i]);
  });
  // std::vector does not promise assign(n, v[i]) (libc++ frees v[i] first): the model copies.
  auto assign_n = [](auto& v, std::size_t n, std::size_t i) {
    if constexpr (std::is_same_v<std::decay_t<decltype(v)>, std::vector<std::string>>) {
      const std::string copy = v[i];
      v.assign(n, copy);
    } else {
      v.assign(n, v[i]);
    }
  };
  alias_check("assign(2, v[i])", [&](auto& v, std::size_t i) { assign_n(v, 2, i); });
  alias_check("assign(9, v[i])", [&](auto& v, std::size_t i) { assign_n(v, 9, i); });
  alias_check("resize(size + 6, v[i])",
              [](auto& v, std::size_t i) { v.resize(v.size() + 6, v[i]); });
  alias_check("resize(size + 1, v[i])",
              [](auto& v, std::size_t i) { v.resize(v.size() + 1, v[i]); });
  // Ranges that are part of the vector: the model copies the range first (std::vector does
  // not promise these).
  auto via_copy = [](auto& v, std::size_t i, auto&& f) {
    if constexpr (std::is_same_v<std::decay_t<decltype(v)>, std::vector<std::string>>) {
      const std::vector<std::string> copy(v.begin() + static_cast<std::ptrdiff_t>(i), v.end());
      f(v, copy.begin(), copy.end());
    } else {
      f(v, v.begin() + static_cast<std::ptrdiff_t>(i), v.end());
    }
  };
  alias_check("insert(begin, v[i..])", [&](auto& v, std::size_t i) {
    via_copy(v, i, [](auto& w, auto f, auto l) { w.insert(w.begin(), f, l); });
  });
  alias_check("insert(mid, v[i..])", [&](auto& v, std::size_t i) {
    via_copy(v, i, [](auto& w, auto f, auto l) {
      w.insert(w.begin() + static_cast<std::ptrdiff_t>(w.size() / 2), f, l);
    });
  });
  alias_check("insert(end, v[i..])", [&](auto& v, std::size_t i) {
    via_copy(v, i, [](auto& w, auto f, auto l) { w.insert(w.end(), f, l); });
  });
  alias_check("assign(v[i..])", [&](auto& v, std::size_t i) {
    via_copy(v, i, [](auto& w, auto f, auto l) { w.assign(f, l); });
  });
  alias_check("append_range(v[i..])", [&](auto& v, std::size_t i) {
    via_copy(v, i, [](auto& w, auto f, auto l) {
      if constexpr (std::is_same_v<std::decay_t<decltype(w)>, std::vector<std::string>>) {
        w.insert(w.end(), f, l);
      } else {
        w.append_range(std::ranges::subrange(f, l));
      }
    });
  });
  alias_check("append_range(v)", [](auto& v, std::size_t) {
    if constexpr (std::is_same_v<std::decay_t<decltype(v)>, std::vector<std::string>>) {
      const auto copy = v;
      v.insert(v.end(), copy.begin(), copy.end());
    } else {
      v.append_range(v);
    }
  });
  alias_check("insert_range(begin, span of v)", [](auto& v, std::size_t i) {
    if constexpr (std::is_same_v<std::decay_t<decltype(v)>, std::vector<std::string>>) {
      const std::vector<std::string> copy(v.begin(),
                                          v.begin() + static_cast<std::ptrdiff_t>(i) + 1);
      v.insert(v.begin(), copy.begin(), copy.end());
    } else {
      v.insert_range(v.begin(), std::span<std::string>(v.data(), i + 1));
    }
  });
  alias_check("assign_range(span of v)", [](auto& v, std::size_t i) {
    if constexpr (std::is_same_v<std::decay_t<decltype(v)>, std::vector<std::string>>) {
      const std::vector<std::string> copy(v.begin() + static_cast<std::ptrdiff_t>(i), v.end());
      v.assign(copy.begin(), copy.end());
    } else {
      v.assign_range(std::span<std::string>(v.data() + i, v.size() - i));
    }
  });
  alias_check("self copy assignment", [](auto& v, std::size_t) {
    auto& same = v;
    v = same;
  });
  alias_check("self swap", [](auto& v, std::size_t) {
    using std::swap;
    swap(v, v);
  });
  alias_check("self swap through the base", [](auto& v, std::size_t) {
    if constexpr (!std::is_same_v<std::decay_t<decltype(v)>, std::vector<std::string>>) {
      small_vector_base<std::string>& b = v;
      b.swap(b);
    }
  });
}

TEST_CASE("self-assignment and self-swap keep the contents, for the bytewise paths too",
          "[small_vector][aliasing]") {
  for (int n : {0, 3, 4, 5, 20}) {
    small_vector<int, 4> v;
    for (int i = 0; i < n; ++i) v.push_back(i);
    const auto before = values(v);
    auto& same = v;
    v = same;
    REQUIRE(values(v) == before);
    swap(v, same);
    REQUIRE(values(v) == before);
    v = std::move(same);  // a self-move leaves the vector unchanged
    REQUIRE(values(v) == before);
    small_vector_base<int>& b = v;
    small_vector_base<int>& also_b = v;
    b = std::move(also_b);
    b = also_b;
    b.swap(also_b);
    REQUIRE(values(v) == before);
    v.assign(v.begin(), v.end());
    REQUIRE(values(v) == before);
  }
}

// Allocators -----------------------------------------------------------------------------------

namespace {

// Swaps, move-assigns and copy-assigns vectors of N = 2 and N = 8 (through the base, and of the
// same type) in every combination of sizes and allocator equality, and checks the contents, the
// allocators and that every block is freed by the allocator that allocated it.
template <class A>
void allocator_matrix() {
  using traits = std::allocator_traits<A>;
  using base = small_vector_base<int, A>;
  constexpr bool pocs = traits::propagate_on_container_swap::value;
  constexpr bool pocma = traits::propagate_on_container_move_assignment::value;
  constexpr bool pocca = traits::propagate_on_container_copy_assignment::value;
  allocation_registry::reset();
  for (int a_size : {0, 1, 2, 3, 5, 8, 9, 20}) {
    for (int b_size : {0, 1, 2, 3, 5, 8, 9, 20}) {
      for (int b_id : {1, 2}) {
        for (int shape = 0; shape < 2; ++shape) {  // 0: N 2 and 8; 1: both N 2
          INFO("a_size=" << a_size << " b_size=" << b_size << " b_id=" << b_id
                         << " shape=" << shape);
          const auto a0 = iota_values(a_size, 0), b0 = iota_values(b_size, 100);
          small_vector<int, 2, A> a(A(1));
          small_vector<int, 8, A> b8(A{b_id});
          small_vector<int, 2, A> b2(A{b_id});
          base& b = shape == 0 ? static_cast<base&>(b8) : static_cast<base&>(b2);
          fill(a, a0);
          fill(b, b0);
          const bool equal = a.get_allocator() == b.get_allocator();

          static_cast<base&>(a).swap(b);
          REQUIRE(values(a) == b0);
          REQUIRE(values(b) == a0);
          REQUIRE(a.get_allocator().id == (pocs ? b_id : 1));
          REQUIRE(b.get_allocator().id == (pocs ? 1 : b_id));
          REQUIRE(allocation_registry::mismatches == 0);
          swap(static_cast<base&>(a), b);
          REQUIRE(values(a) == a0);
          REQUIRE(values(b) == b0);
          REQUIRE(a.get_allocator().id == 1);
          b.swap(a);  // from the other side too
          REQUIRE(values(a) == b0);
          REQUIRE(values(b) == a0);
          REQUIRE((a.is_inline() || a.capacity() > 2));
          REQUIRE((b.is_inline() || b.capacity() > b.inline_capacity()));
          REQUIRE(allocation_registry::mismatches == 0);
          b.swap(a);
          REQUIRE(values(a) == a0);
          REQUIRE(values(b) == b0);
          REQUIRE(a.get_allocator().id == 1);
          if (shape == 1) {
            swap(a, b2);
            REQUIRE(values(a) == b0);
            swap(a, b2);
            REQUIRE(values(a) == a0);
          }
          REQUIRE(allocation_registry::mismatches == 0);
          // A heap buffer never sits in a vector whose inline buffer could hold it.
          REQUIRE((a.is_inline() || a.capacity() > 2));
          REQUIRE((b.is_inline() || b.capacity() > b.inline_capacity()));

          static_cast<base&>(a) = std::move(b);
          REQUIRE(values(a) == b0);
          REQUIRE(b.empty());
          REQUIRE(a.get_allocator().id == (pocma ? b_id : 1));
          REQUIRE(allocation_registry::mismatches == 0);
          b = a;
          REQUIRE(values(b) == b0);
          REQUIRE(b.get_allocator().id == (pocca ? a.get_allocator().id : b_id));
          REQUIRE(allocation_registry::mismatches == 0);
          (void)equal;
        }
        REQUIRE(allocation_registry::blocks.empty());
        REQUIRE(allocation_registry::mismatches == 0);
      }
    }
  }
}

}  // namespace

TEST_CASE("allocator matrix: propagation and equality, same and different N",
          "[small_vector][allocator]") {
  allocator_matrix<checked_allocator<int, false, false, false>>();
  allocator_matrix<checked_allocator<int, true, false, false>>();
  allocator_matrix<checked_allocator<int, false, true, false>>();
  allocator_matrix<checked_allocator<int, false, false, true>>();
  allocator_matrix<checked_allocator<int, true, true, true>>();
  allocator_matrix<checked_allocator<int, false, false, false, true>>();
  allocator_matrix<checked_allocator<int, true, true, true, true>>();
}

TEST_CASE("a propagating swap across N frees each buffer with the allocator that made it",
          "[small_vector][allocator]") {
  using A = checked_allocator<int, false, false, true>;
  allocation_registry::reset();
  {
    small_vector<int, 2, A> a(A(1));
    small_vector<int, 8, A> b(A(2));
    for (int i = 0; i < 6; ++i) b.push_back(i);  // inline in b, too many for a's buffer
    a.push_back(42);
    small_vector_base<int, A>& ra = a;
    ra.swap(b);  // a gets a new buffer for 6 elements; it must come from the allocator a keeps
    REQUIRE(a.get_allocator().id == 2);
    REQUIRE(values(a) == iota_values(6, 0));
    REQUIRE(values(b) == std::vector<int>{42});
    REQUIRE_FALSE(a.is_inline());
    REQUIRE(allocation_registry::blocks.begin()->second.first == 2);
  }
  REQUIRE(allocation_registry::blocks.empty());
  REQUIRE(allocation_registry::mismatches == 0);
}

TEST_CASE("allocator-extended copy and move with unequal allocators", "[small_vector][allocator]") {
  using A = checked_allocator<std::string, false, false, false>;
  allocation_registry::reset();
  {
    small_vector<std::string, 2, A> a(A(1));
    for (int i = 0; i < 64; ++i) a.push_back(std::to_string(i));
    const long before = allocation_registry::allocations;
    small_vector<std::string, 2, A> b(std::move(a), A(2));
    REQUIRE(allocation_registry::allocations - before == 1);  // reserved once
    REQUIRE(b.size() == 64);
    REQUIRE(b[63] == "63");
    REQUIRE(a.empty());
    small_vector<std::string, 2, A> c(b, A(3));
    REQUIRE(allocation_registry::allocations - before == 2);
    REQUIRE(c == b);
    small_vector<std::string, 2, A> d(A(4));
    d = std::move(c);  // unequal, not propagating: one allocation from d's allocator
    REQUIRE(allocation_registry::allocations - before == 3);
    REQUIRE(d == b);
    REQUIRE(d.get_allocator().id == 4);
  }
  REQUIRE(allocation_registry::blocks.empty());
  REQUIRE(allocation_registry::mismatches == 0);
}

namespace {

// A memory resource that counts what it hands out, on top of new/delete.
struct counting_resource : std::pmr::memory_resource {
  long allocations = 0;
  void* do_allocate(std::size_t bytes, std::size_t align) override {
    ++allocations;
    return std::pmr::new_delete_resource()->allocate(bytes, align);
  }
  void do_deallocate(void* p, std::size_t bytes, std::size_t align) override {
    std::pmr::new_delete_resource()->deallocate(p, bytes, align);
  }
  bool do_is_equal(const std::pmr::memory_resource& o) const noexcept override {
    return this == &o;
  }
};

struct default_resource_scope {
  explicit default_resource_scope(std::pmr::memory_resource* r)
      : old(std::pmr::set_default_resource(r)) {}
  ~default_resource_scope() { std::pmr::set_default_resource(old); }
  std::pmr::memory_resource* old;
};

}  // namespace

TEST_CASE("pmr: temporaries and elements use the vector's resource, never the default one",
          "[small_vector][allocator][pmr]") {
  counting_resource arena, fallback;
  default_resource_scope scope(&fallback);
  using V = small_vector<std::pmr::string, 4, std::pmr::polymorphic_allocator<std::pmr::string>>;
  const std::string text(40, 'p');  // longer than the short-string buffer
  for (int n : {1, 3, 4, 6}) {
    INFO("size " << n);
    V v(&arena);
    for (int i = 0; i < n; ++i) v.emplace_back(text);
    const std::pmr::string other_resource(text, &fallback);
    const long fallback_before = fallback.allocations;
    v.emplace(v.begin(), text);
    v.emplace(v.begin() + 1, text.c_str(), std::size_t{10});
    v.insert(v.begin(), other_resource);
    v.insert(v.begin() + 1, std::pmr::string(text, &arena));
    v.insert(v.begin() + 2, 2, other_resource);
    v.insert(v.begin(), 2, v.back());
    v.emplace(v.begin(), v.back());
    v.resize(v.size() + 2, other_resource);
    v.assign(3, other_resource);
    REQUIRE(fallback.allocations == fallback_before);
    for (const auto& s : v) REQUIRE(s.get_allocator().resource() == &arena);
    V copy(v, &arena);
    V moved(std::move(copy), &arena);
    REQUIRE(fallback.allocations == fallback_before);
    for (const auto& s : moved) REQUIRE(s.get_allocator().resource() == &arena);
  }
}

// Element types ------------------------------------------------------------------------------

namespace {

struct with_const_member {
  const int value;
  std::string text;
  with_const_member(int v) : value(v), text(std::string(20, 'c')) {}  // NOLINT: implicit
  friend bool operator==(const with_const_member& a, const with_const_member& b) {
    return a.value == b.value && a.text == b.text;
  }
};

struct alignas(64) over_aligned {
  int value;
  over_aligned(int v = 0) : value(v) {}  // NOLINT: implicit
};

}  // namespace

TEMPLATE_TEST_CASE("element types that cannot be assigned construct, copy and swap",
                   "[small_vector][element_types]", (std::pair<const int, std::string>),
                   with_const_member) {
  STATIC_REQUIRE_FALSE(std::is_copy_assignable_v<TestType>);
  auto make = [](int i) {
    if constexpr (std::is_same_v<TestType, with_const_member>) {
      return TestType(i);
    } else {
      return TestType(i, std::string(20, 'v'));
    }
  };
  auto key = [](const TestType& x) {
    if constexpr (std::is_same_v<TestType, with_const_member>) {
      return x.value;
    } else {
      return x.first;
    }
  };
  for (int n : {0, 2, 3, 7}) {
    INFO("size " << n);
    std::vector<TestType> src;
    for (int i = 0; i < n; ++i) src.push_back(make(i));
    small_vector<TestType, 3> range(src.begin(), src.end());
    small_vector<TestType, 3> moved_range(std::make_move_iterator(src.begin()),
                                          std::make_move_iterator(src.end()));
    small_vector<TestType, 3> copy(range);
    small_vector<TestType, 3> count(static_cast<std::size_t>(n), make(5));
    REQUIRE(range.size() == static_cast<std::size_t>(n));
    REQUIRE(copy == range);
    REQUIRE(moved_range.size() == range.size());
    small_vector<TestType, 3> other{make(10), make(11)};
    swap(copy, other);
    REQUIRE(other == range);
    REQUIRE(key(copy[1]) == 11);
    small_vector<TestType, 5> five(static_cast<const small_vector_base<TestType>&>(range));
    small_vector_base<TestType>& b5 = five;
    small_vector_base<TestType>& b3 = other;
    b5.swap(b3);
    REQUIRE(five == range);
    b3 = std::move(b5);
    REQUIRE(other == range);
    small_vector<TestType, 2> two(std::move(static_cast<small_vector_base<TestType>&>(other)));
    REQUIRE(two == range);
    copy = two;  // copy assignment rebuilds elements that cannot be assigned
    REQUIRE(copy == range);
    copy = std::move(two);
    REQUIRE(copy == range);
    copy.assign(2, make(3));
    REQUIRE(copy.size() == 2);
    copy.assign(src.begin(), src.begin());
    REQUIRE(copy.empty());
    copy.push_back(make(1));
    copy.emplace_back(make(2));
    REQUIRE(copy.size() == 2);
  }
  small_vector<std::pair<const int, std::string>, 2> from_map;
  std::map<int, std::string> m{{1, "a"}, {2, "b"}, {3, "c"}};
  from_map.assign(m.begin(), m.end());
  REQUIRE(from_map.size() == 3);
  small_vector<std::pair<const int, std::string>, 2> map_copy(m.begin(), m.end());
  REQUIRE(map_copy == from_map);
}

TEST_CASE("move-only, over-aligned and throwing-move element types",
          "[small_vector][element_types]") {
  SECTION("move-only, across N") {
    small_vector<std::unique_ptr<int>, 2> a;
    small_vector<std::unique_ptr<int>, 8> b;
    for (int i = 0; i < 5; ++i) b.push_back(std::make_unique<int>(i));
    small_vector_base<std::unique_ptr<int>>& ra = a;
    ra.swap(b);
    REQUIRE(a.size() == 5);
    REQUIRE(*a[4] == 4);
    ra = std::move(static_cast<small_vector_base<std::unique_ptr<int>>&>(b));
    REQUIRE(a.empty());
    for (int i = 0; i < 3; ++i) a.push_back(std::make_unique<int>(i));
    small_vector<std::unique_ptr<int>, 8> c(std::move(ra));
    REQUIRE(c.size() == 3);
    REQUIRE(c.is_inline());
    small_vector<std::unique_ptr<int>, 8> d(std::make_move_iterator(c.begin()),
                                            std::make_move_iterator(c.end()));
    REQUIRE(*d[2] == 2);
    d.insert(d.begin() + 1, std::make_move_iterator(c.begin()), std::make_move_iterator(c.end()));
    REQUIRE(d.size() == 6);
  }
  SECTION("over-aligned") {
    small_vector<over_aligned, 2> a;
    small_vector<over_aligned, 5> b;
    for (int i = 0; i < 7; ++i) {
      a.push_back(i);
      REQUIRE(reinterpret_cast<std::uintptr_t>(a.data()) % 64 == 0);
    }
    for (int i = 0; i < 4; ++i) b.push_back(10 + i);
    small_vector_base<over_aligned>& ra = a;
    ra.swap(b);
    REQUIRE(reinterpret_cast<std::uintptr_t>(a.data()) % 64 == 0);
    REQUIRE(reinterpret_cast<std::uintptr_t>(b.data()) % 64 == 0);
    REQUIRE(a.size() == 4);
    REQUIRE(b.size() == 7);
    b.shrink_to_fit();
    a.insert(a.begin(), b.begin(), b.end());
    REQUIRE(a.size() == 11);
    REQUIRE(reinterpret_cast<std::uintptr_t>(a.data()) % 64 == 0);
  }
  SECTION("throwing move: growth copies, swaps and moves still balance") {
    fragile::live = 0;
    fragile::errors = 0;
    {
      small_vector<fragile, 2> a;
      small_vector<fragile, 6> b;
      for (int i = 0; i < 4; ++i) a.push_back(i);
      for (int i = 0; i < 5; ++i) b.push_back(10 + i);
      small_vector_base<fragile>& ra = a;
      ra.swap(b);
      REQUIRE(values(a) == iota_values(5, 10));
      REQUIRE(values(b) == iota_values(4, 0));
      ra = std::move(b);
      REQUIRE(values(a) == iota_values(4, 0));
    }
    REQUIRE(fragile::live == 0);
    REQUIRE(fragile::errors == 0);
  }
}

// Reservation for ranges whose length is known -------------------------------------------------

namespace {

// A C++20 forward iterator whose reference is a prvalue: its legacy category is input.
auto twice_view(const std::vector<int>& v) {
  return v | std::views::transform([](int x) { return 2 * x; });
}

}  // namespace

TEST_CASE("move iterators and C++20 forward iterators allocate once, like std::vector",
          "[small_vector][alloc]") {
  std::vector<std::string> src;
  for (int i = 0; i < 64; ++i) src.push_back("s" + std::to_string(i));
  auto fresh = [&] { return std::vector<std::string>(src); };
  {
    auto s = fresh();
    REQUIRE(count_allocations([&] {
              small_vector<std::string, 4> v(std::make_move_iterator(s.begin()),
                                             std::make_move_iterator(s.end()));
              REQUIRE(v.size() == 64);
            }) == 1);
  }
  {
    auto s = fresh();
    small_vector<std::string, 4> v{"a", "b"};
    REQUIRE(count_allocations([&] {
              v.insert(v.begin() + 1, std::make_move_iterator(s.begin()),
                       std::make_move_iterator(s.end()));
            }) == 1);
    REQUIRE(v.size() == 66);
    REQUIRE(v[1] == "s0");
    REQUIRE(v[65] == "b");
  }
  {
    auto s = fresh();
    small_vector<std::string, 4> v;
    REQUIRE(count_allocations([&] {
              v.assign(std::make_move_iterator(s.begin()), std::make_move_iterator(s.end()));
            }) == 1);
    REQUIRE(v[63] == "s63");
  }
  {
    auto s = fresh();
    small_vector<std::string, 4> v;
    REQUIRE(count_allocations([&] {
              v.append_range(std::ranges::subrange(std::make_move_iterator(s.begin()),
                                                   std::make_move_iterator(s.end())));
            }) == 1);
    auto t = fresh();
    REQUIRE(count_allocations([&] {
              v.insert_range(v.begin(), std::ranges::subrange(std::make_move_iterator(t.begin()),
                                                              std::make_move_iterator(t.end())));
            }) == 1);
    REQUIRE(v.size() == 128);
  }
  {
    std::vector<int> ints(64, 3);
    auto doubled = twice_view(ints);
    STATIC_REQUIRE(std::forward_iterator<decltype(doubled.begin())>);
    REQUIRE(count_allocations([&] {
              small_vector<int, 4> v(doubled.begin(), doubled.end());
              REQUIRE(v.size() == 64);
              REQUIRE(v[10] == 6);
            }) == 1);
    small_vector<int, 4> w;
    REQUIRE(count_allocations([&] { w.append_range(doubled); }) == 1);
    REQUIRE(count_allocations([&] { w.insert(w.begin(), doubled.begin(), doubled.end()); }) == 1);
    REQUIRE(w.size() == 128);
  }
  {
    std::list<int> l(64, 3);  // bidirectional, not sized: counted by a first pass
    auto doubled = l | std::views::transform([](int x) { return 2 * x; });
    STATIC_REQUIRE(std::bidirectional_iterator<decltype(doubled.begin())>);
    STATIC_REQUIRE_FALSE(
        std::sized_sentinel_for<decltype(doubled.begin()), decltype(doubled.begin())>);
    REQUIRE(count_allocations([&] {
              small_vector<int, 4> v(doubled.begin(), doubled.end());
              REQUIRE(v.size() == 64);
              v.assign(doubled.begin(), doubled.end());
              v.insert(v.begin(), doubled.begin(), doubled.end());  // one growth
              REQUIRE(v.size() == 128);
            }) == 2);
  }
  SECTION("the internal move paths reserve too") {
    small_vector<std::string, 64> big;
    for (int i = 0; i < 64; ++i) big.push_back("t" + std::to_string(i));
    small_vector<std::string, 2> small;
    REQUIRE(count_allocations([&] {
              static_cast<small_vector_base<std::string>&>(small) =
                  std::move(static_cast<small_vector_base<std::string>&>(big));
            }) == 1);
    REQUIRE(small.size() == 64);
    for (int i = 0; i < 64; ++i) big.push_back("u" + std::to_string(i));
    REQUIRE(count_allocations([&] {
              small_vector<std::string, 2> taken(
                  std::move(static_cast<small_vector_base<std::string>&>(big)));
              REQUIRE(taken.size() == 64);
            }) == 1);
  }
}

// Heap buffers never smaller than the inline buffer --------------------------------------------

TEST_CASE("a heap buffer taken from a smaller N never stays where the inline buffer would do",
          "[small_vector][alloc]") {
  auto small_heap = [] {  // N = 2 with 3 elements on the heap, capacity 4
    small_vector<std::string, 2> s;
    for (int i = 0; i < 3; ++i) s.push_back("e" + std::to_string(i));
    REQUIRE(s.capacity() == 4);
    return s;
  };
  SECTION("move construction through the base") {
    auto s = small_heap();
    std::size_t allocations = 1;
    allocations = count_allocations([&] {
      small_vector<std::string, 8> b(std::move(static_cast<small_vector_base<std::string>&>(s)));
      REQUIRE(b.is_inline());
      REQUIRE(b.capacity() == 8);
      small_vector<std::string, 8> c{"x", "y", "z", "w", "v", "u"};
      b = std::move(c);  // same type: never allocates
      REQUIRE(b.size() == 6);
    });
    REQUIRE(allocations == 0);
    REQUIRE(s.is_inline());
  }
  SECTION("move assignment through the base") {
    auto s = small_heap();
    small_vector<std::string, 8> b;
    REQUIRE(count_allocations([&] {
              static_cast<small_vector_base<std::string>&>(b) = std::move(s);
              REQUIRE(b.is_inline());
              small_vector<std::string, 8> c{"x", "y", "z", "w", "v", "u"};
              b = std::move(c);
              b.push_back("7");
              b.push_back("8");
              REQUIRE(b.is_inline());
            }) == 0);
  }
  SECTION("swap through the base, every shape, from either side") {
    for (int b_size : {0, 3, 6, 9, 20}) {
      for (bool from_small : {true, false}) {
        auto s = small_heap();
        small_vector<std::string, 8> b;
        for (int i = 0; i < b_size; ++i) b.push_back("b" + std::to_string(i));
        small_vector_base<std::string>& rs = s;
        small_vector_base<std::string>& rb = b;
        if (from_small) {
          rs.swap(b);
        } else {
          rb.swap(s);
        }
        REQUIRE(b.size() == 3);
        REQUIRE(b.is_inline());
        REQUIRE(s.size() == static_cast<std::size_t>(b_size));
        REQUIRE((s.is_inline() || s.capacity() > 2));
        REQUIRE(count_allocations([&] {
                  small_vector<std::string, 8> c{"x", "y", "z", "w", "v", "u"};
                  b = std::move(c);
                  b.shrink_to_fit();
                  REQUIRE(b.is_inline());
                }) == 0);
      }
    }
  }
}

TEST_CASE("shrink_to_fit moves back inline whatever the heap buffer's size", "[small_vector]") {
  small_vector<int, 4> v{1, 2, 3, 4, 5};
  REQUIRE(v.capacity() == 5);
  v.pop_back();
  REQUIRE(count_allocations([&] { v.shrink_to_fit(); }) == 0);
  REQUIRE(v.is_inline());
  v.assign({1, 2, 3, 4, 5, 6});
  REQUIRE(v.capacity() == 6);
  REQUIRE(count_allocations([&] { v.shrink_to_fit(); }) == 0);  // already exact
  REQUIRE(v.capacity() == 6);
  v.push_back(7);
  REQUIRE(v.capacity() == 12);
  REQUIRE(count_allocations([&] { v.shrink_to_fit(); }) == 1);
  REQUIRE(v.capacity() == 7);
  REQUIRE(values(v) == iota_values(7, 1));
}

// noexcept ------------------------------------------------------------------------------------

TEST_CASE("noexcept only where nothing can allocate", "[small_vector]") {
  using B = small_vector_base<int>;
  using V = small_vector<int, 4>;
  STATIC_REQUIRE_FALSE(noexcept(std::declval<B&>().swap(std::declval<B&>())));
  STATIC_REQUIRE_FALSE(noexcept(swap(std::declval<B&>(), std::declval<B&>())));
  STATIC_REQUIRE_FALSE(noexcept(std::declval<B&>() = std::declval<B&&>()));
  STATIC_REQUIRE(noexcept(std::declval<V&>().swap(std::declval<V&>())));
  STATIC_REQUIRE(noexcept(swap(std::declval<V&>(), std::declval<V&>())));
  STATIC_REQUIRE(noexcept(std::declval<V&>() = std::declval<V&&>()));
  STATIC_REQUIRE(std::is_nothrow_move_constructible_v<V>);
  STATIC_REQUIRE(std::is_nothrow_swappable_v<small_vector<std::string, 3>>);
  using U = small_vector<int, 4, checked_allocator<int, false, false, false>>;
  STATIC_REQUIRE_FALSE(noexcept(std::declval<U&>().swap(std::declval<U&>())));
  STATIC_REQUIRE_FALSE(noexcept(std::declval<U&>() = std::declval<U&&>()));
  using P = small_vector<int, 4, checked_allocator<int, true, true, true>>;
  STATIC_REQUIRE(noexcept(std::declval<P&>().swap(std::declval<P&>())));
  STATIC_REQUIRE(noexcept(std::declval<P&>() = std::declval<P&&>()));
  using C = small_vector<std::pair<const int, int>, 4>;
  STATIC_REQUIRE(noexcept(std::declval<C&>().swap(std::declval<C&>())));
}

TEST_CASE("a failed allocation in a swap across N throws instead of terminating",
          "[small_vector][exceptions]") {
  using A = checked_allocator<int, false, false, false, true>;
  fault_guard guard;
  allocation_registry::reset();
  {
    small_vector<int, 2, A> a{1};
    small_vector<int, 8, A> b{1, 2, 3, 4, 5};
    allocation_registry::fail_countdown = 1;
    small_vector_base<int, A>& ra = a;
    REQUIRE_THROWS_AS(ra.swap(b), std::bad_alloc);
    REQUIRE(values(a) == std::vector<int>{1});
    REQUIRE(values(b) == std::vector<int>{1, 2, 3, 4, 5});
    allocation_registry::fail_countdown = 1;
    REQUIRE_THROWS_AS(ra = std::move(b), std::bad_alloc);
    REQUIRE(b.size() == 5);
  }
  REQUIRE(allocation_registry::blocks.empty());
}
