// prepare-data: turn IDX files (by default Debian's Fashion-MNIST) into train/test dataset folders.
#pragma once

#include <filesystem>
#include <string>

#include "cli/spec.h"

namespace advkfp::prepare_data {

struct Options : cli::CommonOptions {
  std::filesystem::path source_dir = "/usr/share/datasets/fashion-mnist";
  std::filesystem::path train_dataset, test_dataset;
  std::string class_names;
  int64_t train_limit = 0;
  int64_t test_limit = 0;
};

const cli::Spec<Options>& spec();

}  // namespace advkfp::prepare_data
