// pgd-train: adversarial training (Madry PGD, fast, free or TRADES), fine-tuning a deployed model
// or from scratch.
#pragma once

#include <filesystem>
#include <string>

#include "cli/spec.h"

namespace advkfp::pgd_train {

struct Options : cli::CommonOptions {
  std::filesystem::path model, dataset, robust_model, metrics;
  std::string method = "madry";
  double epsilon = 0.15;
  double step_size = 0.0;
  int64_t steps = 7;
  bool random_start = true;
  int64_t epochs = 5;
  int64_t batch_size = 64;
  double learning_rate = 1e-3;
  int64_t lr_step = 5;
  double lr_gamma = 0.5;
  std::string lr_schedule = "auto";
  double adversarial_fraction = 0.5;
  double fast_step_factor = 1.25;
  int64_t free_replays = 4;
  double trades_beta = 6.0;
  int64_t ramp_epochs = 0;
  bool from_scratch = false;
  int64_t validation_size = 1000;
  int64_t validation_steps = 20;
  bool keep_best = true;
  double collapse_drop = 0.2;
  double target_robust_accuracy = 0.0;
  int64_t check_every = 0;
  int64_t limit = 0;
  std::filesystem::path checkpoint_dir;
  bool resume = false;
  std::filesystem::path signing_key;
};

/// The tool's declaration (pgd_train_spec.cpp, torch-free).
const cli::Spec<Options>& spec();
/// spec() bound to the run code: what main() and in-process callers run.
const cli::Spec<Options>& tool();

}  // namespace advkfp::pgd_train
