# slice's checks beyond slice_test.cpp: clang-16's lifetime analysis must follow every
# view-returning function to the storage its result points into. Each case of
# lifetime/slice_dangling.cpp is compiled alone with -Werror=dangling.
frugal_add_compile_fail_test(slice_temporary_cow)

if(FRUGAL_CLANG16)
  set(_slice_source ${CMAKE_CURRENT_SOURCE_DIR}/lifetime/slice_dangling.cpp)
  set(_slice_flags -std=c++20 -fsyntax-only -Wall -Wextra -Werror=dangling
    -I${PROJECT_SOURCE_DIR}/include)
  # A view of a temporary kept past its statement, or of a local returned: diagnosed.
  foreach(case RANGE 1 27)
    if(case EQUAL 22 OR case EQUAL 23)
      set(_slice_expect "no matching function")  # a temporary owner is not sliceable
    else()
      set(_slice_expect "-Werror,-W")
    endif()
    add_test(NAME lifetime/slice_dangling_${case}_is_diagnosed
      COMMAND ${CMAKE_COMMAND} "-DCOMMAND=${FRUGAL_CLANG16}"
        "-DARGS=${_slice_flags};-DCASE=${case};${_slice_source}" "-DEXPECT=${_slice_expect}"
        -P ${CMAKE_CURRENT_SOURCE_DIR}/expect_abort.cmake)
    set_tests_properties(lifetime/slice_dangling_${case}_is_diagnosed PROPERTIES LABELS unit)
  endforeach()
  # Views used correctly: no false alarm, even with every warning an error.
  foreach(case 100 101 102)
    add_test(NAME lifetime/slice_dangling_${case}_is_clean
      COMMAND ${FRUGAL_CLANG16} ${_slice_flags} -Werror -DCASE=${case} ${_slice_source})
    set_tests_properties(lifetime/slice_dangling_${case}_is_clean PROPERTIES LABELS unit)
  endforeach()
endif()
