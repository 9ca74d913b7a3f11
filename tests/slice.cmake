# slice's checks beyond slice_test.cpp: clang-16's lifetime analysis must follow every
# view-returning function to the storage its result points into. Each case of
# lifetime/slice_dangling.cpp is compiled alone with -Werror=dangling.
frugal_add_compile_fail_test(slice_temporary_cow)
frugal_add_compile_fail_test(slice_temporary_separator)

set(_slice_source ${CMAKE_CURRENT_SOURCE_DIR}/lifetime/slice_dangling.cpp)
# A view of a temporary kept past its statement, or of a local returned: diagnosed; views used
# correctly: no false alarm, even with every warning an error.
frugal_add_dangling_tests(slice_dangling ${_slice_source}
  DIAGNOSED 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 24 25 26 27
  28 29 30 31 32 33 34 35 36 37 38 39 40 41 42 43 44 45
  CLEAN 100 101 102 103)
# A temporary owner is not sliceable at all.
frugal_add_dangling_tests(slice_dangling ${_slice_source} DIAGNOSED 22 23
  EXPECT "no matching function")
