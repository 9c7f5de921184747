# CTest bench.detection: bench-detection end to end on a tiny slice, so CI keeps it working.
# prepare-data (2000 train / 600 test images) -> train (2 epochs) -> bench-detection (300 reference
# images, windows of 50 and 150, 10 windows per cell, one calibrated and one held-out shift, a
# short adaptive attack), then checks the JSON has every cell.
#   cmake -DBIN=<build/bin> -DWORK=<scratch dir> [-DDATA=<fashion-mnist dir>] -P smoke.cmake
include(${CMAKE_CURRENT_LIST_DIR}/../smoke_common.cmake)

step(${BIN}/prepare-data --train-dataset ${WORK}/train --test-dataset ${WORK}/test
     --train-limit 2000 --test-limit 600 ${source})
step(${BIN}/train --dataset ${WORK}/train --model ${WORK}/model --metrics ${WORK}/train.json
     --epochs 2 --seed 1 --log-every 0)
step(${BIN}/bench-detection --model ${WORK}/model --dataset ${WORK}/test
     --results ${WORK}/results.json --reference-count 300 --window-sizes 50,150 --trials 10
     --epsilons 0.1 --fractions 0.5,1 --pgd-steps 3 --calibration-shifts brightness:0.1
     --held-out-shifts gain:0.8 --adaptive-epsilons 0.1 --adaptive-count 150 --adaptive-steps 2
     --seed 2)
message(STATUS "${step_output}")

file(READ ${WORK}/results.json json)
string(JSON cells LENGTH "${json}" cells)
# (clean + 1 calibrated shift + 1 held-out shift + (2 attacks + 1 adaptive) x 1 eps x 2 fractions
# = 9 rows) x 2 window sizes
if(NOT cells EQUAL 18)
  message(FATAL_ERROR "results.json has ${cells} cells, expected 18")
endif()
foreach(i RANGE 17)
  foreach(key alarm_rate attack_rate shift_rate)
    string(JSON rate GET "${json}" cells ${i} ${key})
    if(rate LESS 0 OR rate GREATER 1)
      message(FATAL_ERROR "cell ${i}: ${key} ${rate} is not a rate")
    endif()
  endforeach()
endforeach()
string(JSON kind GET "${json}" cells 4 kind)
if(NOT kind STREQUAL "held-out-shift")
  message(FATAL_ERROR "cell 4 is ${kind}, expected the held-out shift")
endif()
if(NOT step_output MATCHES "\\| FGSM eps 0.1 \\| attack \\| 100.0% \\|")
  message(FATAL_ERROR "the table has no full-window FGSM row:\n${step_output}")
endif()
