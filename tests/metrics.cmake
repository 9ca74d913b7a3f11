# metrics: the Catch2 cases (the [concurrent] ones also run under TSan).
frugal_add_test(metrics)

# Allocation failure at every point: its own operator new, so its own main.
add_executable(metrics_fault_test metrics_fault_test.cpp)
target_link_libraries(metrics_fault_test PRIVATE frugal::frugal Catch2::Catch2)
target_compile_features(metrics_fault_test PRIVATE cxx_std_20)
frugal_target_warnings(metrics_fault_test)
catch_discover_tests(metrics_fault_test EXTRA_ARGS --warn NoTests TEST_PREFIX "metrics (faults): " PROPERTIES LABELS unit)

# Two shared libraries built with -fvisibility=hidden and a program: one default registry.
find_package(Threads REQUIRED)
foreach(lib IN ITEMS alpha beta)
  add_library(metrics_dso_${lib} SHARED metrics_dso/lib.cpp)
  target_link_libraries(metrics_dso_${lib} PRIVATE frugal::frugal)
  target_compile_definitions(metrics_dso_${lib} PRIVATE METRICS_DSO_NAME=${lib}
    METRICS_DSO_NAME_STR="${lib}")
  set_target_properties(metrics_dso_${lib} PROPERTIES CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  frugal_target_warnings(metrics_dso_${lib})
endforeach()
add_executable(metrics_dso metrics_dso/main.cpp)
target_link_libraries(metrics_dso PRIVATE frugal::frugal Threads::Threads metrics_dso_alpha
  metrics_dso_beta)
frugal_target_warnings(metrics_dso)
add_test(NAME "metrics: two hidden-visibility shared libraries share one registry"
  COMMAND metrics_dso)
set_tests_properties("metrics: two hidden-visibility shared libraries share one registry"
  PROPERTIES LABELS "unit;concurrent")

# promtool (Debian's prometheus) lints the exposition of every kind of metric: a parse error
# (exit 1) or a lint finding (exit 3) fails the test.
find_program(FRUGAL_PROMTOOL promtool)
add_executable(metrics_promtool metrics_promtool.cpp)
target_link_libraries(metrics_promtool PRIVATE frugal::frugal Threads::Threads)
frugal_target_warnings(metrics_promtool)
if(FRUGAL_PROMTOOL)
  add_test(NAME "metrics: promtool check metrics finds nothing"
    COMMAND sh -c "set -e; $<TARGET_FILE:metrics_promtool> > metrics_promtool.txt; ${FRUGAL_PROMTOOL} check metrics < metrics_promtool.txt")
  set_tests_properties("metrics: promtool check metrics finds nothing" PROPERTIES LABELS unit)
endif()

# End to end, in the dev configuration only: the example service scraped by a real Prometheus
# (the fixture), whose stored counter and histogram must equal what the service counted.
include(${CMAKE_CURRENT_SOURCE_DIR}/fixtures/fixtures.cmake)
find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
  pkg_check_modules(FRUGAL_CPP_HTTPLIB QUIET IMPORTED_TARGET cpp-httplib)
endif()
# examples/metrics.cmake builds the service under the same conditions.
if(FRUGAL_BUILD_SERVER_TESTS AND FRUGAL_BUILD_EXAMPLES AND TARGET PkgConfig::FRUGAL_CPP_HTTPLIB
    AND NOT CMAKE_CXX_FLAGS MATCHES "stdlib=libc\\+\\+")
  add_test(NAME "metrics (server): Prometheus scrapes the example service"
    COMMAND ${FRUGAL_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/metrics_e2e/scrape_test.py
      $<TARGET_FILE:metrics_http_middleware>)
  set_tests_properties("metrics (server): Prometheus scrapes the example service"
    PROPERTIES TIMEOUT 120)
  frugal_requires_servers("metrics (server): Prometheus scrapes the example service" prometheus)
endif()

# The bounds of a temporary bucket list or histogram dangle: clang-16 says so (-Wdangling).
frugal_add_dangling_tests(metrics_dangling ${CMAKE_CURRENT_SOURCE_DIR}/lifetime/metrics_dangling.cpp
  DIAGNOSED 1 2 CLEAN 100)
