// small_vector against std::vector (naive), boost::container::small_vector, absl::InlinedVector
// and, where one exists, the limit (plain array code). Every peer gets the same inline
// capacity, N = 8. Element types: int, and std::string holding short (in-object) text so
// that only the container allocates.
//
// Names: small_vector/<operation>_<type>/<impl>/<size>; implementations of one case are
// registered next to each other so that machine drift hits them alike.
#include "bench_support.hpp"

#include <frugal/small_vector.hpp>
#include <frugal/static_vector.hpp>

#include <absl/container/inlined_vector.h>
#include <boost/container/small_vector.hpp>
#include <boost/container/static_vector.hpp>
#include <boost/container_hash/hash.hpp>

#include <array>

#include <cstdint>
#include <functional>
#include <random>
#include <span>
#include <string>
#include <vector>

namespace {

constexpr std::size_t kN = 8;

template <class T>
using naive_vec = std::vector<T>;
template <class T>
using boost_vec = boost::container::small_vector<T, kN>;
template <class T>
using absl_vec = absl::InlinedVector<T, kN>;
template <class T>
using frugal_vec = frugal::small_vector<T, kN>;

template <class T>
T make_value(std::size_t i);
template <>
int make_value<int>(std::size_t i) {
  return static_cast<int>(i * 7 + 1);
}
template <>
std::string make_value<std::string>(std::size_t i) {
  return "role-" + std::to_string(i % 1000);  // short: in the string's own buffer
}

template <class T>
std::vector<T> make_values(std::size_t n) {
  std::vector<T> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) out.push_back(make_value<T>(i));
  return out;
}

template <class V, class T>
bool same(const V& v, const std::vector<T>& expected) {
  return v.size() == expected.size() && std::equal(v.begin(), v.end(), expected.begin());
}

void fail(benchmark::State& state, const char* what) { state.SkipWithError(what); }

std::size_t arg(benchmark::State& state, std::size_t i = 0) {
  return static_cast<std::size_t>(state.range(i));
}

// Build by push_back, then destroy -----------------------------------------------------------

template <class V>
void build(benchmark::State& state) {
  using T = typename V::value_type;
  const auto values = make_values<T>(arg(state));
  {
    V check;
    for (const T& x : values) check.push_back(x);
    if (!same(check, values)) return fail(state, "wrong result");
  }
  for (auto _ : frugal::bench::counted(state)) {
    V v;
    for (const T& x : values) v.push_back(x);
    benchmark::DoNotOptimize(v.data());
    benchmark::ClobberMemory();
  }
}

void build_limit(benchmark::State& state) {
  const auto values = make_values<int>(arg(state));
  std::vector<int> storage(values.size() + 1);
  for (auto _ : frugal::bench::counted(state)) {
    int* out = storage.data();
    benchmark::DoNotOptimize(out);
    for (std::size_t i = 0; i < values.size(); ++i) out[i] = values[i];
    benchmark::ClobberMemory();
  }
}

// push_back into reserved space ---------------------------------------------------------------

template <class V>
void push_back_reserved(benchmark::State& state) {
  using T = typename V::value_type;
  const auto values = make_values<T>(arg(state));
  V v;
  v.reserve(values.size());
  for (auto _ : frugal::bench::counted(state)) {
    v.clear();
    for (const T& x : values) v.push_back(x);
    benchmark::DoNotOptimize(v.data());
    benchmark::ClobberMemory();
  }
  if (!same(v, values)) fail(state, "wrong result");
}

// The same through a function that fills a vector it gets by reference, the usual shape in a
// service (`void collect_roles(Roles& out)`). The vector object escapes there, so no compiler
// can keep its end or size in a register across the loop; in the loop above, the compiler
// sees that a std::vector object does not escape and does.
template <class V>
[[gnu::noinline]] void fill_by_ref(V& v, const std::vector<typename V::value_type>& values) {
  for (const auto& x : values) v.push_back(x);
}

template <class V>
void push_back_by_ref(benchmark::State& state) {
  using T = typename V::value_type;
  const auto values = make_values<T>(arg(state));
  V v;
  v.reserve(values.size());
  for (auto _ : frugal::bench::counted(state)) {
    v.clear();
    fill_by_ref(v, values);
    benchmark::DoNotOptimize(v.data());
    benchmark::ClobberMemory();
  }
  if (!same(v, values)) fail(state, "wrong result");
}

// Sequential sum and random operator[] -------------------------------------------------------

