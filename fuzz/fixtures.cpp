#include "fixtures.h"

namespace advkfp::fuzz {

data::Dataset fixture_dataset() {
  data::Dataset ds;
  ds.images = torch::arange(3 * 16, torch::kFloat32).reshape({3, 1, 4, 4}).mul_(5).div_(255);
  ds.labels = torch::tensor({0, 1, 2}, torch::kInt64);
  ds.class_names = {"a", "b", "c"};
  ds.provenance = {{"source", "fuzz fixture"}};
  return ds;
}

}  // namespace advkfp::fuzz
