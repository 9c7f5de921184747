// IDX files, raw or gzip (zlib tells them apart by content): data::read_idx_images and
// data::read_idx_labels, as prepare-data and every dataset load read them.
#include <torch/torch.h>

#include "data/idx.h"
#include "fuzz.h"

using namespace advkfp;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  torch::set_num_threads(1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = fuzz::write_file("input.idx", fuzz::text(data, size));
  fuzz::expect_clean_refusal([&] { data::read_idx_images(path, "images"); });
  fuzz::expect_clean_refusal([&] { data::read_idx_labels(path, "labels"); });
  return 0;
}
