# CTest bench.serve: bench-serve end to end on a tiny slice, so CI keeps it working.
# prepare-data (500 train / 100 test) -> train (1 epoch) -> bench-serve (1 and 4 clients, batching
# off and on with two delays, 1 s each), then checks every row answered requests and none failed
# (printing the recorded reasons when some did).
#   cmake -DBIN=<build/bin> -DWORK=<scratch dir> [-DDATA=<fashion-mnist dir>] -P smoke.cmake
include(${CMAKE_CURRENT_LIST_DIR}/../smoke_common.cmake)

step(${BIN}/prepare-data --train-dataset ${WORK}/train --test-dataset ${WORK}/test
     --train-limit 500 --test-limit 100 ${source})
step(${BIN}/train --dataset ${WORK}/train --model ${WORK}/model --metrics ${WORK}/train.json
     --epochs 1 --seed 1 --log-every 0)
step(${BIN}/bench-serve --model ${WORK}/model --dataset ${WORK}/test --results ${WORK}/results.json
     --clients 1,4 --max-batch-sizes 1,8 --max-batch-delays-ms 0,2 --duration-s 1 --serve-threads 1
     --http-threads 8)
message(STATUS "${step_output}")

file(READ ${WORK}/results.json json)
string(JSON rows LENGTH "${json}" rows)
# Batching off runs once whatever the delay: 2 clients x (1 + 2 delays).
if(NOT rows EQUAL 6)
  message(FATAL_ERROR "results.json has ${rows} rows, expected 6")
endif()
foreach(i RANGE 5)
  string(JSON requests GET "${json}" rows ${i} requests)
  string(JSON failed GET "${json}" rows ${i} failed)
  string(JSON reasons GET "${json}" rows ${i} failures)
  if(requests LESS 1 OR NOT failed EQUAL 0)
    message(FATAL_ERROR "row ${i}: ${requests} requests, ${failed} failed: ${reasons}")
  endif()
endforeach()
