# A user who knows only pkg-config: the installed frugal.pc (under PREFIX) gives the flags to
# compile and run a program that uses every module.
set(ENV{PKG_CONFIG_PATH} ${PREFIX}/share/pkgconfig)
execute_process(COMMAND ${PKG_CONFIG} --cflags frugal
  RESULT_VARIABLE rc OUTPUT_VARIABLE cflags ERROR_VARIABLE err OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "pkg-config --cflags frugal failed: ${err}")
endif()
execute_process(COMMAND ${PKG_CONFIG} --modversion frugal
  OUTPUT_VARIABLE version OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT version STREQUAL EXPECT_VERSION)
  message(FATAL_ERROR "pkg-config --modversion frugal: '${version}', expected '${EXPECT_VERSION}'")
endif()
separate_arguments(cflags UNIX_COMMAND "${cflags}")
file(MAKE_DIRECTORY ${BINARY_DIR})
execute_process(
  COMMAND ${COMPILER} -std=c++20 ${cflags} ${SOURCE} -o ${BINARY_DIR}/pkg_config_consumer
  RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "compiling with the flags of frugal.pc (${cflags}) failed:\n${err}")
endif()
execute_process(COMMAND ${BINARY_DIR}/pkg_config_consumer RESULT_VARIABLE rc OUTPUT_VARIABLE out)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the program built with frugal.pc failed (${rc}): ${out}")
endif()
message(STATUS "${out}")
