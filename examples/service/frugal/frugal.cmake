# service-frugal: the service built from frugal's parts (examples/service/README.md,
# docs/service.md). Built where the service's dependencies (common.cmake) are found.
if(FRUGAL_SERVICE_ENABLED)
  add_executable(service-frugal ${CMAKE_CURRENT_LIST_DIR}/main.cpp)
  target_link_libraries(service-frugal PRIVATE frugal::frugal frugal_service_deps)
  frugal_target_warnings(service-frugal)
endif()
