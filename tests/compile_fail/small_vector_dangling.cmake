# Compiles SOURCE with COMPILER and FLAGS and passes when it reports exactly EXPECT -Wdangling
# warnings (one per function that keeps a view of a temporary small_vector).
execute_process(COMMAND ${COMPILER} ${FLAGS} ${SOURCE}
  RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_VARIABLE out)
string(REGEX MATCHALL "\\[-Wdangling\\]" found "${err}")
list(LENGTH found count)
if(NOT count EQUAL EXPECT)
  message(FATAL_ERROR "expected ${EXPECT} -Wdangling warnings, got ${count} (exit ${rc}):\n${err}")
endif()
message(STATUS "${count} -Wdangling warnings, as expected")
