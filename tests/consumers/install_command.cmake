# Runs the README's install command exactly, with PREFIX in place of /opt/frugal:
#   cmake --preset install && cmake --install build/install --prefix /opt/frugal
# from the source tree, then checks what it installed.
execute_process(COMMAND ${CMAKE_COMMAND} --preset install
  WORKING_DIRECTORY ${SOURCE_DIR} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cmake --preset install failed:\n${out}${err}")
endif()
file(REMOVE_RECURSE ${PREFIX})
execute_process(COMMAND ${CMAKE_COMMAND} --install build/install --prefix ${PREFIX}
  WORKING_DIRECTORY ${SOURCE_DIR} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cmake --install build/install failed:\n${out}${err}")
endif()
foreach(f include/frugal/frugal.hpp include/frugal/config.hpp share/cmake/frugal/frugalConfig.cmake
    share/cmake/frugal/frugalConfigVersion.cmake share/pkgconfig/frugal.pc
    share/doc/frugal/LICENSE share/doc/frugal/CHANGELOG.md)
  if(NOT EXISTS ${PREFIX}/${f})
    message(FATAL_ERROR "the install command did not install ${f}")
  endif()
endforeach()
file(GLOB_RECURSE stray RELATIVE ${PREFIX} ${PREFIX}/*.a ${PREFIX}/*.so ${PREFIX}/bin/*)
if(stray)
  message(FATAL_ERROR "a header-only install must not install binaries: ${stray}")
endif()
