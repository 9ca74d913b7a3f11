# batch: the Catch2 cases (those tagged [concurrent] also run under TSan).
frugal_add_test(batch)

# clang-16's lifetime analysis must see that a grouping's spans and key references point into
# the grouping: each case of lifetime/batch_dangling.cpp is compiled alone.
if(FRUGAL_CLANG16)
  set(_batch_source ${CMAKE_CURRENT_SOURCE_DIR}/lifetime/batch_dangling.cpp)
  set(_batch_flags -std=c++20 -fsyntax-only -Wall -Wextra -Werror=dangling
    -I${PROJECT_SOURCE_DIR}/include)
  foreach(case RANGE 1 5)
    add_test(NAME lifetime/batch_dangling_${case}_is_diagnosed
      COMMAND ${CMAKE_COMMAND} "-DCOMMAND=${FRUGAL_CLANG16}"
        "-DARGS=${_batch_flags};-DCASE=${case};${_batch_source}" "-DEXPECT=-Werror,-Wdangling"
        -P ${CMAKE_CURRENT_SOURCE_DIR}/expect_abort.cmake)
    set_tests_properties(lifetime/batch_dangling_${case}_is_diagnosed PROPERTIES LABELS unit)
  endforeach()
  add_test(NAME lifetime/batch_dangling_100_is_clean
    COMMAND ${FRUGAL_CLANG16} ${_batch_flags} -Werror -DCASE=100 ${_batch_source})
  set_tests_properties(lifetime/batch_dangling_100_is_clean PROPERTIES LABELS unit)
endif()
