// Clean training and Madry PGD adversarial training of a Classifier.
#pragma once

#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "attacks/attacks.h"
#include "data/dataset.h"
#include "model/classifier.h"

namespace advkfp::training {

struct TrainConfig {
  int64_t epochs = 10;
  int64_t batch_size = 64;
  double learning_rate = 1e-3;  ///< Adam
  int64_t lr_step = 5;          ///< StepLR: multiply the rate by lr_gamma every lr_step epochs
  double lr_gamma = 0.5;
  int64_t seed = 0;             ///< shuffling and attack random starts
  int64_t log_every = 100;      ///< batches between progress lines

  /// Throws advkfp::UsageError naming the parameter when a value is out of range.
  void validate() const;
};

struct EpochRecord {
  int64_t epoch = 0;  ///< 1-based; 0 is the model before training (validation only)
  double learning_rate = 0;
  double train_loss = 0;      ///< mean over the epoch's batches (on what was trained on)
  double train_accuracy = 0;  ///< running accuracy on what was trained on
  double seconds = 0;
  double images_per_second = 0;
  std::optional<double> validation_accuracy;         ///< clean, held-out slice
  std::optional<double> validation_robust_accuracy;  ///< under the validation attack
};

/// Trains with Adam + StepLR and cross-entropy on shuffled mini-batches (a seeded permutation per
/// epoch). Needs a labelled set. Returns one record per epoch.
std::vector<EpochRecord> train_clean(model::Classifier& net, const data::Dataset& train,
                                     const TrainConfig& config);

struct AdversarialConfig {
  TrainConfig train;                      ///< optimiser settings (fine-tuning: a low rate)
  attacks::AttackConfig attack;           ///< crafted against the current model each batch
  double adversarial_fraction = 1.0;      ///< share of each batch replaced by its PGD version
  attacks::AttackConfig validation_attack;  ///< per-epoch robust check on the held-out slice
  bool keep_best = true;                  ///< restore the epoch with the best robust accuracy

  void validate() const;
};

struct AdversarialResult {
  std::vector<EpochRecord> history;  ///< history[0] is the starting model (epoch 0)
  int64_t best_epoch = 0;            ///< epoch whose weights the model holds at the end
};

/// Madry PGD adversarial training, starting from the model's current weights. Each batch: put the
/// model in eval mode, craft `attack` examples for the first round(fraction * B) images, train on
/// adversarial + remaining clean images. After every epoch evaluates `validation` clean and under
/// `validation_attack`; with keep_best the best robust epoch (epoch 0 included) is restored.
AdversarialResult train_adversarial(model::Classifier& net, const data::Dataset& train,
                                    const data::Dataset& validation,
                                    const AdversarialConfig& config);

nlohmann::json to_json(const EpochRecord& r);
nlohmann::json to_json(const TrainConfig& c);

}  // namespace advkfp::training