template <class V>
void sum(benchmark::State& state) {
  const auto values = make_values<int>(arg(state));
  V v(values.begin(), values.end());
  long expected = 0;
  for (int x : values) expected += x;
  long total = 0;
  for (auto _ : frugal::bench::counted(state)) {
    benchmark::DoNotOptimize(v);
    total = 0;
    for (int x : v) total += x;
    benchmark::DoNotOptimize(total);
  }
  if (total != expected) fail(state, "wrong sum");
}

template <class V>
void random_index(benchmark::State& state) {
  const auto values = make_values<int>(arg(state));
  V v(values.begin(), values.end());
  std::mt19937 rng(42);
  std::vector<std::uint32_t> indices(1024);
  for (auto& i : indices) i = static_cast<std::uint32_t>(rng() % values.size());
  long expected = 0;
  for (auto i : indices) expected += values[i];
  long total = 0;
  for (auto _ : frugal::bench::counted(state)) {
    benchmark::DoNotOptimize(v);
    total = 0;
    for (auto i : indices) total += v[i];
    benchmark::DoNotOptimize(total);
  }
  if (total != expected) fail(state, "wrong sum");
  state.SetItemsProcessed(state.iterations() * 1024);
}

// Copy and move ------------------------------------------------------------------------------

template <class V>
void copy(benchmark::State& state) {
  using T = typename V::value_type;
  const auto values = make_values<T>(arg(state));
  const V src(values.begin(), values.end());
  for (auto _ : frugal::bench::counted(state)) {
    benchmark::DoNotOptimize(&src);
    V c(src);
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  if (!same(V(src), values)) fail(state, "wrong copy");
}

template <class V>
void copy_assign(benchmark::State& state) {
  using T = typename V::value_type;
  const auto values = make_values<T>(arg(state));
  const V src(values.begin(), values.end());
  V dst(values.size(), make_value<T>(999));
  for (auto _ : frugal::bench::counted(state)) {
    benchmark::DoNotOptimize(&src);
    dst = src;
    benchmark::DoNotOptimize(dst.data());
    benchmark::ClobberMemory();
  }
  if (!same(dst, values)) fail(state, "wrong copy");
}

// One move construction and one move assignment back, so the source exists every iteration.
template <class V>
void move(benchmark::State& state) {
  using T = typename V::value_type;
  const auto values = make_values<T>(arg(state));
  V v(values.begin(), values.end());
  for (auto _ : frugal::bench::counted(state)) {
    V tmp(std::move(v));
    benchmark::DoNotOptimize(tmp.data());
    v = std::move(tmp);
    benchmark::DoNotOptimize(v.data());
    benchmark::ClobberMemory();
  }
  if (!same(v, values)) fail(state, "wrong move");
}

template <class V>
void swap_bench(benchmark::State& state) {
  using T = typename V::value_type;
  const auto va = make_values<T>(arg(state, 0));
  auto vb = make_values<T>(arg(state, 1) + 1000);
  vb.erase(vb.begin(), vb.begin() + 1000);
  V a(va.begin(), va.end()), b(vb.begin(), vb.end());
  for (auto _ : frugal::bench::counted(state)) {
    using std::swap;
    swap(a, b);
    benchmark::DoNotOptimize(a.data());
    benchmark::DoNotOptimize(b.data());
    benchmark::ClobberMemory();
  }
  const bool swapped = state.iterations() % 2 == 1;
  if (!same(a, swapped ? vb : va) || !same(b, swapped ? va : vb)) fail(state, "wrong swap");
}

// Insert and erase, at the front and in the middle; the size stays n ------------------------

template <class V, bool Middle>
void insert_erase(benchmark::State& state) {
  using T = typename V::value_type;
  const auto values = make_values<T>(arg(state));
  V v(values.begin(), values.end());
  const T extra = make_value<T>(12345);
  const auto at = static_cast<std::ptrdiff_t>(Middle ? values.size() / 2 : 0);
  for (auto _ : frugal::bench::counted(state)) {
    v.insert(v.begin() + at, extra);
    benchmark::DoNotOptimize(v.data());
    v.erase(v.begin() + at);
    benchmark::ClobberMemory();
  }
  if (!same(v, values)) fail(state, "wrong insert/erase");
}

// Append a span to a vector of 4: crosses N = 8 when the span has more than 4 ---------------

template <class V>
void append_span(benchmark::State& state) {
  using T = typename V::value_type;
  const auto head = make_values<T>(4);
  const auto tail = make_values<T>(arg(state) + 4);
  const std::span<const T> piece(tail.data() + 4, arg(state));
  std::vector<T> expected = tail;
  for (auto _ : frugal::bench::counted(state)) {
    V v(head.begin(), head.end());
    v.insert(v.end(), piece.begin(), piece.end());
    benchmark::DoNotOptimize(v.data());
    benchmark::ClobberMemory();
  }
  V v(head.begin(), head.end());
  v.insert(v.end(), piece.begin(), piece.end());
  if (!same(v, expected)) fail(state, "wrong append");
}

// Build from move iterators: C++20 std::move_iterator is only an input iterator by concept, but
// its length is known, so every peer should allocate at most once ---------------------------

template <class V>
void build_from_move_iterators(benchmark::State& state) {
  using T = typename V::value_type;
  const auto expected = make_values<T>(arg(state));
  auto source = expected;  // moved from again and again: the strings are short, so just copied
  for (auto _ : frugal::bench::counted(state)) {
    V v(std::make_move_iterator(source.begin()), std::make_move_iterator(source.end()));
    benchmark::DoNotOptimize(v.data());
    benchmark::ClobberMemory();
  }
  auto fresh = expected;
  V v(std::make_move_iterator(fresh.begin()), std::make_move_iterator(fresh.end()));
  if (!same(v, expected)) fail(state, "wrong move-iterator build");
}

// resize (value-initialising) against resize without initialisation ------------------------

template <class V>
void resize(benchmark::State& state) {
  const std::size_t n = arg(state);
  for (auto _ : frugal::bench::counted(state)) {
    V v;
    v.resize(n);
    benchmark::DoNotOptimize(v.data());
    benchmark::ClobberMemory();
  }
}

void resize_frugal_for_overwrite(benchmark::State& state) {
  const std::size_t n = arg(state);
  for (auto _ : frugal::bench::counted(state)) {
    frugal_vec<int> v;
    v.resize_for_overwrite(n);
    benchmark::DoNotOptimize(v.data());
    benchmark::ClobberMemory();
  }
}

void resize_boost_default_init(benchmark::State& state) {
  const std::size_t n = arg(state);
  for (auto _ : frugal::bench::counted(state)) {
    boost_vec<int> v;
    v.resize(n, boost::container::default_init);
    benchmark::DoNotOptimize(v.data());
    benchmark::ClobberMemory();
  }
}

// static_vector: a bounded list built per request --------------------------------------------
// Capacity 32 for every peer; naive is the std::vector a user reserves, limit an array with a
// separate count.

constexpr std::size_t kStatic = 32;

template <class V>
void static_build(benchmark::State& state) {
  const auto values = make_values<int>(arg(state));
  for (auto _ : frugal::bench::counted(state)) {
    V v;
    if constexpr (std::is_same_v<V, std::vector<int>>) v.reserve(kStatic);
    for (int x : values) v.push_back(x);
    benchmark::DoNotOptimize(v.data());
    benchmark::ClobberMemory();
  }
  V check;
  for (int x : values) check.push_back(x);
  if (!same(check, values)) fail(state, "wrong result");
}

void static_build_limit(benchmark::State& state) {
  const auto values = make_values<int>(arg(state));
  for (auto _ : frugal::bench::counted(state)) {
    std::array<int, kStatic> a;
    std::size_t n = 0;
    for (int x : values) a[n++] = x;
    benchmark::DoNotOptimize(a.data());
    benchmark::DoNotOptimize(n);
    benchmark::ClobberMemory();
  }
}

// Bounded appends that must not fail loudly: try_push_back against the check a user writes.
void static_try_push_frugal(benchmark::State& state) {
  const auto values = make_values<int>(arg(state));
  std::size_t kept = 0;
  for (auto _ : frugal::bench::counted(state)) {
    frugal::static_vector<int, kStatic> v;
    for (int x : values) {
      if (v.try_push_back(x) == nullptr) break;
    }
    kept = v.size();
    benchmark::DoNotOptimize(v.data());
    benchmark::ClobberMemory();
  }
  if (kept != std::min(values.size(), kStatic)) fail(state, "wrong count");
}

void static_try_push_boost(benchmark::State& state) {
  const auto values = make_values<int>(arg(state));
  std::size_t kept = 0;
  for (auto _ : frugal::bench::counted(state)) {
    boost::container::static_vector<int, kStatic> v;
    for (int x : values) {
      if (v.size() == v.capacity()) break;
      v.push_back(x);
    }
    kept = v.size();
    benchmark::DoNotOptimize(v.data());
    benchmark::ClobberMemory();
  }
  if (kept != std::min(values.size(), kStatic)) fail(state, "wrong count");
}

// Hashing a vector of ints: std::hash<small_vector> against the loop a user writes with the
// classic hash_combine, and boost::hash_range.

std::size_t naive_hash(const frugal_vec<int>& v) {
  std::size_t seed = v.size();
  for (int x : v) seed ^= std::hash<int>{}(x) + 0x9e3779b9 + (seed << 6) + (seed >> 2);
  return seed;
}

template <int Impl>
void hash_ints(benchmark::State& state) {
  const auto values = make_values<int>(arg(state));
  const frugal_vec<int> v(values.begin(), values.end());
  for (auto _ : frugal::bench::counted(state)) {
    const frugal_vec<int>* p = &v;
    benchmark::DoNotOptimize(p);
    std::size_t h = 0;
    if constexpr (Impl == 0) h = naive_hash(*p);
    if constexpr (Impl == 1) h = boost::hash_range(p->begin(), p->end());
    if constexpr (Impl == 2) h = std::hash<frugal_vec<int>>{}(*p);
    benchmark::DoNotOptimize(h);
  }
  if (std::hash<frugal_vec<int>>{}(v) != std::hash<frugal::small_vector<int, 64>>{}(
                                             frugal::small_vector<int, 64>(v.begin(), v.end()))) {
    fail(state, "hash depends on N");
  }
}

// Memory: many vectors whose sizes follow a geometric distribution (mean 3) -----------------

template <class V>
void memory_geometric(benchmark::State& state) {
  const std::size_t count = arg(state);
  std::mt19937 rng(7);
  std::geometric_distribution<int> dist(0.25);
  std::vector<int> sizes(count);
  for (auto& s : sizes) s = std::min(dist(rng), 1000);
  frugal::testing::allocation_stats last{};
  for (auto _ : frugal::bench::counted(state)) {
    frugal::testing::allocation_scope scope;
    std::vector<V> all(count);
    for (std::size_t i = 0; i < count; ++i) {
      for (int j = 0; j < sizes[i]; ++j) all[i].push_back(j);
    }
    benchmark::DoNotOptimize(all.data());
    scope.stop();
    last = scope.stats();
  }
  const double per = static_cast<double>(count);
  const double heap = static_cast<double>(last.bytes) - static_cast<double>(sizeof(V) * count);
  state.counters["sizeof"] = static_cast<double>(sizeof(V));
  state.counters["heap_B/vector"] = heap / per;
  state.counters["total_B/vector"] = static_cast<double>(last.bytes) / per;
  state.counters["allocs/vector"] = static_cast<double>(last.allocations - 1) / per;
}

// Registration --------------------------------------------------------------------------------

using bench_fn = void (*)(benchmark::State&);
struct impl {
  const char* name;
  bench_fn fn;
};

template <template <class> class Op, class T>
std::vector<impl> peers() {
  return {{"naive", Op<naive_vec<T>>::fn},
          {"boost", Op<boost_vec<T>>::fn},
          {"absl", Op<absl_vec<T>>::fn},
          {"frugal", Op<frugal_vec<T>>::fn}};
}

#define FRUGAL_BENCH_OP(name, expr)      \
  template <class V>                     \
  struct name {                          \
    static constexpr bench_fn fn = expr; \
  };
FRUGAL_BENCH_OP(op_build, build<V>)
FRUGAL_BENCH_OP(op_push_back_reserved, push_back_reserved<V>)
FRUGAL_BENCH_OP(op_push_back_by_ref, push_back_by_ref<V>)
FRUGAL_BENCH_OP(op_sum, sum<V>)
FRUGAL_BENCH_OP(op_random_index, random_index<V>)
FRUGAL_BENCH_OP(op_copy, copy<V>)
FRUGAL_BENCH_OP(op_copy_assign, copy_assign<V>)
FRUGAL_BENCH_OP(op_move, move<V>)
FRUGAL_BENCH_OP(op_swap, swap_bench<V>)
FRUGAL_BENCH_OP(op_insert_erase_front, (insert_erase<V, false>))
FRUGAL_BENCH_OP(op_insert_erase_middle, (insert_erase<V, true>))
FRUGAL_BENCH_OP(op_append_span, append_span<V>)
FRUGAL_BENCH_OP(op_resize, resize<V>)
FRUGAL_BENCH_OP(op_build_from_move_iterators, build_from_move_iterators<V>)
FRUGAL_BENCH_OP(op_memory_geometric, memory_geometric<V>)
#undef FRUGAL_BENCH_OP

void add(const std::string& op, const std::vector<impl>& impls,
         const std::vector<std::vector<std::int64_t>>& arg_sets) {
  for (const auto& args : arg_sets) {
    for (const impl& i : impls) {
      auto* b = benchmark::RegisterBenchmark(("small_vector/" + op + "/" + i.name).c_str(), i.fn);
      b->Args(args);
    }
  }
}

std::vector<std::vector<std::int64_t>> sizes(std::initializer_list<std::int64_t> list) {
  std::vector<std::vector<std::int64_t>> out;
  for (auto n : list) out.push_back({n});
  return out;
}

const bool registered = [] {
  const auto all_sizes = sizes({0, 4, 8, 9, 32, 1024});
  const auto nonzero = sizes({4, 8, 9, 32, 1024});

  auto build_int = peers<op_build, int>();
  build_int.push_back({"limit", build_limit});
  add("build_int", build_int, all_sizes);
  add("build_string", peers<op_build, std::string>(), all_sizes);

  auto reserved = peers<op_push_back_reserved, int>();
  reserved.push_back({"limit", build_limit});
  add("push_back_reserved_int", reserved, sizes({32, 1024}));

  add("push_back_by_ref_int", peers<op_push_back_by_ref, int>(), sizes({32, 1024}));

  add("sum_int", peers<op_sum, int>(), all_sizes);
  add("random_index_int", peers<op_random_index, int>(), nonzero);

  add("copy_int", peers<op_copy, int>(), all_sizes);
  add("copy_string", peers<op_copy, std::string>(), all_sizes);
  add("copy_assign_int", peers<op_copy_assign, int>(), all_sizes);
  add("copy_assign_string", peers<op_copy_assign, std::string>(), all_sizes);
  add("move_int", peers<op_move, int>(), all_sizes);
  add("move_string", peers<op_move, std::string>(), all_sizes);

  const std::vector<std::vector<std::int64_t>> swap_pairs = {{4, 4}, {8, 8}, {4, 32}, {32, 32}};
  add("swap_int", peers<op_swap, int>(), swap_pairs);
  add("swap_string", peers<op_swap, std::string>(), swap_pairs);

  add("insert_erase_front_int", peers<op_insert_erase_front, int>(), nonzero);
  add("insert_erase_middle_int", peers<op_insert_erase_middle, int>(), nonzero);
  add("insert_erase_front_string", peers<op_insert_erase_front, std::string>(), nonzero);

  add("append_span_int", peers<op_append_span, int>(), sizes({2, 4, 5, 28}));
  add("build_from_move_iterators_string", peers<op_build_from_move_iterators, std::string>(),
      sizes({4, 8, 9, 64}));
  add("append_span_string", peers<op_append_span, std::string>(), sizes({2, 4, 5, 28}));

  auto resize_impls = peers<op_resize, int>();
  resize_impls.push_back({"boost:default_init", resize_boost_default_init});
  resize_impls.push_back({"frugal:default_init", resize_frugal_for_overwrite});
  add("resize_int", resize_impls, sizes({8, 32, 1024}));

  add("static_build_int",
      {{"naive", static_build<std::vector<int>>},
       {"boost", static_build<boost::container::static_vector<int, kStatic>>},
       {"frugal", static_build<frugal::static_vector<int, kStatic>>},
       {"limit", static_build_limit}},
      sizes({4, 8, 32}));
  add("static_try_push_int", {{"boost", static_try_push_boost}, {"frugal", static_try_push_frugal}},
      sizes({8, 40}));
  add("hash_int", {{"naive", hash_ints<0>}, {"boost", hash_ints<1>}, {"frugal", hash_ints<2>}},
      sizes({4, 32, 1024}));

  for (const impl& i : peers<op_memory_geometric, int>()) {
    benchmark::RegisterBenchmark(
        ("small_vector/memory_geometric_int/" + std::string(i.name)).c_str(), i.fn)
        ->Arg(1000000)
        ->Iterations(2)
        ->Unit(benchmark::kMillisecond);
  }
  return true;
}();

}  // namespace

// The cases that carry this module's claims: `scripts/bench` runs these by default.
FRUGAL_BENCH_HEADLINE("^small_vector/build_int/[a-z]+/(4|8|32|1024)$");
FRUGAL_BENCH_HEADLINE("^small_vector/build_string/[a-z]+/(4|8|32)$");
FRUGAL_BENCH_HEADLINE("^small_vector/copy_int/[a-z]+/(4|8|32)$");
FRUGAL_BENCH_HEADLINE("^small_vector/swap_int/[a-z]+/(4/4|32/32)$");
FRUGAL_BENCH_HEADLINE("^small_vector/push_back_by_ref_int/");
FRUGAL_BENCH_HEADLINE("^small_vector/static_build_int/[a-z]+/(4|8|32)$");
FRUGAL_BENCH_HEADLINE("^small_vector/hash_int/[a-z]+/32$");
