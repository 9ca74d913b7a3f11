# cache: against a mutex-guarded unordered_map + LRU list (written in the bench), an unlocked
# unordered_map::find, and TBB's concurrent_lru_cache where TBB is found (TBB is built against
# libstdc++, so it is left out when this build uses libc++).
frugal_add_bench(cache)
# The benchmarks with expiry, in a translation unit of their own (see its first lines).
target_sources(cache_bench PRIVATE cache_expiry_bench.cpp)
find_package(TBB QUIET)
if(TBB_FOUND AND NOT CMAKE_CXX_FLAGS MATCHES "stdlib=libc\\+\\+")
  target_link_libraries(cache_bench PRIVATE TBB::tbb)
  target_compile_definitions(cache_bench PRIVATE FRUGAL_BENCH_HAVE_TBB=1)
endif()

# cache_sim: the hit ratio on many generated traces (or one from a file) against LRU, W-TinyLFU
# with a fixed window and Belady's optimal policy; deterministic, not a timed benchmark. The
# quick check is a regression guard, not the full acceptance run (docs/cache.md): seed 1 on
# traces a tenth of the size, the Zipf, scan and loop traces, within 1.5 points of the better
# reference and 5 above LRU on the scan at 1 %. It runs only in builds without sanitizers,
# where it takes seconds.
add_executable(cache_sim cache_sim.cpp)
target_link_libraries(cache_sim PRIVATE frugal::frugal)
target_compile_features(cache_sim PRIVATE cxx_std_20)
frugal_target_warnings(cache_sim)
if(NOT CMAKE_CXX_FLAGS MATCHES "sanitize")
  add_test(NAME cache_sim/quick_check COMMAND cache_sim --quick --check --only zipf,scan,loop --slack 1.5)
  set_tests_properties(cache_sim/quick_check PROPERTIES LABELS unit TIMEOUT 300)
endif()
