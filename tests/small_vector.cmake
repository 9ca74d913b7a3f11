# small_vector's checks beyond tests/small_vector_test.cpp.

# Fault injection, aliasing, allocator and element-type matrices: part of small_vector_test.
target_sources(small_vector_test PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/small_vector_matrix_test.cpp)

# Every function that returns a pointer, reference or iterator into the vector is marked
# FRUGAL_LIFETIMEBOUND: keeping one from a temporary vector warns with clang's -Wdangling (14
# functions, one warning each), using it within the full-expression does not.
if(FRUGAL_CLANG16)
  set(source ${CMAKE_CURRENT_SOURCE_DIR}/compile_fail/small_vector_dangling.cpp)
  set(flags -std=c++20 -fsyntax-only -Wall -Wextra -Wdangling -I${PROJECT_SOURCE_DIR}/include)
  add_test(NAME compile_fail/small_vector_dangling_views_warn
    COMMAND ${CMAKE_COMMAND} "-DCOMPILER=${FRUGAL_CLANG16}"
      "-DFLAGS=${flags};-DFRUGAL_EXPECT_DANGLING" -DSOURCE=${source} -DEXPECT=14
      -P ${CMAKE_CURRENT_SOURCE_DIR}/compile_fail/small_vector_dangling.cmake)
  add_test(NAME compile_fail/small_vector_dangling_within_expression_is_clean
    COMMAND ${FRUGAL_CLANG16} ${flags} -Werror ${source})
  set_tests_properties(compile_fail/small_vector_dangling_views_warn
    compile_fail/small_vector_dangling_within_expression_is_clean PROPERTIES LABELS unit)
endif()

# pop_back_val, truncate, default_init, the allocator-extended constructors from the base,
# std::hash and the *_range members over every kind of range.
target_sources(small_vector_test PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/small_vector_api_test.cpp)

# static_vector shares small_vector's element algorithms (detail::vector_elements): its own
# test binary, the same model checks.
frugal_add_test(static_vector)

# Keeping a pointer, reference or iterator into a temporary static_vector is diagnosed by
# clang-16 (-Werror=dangling); using one within the full-expression is not.
frugal_add_dangling_tests(static_vector_dangling
  ${CMAKE_CURRENT_SOURCE_DIR}/lifetime/static_vector_dangling.cpp
  DIAGNOSED 1 2 3 4 5 6 7 8 9 10 11 12 13 CLEAN 100)

# Preconditions of the newer calls abort with the file, line and condition in hardened builds.
add_executable(small_vector_abort_probe small_vector_abort_probe.cpp)
target_link_libraries(small_vector_abort_probe PRIVATE frugal::frugal)
target_compile_definitions(small_vector_abort_probe PRIVATE FRUGAL_HARDENED)
frugal_target_warnings(small_vector_abort_probe)
foreach(case IN ITEMS small_vector_pop_back_val_empty static_vector_unchecked_push_back_full
    static_vector_index static_vector_pop_back_empty static_vector_pop_back_val_empty
    static_vector_erase_end)
  add_test(NAME abort/${case}
    COMMAND ${CMAKE_COMMAND} -DCOMMAND=$<TARGET_FILE:small_vector_abort_probe> -DARGS=${case}
      "-DEXPECT=frugal: assertion failed:" -P ${CMAKE_CURRENT_SOURCE_DIR}/expect_abort.cmake)
  set_tests_properties(abort/${case} PROPERTIES LABELS unit)
endforeach()
