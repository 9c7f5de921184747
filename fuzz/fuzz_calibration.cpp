// The calibration artifact of label-free detection: detection::load_calibration, as
// detect-degradation --calibration-in and serve --calibration read it.
#include <torch/torch.h>

#include "detection/detection.h"
#include "fuzz.h"

using namespace advkfp;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  torch::set_num_threads(1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = fuzz::write_file("calibration.json", fuzz::text(data, size));
  fuzz::expect_clean_refusal([&] { detection::load_calibration(path, "calibration"); });
  return 0;
}
