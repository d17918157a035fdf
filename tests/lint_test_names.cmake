# Fails when a doctest TEST_CASE name contains a semicolon: ctest splits a test name there, so CI
# ran two halves that matched no test and reported them failed (twice: 145f1c1, and the
# partition window case of 2026-12-03). Run as a ctest: cmake -DROOT=<source dir> -P <this file>.
set(found "")
foreach(dir tests rules cloud firmware-sim forwarder buffer gateway sensors core kafka daemon bench fuzz)
  file(GLOB_RECURSE sources LIST_DIRECTORIES false "${ROOT}/${dir}/*.cpp" "${ROOT}/${dir}/*.hpp")
  foreach(src IN LISTS sources)
    file(STRINGS "${src}" hits REGEX "TEST_CASE\\(\"[^\"]*;")
    if(hits)
      file(RELATIVE_PATH rel "${ROOT}" "${src}")
      list(APPEND found "${rel}")
    endif()
  endforeach()
endforeach()
if(found)
  list(JOIN found ", " files)
  message(FATAL_ERROR "a TEST_CASE name contains a semicolon (ctest splits the name there) in: ${files}")
endif()
