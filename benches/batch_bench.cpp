// batch against the code a busy engineer writes: grouping rows into an
// std::unordered_map<K, std::vector<V>> row by row (naive), the same with absl::flat_hash_map
// (absl); a hand-written dedupe with std::unordered_set before one batch call (naive) against
// batch_loader; and an INSERT text grown with `+=` against insert_rows.
//
// Names: batch/<operation>/<impl>[:<variant>]/<rows>[/<keys>].
#include "bench_support.hpp"

#include <frugal/batch.hpp>

#include <absl/container/flat_hash_map.h>

#include <array>
#include <cstdint>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace {

struct post {
  std::int64_t id;
  std::int64_t user_id;
  std::int32_t likes;
};

std::vector<post> make_posts(std::size_t n, std::int64_t users) {
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<std::int64_t> user(1, users);
  std::vector<post> posts(n);
  for (std::size_t i = 0; i < n; ++i) {
    posts[i] = {static_cast<std::int64_t>(i), user(rng), static_cast<std::int32_t>(i % 97)};
  }
  return posts;
}

// True when `rows` are exactly the posts of `user`, in input order.
template <class Rows>
bool same_group(const std::vector<post>& posts, std::int64_t user, const Rows& rows) {
  std::size_t j = 0;
  for (const post& p : posts) {
    if (p.user_id != user) continue;
    if (j >= std::size(rows) || rows[j].id != p.id) return false;
    ++j;
  }
  return j == std::size(rows);
}

template <class Map>
Map group_rows(const std::vector<post>& posts) {
  Map by_user;
  for (const post& p : posts) by_user[p.user_id].push_back(p);
  return by_user;
}

template <class Map>
void group_map(benchmark::State& state) {
  const auto posts = make_posts(static_cast<std::size_t>(state.range(0)), state.range(1));
  const Map check = group_rows<Map>(posts);
  for (const auto& [user, rows] : check) {
    if (!same_group(posts, user, rows)) return state.SkipWithError("wrong grouping");
  }
  for (auto _ : frugal::bench::counted(state)) {
    Map by_user = group_rows<Map>(posts);
    benchmark::DoNotOptimize(by_user);
  }
}

void group_naive(benchmark::State& s) {
  group_map<std::unordered_map<std::int64_t, std::vector<post>>>(s);
}
void group_absl(benchmark::State& s) {
  group_map<absl::flat_hash_map<std::int64_t, std::vector<post>>>(s);
}

void group_frugal(benchmark::State& state) {
  const auto posts = make_posts(static_cast<std::size_t>(state.range(0)), state.range(1));
  const auto check = frugal::group_by(posts, &post::user_id);
  for (const auto g : check) {
    if (!same_group(posts, g.key, g.rows)) return state.SkipWithError("wrong grouping");
  }
  for (auto _ : frugal::bench::counted(state)) {
    auto by_user = frugal::group_by(posts, &post::user_id);
    benchmark::DoNotOptimize(by_user);
  }
}

void group_frugal_indices(benchmark::State& state) {
  const auto posts = make_posts(static_cast<std::size_t>(state.range(0)), state.range(1));
  const auto check = frugal::group_indices_by(posts, &post::user_id);
  for (const auto g : check) {
    std::vector<post> rows;
    for (std::size_t i : g.rows) rows.push_back(posts[i]);
    if (!same_group(posts, g.key, rows)) return state.SkipWithError("wrong grouping");
  }
  for (auto _ : frugal::bench::counted(state)) {
    auto by_user = frugal::group_indices_by(posts, &post::user_id);
    benchmark::DoNotOptimize(by_user);
  }
}

void group_frugal_into(benchmark::State& state) {
  using Map = std::unordered_map<std::int64_t, std::vector<post>>;
  const auto posts = make_posts(static_cast<std::size_t>(state.range(0)), state.range(1));
  const auto check = frugal::group_into<Map>(posts, &post::user_id);
  for (const auto& [user, rows] : check) {
    if (!same_group(posts, user, rows)) return state.SkipWithError("wrong grouping");
  }
  for (auto _ : frugal::bench::counted(state)) {
    auto by_user = frugal::group_into<Map>(posts, &post::user_id);
    benchmark::DoNotOptimize(by_user);
  }
}

