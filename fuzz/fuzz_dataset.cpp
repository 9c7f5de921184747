// The dataset manifest (dataset.json) of a dataset folder: data::load_dataset, as every tool
// taking a dataset reads it. The folder's IDX files are a fixed small valid pair
// (fuzz/fixtures.h); the input is the manifest.
#include <torch/torch.h>

#include "data/dataset.h"
#include "fixtures.h"
#include "fuzz.h"

using namespace advkfp;

namespace {
std::filesystem::path dir;
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  torch::set_num_threads(1);
  dir = fuzz::work_dir() / "dataset";
  data::save_dataset(dir, fuzz::fixture_dataset(), data::ImageEncoding::kUint8, "fixture");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::write_file("dataset/" + std::string(data::kManifestName), fuzz::text(data, size));
  fuzz::expect_clean_refusal([&] { data::load_dataset(dir, "dataset"); });
  return 0;
}
