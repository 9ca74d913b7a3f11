# service-frugal: the service built from frugal's parts (examples/service/README.md,
# docs/service.md). Built where the service's dependencies (common.cmake) are found.
if(FRUGAL_SERVICE_ENABLED)
  add_executable(service-frugal ${CMAKE_CURRENT_LIST_DIR}/main.cpp)
  target_link_libraries(service-frugal PRIVATE frugal::frugal frugal_service_deps)
  frugal_target_warnings(service-frugal)
endif()

# Its POST /posts reader against the contract's rules, without servers.
if(FRUGAL_SERVICE_ENABLED AND TARGET frugal_test_main)
  add_executable(service_frugal_posts_json_test ${CMAKE_CURRENT_LIST_DIR}/posts_json_test.cpp)
  target_link_libraries(service_frugal_posts_json_test PRIVATE frugal_test_main)
  frugal_target_warnings(service_frugal_posts_json_test)
  add_test(NAME service/frugal/posts_json COMMAND service_frugal_posts_json_test)
  set_tests_properties(service/frugal/posts_json PROPERTIES LABELS unit)
endif()
