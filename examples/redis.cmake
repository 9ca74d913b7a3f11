# redis: examples that need hiredis and a running Redis (the ctest fixture in dev builds;
# elsewhere the test is registered but disabled, and the binary takes FRUGAL_REDIS_PORT).
if(TARGET frugal::redis)
  frugal_add_example(redis_user_service
    ${CMAKE_CURRENT_SOURCE_DIR}/interop/redis_user_service.cpp LIBS frugal::redis)
  include(${PROJECT_SOURCE_DIR}/tests/fixtures/fixtures.cmake)
  # The fixture machinery's directory variables, as fixtures.cmake sets them in the tests' scope.
  set(FRUGAL_FIXTURE_STATE_DIR ${PROJECT_BINARY_DIR}/tests/fixtures)
  set(FRUGAL_SERVERS_TOOL ${FRUGAL_PYTHON} ${PROJECT_SOURCE_DIR}/tests/fixtures/servers.py
    --state-dir ${FRUGAL_FIXTURE_STATE_DIR})
  frugal_requires_servers(example/redis_user_service redis)
endif()
