# frugal_add_interop_component(NAME <name> PKG <pkg-config module> DEBIAN <package>)
#
# Defines the integration component frugal::<name>: an INTERFACE target with the header
# include/frugal/interop/<name>.hpp that links frugal::frugal and the library <name> bridges,
# found through pkg-config as module <PKG> (imported target PkgConfig::<PREFIX>, where PREFIX
# is PKG in upper case with every other character than a letter or digit as `_`). The
# variables pkg_check_modules sets (<PREFIX>_FOUND, _VERSION, _CFLAGS, ...) are set in the
# caller's scope too. Where the library is not found, nothing is defined and a status line
# says so; the core target frugal::frugal never depends on a component.
#
# With FRUGAL_INSTALL, it installs the target's header and export set
# (frugal-<name>-targets.cmake) and frugal-<name>.cmake, which frugalConfig.cmake includes for
# find_package(frugal COMPONENTS <name>): it finds the library again on the user's machine,
# then defines frugal::<name>, or says what is missing (naming the Debian package DEBIAN).
include_guard(GLOBAL)

function(frugal_add_interop_component)
  cmake_parse_arguments(PARSE_ARGV 0 arg "" "NAME;PKG;DEBIAN" "")
  foreach(required IN ITEMS NAME PKG DEBIAN)
    if(NOT arg_${required})
      message(FATAL_ERROR "frugal_add_interop_component: ${required} is missing")
    endif()
  endforeach()
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR
      "frugal_add_interop_component: unknown arguments '${arg_UNPARSED_ARGUMENTS}'")
  endif()
  set(name ${arg_NAME})
  set(pkg ${arg_PKG})
  set(debian ${arg_DEBIAN})
  string(TOUPPER "${pkg}" prefix)
  string(MAKE_C_IDENTIFIER "${prefix}" prefix)

  find_package(PkgConfig QUIET)
  if(PkgConfig_FOUND)
    pkg_check_modules(${prefix} QUIET IMPORTED_TARGET ${pkg})
    # What pkg_check_modules reports, for the caller (compiler flags in tests, say).
    foreach(suffix IN ITEMS FOUND MODULE_NAME VERSION PREFIX INCLUDEDIR LIBDIR LIBRARIES
                            LINK_LIBRARIES LIBRARY_DIRS LDFLAGS LDFLAGS_OTHER INCLUDE_DIRS
                            CFLAGS CFLAGS_OTHER)
      if(DEFINED ${prefix}_${suffix})
        set(${prefix}_${suffix} "${${prefix}_${suffix}}" PARENT_SCOPE)
      endif()
    endforeach()
  endif()

  if(NOT TARGET PkgConfig::${prefix})
    message(STATUS "frugal: no ${name} component (${pkg} not found through pkg-config)")
    return()
  endif()
  set(target frugal_${name})
  add_library(${target} INTERFACE)
  add_library(frugal::${name} ALIAS ${target})
  set_target_properties(${target} PROPERTIES EXPORT_NAME ${name})
  target_sources(${target} INTERFACE
    FILE_SET HEADERS
    BASE_DIRS ${PROJECT_SOURCE_DIR}/include
    FILES ${PROJECT_SOURCE_DIR}/include/frugal/interop/${name}.hpp)
  target_link_libraries(${target} INTERFACE frugal::frugal PkgConfig::${prefix})
  message(STATUS "frugal: ${name} component with ${pkg} ${${prefix}_VERSION}")

  if(NOT FRUGAL_INSTALL)
    return()
  endif()
  include(GNUInstallDirs)
  set(cmake_dir ${CMAKE_INSTALL_DATADIR}/cmake/frugal)
  # The export set's name: frugal<Name>Targets.
  string(SUBSTRING "${name}" 0 1 first)
  string(SUBSTRING "${name}" 1 -1 rest)
  string(TOUPPER "${first}" first)
  set(export frugal${first}${rest}Targets)
  install(TARGETS ${target} EXPORT ${export} FILE_SET HEADERS)
  install(EXPORT ${export} NAMESPACE frugal:: FILE frugal-${name}-targets.cmake
    DESTINATION ${cmake_dir})
  file(CONFIGURE OUTPUT ${PROJECT_BINARY_DIR}/frugal-${name}.cmake @ONLY CONTENT [=[
set(frugal_@name@_FOUND FALSE)
find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
  pkg_check_modules(@prefix@ QUIET IMPORTED_TARGET @pkg@)
endif()
if(TARGET PkgConfig::@prefix@)
  include("${CMAKE_CURRENT_LIST_DIR}/frugal-@name@-targets.cmake")
  set(frugal_@name@_FOUND TRUE)
else()
  set(frugal_@name@_NOT_FOUND_MESSAGE
    "frugal::@name@ needs @pkg@, found through pkg-config (Debian: @debian@)")
endif()
]=])
  install(FILES ${PROJECT_BINARY_DIR}/frugal-${name}.cmake DESTINATION ${cmake_dir})
endfunction()
