// Clean training and adversarial training of a Classifier: Madry PGD, fast (FGSM from a random
// start), free (minibatch replay) and TRADES.
#pragma once

#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "attacks/attacks.h"
#include "data/dataset.h"
#include "model/classifier.h"
#include "training/checkpoint.h"
#include "training/schedule.h"

namespace advkfp::training {

struct TrainConfig : Schedule {
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
/// epoch). Needs a labelled set. Returns one record per epoch. With `checkpoint` enabled, the
/// state is saved after every epoch, and a resumed run continues from the saved epoch to the same
/// weights and history as one that was never interrupted (same computation on one thread).
std::vector<EpochRecord> train_clean(model::Classifier& net, const data::Dataset& train,
                                     const TrainConfig& config,
                                     const CheckpointConfig& checkpoint = {});

/// How each batch is made adversarial and trained on.
enum class AdversarialMethod {
  kMadry,   ///< PGD examples (attack) for a share of the batch, cross-entropy
  kFast,    ///< FGSM from a uniform random start, step fast_step_factor * eps (Wong et al. 2020)
  kFree,    ///< each batch replayed free_replays times, the perturbation carried (Shafahi et al. 2019)
  kTrades,  ///< CE(clean) + beta * KL(clean || adversarial), PGD on the KL (Zhang et al. 2019)
};
/// Parses "madry", "fast", "free" or "trades". Throws advkfp::UsageError otherwise.
AdversarialMethod parse_adversarial_method(const std::string& name);
std::string adversarial_method_name(AdversarialMethod m);

enum class LrSchedule {
  kStep,      ///< StepLR: lr * gamma^floor((epoch - 1) / lr_step)
  kOneCycle,  ///< linear from 0 up to lr at 40% of all batches, then linear down to 0
};
/// Parses "step" or "one-cycle". Throws advkfp::UsageError otherwise.
LrSchedule parse_lr_schedule(const std::string& name);
std::string lr_schedule_name(LrSchedule s);

/// The rate of batch `batch` (0-based) of epoch `epoch` (1-based) with `batches` per epoch.
double learning_rate_at(const TrainConfig& cfg, LrSchedule schedule, int64_t epoch, int64_t batch,
                        int64_t batches);

/// The training attack's budget at global batch `t` (0-based) with `batches` per epoch: rises
/// linearly to eps over the first `ramp_epochs` epochs ((t + 1) / (ramp_epochs * batches) of it),
/// then stays at eps.
double ramped_epsilon(double eps, int64_t ramp_epochs, int64_t t, int64_t batches);

/// TRADES' objective on one batch: mean CE(clean logits, y) + beta * mean over rows of
/// KL(softmax(clean) || softmax(adversarial)); gradients flow through both logits.
torch::Tensor trades_loss(const torch::Tensor& clean_logits, const torch::Tensor& adv_logits,
                          const torch::Tensor& y, double beta);

struct AdversarialConfig : AdversarialSchedule {
  TrainConfig train;                      ///< optimiser settings (fine-tuning: a low rate)
  AdversarialMethod method = AdversarialMethod::kMadry;
  LrSchedule lr_schedule = LrSchedule::kStep;
  attacks::AttackConfig attack;           ///< madry: PGD each batch; trades: steps and step of the
                                          ///< KL attack; every method: epsilon
  double adversarial_fraction = 1.0;      ///< madry, fast: share of each batch made adversarial
  attacks::AttackConfig validation_attack;  ///< robust check on the held-out slice
  /// Stop when a check's robust accuracy falls more than this below the best one (catastrophic
  /// overfitting) and restore the best; 0 disables.
  double collapse_drop = 0.0;

  void validate() const;
};

/// One robust check on the held-out slice.
struct CheckPoint {
  int64_t epoch = 0;        ///< epoch in progress (0: the starting model)
  int64_t batches = 0;      ///< batches trained so far, in all
  double seconds = 0;       ///< wall time since training started, checks included
  double train_seconds = 0; ///< the same without the time spent in checks
  double epsilon = 0;       ///< the training budget at that batch (ramp-up)
  double clean_accuracy = 0;
  double robust_accuracy = 0;
};

struct AdversarialResult {
  std::vector<EpochRecord> history;  ///< history[0] is the starting model (epoch 0)
  int64_t best_epoch = 0;            ///< epoch whose weights the model holds at the end
  std::vector<CheckPoint> curve;     ///< every check: robust accuracy against wall time
  int64_t best_check = 0;            ///< index into curve of the weights kept
  std::optional<CheckPoint> target_reached;  ///< the first check at or above the target
  std::optional<CheckPoint> collapse;        ///< the check that stopped training on a collapse
  bool stopped_early = false;
  double seconds = 0;                ///< wall time of the whole training, checks included
};

/// Adversarial training, starting from the model's current weights. Each batch, the method makes
/// its adversarial examples against the current weights (model in eval mode while crafting;
/// `free` crafts from the training step's own input gradient) and takes an optimiser step. The
/// model is checked on `validation` (clean and under `validation_attack`) before training, after
/// every epoch and every `check_every` batches; each check is a point of `curve`. With keep_best
/// the best robust check is restored at the end. Training stops early when a check reaches
/// `target_robust_accuracy` or falls `collapse_drop` below the best. `checkpoint` as for
/// train_clean (the state also holds the attack's generator, the best weights so far, the curve
/// and free's carried perturbation); times in the result continue the interrupted run's.
AdversarialResult train_adversarial(model::Classifier& net, const data::Dataset& train,
                                    const data::Dataset& validation,
                                    const AdversarialConfig& config,
                                    const CheckpointConfig& checkpoint = {});

nlohmann::json to_json(const CheckPoint& c);
CheckPoint check_point_from_json(const nlohmann::json& j);

nlohmann::json to_json(const EpochRecord& r);
EpochRecord epoch_record_from_json(const nlohmann::json& j);
nlohmann::json to_json(const TrainConfig& c);

}  // namespace advkfp::training
