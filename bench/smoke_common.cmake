# Shared start of the benchmarks' CTest smoke scripts (included by bench/*/smoke.cmake): checks
# -DBIN and -DWORK, empties WORK, defines step() (runs a command on one thread, fails the test
# with its stderr, leaves its stdout in step_output) and `source` (prepare-data's --source-uri
# when -DDATA is given).
foreach(v BIN WORK)
  if(NOT ${v})
    message(FATAL_ERROR "smoke.cmake: -D${v}= is required")
  endif()
endforeach()
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})

function(step)
  execute_process(COMMAND ${ARGN} --threads 1 RESULT_VARIABLE rc ERROR_VARIABLE err
                  OUTPUT_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${err}")
  endif()
  set(step_output "${out}" PARENT_SCOPE)
endfunction()

set(source)
if(DATA)
  set(source --source-uri ${DATA})
endif()
