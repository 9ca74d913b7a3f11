# cache: against a mutex-guarded unordered_map + LRU list (written in the bench), an unlocked
# unordered_map::find, and TBB's concurrent_lru_cache where TBB is found (TBB is built against
# libstdc++, so it is left out when this build uses libc++).
frugal_add_bench(cache)
find_package(TBB QUIET)
if(TBB_FOUND AND NOT CMAKE_CXX_FLAGS MATCHES "stdlib=libc\\+\\+")
  target_link_libraries(cache_bench PRIVATE TBB::tbb)
  target_compile_definitions(cache_bench PRIVATE FRUGAL_BENCH_HAVE_TBB=1)
endif()
