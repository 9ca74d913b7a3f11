# bytes: the Catch2 cases (the [concurrent] ones also run under TSan).
frugal_add_test(bytes)

# bytes_mut is move-only and freeze() consumes it.
frugal_add_compile_fail_test(bytes_mut_copy)
frugal_add_compile_fail_test(bytes_freeze_lvalue)

# clang's lifetime analysis sees through bytes: keeping a view of a temporary's bytes warns
# (-Wdangling); keeping a slice, which shares the storage, does not.
if(FRUGAL_CLANG16)
  set(source ${CMAKE_CURRENT_SOURCE_DIR}/lifetime/bytes_dangling.cpp)
  set(flags -std=c++20 -fsyntax-only -Wall -Wextra -Werror=dangling -I${PROJECT_SOURCE_DIR}/include)
  foreach(case 1 2 3 4 5)
    add_test(NAME lifetime/bytes_dangling_${case}_warns
      COMMAND ${CMAKE_COMMAND} "-DCOMMAND=${FRUGAL_CLANG16}"
        "-DARGS=${flags};-DCASE=${case};${source}" "-DEXPECT=-Wdangling"
        -P ${CMAKE_CURRENT_SOURCE_DIR}/expect_abort.cmake)
    set_tests_properties(lifetime/bytes_dangling_${case}_warns PROPERTIES LABELS unit)
  endforeach()
  add_test(NAME lifetime/bytes_slice_is_clean
    COMMAND ${FRUGAL_CLANG16} ${flags} -Werror -DCASE=100 ${source})
  set_tests_properties(lifetime/bytes_slice_is_clean PROPERTIES LABELS unit)
endif()
