# Configures tests/consumers/components against an installed frugal (PREFIX) with
# -DREQUEST=${REQUEST} in BINARY_DIR and checks the outcome: EXPECT_FAIL=1 means configuring
# must fail, and EXPECT is a text the output must contain either way.
file(REMOVE_RECURSE ${BINARY_DIR})
execute_process(
  COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${BINARY_DIR} -DREQUEST=${REQUEST}
    -DCMAKE_PREFIX_PATH=${PREFIX}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
set(all "${out}${err}")
if(EXPECT_FAIL AND rc EQUAL 0)
  message(FATAL_ERROR "configuring with ${REQUEST} succeeded; expected a failure:\n${all}")
elseif(NOT EXPECT_FAIL AND NOT rc EQUAL 0)
  message(FATAL_ERROR "configuring with ${REQUEST} failed:\n${all}")
endif()
string(FIND "${all}" "${EXPECT}" at)
if(at EQUAL -1)
  message(FATAL_ERROR "expected '${EXPECT}' in the output:\n${all}")
endif()
message(STATUS "${REQUEST}: as expected")
