// A model folder's sidecar (model.json): model::read_sidecar, which model::load_model runs before
// it hashes and loads model.pt.
#include <torch/torch.h>

#include "fuzz.h"
#include "model/classifier.h"
#include "model/sidecar.h"

using namespace advkfp;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  torch::set_num_threads(1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = fuzz::write_file(model::kSidecarFile, fuzz::text(data, size));
  fuzz::expect_clean_refusal([&] { model::read_sidecar(path, "model"); });
  return 0;
}
