# check-specs.cmake - runs `s2sc --emit=ast` and `s2sc --emit=mlir-opt` (the
# whole pipeline) on every spec in stdlib/ and examples/; fails naming each
# spec that does not compile cleanly.
# Usage: cmake -DS2SC=path/to/s2sc -DROOT=source-root -P check-specs.cmake
file(GLOB_RECURSE specs ${ROOT}/stdlib/*.s2s ${ROOT}/examples/*.s2s)
list(SORT specs)
set(failed "")
list(LENGTH specs count)
if(count EQUAL 0)
  message(FATAL_ERROR "no specs found under ${ROOT}/stdlib and ${ROOT}/examples")
endif()
foreach(spec ${specs})
  execute_process(COMMAND ${S2SC} ${spec} --emit=ast
                  RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err)
  if(rc EQUAL 0)
    execute_process(COMMAND ${S2SC} ${spec} --emit=mlir-opt
                    RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err)
  endif()
  file(RELATIVE_PATH rel ${ROOT} ${spec})
  if(rc EQUAL 0)
    message(STATUS "ok      ${rel}")
  else()
    message(STATUS "FAILED  ${rel}\n${err}")
    list(APPEND failed ${rel})
  endif()
endforeach()
if(failed)
  message(FATAL_ERROR "specs that do not check: ${failed}")
endif()
message(STATUS "${count} specs check cleanly")
