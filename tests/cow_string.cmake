# cow_string's checks beyond cow_string_test.cpp: lifetime cases of
# lifetime/cow_string_dangling.cpp (cases 1 to 3 are registered in tests/CMakeLists.txt),
# and the fault-injection tests, which need their own operator new.
set(_cow_source ${CMAKE_CURRENT_SOURCE_DIR}/lifetime/cow_string_dangling.cpp)
set(_cow_flags -std=c++20 -fsyntax-only -I${PROJECT_SOURCE_DIR}/include)

# Overloads that can only dangle are deleted, for every compiler.
foreach(case 20 21 22)
  add_test(NAME lifetime/cow_string_dangling_${case}_is_deleted
    COMMAND ${CMAKE_COMMAND} "-DCOMMAND=${CMAKE_CXX_COMPILER}"
      "-DARGS=${_cow_flags};-DCASE=${case};${_cow_source}" "-DEXPECT=deleted"
      -P ${CMAKE_CURRENT_SOURCE_DIR}/expect_abort.cmake)
  set_tests_properties(lifetime/cow_string_dangling_${case}_is_deleted PROPERTIES LABELS unit)
endforeach()

frugal_add_dangling_tests(cow_string_dangling ${_cow_source}
  DIAGNOSED 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 23 24 25 26 27 28 CLEAN 100 101)

# Allocation failure at every point: its own operator new, so its own main.
add_executable(cow_string_fault_test cow_string_fault_test.cpp)
target_link_libraries(cow_string_fault_test PRIVATE frugal::frugal Catch2::Catch2)
target_compile_features(cow_string_fault_test PRIVATE cxx_std_20)
frugal_target_warnings(cow_string_fault_test)
catch_discover_tests(cow_string_fault_test EXTRA_ARGS --warn NoTests TEST_PREFIX "cow_string (faults): "
  PROPERTIES LABELS unit)
