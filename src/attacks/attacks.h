// L-infinity evasion attacks on [0,1] images: FGSM, PGD (with random start and restarts) and
// APGD-CE (Croce and Hein, ICML 2020).
#pragma once

#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "attacks/settings.h"
#include "model/classifier.h"

namespace advkfp::attacks {

enum class Method { kFgsm, kPgd, kApgd };

/// Parses "fgsm", "pgd" or "apgd". Throws advkfp::UsageError otherwise.
Method parse_method(const std::string& name);
std::string method_name(Method m);

struct AttackConfig {
  Method method = Method::kFgsm;
  double epsilon = kDefaultEpsilon;  ///< L-inf budget in pixel units, epsilon_range()
  double step_size = 0.0;   ///< PGD step alpha; 0 means the common rule 2.5 * eps / steps
                            ///< (APGD: ignored, its step starts at 2 eps and adapts)
  int64_t steps = 10;       ///< PGD / APGD iterations (>= 1)
  bool random_start = true; ///< PGD, APGD: start from clamp(x + U(-eps, eps), 0, 1)
  int64_t restarts = 1;     ///< PGD, APGD: independent runs; per sample the successful or highest-loss one

  /// The step actually used (applies the 2.5 * eps / steps rule when step_size is 0).
  double effective_step() const;
  /// Throws advkfp::UsageError naming the parameter when a value is out of range.
  void validate() const;
  /// e.g. "FGSM eps=0.15" or "PGD-20 eps=0.15 step=0.01 restarts=1 random-start".
  std::string describe() const;
};

/// FGSM on one batch: x' = clamp(x + eps * sign(grad_x CE(f(x), y)), 0, 1), mean-reduced CE on
/// logits, sign(0) = 0. `x` float32 [N,C,H,W] in [0,1]; `y` int64 [N]. The caller puts the model in
/// eval mode. Returns a new tensor, no autograd history; parameter gradients are not touched.
torch::Tensor fgsm(model::Classifier& net, const torch::Tensor& x, const torch::Tensor& y,
                   double epsilon);

/// PGD on one batch with the semantics of FGSM per step: x <- x + alpha * sign(grad), then project
/// onto the eps-ball around x and clamp to [0,1]; returns the last iterate (best restart per
/// sample). Random starts draw from `gen`, so the same generator state gives the same result.
torch::Tensor pgd(model::Classifier& net, const torch::Tensor& x, const torch::Tensor& y,
                  const AttackConfig& config, at::Generator& gen);

/// PGD that maximises KL(p_clean || softmax(f(x'))) instead of the cross-entropy: the inner
/// maximisation of TRADES (Zhang et al., ICML 2019). `p_clean` (float [N,K]) is the model's
/// softmax on the clean batch, held fixed. Starts at clamp(x + 0.001 * N(0, 1), 0, 1) drawn from
/// `gen` (as the TRADES reference code does), then `config.steps` steps of size
/// effective_step() with PGD's projection. The caller puts the model in eval mode.
torch::Tensor pgd_kl(model::Classifier& net, const torch::Tensor& x, const torch::Tensor& p_clean,
                     const AttackConfig& config, at::Generator& gen);

/// The KL divergence sum_k p_k (log p_k - log_softmax(logits)_k) per row (float [N]).
torch::Tensor kl_to_logits(const torch::Tensor& p, const torch::Tensor& logits);

/// APGD-CE on one batch (Croce and Hein, "Reliable evaluation of adversarial robustness with an
/// ensemble of diverse parameter-free attacks", ICML 2020, Algorithm 1, as in the AutoAttack
/// reference code): rows where `active` (bool [N]) is false keep the clean input; the others are
/// attacked with the per-image cross-entropy. Step size 2 eps at first, momentum 0.75; at the
/// checkpoints w_j = ceil(p_j N) with p_0 = 0, p_1 = 0.22, p_{j+1} = p_j + max(p_j - p_{j-1} -
/// 0.03, 0.06), an image's step is halved and it restarts from its best point when fewer than 75%
/// of the steps since the last checkpoint raised its loss, or when its step was not halved there
/// and its best loss did not improve since. An image the model misclassifies at an iterate keeps
/// that iterate and is no longer attacked; one never fooled gets its highest-loss point (over
/// restarts too). Random starts come from `gen`.
torch::Tensor apgd(model::Classifier& net, const torch::Tensor& x, const torch::Tensor& y,
                   const torch::Tensor& active, const AttackConfig& config, at::Generator& gen);

/// The APGD checkpoints for `steps` iterations: the iterations (1-based counts of steps done)
/// after which the step-size conditions are checked.
std::vector<int64_t> apgd_checkpoints(int64_t steps);

/// Dispatches to fgsm(), pgd() or apgd() (every row attacked).
torch::Tensor attack_batch(model::Classifier& net, const torch::Tensor& x, const torch::Tensor& y,
                           const AttackConfig& config, at::Generator& gen);

/// Labels for attacking unlabelled inputs: the model's own predictions (avoids label leaking).
torch::Tensor predicted_labels(model::Classifier& net, const torch::Tensor& x);

/// Attacks a whole image set batch by batch, with the model in eval mode. `labels` may be undefined,
/// in which case the model's predictions are used. Logs progress every `log_every` batches.
torch::Tensor attack_all(model::Classifier& net, const torch::Tensor& images,
                         const torch::Tensor& labels, const AttackConfig& config,
                         int64_t batch_size, int64_t seed, int64_t log_every);

/// Robust-accuracy evaluation of a whole labelled set, batch by batch, with the model in eval mode:
/// only images still classified correctly are attacked, as robustness evaluations do. An image the
/// model gets wrong on the clean input keeps the clean input; PGD checks every iterate (the random
/// start included) and an image fooled at one keeps that iterate, while later steps and restarts
/// run on the rest only. An image never fooled gets what pgd()/fgsm() give it (PGD: the last
/// iterate of its highest-loss restart). Random starts are drawn for whole batches exactly as
/// attack_all() draws them, so an image that is never fooled follows the same steps as there (up to
/// the summation order of its gradient: the loss is summed per image, so that an image's step does
/// not depend on which images share its batch). Accuracy on the result is at most attack_all()'s
/// (up to that rounding): lower by the images an intermediate iterate fooled and the last did not. `clean_predictions` (int64 [N]) saves the clean forward pass when the caller has
/// it; undefined: computed here.
torch::Tensor robust_attack_all(model::Classifier& net, const torch::Tensor& images,
                                const torch::Tensor& labels, const AttackConfig& config,
                                int64_t batch_size, int64_t seed, int64_t log_every,
                                const torch::Tensor& clean_predictions = {});

/// The configuration as recorded in metrics and model sidecars.
nlohmann::json to_json(const AttackConfig& c);

}  // namespace advkfp::attacks
