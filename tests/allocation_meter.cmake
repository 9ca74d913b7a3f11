# allocation_meter: the Catch2 cases (the program's hook comes from test_main.cpp's testing
# macro, so they also show that one hook serves both APIs).
frugal_add_test(allocation_meter)

# A program that never defines the hook: the meter reports zeros and never throws.
# A program whose one translation unit defines both macros: one hook, both APIs count.
foreach(variant IN ITEMS unlinked both)
  add_executable(allocation_meter_${variant}_test allocation_meter_${variant}_test.cpp)
  target_link_libraries(allocation_meter_${variant}_test PRIVATE frugal::frugal Catch2::Catch2)
  target_compile_features(allocation_meter_${variant}_test PRIVATE cxx_std_20)
  frugal_target_warnings(allocation_meter_${variant}_test)
  catch_discover_tests(allocation_meter_${variant}_test EXTRA_ARGS --warn NoTests
    TEST_PREFIX "allocation_meter (${variant}): " PROPERTIES LABELS unit
    ENVIRONMENT "ASAN_OPTIONS=allocator_may_return_null=1")
endforeach()

# A -fvisibility=hidden shared library built in another mode than the program (the hook's
# state has one name in every mode, and is exported) measures through the program's hook.
add_library(allocation_meter_dso_lib SHARED allocation_meter_dso/lib.cpp)
target_link_libraries(allocation_meter_dso_lib PRIVATE frugal::frugal)
target_compile_definitions(allocation_meter_dso_lib PRIVATE
  $<IF:$<CONFIG:Debug>,NDEBUG,FRUGAL_HARDENED>)
set_target_properties(allocation_meter_dso_lib PROPERTIES CXX_VISIBILITY_PRESET hidden
  VISIBILITY_INLINES_HIDDEN ON)
frugal_target_warnings(allocation_meter_dso_lib)
add_executable(allocation_meter_dso allocation_meter_dso/main.cpp)
target_link_libraries(allocation_meter_dso PRIVATE frugal::frugal allocation_meter_dso_lib)
frugal_target_warnings(allocation_meter_dso)
add_test(NAME "allocation_meter: a hidden-visibility shared library in another build mode"
  COMMAND allocation_meter_dso)
set_tests_properties("allocation_meter: a hidden-visibility shared library in another build mode"
  PROPERTIES LABELS unit)
