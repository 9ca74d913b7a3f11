# Warning flags every frugal-built target uses; FRUGAL_WERROR turns them into errors.
option(FRUGAL_WERROR "Treat warnings as errors in frugal's own targets" OFF)
set(FRUGAL_WARNING_FLAGS -Wall -Wextra -Wpedantic -Wconversion -Wshadow)

function(frugal_target_warnings target)
  target_compile_options(${target} PRIVATE ${FRUGAL_WARNING_FLAGS})
  if(FRUGAL_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
