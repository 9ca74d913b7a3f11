// A thread that reads a shared_config once, so that a copy stays cached in its slot table, and
// then idles until the idle_reader is destroyed. Tests use it to give a holder a reader on a
// live thread other than their own.
#pragma once

#include <atomic>
#include <thread>

template <class Config>
class idle_reader {
 public:
  // Returns once the thread has read `config`.
  explicit idle_reader(const Config& config)
      : thread_([this, &config] {
          (void)config.read();
          ready_.store(true);
          while (!release_.load()) std::this_thread::yield();
        }) {
    while (!ready_.load()) std::this_thread::yield();
  }
  idle_reader(const idle_reader&) = delete;
  idle_reader& operator=(const idle_reader&) = delete;
  ~idle_reader() {
    release_.store(true);
    thread_.join();
  }

 private:
  std::atomic<bool> ready_{false};
  std::atomic<bool> release_{false};
  std::thread thread_;  // last: starts once the flags exist
};
