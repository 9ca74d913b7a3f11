# redis: only where hiredis is found (cmake/interop/redis.cmake defines frugal::redis).
# redis_test: the client layer and tiered_cache without a server (refused connections, codecs,
# options, key buffers); cases tagged [concurrent] also run under TSan.
# redis_server_test: against the `redis` fixture (a real redis-server, dev preset only).
if(TARGET frugal::redis)
  frugal_add_test(redis)
  target_link_libraries(redis_test PRIVATE frugal::redis)
  include(${CMAKE_CURRENT_SOURCE_DIR}/fixtures/fixtures.cmake)
  frugal_add_server_test(redis FIXTURES redis LIBRARIES frugal::redis)
endif()

# The header alone, with the project's warnings as errors: it includes all it uses.
if(TARGET frugal::redis)
  file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/redis_header_alone.cpp
    "#include <frugal/interop/redis.hpp>\n")
  add_test(NAME "redis: header compiles alone"
    COMMAND ${CMAKE_CXX_COMPILER} -std=c++20 -fsyntax-only -Wall -Wextra -Wpedantic -Wconversion
      -Wshadow -Werror ${HIREDIS_CFLAGS} -I${PROJECT_SOURCE_DIR}/include
      ${CMAKE_CURRENT_BINARY_DIR}/redis_header_alone.cpp)
  set_tests_properties("redis: header compiles alone" PROPERTIES LABELS unit)
endif()

# A view of a temporary reply or lock token dangles: clang-16 says so (-Wdangling).
if(TARGET frugal::redis)
  frugal_add_dangling_tests(redis_dangling ${CMAKE_CURRENT_SOURCE_DIR}/lifetime/redis_dangling.cpp
    DIAGNOSED 1 2 3 4 CLEAN 100)
  # A redis_value made of a temporary reply does not compile at all (any compiler).
  frugal_add_dangling_tests(redis_deleted ${CMAKE_CURRENT_SOURCE_DIR}/lifetime/redis_dangling.cpp
    DIAGNOSED 5 6 EXPECT "deleted")
endif()
