// pgd-train: adversarial training (Madry PGD, fast, free or TRADES), fine-tuning a deployed model
// or from scratch.
#pragma once

#include <filesystem>
#include <string>

#include "attacks/settings.h"
#include "cli/spec.h"
#include "training/schedule.h"

namespace advkfp::pgd_train {

struct Options : cli::CommonOptions, cli::CheckpointOptions, cli::SigningOptions {
  std::filesystem::path model, dataset, robust_model, metrics;
  std::string method = "madry";
  double epsilon = attacks::kDefaultEpsilon;
  double step_size = 0.0;
  int64_t steps = 7;
  bool random_start = true;
  int64_t epochs = 5;
  int64_t batch_size = training::Schedule{}.batch_size;
  double learning_rate = training::Schedule{}.learning_rate;
  int64_t lr_step = training::Schedule{}.lr_step;
  double lr_gamma = training::Schedule{}.lr_gamma;
  std::string lr_schedule = "auto";
  double adversarial_fraction = 0.5;
  double fast_step_factor = training::AdversarialSchedule{}.fast_step_factor;
  int64_t free_replays = training::AdversarialSchedule{}.free_replays;
  double trades_beta = training::AdversarialSchedule{}.trades_beta;
  int64_t ramp_epochs = training::AdversarialSchedule{}.ramp_epochs;
  bool from_scratch = false;
  int64_t validation_size = 1000;
  int64_t validation_steps = 20;
  std::string validation_attack = "pgd";
  bool keep_best = training::AdversarialSchedule{}.keep_best;
  double collapse_drop = 0.2;
  double target_robust_accuracy = training::AdversarialSchedule{}.target_robust_accuracy;
  int64_t check_every = training::AdversarialSchedule{}.check_every;
  int64_t limit = 0;
};

/// The tool's declaration (pgd_train_spec.cpp, torch-free).
const cli::Spec<Options>& spec();
/// spec() bound to the run code: what main() and in-process callers run.
const cli::Spec<Options>& tool();

}  // namespace advkfp::pgd_train
