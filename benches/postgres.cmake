# postgres: the guide's database lessons on a real PostgreSQL (N+1 against batched loads, four
# ways to insert rows, a connection per request against the pool), only where libpq is found.
# The server: FRUGAL_PG_CONNINFO, the ctest fixture in dev builds, or a throwaway cluster the
# binary starts itself with tests/fixtures/servers.py.
if(TARGET frugal::postgres)
  frugal_add_bench(postgres frugal::postgres)
  target_compile_definitions(postgres_bench PRIVATE
    FRUGAL_SOURCE_DIR="${PROJECT_SOURCE_DIR}" FRUGAL_BENCH_STATE_DIR="${PROJECT_BINARY_DIR}/bench")
  if(COMMAND frugal_requires_servers)
    # The fixture machinery's directory variables, as tests/fixtures/fixtures.cmake sets them
    # in the tests' scope.
    set(FRUGAL_FIXTURE_STATE_DIR ${PROJECT_BINARY_DIR}/tests/fixtures)
    set(FRUGAL_SERVERS_TOOL ${FRUGAL_PYTHON} ${PROJECT_SOURCE_DIR}/tests/fixtures/servers.py
      --state-dir ${FRUGAL_FIXTURE_STATE_DIR})
    frugal_requires_servers(bench/postgres postgres)
    frugal_requires_servers(bench-full/postgres postgres)
  endif()
endif()
