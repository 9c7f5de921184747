// NumPy .npy files: data::parse_npy, then the image and label conversions prepare-data applies
// to the arrays it reads (data::npy_images, data::npy_labels).
#include <torch/torch.h>

#include "data/numpy.h"
#include "fuzz.h"

using namespace advkfp;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  torch::set_num_threads(1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::expect_clean_refusal([&] {
    const auto a = data::parse_npy(fuzz::text(data, size), "array");
    bool from_uint8 = false;
    fuzz::expect_clean_refusal([&] { data::npy_images(a, "images", from_uint8); });
    fuzz::expect_clean_refusal([&] { data::npy_labels(a, "labels"); });
  });
  return 0;
}
