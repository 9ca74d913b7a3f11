# service-naive: the service built from the parts a busy engineer reaches for
# (examples/service/README.md), with prometheus-cpp for its metrics. Built where the service's
# dependencies (common.cmake) and prometheus-cpp are found.
if(FRUGAL_SERVICE_ENABLED)
  find_package(prometheus-cpp CONFIG QUIET)
  if(TARGET prometheus-cpp::core)
    add_executable(service-naive ${CMAKE_CURRENT_LIST_DIR}/main.cpp)
    target_link_libraries(service-naive PRIVATE frugal::frugal frugal_service_deps
      prometheus-cpp::core)
    frugal_target_warnings(service-naive)
  endif()
endif()
