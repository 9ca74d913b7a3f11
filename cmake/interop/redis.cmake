# frugal::redis: include/frugal/interop/redis.hpp (the Redis client layer and tiered_cache)
# with hiredis, found through pkg-config (hiredis ships no CMake package). Defined only where
# hiredis is found; the core target frugal::frugal never depends on it.
find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
  pkg_check_modules(HIREDIS QUIET IMPORTED_TARGET hiredis)
endif()

if(TARGET PkgConfig::HIREDIS)
  add_library(frugal_redis INTERFACE)
  add_library(frugal::redis ALIAS frugal_redis)
  set_target_properties(frugal_redis PROPERTIES EXPORT_NAME redis)
  target_sources(frugal_redis INTERFACE
    FILE_SET HEADERS
    BASE_DIRS ${PROJECT_SOURCE_DIR}/include
    FILES ${PROJECT_SOURCE_DIR}/include/frugal/interop/redis.hpp)
  target_link_libraries(frugal_redis INTERFACE frugal::frugal PkgConfig::HIREDIS)
  message(STATUS "frugal: redis component with hiredis ${HIREDIS_VERSION}")
else()
  message(STATUS "frugal: no redis component (hiredis not found through pkg-config)")
endif()

if(FRUGAL_INSTALL AND TARGET frugal_redis)
  include(GNUInstallDirs)
  set(frugal_redis_cmake_dir ${CMAKE_INSTALL_DATADIR}/cmake/frugal)
  install(TARGETS frugal_redis EXPORT frugalRedisTargets FILE_SET HEADERS)
  install(EXPORT frugalRedisTargets NAMESPACE frugal:: FILE frugal-redis-targets.cmake
    DESTINATION ${frugal_redis_cmake_dir})
  # Included by frugalConfig.cmake for find_package(frugal COMPONENTS redis): finds hiredis
  # again on the user's machine, then defines frugal::redis.
  file(WRITE ${PROJECT_BINARY_DIR}/frugal-redis.cmake [=[
set(frugal_redis_FOUND FALSE)
find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
  pkg_check_modules(HIREDIS QUIET IMPORTED_TARGET hiredis)
endif()
if(TARGET PkgConfig::HIREDIS)
  include("${CMAKE_CURRENT_LIST_DIR}/frugal-redis-targets.cmake")
  set(frugal_redis_FOUND TRUE)
else()
  set(frugal_redis_NOT_FOUND_MESSAGE
    "frugal::redis needs hiredis, found through pkg-config (Debian: libhiredis-dev)")
endif()
]=])
  install(FILES ${PROJECT_BINARY_DIR}/frugal-redis.cmake DESTINATION ${frugal_redis_cmake_dir})
endif()
