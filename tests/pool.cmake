# pool: the Catch2 cases (those tagged [concurrent] also run under TSan).
frugal_add_test(pool)

# A lease cannot be copied: two holders of one connection.
frugal_add_compile_fail_test(pool_lease_copy)

# clang-16's lifetime analysis sees that a lease's object belongs to the lease: a reference
# kept past a temporary lease is diagnosed (each case of lifetime/pool_dangling.cpp alone).
frugal_add_dangling_tests(pool_dangling ${CMAKE_CURRENT_SOURCE_DIR}/lifetime/pool_dangling.cpp
  DIAGNOSED 1 2 3 CLEAN 100)
