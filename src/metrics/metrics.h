// Classification and robustness metrics, and the degradation decision. Returns structs; no I/O.
#pragma once

#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "metrics/degradation_rule.h"
#include "model/classifier.h"

namespace advkfp::metrics {

/// Result of running a classifier over an image set.
struct Evaluation {
  int64_t count = 0;
  bool labelled = false;
  double accuracy = 0;         ///< fraction correct (labelled sets only)
  double loss = 0;             ///< mean cross-entropy (labelled sets only)
  double mean_confidence = 0;  ///< mean max softmax probability
  std::vector<double> per_class_accuracy;          ///< NaN where a class has no examples
  std::vector<int64_t> per_class_count;
  std::vector<std::vector<int64_t>> confusion;     ///< [true][predicted]
  std::vector<int64_t> prediction_counts;          ///< how often each class was predicted
  torch::Tensor predictions;                       ///< int64 [N]
};

/// Evaluates `net` (switched to eval mode, no gradients) on float32 [N,C,H,W] images. `labels`
/// int64 [N] or undefined (then only confidence and prediction counts are filled).
Evaluation evaluate(model::Classifier& net, const torch::Tensor& images, const torch::Tensor& labels,
                    int64_t batch_size);

/// How an attack changed a labelled set.
struct AttackStats {
  int64_t count = 0;
  double clean_accuracy = 0;
  double adversarial_accuracy = 0;
  double success_rate = 0;  ///< (correct -> wrong) / correct on clean inputs; 0 when none correct
  double linf_mean = 0, linf_max = 0, l2_mean = 0, l2_max = 0;  ///< perturbation norms per image
};

/// Computes AttackStats from clean and adversarial predictions. `labels` may be undefined (label-
/// free attack); then accuracies are against the clean predictions and success means "flipped".
AttackStats attack_stats(const torch::Tensor& clean_pred, const torch::Tensor& adv_pred,
                         const torch::Tensor& labels, const torch::Tensor& clean,
                         const torch::Tensor& adversarial);

struct DegradationDecision {
  bool degraded = false;
  double baseline_accuracy = 0, current_accuracy = 0;
  double absolute_drop = 0, relative_drop = 0;
  std::vector<std::string> reasons;  ///< one sentence per rule, fired or not
};

/// Applies the rule. Throws advkfp::Error for accuracies outside [0,1] or NaN.
DegradationDecision decide_degradation(double baseline_accuracy, double current_accuracy,
                                       const DegradationRule& rule);

nlohmann::json to_json(const Evaluation& e, const std::vector<std::string>& class_names);
nlohmann::json to_json(const AttackStats& s);
nlohmann::json to_json(const DegradationDecision& d, const DegradationRule& rule);

}  // namespace advkfp::metrics
