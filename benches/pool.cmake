# pool: acquire + release against a std::mutex around a std::deque of objects.
frugal_add_bench(pool)
