# service: both twins of examples/service held to one contract (examples/service/README.md)
# against their own PostgreSQL and Redis (fixtures service_postgres and service_redis):
#   service/<twin>/replay     examples/service/requests.json answered byte for byte as
#                             examples/service/expected/replay.txt says
#   service/frugal/replay_naive_parts  the same with every part of the frugal twin swapped
#                             for the naive twin's way (FRUGAL_SERVICE_NAIVE_PARTS=all)
#   service/<twin>/bad_input  malformed requests answered 4xx, the process still serves
#   service/<twin>/faults     Redis or PostgreSQL stopped and restarted
#   service/<twin>/sighup     the configuration file reloaded
#   service/<twin>/meter      the allocation series: handler, hand-off, whole process
# Each test resets the data it reads. The twins are examples, declared after the tests: the
# tests are registered once the whole project is read, for the twins that were built.
include(${CMAKE_CURRENT_SOURCE_DIR}/fixtures/fixtures.cmake)

if(FRUGAL_BUILD_SERVER_TESTS AND FRUGAL_BUILD_EXAMPLES)
  frugal_server_fixture(service_postgres postgres)
  frugal_server_fixture(service_redis redis)
  cmake_language(DEFER DIRECTORY ${PROJECT_SOURCE_DIR} CALL _frugal_service_tests)
endif()

function(_frugal_service_tests)
  # The fixture machinery's directory variables, as fixtures.cmake sets them in the tests' scope.
  set(FRUGAL_FIXTURE_STATE_DIR ${PROJECT_BINARY_DIR}/tests/fixtures)
  set(FRUGAL_SERVERS_TOOL ${FRUGAL_PYTHON} ${PROJECT_SOURCE_DIR}/tests/fixtures/servers.py
    --state-dir ${FRUGAL_FIXTURE_STATE_DIR})
  set(scripts ${PROJECT_SOURCE_DIR}/examples/service/tests)
  foreach(twin IN ITEMS naive frugal)
    if(NOT TARGET service-${twin})
      continue()
    endif()
    set(binary $<TARGET_FILE:service-${twin}>)
    add_test(NAME service/${twin}/replay COMMAND ${FRUGAL_PYTHON} ${scripts}/replay.py ${binary}
      --actual ${PROJECT_BINARY_DIR}/examples/service-${twin}.replay.txt)
    foreach(check IN ITEMS bad_input faults sighup)
      add_test(NAME service/${twin}/${check}
        COMMAND ${FRUGAL_PYTHON} ${scripts}/checks.py ${check} ${binary})
    endforeach()
    # The process-wide count only where the counting library is built (not sanitized).
    set(preload -)
    if(TARGET service-malloc-count)
      set(preload $<TARGET_FILE:service-malloc-count>)
    endif()
    add_test(NAME service/${twin}/meter COMMAND ${FRUGAL_PYTHON} ${scripts}/checks.py meter
      ${binary} ${preload})
    frugal_requires_servers(service/${twin}/meter service_postgres service_redis)
    set_tests_properties(service/${twin}/meter PROPERTIES TIMEOUT 180)
    foreach(check IN ITEMS replay bad_input faults sighup)
      frugal_requires_servers(service/${twin}/${check} service_postgres service_redis)
      set_tests_properties(service/${twin}/${check} PROPERTIES TIMEOUT 180)
    endforeach()
    if(twin STREQUAL "frugal")
      # Every part swapped for the naive twin's way (--naive-parts all) answers the same.
      add_test(NAME service/frugal/replay_naive_parts COMMAND ${FRUGAL_PYTHON} ${scripts}/replay.py
        ${binary} --actual ${PROJECT_BINARY_DIR}/examples/service-frugal-naive-parts.replay.txt)
      frugal_requires_servers(service/frugal/replay_naive_parts service_postgres service_redis)
      set_property(TEST service/frugal/replay_naive_parts APPEND PROPERTY ENVIRONMENT
        FRUGAL_SERVICE_NAIVE_PARTS=all)
      set_tests_properties(service/frugal/replay_naive_parts PROPERTIES TIMEOUT 180)
    endif()
  endforeach()
endfunction()

# The load report's tables in docs/service.md are what docs/runs/service.json gives.
if(FRUGAL_BUILD_SCRIPT_TESTS)
  add_test(NAME docs/service_tables
    COMMAND ${FRUGAL_PYTHON} ${PROJECT_SOURCE_DIR}/scripts/bench_service.py --check-doc
      docs/service.md docs/runs/service.json)
  set_tests_properties(docs/service_tables PROPERTIES LABELS unit)
endif()
