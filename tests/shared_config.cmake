# shared_config's checks beyond its Catch2 file: reads at thread and process exit and the
# misuses hardened builds diagnose (a probe program), allocation failure (a program with its
# own operator new), two shared libraries built with -fvisibility=hidden, and clang's
# -Wdangling on guards. Included by tests/CMakeLists.txt.

# The probe, built hardened and optimised (-O2: where a dangling table used to crash).
add_executable(shared_config_lifetime shared_config_lifetime/lifetime.cpp)
target_link_libraries(shared_config_lifetime PRIVATE frugal::frugal)
target_compile_definitions(shared_config_lifetime PRIVATE FRUGAL_HARDENED)
target_compile_options(shared_config_lifetime PRIVATE -O2)
frugal_target_warnings(shared_config_lifetime)
find_package(Threads REQUIRED)
target_link_libraries(shared_config_lifetime PRIVATE Threads::Threads)
foreach(case IN ITEMS static_destruction thread_exit)
  add_test(NAME lifetime/shared_config_${case} COMMAND shared_config_lifetime ${case})
  set_tests_properties(lifetime/shared_config_${case} PROPERTIES LABELS "unit;concurrent")
endforeach()
foreach(case_and_message IN ITEMS
    "guard_other_thread|guard_destroyed_on_its_own_thread"
    "guard_outlives_holder|guard_destroyed_before_its_holder"
    "holder_destroyed_under_guard|no_guard_of_a_destroyed_holder_on_this_thread"
    "detached_guard_outlives_holder|guard_destroyed_before_its_holder"
    "holder_destroyed_under_detached_guard|no_guard_of_a_destroyed_holder_on_this_thread"
    "static_holder_destroyed_under_static_guard|no_guard_of_a_destroyed_holder_on_this_thread")
  string(REPLACE "|" ";" parts "${case_and_message}")
  list(GET parts 0 case)
  list(GET parts 1 message)
  add_test(NAME lifetime/shared_config_${case}_aborts
    COMMAND ${CMAKE_COMMAND} -DCOMMAND=$<TARGET_FILE:shared_config_lifetime> -DARGS=${case}
      "-DEXPECT=${message}" -P ${CMAKE_CURRENT_SOURCE_DIR}/expect_abort.cmake)
  set_tests_properties(lifetime/shared_config_${case}_aborts PROPERTIES LABELS unit)
endforeach()

# The same misuse (a guard that outlives its holder) without assertions, where it is not
# diagnosed: a later holder that reuses the id must still work on that thread.
add_executable(shared_config_release_misuse shared_config_lifetime/release_misuse.cpp)
target_link_libraries(shared_config_release_misuse PRIVATE frugal::frugal)
target_compile_definitions(shared_config_release_misuse PRIVATE NDEBUG)
frugal_target_warnings(shared_config_release_misuse)
foreach(case IN ITEMS one_stale_guard two_stale_guards stale_guards_released_around_a_read
    stale_guard_released_first)
  add_test(NAME lifetime/shared_config_release_${case}
    COMMAND shared_config_release_misuse ${case})
  set_tests_properties(lifetime/shared_config_release_${case} PROPERTIES LABELS unit)
endforeach()

# Allocation failure at every point of a read, and in a holder's destructor (which must not
# allocate): its own operator new, so its own main.
add_executable(shared_config_fault_test shared_config_fault_test.cpp)
target_link_libraries(shared_config_fault_test PRIVATE frugal::frugal Catch2::Catch2
  Threads::Threads)
target_compile_features(shared_config_fault_test PRIVATE cxx_std_20)
frugal_target_warnings(shared_config_fault_test)
catch_discover_tests(shared_config_fault_test EXTRA_ARGS --warn NoTests TEST_PREFIX "shared_config (faults): "
  PROPERTIES LABELS unit)

# Two shared libraries with hidden visibility, each holding holders of its own type, and a
# program reading them all: once with the one process-wide registry (the default), once with
# a registry per library (FRUGAL_SHARED_CONFIG_EXPORT defined empty), where holder ids collide.
foreach(mode IN ITEMS shared separate)
  foreach(lib IN ITEMS text number)
    set(target shared_config_dso_${mode}_${lib})
    add_library(${target} SHARED shared_config_dso/lib_${lib}.cpp)
    target_link_libraries(${target} PRIVATE frugal::frugal)
    set_target_properties(${target} PROPERTIES CXX_VISIBILITY_PRESET hidden
      VISIBILITY_INLINES_HIDDEN ON)
    frugal_target_warnings(${target})
    if(mode STREQUAL "separate")
      target_compile_definitions(${target} PRIVATE FRUGAL_SHARED_CONFIG_EXPORT=)
    endif()
  endforeach()
  add_executable(shared_config_dso_${mode} shared_config_dso/main.cpp)
  target_link_libraries(shared_config_dso_${mode} PRIVATE frugal::frugal Threads::Threads
    shared_config_dso_${mode}_text shared_config_dso_${mode}_number)
  frugal_target_warnings(shared_config_dso_${mode})
  if(mode STREQUAL "separate")
    target_compile_definitions(shared_config_dso_${mode} PRIVATE FRUGAL_SHARED_CONFIG_EXPORT=)
    set(args separate_registries)
  else()
    set(args)
  endif()
  add_test(NAME "shared_config: two hidden-visibility shared libraries, ${mode} registry"
    COMMAND shared_config_dso_${mode} ${args})
  set_tests_properties("shared_config: two hidden-visibility shared libraries, ${mode} registry"
    PROPERTIES LABELS "unit;concurrent")
endforeach()

# A reference or pointer into a temporary guard, or a guard of a temporary holder, is
# diagnosed by clang-16's -Wdangling; the safe forms compile cleanly.
frugal_add_dangling_tests(shared_config_dangling
  ${CMAKE_CURRENT_SOURCE_DIR}/shared_config_lifetime/dangling.cpp DIAGNOSED 1 2 3 4 CLEAN 5)

# The fast path of a read plus a field access stays short (g++ 12: 19 instructions up to the
# first return, clang 16: 21, prologue and epilogue included).
add_test(NAME disasm/shared_config_read_is_short
  COMMAND ${CMAKE_COMMAND} -DCOMPILER=${CMAKE_CXX_COMPILER} -DINCLUDE=${PROJECT_SOURCE_DIR}/include
    -DSOURCE=${CMAKE_CURRENT_SOURCE_DIR}/disasm/shared_config_read.cpp -DFUNCTION=frugal_read_timeout
    -DMAX_INSTRUCTIONS=22 -P ${CMAKE_CURRENT_SOURCE_DIR}/disasm/check_no_lock.cmake)
set_tests_properties(disasm/shared_config_read_is_short PROPERTIES LABELS unit)
