# postgres: examples that need libpq and a running PostgreSQL (the ctest fixture in dev builds;
# elsewhere the test is registered but disabled, and the binary takes FRUGAL_PG_CONNINFO).
if(TARGET frugal::postgres)
  frugal_add_example(postgres_users_with_posts
    ${CMAKE_CURRENT_SOURCE_DIR}/interop/postgres_users_with_posts.cpp LIBS frugal::postgres)
  include(${PROJECT_SOURCE_DIR}/tests/fixtures/fixtures.cmake)
  # The fixture machinery's directory variables, as fixtures.cmake sets them in the tests' scope.
  set(FRUGAL_FIXTURE_STATE_DIR ${PROJECT_BINARY_DIR}/tests/fixtures)
  set(FRUGAL_SERVERS_TOOL ${FRUGAL_PYTHON} ${PROJECT_SOURCE_DIR}/tests/fixtures/servers.py
    --state-dir ${FRUGAL_FIXTURE_STATE_DIR})
  frugal_requires_servers(example/postgres_users_with_posts postgres)
endif()
