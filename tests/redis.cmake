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
