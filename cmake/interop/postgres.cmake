# frugal::postgres: include/frugal/interop/postgres.hpp (pool<pg_connection>, prepared
# statements, the batch parts bound to libpq) with libpq, found through pkg-config (Debian's
# libpq-dev). Defined only where libpq is found; the core target frugal::frugal never depends
# on it.
find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
  pkg_check_modules(LIBPQ QUIET IMPORTED_TARGET libpq)
endif()

if(TARGET PkgConfig::LIBPQ)
  add_library(frugal_postgres INTERFACE)
  add_library(frugal::postgres ALIAS frugal_postgres)
  set_target_properties(frugal_postgres PROPERTIES EXPORT_NAME postgres)
  target_sources(frugal_postgres INTERFACE
    FILE_SET HEADERS
    BASE_DIRS ${PROJECT_SOURCE_DIR}/include
    FILES ${PROJECT_SOURCE_DIR}/include/frugal/interop/postgres.hpp)
  target_link_libraries(frugal_postgres INTERFACE frugal::frugal PkgConfig::LIBPQ)
  message(STATUS "frugal: postgres component with libpq ${LIBPQ_VERSION}")
else()
  message(STATUS "frugal: no postgres component (libpq not found through pkg-config)")
endif()

if(FRUGAL_INSTALL AND TARGET frugal_postgres)
  include(GNUInstallDirs)
  set(frugal_postgres_cmake_dir ${CMAKE_INSTALL_DATADIR}/cmake/frugal)
  install(TARGETS frugal_postgres EXPORT frugalPostgresTargets FILE_SET HEADERS)
  install(EXPORT frugalPostgresTargets NAMESPACE frugal:: FILE frugal-postgres-targets.cmake
    DESTINATION ${frugal_postgres_cmake_dir})
  # Included by frugalConfig.cmake for find_package(frugal COMPONENTS postgres): finds libpq
  # again on the user's machine, then defines frugal::postgres.
  file(WRITE ${PROJECT_BINARY_DIR}/frugal-postgres.cmake [=[
set(frugal_postgres_FOUND FALSE)
find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
  pkg_check_modules(LIBPQ QUIET IMPORTED_TARGET libpq)
endif()
if(TARGET PkgConfig::LIBPQ)
  include("${CMAKE_CURRENT_LIST_DIR}/frugal-postgres-targets.cmake")
  set(frugal_postgres_FOUND TRUE)
else()
  set(frugal_postgres_NOT_FOUND_MESSAGE
    "frugal::postgres needs libpq, found through pkg-config (Debian: libpq-dev)")
endif()
]=])
  install(FILES ${PROJECT_BINARY_DIR}/frugal-postgres.cmake DESTINATION ${frugal_postgres_cmake_dir})
endif()
