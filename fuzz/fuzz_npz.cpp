// NumPy .npz archives (zip, stored or deflated, zip64): data::read_npz, then the image and label
// conversions of every member, as prepare-data reads train.npz / test.npz.
#include <torch/torch.h>

#include "data/numpy.h"
#include "fuzz.h"

using namespace advkfp;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  torch::set_num_threads(1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = fuzz::write_file("input.npz", fuzz::text(data, size));
  fuzz::expect_clean_refusal([&] {
    // A loop over pairs, not structured bindings: C++17 lambdas cannot capture those (clang).
    for (const auto& member : data::read_npz(path, "source_uri")) {
      const auto& name = member.first;
      const auto& a = member.second;
      bool from_uint8 = false;
      fuzz::expect_clean_refusal([&] { data::npy_images(a, name, from_uint8); });
      fuzz::expect_clean_refusal([&] { data::npy_labels(a, name); });
    }
  });
  return 0;
}
