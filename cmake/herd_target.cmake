# Warnings as errors on our own targets only; third-party headers come in as SYSTEM.
function(herd_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow
                                           -Wnon-virtual-dtor -Wold-style-cast)
  # A unity build (CMAKE_UNITY_BUILD) #includes each .cpp into one source, so GCC takes a .cpp's
  # file-local types as a header's and warns that a class using them has internal linkage.
  if(CMAKE_UNITY_BUILD)
    target_compile_options(${target} PRIVATE $<$<CXX_COMPILER_ID:GNU>:-Wno-subobject-linkage>)
  endif()
  # Off only in the fuzz preset: clang-14 warns about things GCC 12 (the project's compiler) does not.
  if(HERD_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

# herd_library(<module> SOURCES ... DEPS ...): one folder = one library herd::<module>
# with public headers under <module>/include/herd/<module>/.
function(herd_library module)
  cmake_parse_arguments(ARG "" "" "SOURCES;PUBLIC_DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(herd_${module} STATIC ${ARG_SOURCES})
  add_library(herd::${module} ALIAS herd_${module})
  target_include_directories(herd_${module} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include
                                            PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
  target_link_libraries(herd_${module} PUBLIC ${ARG_PUBLIC_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  target_compile_features(herd_${module} PUBLIC cxx_std_20)
  herd_warnings(herd_${module})
endfunction()

function(herd_executable name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS})
  herd_warnings(${name})
endfunction()

# herd_discover_tests(<target> PROPERTIES ...): doctest_discover_tests with a guard. Each ctest
# entry runs one doctest case by name; an entry whose run matched no case fails instead of passing
# with nothing run. ctest splits a name at ';', so a TEST_CASE named with one became an entry that
# ran no test (the headless-Chromium dashboard test did, unseen, until 2026-12-02).
function(herd_discover_tests target)
  include(doctest)
  doctest_discover_tests(${target} ${ARGN} FAIL_REGULAR_EXPRESSION "test cases: +0 [|]")
endfunction()
