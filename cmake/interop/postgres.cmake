# frugal::postgres: include/frugal/interop/postgres.hpp (pool<pg_connection>, prepared
# statements, the batch parts bound to libpq) with libpq, found through pkg-config (Debian's
# libpq-dev). Defined only where libpq is found; the core target frugal::frugal never depends
# on it.
include(${CMAKE_CURRENT_LIST_DIR}/component.cmake)
frugal_add_interop_component(NAME postgres PKG libpq DEBIAN libpq-dev)
