# service: the same HTTP API built twice (examples/service/README.md). Each part has its own
# file: the shared data and request set, the naive twin, the frugal twin.
include(${CMAKE_CURRENT_SOURCE_DIR}/service/common.cmake OPTIONAL)
include(${CMAKE_CURRENT_SOURCE_DIR}/service/naive/naive.cmake OPTIONAL)
include(${CMAKE_CURRENT_SOURCE_DIR}/service/frugal/frugal.cmake OPTIONAL)
