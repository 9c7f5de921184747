// train: clean training of a new model (the paper CNN or a small ResNet) on a dataset artifact.
#pragma once

#include <filesystem>
#include <string>

#include "cli/spec.h"

namespace advkfp::train {

struct Options : cli::CommonOptions {
  std::filesystem::path dataset, model, metrics;
  std::string architecture = "paper-cnn";
  int64_t epochs = 10;
  int64_t batch_size = 64;
  double learning_rate = 1e-3;
  int64_t lr_step = 5;
  double lr_gamma = 0.5;
  int64_t limit = 0;
  std::filesystem::path checkpoint_dir;
  bool resume = false;
  std::filesystem::path signing_key;
};

/// The tool's declaration (train_spec.cpp, torch-free).
const cli::Spec<Options>& spec();
/// spec() bound to the run code: what main() and in-process callers run.
const cli::Spec<Options>& tool();

}  // namespace advkfp::train
