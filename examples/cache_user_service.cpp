// The guide's CachedUserService: a 10,000-entry cache with a 5-minute time to live in front
// of a slow user lookup. A request for one user goes through get_with (concurrent requests
// for the same cold user share one lookup); a page of users goes through get_all (one batch
// query for all the misses, not one query per user). The clock is injected so the example can
// show expiry without waiting five minutes.
#include <frugal/cache.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

struct user {
  std::uint64_t id;
  std::string name;
};

// Stands in for the database: counts the round trips it serves.
class user_db {
 public:
  user find(std::uint64_t id) {
    ++single_queries;
    return {id, "user" + std::to_string(id)};
  }
  // SELECT id, name FROM users WHERE id = ANY($1): one round trip for many ids; id 0 is absent.
  std::vector<std::optional<user>> find_many(std::span<const std::uint64_t> ids) {
    ++batch_queries;
    std::vector<std::optional<user>> out;
    for (std::uint64_t id : ids) {
      if (id == 0) {
        out.emplace_back(std::nullopt);
      } else {
        out.emplace_back(user{id, "user" + std::to_string(id)});
      }
    }
    return out;
  }
  std::atomic<int> single_queries{0};
  std::atomic<int> batch_queries{0};
};

class cached_user_service {
 public:
  cached_user_service(user_db& db, std::function<std::chrono::steady_clock::time_point()> clock)
      : db_(db),
        users_({.max_capacity = 10'000,
                .time_to_live = std::chrono::minutes(5),
                .clock = std::move(clock)}) {}

  std::shared_ptr<const user> get_user(std::uint64_t id) {
    return users_.get_with(id, [&] { return db_.find(id); });
  }

  std::vector<std::shared_ptr<const user>> get_users(std::span<const std::uint64_t> ids) {
    return users_.get_all(
        ids, [&](std::span<const std::uint64_t> missing) { return db_.find_many(missing); });
  }

  const frugal::cache<std::uint64_t, user>& cache() const { return users_; }

 private:
  user_db& db_;
  frugal::cache<std::uint64_t, user> users_;
};

int main() {
  user_db db;
  auto now = std::make_shared<std::atomic<std::int64_t>>(0);
  cached_user_service service(db, [now] {
    return std::chrono::steady_clock::time_point(std::chrono::seconds(now->load()));
  });

  // Eight requests for the same cold user arrive together: one lookup.
  std::vector<std::thread> requests;
  for (int i = 0; i < 8; ++i) requests.emplace_back([&] { service.get_user(42); });
  for (auto& r : requests) r.join();
  std::printf("8 concurrent requests for user 42: %d lookup\n", db.single_queries.load());

  // A page of users: 42 is cached, the rest are fetched in one batch query, 0 does not exist.
  const std::vector<std::uint64_t> page = {42, 7, 8, 9, 0, 7};
  auto users = service.get_users(page);
  std::printf("page of %zu users:", page.size());
  for (const auto& u : users) std::printf(" %s", u ? u->name.c_str() : "-");
  std::printf("\nbatch queries: %d\n", db.batch_queries.load());

  // The same page again: all hits but the missing user, which is asked for again.
  service.get_users(page);
  std::printf("again: batch queries %d\n", db.batch_queries.load());

  // Four minutes later user 42 is still cached; six minutes after it was loaded it is not.
  now->store(4 * 60);
  service.get_user(42);
  std::printf("after 4 minutes: %d lookup\n", db.single_queries.load());
  now->store(6 * 60);
  service.get_user(42);
  std::printf("after 6 minutes: %d lookups\n", db.single_queries.load());

  const frugal::cache_stats s = service.cache().stats();
  // 7, 8 and 9 expired too (loaded at minute 0); the maintenance of the last load saw them.
  std::printf("loads %llu, expired %llu\n", static_cast<unsigned long long>(s.loads),
              static_cast<unsigned long long>(s.evicted_expired));
}