// Loading: `requests` keys drawn from `keys` distinct ones, deduplicated and sent in one call,
// then every request reads its value. --------------------------------------------------------

std::vector<std::int64_t> make_requests(std::size_t requests, std::int64_t keys) {
  std::mt19937_64 rng(11);
  std::uniform_int_distribution<std::int64_t> key(1, keys);
  std::vector<std::int64_t> out(requests);
  for (auto& k : out) k = key(rng);
  return out;
}

std::vector<std::optional<std::int64_t>> fetch(std::span<const std::int64_t> keys) {
  std::vector<std::optional<std::int64_t>> out;
  out.reserve(keys.size());
  for (std::int64_t k : keys) {
    out.push_back(k % 10 == 0 ? std::nullopt : std::optional<std::int64_t>(k * 2));
  }
  return out;
}

std::int64_t expected_sum(const std::vector<std::int64_t>& requests) {
  std::int64_t sum = 0;
  for (std::int64_t k : requests) sum += k % 10 == 0 ? -1 : k * 2;
  return sum;
}

std::int64_t load_naive_once(const std::vector<std::int64_t>& requests, std::size_t& calls) {
  std::unordered_set<std::int64_t> seen;
  std::vector<std::int64_t> distinct;
  for (std::int64_t k : requests) {
    if (seen.insert(k).second) distinct.push_back(k);
  }
  const auto values = fetch(distinct);
  ++calls;
  std::unordered_map<std::int64_t, std::optional<std::int64_t>> by_key;
  for (std::size_t i = 0; i < distinct.size(); ++i) by_key.emplace(distinct[i], values[i]);
  std::int64_t sum = 0;
  for (std::int64_t k : requests) {
    const auto& v = by_key.at(k);
    sum += v ? *v : -1;
  }
  return sum;
}

void load_naive(benchmark::State& state) {
  const auto requests = make_requests(static_cast<std::size_t>(state.range(0)), state.range(1));
  std::size_t calls = 0;
  if (load_naive_once(requests, calls) != expected_sum(requests)) {
    return state.SkipWithError("wrong sum");
  }
  for (auto _ : frugal::bench::counted(state)) {
    benchmark::DoNotOptimize(load_naive_once(requests, calls));
  }
}

using loader_t = frugal::batch_loader<std::int64_t, std::int64_t>;

std::int64_t load_frugal_once(loader_t& loader, const std::vector<std::int64_t>& requests,
                              std::vector<loader_t::handle>& handles) {
  handles.clear();
  for (std::int64_t k : requests) handles.push_back(loader.load(k));
  loader.dispatch();
  std::int64_t sum = 0;
  for (const auto& h : handles) {
    const auto& v = h.get();
    sum += v ? *v : -1;
  }
  loader.clear();
  return sum;
}

void load_frugal(benchmark::State& state) {
  const auto requests = make_requests(static_cast<std::size_t>(state.range(0)), state.range(1));
  loader_t loader(fetch, {.max_batch = requests.size()});
  std::vector<loader_t::handle> handles;
  handles.reserve(requests.size());
  if (load_frugal_once(loader, requests, handles) != expected_sum(requests)) {
    return state.SkipWithError("wrong sum");
  }
  for (auto _ : frugal::bench::counted(state)) {
    benchmark::DoNotOptimize(load_frugal_once(loader, requests, handles));
  }
}

// A new loader per unit of work, as a request handler without a pooled one does.
void load_frugal_fresh(benchmark::State& state) {
  const auto requests = make_requests(static_cast<std::size_t>(state.range(0)), state.range(1));
  const auto once = [&] {
    loader_t loader(fetch, {.max_batch = requests.size()});
    std::vector<loader_t::handle> handles;
    handles.reserve(requests.size());
    return load_frugal_once(loader, requests, handles);
  };
  if (once() != expected_sum(requests)) return state.SkipWithError("wrong sum");
  for (auto _ : frugal::bench::counted(state)) benchmark::DoNotOptimize(once());
}

