// The small valid artifacts the fuzz targets build around their input, shared with the seed
// generator so that seeds and targets agree.
#pragma once

#include "data/dataset.h"

namespace advkfp::fuzz {

/// Three 1x4x4 images (uint8 values), labels 0, 1, 2, classes "a", "b", "c": the dataset folder
/// fuzz_dataset reads its fuzzed manifest against.
data::Dataset fixture_dataset();

}  // namespace advkfp::fuzz
