// The optimiser schedule of training (Adam + StepLR): defaults and ranges, torch-free. TrainConfig,
// the train and pgd-train flags and the pipelines read them from here.
#pragma once

#include <cstdint>

#include "common/checks.h"

namespace advkfp::training {

/// Clean training's settings: the paper's 10 epochs of Adam at 1e-3 in batches of 64, halved
/// every 5 epochs.
struct Schedule {
  int64_t epochs = 10;
  int64_t batch_size = 64;
  double learning_rate = 1e-3;  ///< Adam
  int64_t lr_step = 5;          ///< StepLR: multiply the rate by lr_gamma every lr_step epochs
  double lr_gamma = 0.5;
};

/// The range of each Schedule field (0 epochs is allowed: the model as initialised).
inline checks::Check epochs_range() { return checks::at_least(0); }
inline checks::Check batch_size_range() { return checks::at_least(1); }
inline checks::Check learning_rate_range() { return checks::in_range(0, 10, true, true); }
inline checks::Check lr_step_range() { return checks::at_least(1); }
inline checks::Check lr_gamma_range() { return checks::in_range(0, 1, true, false); }

/// Adversarial training's method settings, shared by AdversarialConfig and pgd-train's flags.
struct AdversarialSchedule {
  double fast_step_factor = 1.25;  ///< fast: FGSM step = factor * eps (Wong et al., 2020)
  int64_t free_replays = 4;        ///< free: replays m of each batch
  double trades_beta = 6.0;        ///< trades: weight of the KL term (the TRADES paper's 6)
  int64_t ramp_epochs = 0;         ///< eps rises linearly over these epochs (0: none)
  bool keep_best = true;           ///< restore the check with the best robust accuracy
  double target_robust_accuracy = 0.0;  ///< stop once a check reaches it (0: never)
  int64_t check_every = 0;  ///< also check every N batches (0: after each epoch only)
};

inline checks::Check fraction_range() { return checks::in_range(0, 1); }  ///< shares, rates
inline checks::Check fast_step_factor_range() { return checks::in_range(0, 10, true, false); }
inline checks::Check free_replays_range() { return checks::at_least(1); }
inline checks::Check trades_beta_range() { return checks::in_range(0, 1000); }
inline checks::Check count_range() { return checks::at_least(0); }  ///< 0 meaning none / off

}  // namespace advkfp::training
