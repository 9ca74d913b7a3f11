# frugal::redis: include/frugal/interop/redis.hpp (the Redis client layer and tiered_cache)
# with hiredis, found through pkg-config (hiredis ships no CMake package). Defined only where
# hiredis is found; the core target frugal::frugal never depends on it.
include(${CMAKE_CURRENT_LIST_DIR}/component.cmake)
frugal_add_interop_component(NAME redis PKG hiredis DEBIAN libhiredis-dev)
