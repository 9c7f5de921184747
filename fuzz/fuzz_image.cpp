// PNG and JPEG files of image folders: data::decode_image (libpng's simplified API, libjpeg-turbo),
// as prepare-data decodes each file of train/<class>/ and test/<class>/.
#include <torch/torch.h>

#include "data/image_folder.h"
#include "fuzz.h"

using namespace advkfp;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  torch::set_num_threads(1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = fuzz::write_file("input.img", fuzz::text(data, size));
  fuzz::expect_clean_refusal([&] { data::decode_image(path, "image"); });
  return 0;
}
