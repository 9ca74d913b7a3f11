# batch: the Catch2 cases (those tagged [concurrent] also run under TSan).
frugal_add_test(batch)

# clang-16's lifetime analysis must see that a grouping's spans and key references point into
# the grouping: each case of lifetime/batch_dangling.cpp is compiled alone.
frugal_add_dangling_tests(batch_dangling ${CMAKE_CURRENT_SOURCE_DIR}/lifetime/batch_dangling.cpp
  DIAGNOSED 1 2 3 4 5 CLEAN 100)
