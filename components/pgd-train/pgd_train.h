// pgd-train: Madry PGD adversarial training, fine-tuning a deployed model.
#pragma once

#include <filesystem>

#include "cli/spec.h"

namespace advkfp::pgd_train {

struct Options : cli::CommonOptions {
  std::filesystem::path model, dataset, robust_model, metrics;
  double epsilon = 0.15;
  double step_size = 0.0;
  int64_t steps = 7;
  bool random_start = true;
  int64_t epochs = 5;
  int64_t batch_size = 64;
  double learning_rate = 1e-3;
  int64_t lr_step = 5;
  double lr_gamma = 0.5;
  double adversarial_fraction = 0.5;
  int64_t validation_size = 1000;
  int64_t validation_steps = 10;
  bool keep_best = true;
  int64_t limit = 0;
};

/// The tool's declaration (pgd_train_spec.cpp, torch-free).
const cli::Spec<Options>& spec();
/// spec() bound to the run code: what main() and in-process callers run.
const cli::Spec<Options>& tool();

}  // namespace advkfp::pgd_train