// INSERT text for `rows` rows of 3 integer columns. -----------------------------------------

struct insert_naive_result {
  std::string sql;
  std::vector<std::int64_t> params;
};

insert_naive_result insert_naive_once(const std::vector<post>& posts) {
  insert_naive_result r;
  r.sql = "INSERT INTO \"posts\" (\"id\", \"user_id\", \"likes\") VALUES ";
  int k = 0;
  for (std::size_t i = 0; i < posts.size(); ++i) {
    if (i != 0) r.sql += ",";
    r.sql += "($" + std::to_string(k + 1) + ",$" + std::to_string(k + 2) + ",$" +
             std::to_string(k + 3) + ")";
    k += 3;
    r.params.push_back(posts[i].id);
    r.params.push_back(posts[i].user_id);
    r.params.push_back(posts[i].likes);
  }
  return r;
}

std::array<std::int64_t, 3> post_params(const post& p) { return {p.id, p.user_id, p.likes}; }

void insert_naive(benchmark::State& state) {
  const auto posts = make_posts(static_cast<std::size_t>(state.range(0)), 100);
  const auto want = frugal::insert_rows("posts", {"id", "user_id", "likes"}, posts, post_params);
  const auto got = insert_naive_once(posts);
  if (want.size() != 1 || got.sql != want[0].sql || got.params != want[0].params) {
    return state.SkipWithError("wrong statement");
  }
  for (auto _ : frugal::bench::counted(state)) {
    auto r = insert_naive_once(posts);
    benchmark::DoNotOptimize(r);
  }
}

void insert_frugal(benchmark::State& state) {
  const auto posts = make_posts(static_cast<std::size_t>(state.range(0)), 100);
  const auto check = frugal::insert_rows("posts", {"id", "user_id", "likes"}, posts, post_params);
  if (check.size() != 1 || check[0].params.size() != 3 * posts.size()) {
    return state.SkipWithError("wrong statement");
  }
  for (auto _ : frugal::bench::counted(state)) {
    auto r = frugal::insert_rows("posts", {"id", "user_id", "likes"}, posts, post_params);
    benchmark::DoNotOptimize(r);
  }
}

const bool registered = [] {
  for (std::int64_t users : {100, 1000}) {
    const std::int64_t rows = 10000;
    benchmark::RegisterBenchmark("batch/group_by/naive", group_naive)->Args({rows, users});
    benchmark::RegisterBenchmark("batch/group_by/absl", group_absl)->Args({rows, users});
    benchmark::RegisterBenchmark("batch/group_by/frugal", group_frugal)->Args({rows, users});
    benchmark::RegisterBenchmark("batch/group_by/frugal:indices", group_frugal_indices)
        ->Args({rows, users});
    benchmark::RegisterBenchmark("batch/group_by/frugal:group_into", group_frugal_into)
        ->Args({rows, users});
  }
  for (auto [requests, keys] : {std::pair<std::int64_t, std::int64_t>{10, 5}, {1000, 300}}) {
    benchmark::RegisterBenchmark("batch/load/naive", load_naive)->Args({requests, keys});
    benchmark::RegisterBenchmark("batch/load/frugal", load_frugal)->Args({requests, keys});
    benchmark::RegisterBenchmark("batch/load/frugal:fresh", load_frugal_fresh)
        ->Args({requests, keys});
  }
  for (std::int64_t rows : {10, 1000}) {
    benchmark::RegisterBenchmark("batch/insert_rows/naive", insert_naive)->Arg(rows);
    benchmark::RegisterBenchmark("batch/insert_rows/frugal", insert_frugal)->Arg(rows);
  }
  return true;
}();

}  // namespace

// The cases that carry this module's claims: `scripts/bench` runs these by default.
FRUGAL_BENCH_HEADLINE("^batch/group_by/");
FRUGAL_BENCH_HEADLINE("^batch/load/[a-z:]+/1000/");
FRUGAL_BENCH_HEADLINE("^batch/insert_rows/[a-z]+/1000$");
