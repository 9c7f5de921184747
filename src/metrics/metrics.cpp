// Accuracy, confusion, attack success and perturbation norms, degradation rule.
#include "metrics/metrics.h"

#include <cmath>
#include <limits>
#include <sstream>

#include "common/error.h"
#include "common/log.h"

namespace advkfp::metrics {
namespace F = torch::nn::functional;

Evaluation evaluate(model::Classifier& net, const torch::Tensor& images, const torch::Tensor& labels,
                    int64_t batch_size) {
  TORCH_CHECK(batch_size > 0, "evaluate: batch_size must be positive");
  net.eval();
  const int64_t n = images.size(0);
  const int64_t k = net.info().num_classes();
  Evaluation e;
  e.count = n;
  e.labelled = labels.defined();
  e.predictions = torch::empty({n}, torch::kInt64);
  double loss_sum = 0, conf_sum = 0;
  log::Progress progress("evaluate", (n + batch_size - 1) / batch_size, batch_size, 0);
  {
    c10::InferenceMode inference;  // no autograd bookkeeping at all (results are plain values)
    for (int64_t begin = 0; begin < n; begin += batch_size) {
      const int64_t end = std::min(n, begin + batch_size);
      auto logits = net.forward(images.slice(0, begin, end));
      auto probs = logits.softmax(1);
      conf_sum += probs.amax(1).sum().item<double>();
      e.predictions.slice(0, begin, end).copy_(logits.argmax(1));
      if (e.labelled) {
        loss_sum += F::cross_entropy(logits, labels.slice(0, begin, end),
                                     F::CrossEntropyFuncOptions().reduction(torch::kSum))
                        .item<double>();
      }
      progress.step();
    }
  }
  e.mean_confidence = n ? conf_sum / n : 0;
  e.prediction_counts = std::vector<int64_t>(k, 0);
  auto pc = torch::bincount(e.predictions, {}, k);
  for (int64_t c = 0; c < k; ++c) e.prediction_counts[c] = pc[c].item<int64_t>();
  if (!e.labelled) return e;
  e.loss = n ? loss_sum / n : 0;
  auto flat = labels * k + e.predictions;
  auto cm = torch::bincount(flat, {}, k * k).view({k, k});
  e.confusion.assign(k, std::vector<int64_t>(k, 0));
  e.per_class_accuracy.assign(k, std::numeric_limits<double>::quiet_NaN());
  e.per_class_count.assign(k, 0);
  int64_t correct = 0;
  auto acc = cm.accessor<int64_t, 2>();
  for (int64_t t = 0; t < k; ++t) {
    int64_t row = 0;
    for (int64_t p = 0; p < k; ++p) {
      e.confusion[t][p] = acc[t][p];
      row += acc[t][p];
    }
    e.per_class_count[t] = row;
    correct += acc[t][t];
    if (row > 0) e.per_class_accuracy[t] = static_cast<double>(acc[t][t]) / row;
  }
  e.accuracy = n ? static_cast<double>(correct) / n : 0;
  return e;
}

AttackStats attack_stats(const torch::Tensor& clean_pred, const torch::Tensor& adv_pred,
                         const torch::Tensor& labels, const torch::Tensor& clean,
                         const torch::Tensor& adversarial) {
  AttackStats s;
  s.count = clean_pred.size(0);
  if (s.count == 0) return s;
  auto truth = labels.defined() ? labels : clean_pred;
  auto clean_ok = clean_pred.eq(truth);
  auto adv_ok = adv_pred.eq(truth);
  const auto n_clean_ok = clean_ok.sum().item<int64_t>();
  s.clean_accuracy = static_cast<double>(n_clean_ok) / s.count;
  s.adversarial_accuracy = adv_ok.sum().item<double>() / s.count;
  s.success_rate = n_clean_ok ? (clean_ok & ~adv_ok).sum().item<double>() / n_clean_ok : 0.0;
  auto delta = (adversarial - clean).flatten(1);
  auto linf = delta.abs().amax(1);
  auto l2 = delta.norm(2, 1);
  s.linf_mean = linf.mean().item<double>();
  s.linf_max = linf.max().item<double>();
  s.l2_mean = l2.mean().item<double>();
  s.l2_max = l2.max().item<double>();
  return s;
}

DegradationDecision decide_degradation(double baseline, double current,
                                       const DegradationRule& rule) {
  for (auto [name, v] : {std::pair{"baseline accuracy", baseline}, {"current accuracy", current}}) {
    if (!std::isfinite(v) || v < 0 || v > 1) {
      throw Error(describe(name, std::to_string(v) + " is not an accuracy in [0, 1]"));
    }
  }
  DegradationDecision d;
  d.baseline_accuracy = baseline;
  d.current_accuracy = current;
  d.absolute_drop = baseline - current;
  d.relative_drop = baseline > 0 ? d.absolute_drop / baseline : 0.0;
  const bool abs_fired = d.absolute_drop > rule.max_absolute_drop;
  const bool rel_fired = d.relative_drop > rule.max_relative_drop;
  d.degraded = abs_fired || rel_fired;
  std::ostringstream a, r;
  a << "absolute drop " << d.absolute_drop << (abs_fired ? " > " : " <= ") << rule.max_absolute_drop;
  r << "relative drop " << d.relative_drop << (rel_fired ? " > " : " <= ") << rule.max_relative_drop;
  d.reasons = {a.str(), r.str()};
  return d;
}

namespace {
nlohmann::json number_or_null(double v) {
  return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
}
}  // namespace

nlohmann::json to_json(const Evaluation& e, const std::vector<std::string>& class_names) {
  nlohmann::json j = {{"count", e.count},
                      {"labelled", e.labelled},
                      {"mean_confidence", e.mean_confidence},
                      {"class_names", class_names},
                      {"prediction_counts", e.prediction_counts}};
  if (!e.labelled) {
    j["accuracy"] = nullptr;
    return j;
  }
  j["accuracy"] = e.accuracy;
  j["loss"] = e.loss;
  nlohmann::json per_class = nlohmann::json::array();
  for (size_t c = 0; c < e.per_class_accuracy.size(); ++c) {
    per_class.push_back({{"class", c < class_names.size() ? class_names[c] : std::to_string(c)},
                         {"count", e.per_class_count[c]},
                         {"accuracy", number_or_null(e.per_class_accuracy[c])}});
  }
  j["per_class"] = per_class;
  j["confusion_matrix"] = e.confusion;
  return j;
}

nlohmann::json to_json(const AttackStats& s) {
  return {{"count", s.count},
          {"clean_accuracy", s.clean_accuracy},
          {"adversarial_accuracy", s.adversarial_accuracy},
          {"attack_success_rate", s.success_rate},
          {"perturbation",
           {{"linf_mean", s.linf_mean},
            {"linf_max", s.linf_max},
            {"l2_mean", s.l2_mean},
            {"l2_max", s.l2_max}}}};
}

nlohmann::json to_json(const DegradationDecision& d, const DegradationRule& rule) {
  return {{"degraded", d.degraded},
          {"baseline_accuracy", d.baseline_accuracy},
          {"current_accuracy", d.current_accuracy},
          {"absolute_drop", d.absolute_drop},
          {"relative_drop", d.relative_drop},
          {"max_absolute_drop", rule.max_absolute_drop},
          {"max_relative_drop", rule.max_relative_drop},
          {"reasons", d.reasons}};
}

}  // namespace advkfp::metrics
