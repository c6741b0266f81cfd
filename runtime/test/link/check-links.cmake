# check-links.cmake -DPROGRAM=<exe>: fails when ldd of PROGRAM (a program
# linked like a generated one) lists NetCDF or libpng, or does not list
# the training room, or when the program does not run (--help).
execute_process(COMMAND ldd ${PROGRAM} OUTPUT_VARIABLE libs
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "ldd ${PROGRAM} failed (${rc})")
endif()
message("${libs}")
if(NOT libs MATCHES "libs2s_train")
  message(FATAL_ERROR "${PROGRAM} does not load libs2s_train: not linked as a generated program")
endif()
if(libs MATCHES "not found")
  message(FATAL_ERROR "${PROGRAM} has libraries ldd cannot find")
endif()
foreach(forbidden netcdf png)
  if(libs MATCHES "lib[^ \t\n]*${forbidden}")
    string(REGEX MATCH "[^\n]*${forbidden}[^\n]*" line "${libs}")
    message(FATAL_ERROR "a generated program loads ${forbidden}: ${line}")
  endif()
endforeach()
execute_process(COMMAND ${PROGRAM} --help OUTPUT_VARIABLE help
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR NOT help MATCHES "usage: ")
  message(FATAL_ERROR "${PROGRAM} --help failed (${rc}): ${help}")
endif()
message("ok: no NetCDF, no libpng")
