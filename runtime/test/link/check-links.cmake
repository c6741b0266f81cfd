# check-links.cmake -DPROGRAM=<exe>: PROGRAM is linked like a generated
# program (s2s::runtime). Fails when NetCDF or libpng is among the
# libraries it loads other than through LibTorch's own (libtorch*,
# libc10*): a walk of the DT_NEEDED entries (readelf -d) from the program
# that does not enter LibTorch's libraries must meet neither. (Debian's
# LibTorch 1.13 itself loads both: libtorch_cpu needs OpenCV, whose
# imgcodecs needs GDAL, which needs libnetcdf and libpng; LibTorch from
# pytorch.org needs neither. So plain `ldd | grep` cannot tell here.)
# Also fails when the program does not load libs2s_train or does not run.
cmake_minimum_required(VERSION 3.20)
execute_process(COMMAND ldd ${PROGRAM} OUTPUT_VARIABLE ldd_out
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "ldd ${PROGRAM} failed (${rc})")
endif()
if(ldd_out MATCHES "not found")
  message(FATAL_ERROR "${PROGRAM} has libraries ldd cannot find:\n${ldd_out}")
endif()

# soname -> path, from ldd's "name => path (address)" lines.
string(REGEX MATCHALL "[^\t\n ]+ => [^ \n]+" pairs "${ldd_out}")
foreach(pair ${pairs})
  string(REGEX REPLACE " => .*" "" soname "${pair}")
  string(REGEX REPLACE ".* => " "" path "${pair}")
  string(MAKE_C_IDENTIFIER "${soname}" key)
  set(path_${key} "${path}")
endforeach()

function(needed_of file out)
  execute_process(COMMAND readelf -d ${file} OUTPUT_VARIABLE d RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "readelf -d ${file} failed")
  endif()
  string(REGEX MATCHALL "Shared library: \\[[^]]+\\]" entries "${d}")
  set(names)
  foreach(e ${entries})
    string(REGEX REPLACE "Shared library: \\[(.*)\\]" "\\1" n "${e}")
    list(APPEND names ${n})
  endforeach()
  set(${out} ${names} PARENT_SCOPE)
endfunction()

# Breadth first from the program; `via_<lib>` remembers who needed it.
needed_of(${PROGRAM} queue)
foreach(n ${queue})
  string(MAKE_C_IDENTIFIER "${n}" k)
  set(via_${k} "the program")
endforeach()
set(seen)
set(train FALSE)
while(queue)
  list(POP_FRONT queue name)
  if(name IN_LIST seen)
    continue()
  endif()
  list(APPEND seen ${name})
  string(MAKE_C_IDENTIFIER "${name}" k)
  if(name MATCHES "netcdf|png")
    message(FATAL_ERROR "${PROGRAM} loads ${name} (needed by ${via_${k}}), "
                        "not through LibTorch")
  endif()
  if(name MATCHES "^libs2s_train")
    set(train TRUE)
  endif()
  if(name MATCHES "^(libtorch|libc10)" OR NOT DEFINED path_${k})
    continue() # LibTorch's own dependencies are not the runtime's
  endif()
  needed_of(${path_${k}} next)
  foreach(n ${next})
    string(MAKE_C_IDENTIFIER "${n}" nk)
    if(NOT DEFINED via_${nk})
      set(via_${nk} "${name}")
    endif()
    list(APPEND queue ${n})
  endforeach()
endwhile()
if(NOT train)
  message(FATAL_ERROR "${PROGRAM} does not load libs2s_train: not linked as a "
                      "generated program")
endif()

execute_process(COMMAND ${PROGRAM} --help OUTPUT_VARIABLE help
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR NOT help MATCHES "usage: ")
  message(FATAL_ERROR "${PROGRAM} --help failed (${rc}): ${help}")
endif()
list(LENGTH seen n)
message("ok: ${n} libraries reached outside LibTorch, none of them NetCDF "
        "or libpng")
if(ldd_out MATCHES "netcdf|png")
  message("(ldd lists them: LibTorch's own dependencies load them)")
endif()
