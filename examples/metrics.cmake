# metrics: the example that serves /metrics with cpp-httplib (Debian's libcpp-httplib-dev), built
# where pkg-config finds it and not under libc++ (the library is built against libstdc++).
find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
  pkg_check_modules(FRUGAL_CPP_HTTPLIB QUIET IMPORTED_TARGET cpp-httplib)
endif()
find_package(Threads)
if(TARGET PkgConfig::FRUGAL_CPP_HTTPLIB AND Threads_FOUND AND NOT FRUGAL_NO_EXCEPTIONS
    AND NOT CMAKE_CXX_FLAGS MATCHES "stdlib=libc\\+\\+")
  # httplib.h warns under the project's flags: a SYSTEM include.
  get_target_property(_httplib_includes PkgConfig::FRUGAL_CPP_HTTPLIB
    INTERFACE_INCLUDE_DIRECTORIES)
  if(_httplib_includes)
    set_target_properties(PkgConfig::FRUGAL_CPP_HTTPLIB PROPERTIES
      INTERFACE_SYSTEM_INCLUDE_DIRECTORIES "${_httplib_includes}")
  endif()
  frugal_add_example(metrics_http_middleware
    ${CMAKE_CURRENT_SOURCE_DIR}/interop/metrics_http_middleware.cpp
    LIBS PkgConfig::FRUGAL_CPP_HTTPLIB Threads::Threads)
endif()
