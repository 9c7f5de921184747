// train: clean training of a new model (the paper CNN or a small ResNet) on a dataset artifact, or
// clean fine-tuning of an existing model folder (--init-model) on new labelled data.
#pragma once

#include <filesystem>
#include <string>

#include "cli/spec.h"
#include "training/schedule.h"

namespace advkfp::train {

struct Options : cli::CommonOptions, cli::CheckpointOptions, cli::SigningOptions {
  std::filesystem::path dataset, model, metrics;
  std::filesystem::path init_model;  ///< optional: fine-tune this model instead of a new one
  std::string architecture = "paper-cnn";
  int64_t epochs = training::Schedule{}.epochs;
  int64_t batch_size = training::Schedule{}.batch_size;
  double learning_rate = training::Schedule{}.learning_rate;
  int64_t lr_step = training::Schedule{}.lr_step;
  double lr_gamma = training::Schedule{}.lr_gamma;
  int64_t limit = 0;
};

/// The tool's declaration (train_spec.cpp, torch-free).
const cli::Spec<Options>& spec();
/// spec() bound to the run code: what main() and in-process callers run.
const cli::Spec<Options>& tool();

}  // namespace advkfp::train
