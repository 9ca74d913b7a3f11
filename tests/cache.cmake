# cache: the Catch2 cases (those tagged [concurrent] also run under TSan).
frugal_add_test(cache)
frugal_add_test(cache_stress)
# cache_policy: the window chooser, the simulator's reference policies (benches/
# cache_sim_policies.hpp) and the adaptive cache through its public API.
frugal_add_test(cache_policy)
target_include_directories(cache_policy_test PRIVATE ${PROJECT_SOURCE_DIR}/benches)
# The hit-ratio table of docs/cache.md is what docs/runs/cache_sim.json gives.
if(FRUGAL_BUILD_SCRIPT_TESTS)
  add_test(NAME docs/cache_sim_table
    COMMAND ${FRUGAL_PYTHON} ${PROJECT_SOURCE_DIR}/scripts/cache_sim_table.py check)
  set_tests_properties(docs/cache_sim_table PROPERTIES LABELS unit)
endif()
# Allocation failure at every point of a write and the maintenance it runs: its own operator
# new, so its own main.
add_executable(cache_fault_test cache_fault_test.cpp)
target_link_libraries(cache_fault_test PRIVATE frugal::frugal Catch2::Catch2)
target_compile_features(cache_fault_test PRIVATE cxx_std_20)
frugal_target_warnings(cache_fault_test)
catch_discover_tests(cache_fault_test EXTRA_ARGS --warn NoTests TEST_PREFIX "cache (faults): "
  PROPERTIES LABELS unit TIMEOUT 300)

# One cache used through two shared libraries built with -fvisibility=hidden (each with its
# own copy of the cache's thread-locals), by threads that come and go, and a cache in a
# library's function-local static destroyed at exit.
find_package(Threads REQUIRED)
foreach(lib IN ITEMS alpha beta)
  add_library(cache_dso_${lib} SHARED cache_dso/lib_${lib}.cpp)
  target_link_libraries(cache_dso_${lib} PRIVATE frugal::frugal Threads::Threads)
  set_target_properties(cache_dso_${lib} PROPERTIES CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  frugal_target_warnings(cache_dso_${lib})
endforeach()
target_link_libraries(cache_dso_alpha PRIVATE cache_dso_beta)  # ~dso_value lives in beta
add_executable(cache_dso cache_dso/main.cpp)
target_link_libraries(cache_dso PRIVATE frugal::frugal Threads::Threads cache_dso_alpha
  cache_dso_beta)
frugal_target_warnings(cache_dso)
add_test(NAME "cache: two hidden-visibility shared libraries, threads that end, a static cache"
  COMMAND cache_dso)
set_tests_properties("cache: two hidden-visibility shared libraries, threads that end, a static cache"
  PROPERTIES LABELS "unit;concurrent" TIMEOUT 300)
