# builder's checks beyond builder_test.cpp: compile-time rejections, the lifetime of views,
# and one definition of every function in every standard mode.

# str_cat rejects what is not narrow text (wide and UTF characters, nullptr, bool) with its own
# message. CASE 0 is the control: it must compile.
set(builder_reject_source ${CMAKE_CURRENT_SOURCE_DIR}/compile_fail/builder_rejects.cpp)
set(builder_reject_flags -std=c++20 -fsyntax-only -I${PROJECT_SOURCE_DIR}/include)
add_test(NAME compile_fail/builder_rejects/control
  COMMAND ${CMAKE_CXX_COMPILER} ${builder_reject_flags} -DCASE=0 ${builder_reject_source})
set_tests_properties(compile_fail/builder_rejects/control PROPERTIES LABELS unit)
foreach(case_and_message IN ITEMS
    "1|not narrow text" "2|not narrow text" "3|not narrow text" "4|not narrow text"
    "5|nullptr is not text" "6|pass a bool as text" "7|not narrow text" "8|not narrow text")
  string(REPLACE "|" ";" parts "${case_and_message}")
  list(GET parts 0 case)
  list(GET parts 1 message)
  add_test(NAME compile_fail/builder_rejects/${case}
    COMMAND ${CMAKE_COMMAND} "-DCOMMAND=${CMAKE_CXX_COMPILER}"
      "-DARGS=${builder_reject_flags};-DCASE=${case};${builder_reject_source}"
      "-DEXPECT=${message}" -P ${CMAKE_CURRENT_SOURCE_DIR}/expect_abort.cmake)
  set_tests_properties(compile_fail/builder_rejects/${case} PROPERTIES LABELS unit)
endforeach()

# builder::view() on a temporary builder dangles: clang-16 says so (-Wdangling).
frugal_add_dangling_tests(builder_dangling ${CMAKE_CURRENT_SOURCE_DIR}/lifetime/builder_dangling.cpp
  DIAGNOSED 1 2 4 5 CLEAN 3)

# One definition in every standard mode: the header has no branch on the standard or the
# library version, and a C++20 and a C++23 unit linked together share str_join and builder.
add_test(NAME "builder: no standard-mode branches in the header"
  COMMAND ${CMAKE_COMMAND} -E env grep -nE "__cpp_lib|__cplusplus|_LIBCPP_VERSION|__GLIBCXX__"
    ${PROJECT_SOURCE_DIR}/include/frugal/builder.hpp)
set_tests_properties("builder: no standard-mode branches in the header" PROPERTIES WILL_FAIL TRUE LABELS unit)
# clang 16 spells C++23 -std=c++2b.
set(builder_cxx23_flag "")
if(FRUGAL_HAVE_CXX23)
  set(builder_cxx23_flag -std=c++23)
else()
  check_cxx_compiler_flag(-std=c++2b FRUGAL_HAVE_CXX2B)
  if(FRUGAL_HAVE_CXX2B)
    set(builder_cxx23_flag -std=c++2b)
  endif()
endif()
if(builder_cxx23_flag)
  add_executable(builder_mixed_std builder_mixed_std_a.cpp builder_mixed_std_b.cpp)
  target_link_libraries(builder_mixed_std PRIVATE frugal::frugal)
  frugal_target_warnings(builder_mixed_std)
  set_source_files_properties(builder_mixed_std_b.cpp PROPERTIES COMPILE_OPTIONS ${builder_cxx23_flag})
  add_test(NAME "builder: C++20 and C++23 units share one definition" COMMAND builder_mixed_std)
  set_tests_properties("builder: C++20 and C++23 units share one definition" PROPERTIES
    PASS_REGULAR_EXPRESSION "one definition" LABELS unit)
endif()
