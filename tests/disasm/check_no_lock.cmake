# Compiles SOURCE to assembly with COMPILER at -O2 -DNDEBUG and checks that FUNCTION contains
# no lock-prefixed instruction and calls the out-of-line slow path (pin_slow).
execute_process(
  COMMAND ${COMPILER} -std=c++20 -O2 -DNDEBUG -I${INCLUDE} -S -o - ${SOURCE}
  RESULT_VARIABLE rc OUTPUT_VARIABLE asm ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "compiling ${SOURCE} failed:\n${err}")
endif()
string(FIND "${asm}" "${FUNCTION}:" start)
if(start EQUAL -1)
  message(FATAL_ERROR "no label ${FUNCTION} in the assembly")
endif()
string(SUBSTRING "${asm}" ${start} -1 rest)
string(FIND "${rest}" ".cfi_endproc" end)
string(SUBSTRING "${rest}" 0 ${end} body)
if(body MATCHES "[ \t]lock[ \t]|[ \t]lock[a-z]*[ \t]|xchg")
  message(FATAL_ERROR "${FUNCTION} contains an atomic read-modify-write:\n${body}")
endif()
if(NOT body MATCHES "pin_slow")
  message(FATAL_ERROR "${FUNCTION} does not call the out-of-line pin_slow; the check would be vacuous:\n${body}")
endif()
message(STATUS "${FUNCTION}: no lock-prefixed instruction")
