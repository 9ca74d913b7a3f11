# postgres: frugal::postgres (include/frugal/interop/postgres.hpp), only where libpq is found
# (cmake/interop/postgres.cmake). Its cases run against the `postgres` fixture, a throwaway
# PostgreSQL cluster on loopback, in the dev configuration (FRUGAL_BUILD_SERVER_TESTS).
# Elsewhere the same file is compiled, so every compiler and standard library checks the
# header, and not run.
if(TARGET frugal::postgres)
  include(${CMAKE_CURRENT_SOURCE_DIR}/fixtures/fixtures.cmake)
  if(FRUGAL_BUILD_SERVER_TESTS)
    frugal_add_server_test(postgres FIXTURES postgres
      SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/postgres_test.cpp LIBRARIES frugal::postgres)
  else()
    add_library(postgres_test_compiles OBJECT postgres_test.cpp)
    target_link_libraries(postgres_test_compiles PRIVATE frugal::postgres Catch2::Catch2)
    target_include_directories(postgres_test_compiles PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/fixtures)
    frugal_target_warnings(postgres_test_compiles)
  endif()
endif()
