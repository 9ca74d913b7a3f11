# bytes: the Catch2 cases (the [concurrent] ones also run under TSan).
frugal_add_test(bytes)

# bytes_mut is move-only and freeze() consumes it.
frugal_add_compile_fail_test(bytes_mut_copy)
frugal_add_compile_fail_test(bytes_freeze_lvalue)

# clang's lifetime analysis sees through bytes: keeping a view of a temporary's bytes warns
# (-Wdangling); keeping a slice, which shares the storage, does not.
frugal_add_dangling_tests(bytes_dangling ${CMAKE_CURRENT_SOURCE_DIR}/lifetime/bytes_dangling.cpp
  DIAGNOSED 1 2 3 4 5 CLEAN 100)

# Allocation failure in a bytes_chain's growth: its own operator new, so its own main.
add_executable(bytes_fault_test bytes_fault_test.cpp)
target_link_libraries(bytes_fault_test PRIVATE frugal::frugal Catch2::Catch2)
target_compile_features(bytes_fault_test PRIVATE cxx_std_20)
frugal_target_warnings(bytes_fault_test)
catch_discover_tests(bytes_fault_test EXTRA_ARGS --warn NoTests TEST_PREFIX "bytes (faults): " PROPERTIES LABELS unit)
