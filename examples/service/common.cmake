# service: what both twins share: cpp-httplib (compiled with its pkg-config flags: Request's
# layout depends on them), libpq and hiredis through frugal's integration targets, threads.
# The twins are built where all of them are found, with libstdc++ (the Debian libraries are
# built against it) and exceptions on (cpp-httplib needs them).
find_package(PkgConfig QUIET)
find_package(Threads)
if(PkgConfig_FOUND)
  pkg_check_modules(FRUGAL_SERVICE_HTTPLIB QUIET IMPORTED_TARGET cpp-httplib)
  pkg_check_modules(FRUGAL_SERVICE_PROMETHEUS QUIET IMPORTED_TARGET prometheus-cpp-core)
endif()
set(FRUGAL_SERVICE_ENABLED OFF)
if(TARGET PkgConfig::FRUGAL_SERVICE_HTTPLIB AND TARGET frugal::postgres AND TARGET frugal::redis
    AND Threads_FOUND AND NOT FRUGAL_NO_EXCEPTIONS
    AND NOT CMAKE_CXX_FLAGS MATCHES "stdlib=libc\\+\\+")
  set(FRUGAL_SERVICE_ENABLED ON)
  # httplib.h warns under the project's flags: a SYSTEM include.
  get_target_property(_service_httplib_includes PkgConfig::FRUGAL_SERVICE_HTTPLIB
    INTERFACE_INCLUDE_DIRECTORIES)
  if(_service_httplib_includes)
    set_target_properties(PkgConfig::FRUGAL_SERVICE_HTTPLIB PROPERTIES
      INTERFACE_SYSTEM_INCLUDE_DIRECTORIES "${_service_httplib_includes}")
  endif()
  add_library(frugal_service_deps INTERFACE)
  target_link_libraries(frugal_service_deps INTERFACE PkgConfig::FRUGAL_SERVICE_HTTPLIB
    frugal::postgres frugal::redis Threads::Threads)
  target_include_directories(frugal_service_deps INTERFACE ${CMAKE_CURRENT_LIST_DIR})
  # libservice-malloc-count.so: scripts/bench-service preloads it into both twins to count the
  # whole process's allocations (malloc_count.cpp; glibc's __libc_* entry points). Not in a
  # sanitized build, whose runtime takes malloc itself and must come first.
  if(CMAKE_SYSTEM_NAME STREQUAL "Linux" AND NOT CMAKE_CXX_FLAGS MATCHES "-fsanitize=")
    add_library(service-malloc-count SHARED ${CMAKE_CURRENT_LIST_DIR}/malloc_count.cpp)
    set_target_properties(service-malloc-count PROPERTIES PREFIX "lib"
      OUTPUT_NAME service-malloc-count CXX_VISIBILITY_PRESET hidden)
    frugal_target_warnings(service-malloc-count)
    # Every allocation function counted once when it returns memory, never when it fails.
    add_executable(service_malloc_count_test ${CMAKE_CURRENT_LIST_DIR}/malloc_count_test.cpp)
    frugal_target_warnings(service_malloc_count_test)
    add_test(NAME service/malloc_count COMMAND service_malloc_count_test)
    set_tests_properties(service/malloc_count PROPERTIES LABELS unit
      ENVIRONMENT "LD_PRELOAD=$<TARGET_FILE:service-malloc-count>")
  endif()
endif()
