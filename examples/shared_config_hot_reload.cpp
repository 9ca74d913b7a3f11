// Application state shared by request-handler threads while an operator reloads it.
//
// Handlers read the settings on every request (a pointer load, no lock); a reload publishes a
// new version without stopping them. A handler that holds a guard keeps a consistent version
// for the whole request even if a reload happens in the middle. The output is deterministic:
// the threads take turns through a small handshake.
#include <frugal/shared_config.hpp>

#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

struct settings {
  std::string greeting;
  int rate_limit;
  std::vector<std::string> blocked_users;
};

// Lets the main thread and a handler thread take turns.
class turns {
 public:
  void wait_for(int n) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return turn_ == n; });
  }
  void pass_to(int n) {
    {
      std::lock_guard lock(mu_);
      turn_ = n;
    }
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int turn_ = 0;
};

std::string handle(const frugal::shared_config<settings>& config, const std::string& user) {
  const auto s = config.read();  // one consistent version for the whole request
  for (const auto& blocked : s->blocked_users) {
    if (blocked == user) return "403 for " + user;
  }
  return s->greeting + ", " + user + " (limit " + std::to_string(s->rate_limit) + "/s)";
}

}  // namespace

int main() {
  frugal::shared_config<settings> config(settings{"hello", 100, {}});
  turns t;

  std::thread handler([&] {
    std::printf("handler: %s\n", handle(config, "ada").c_str());
    t.pass_to(1);
    t.wait_for(2);
    // The reload happened: the next request sees it.
    std::printf("handler: %s\n", handle(config, "ada").c_str());
    std::printf("handler: %s\n", handle(config, "mallory").c_str());
    {
      const auto during = config.read();  // a long request holds its version...
      t.pass_to(3);
      t.wait_for(4);
      // ...and still sees it after another reload.
      std::printf("handler: mid-request greeting is still '%s'\n", during->greeting.c_str());
    }
    std::printf("handler: next request: %s\n", handle(config, "ada").c_str());
    t.pass_to(5);
  });

  t.wait_for(1);
  config.store(settings{"welcome", 50, {"mallory"}});
  std::printf("operator: reloaded, version %llu\n",
              static_cast<unsigned long long>(config.version()));
  t.pass_to(2);
  t.wait_for(3);
  config.update([](const settings& s) {
    settings next = s;
    next.greeting = "good evening";
    return next;
  });
  std::printf("operator: greeting changed, version %llu\n",
              static_cast<unsigned long long>(config.version()));
  t.pass_to(4);
  t.wait_for(5);
  handler.join();
  return 0;
}
