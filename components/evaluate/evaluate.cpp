// evaluate: model + dataset -> metrics JSON (accuracy, loss, per-class accuracy, confusion matrix).
#include "evaluate.h"

#include <sstream>

#include "attacks/attacks.h"
#include "cli/component.h"
#include "common/error.h"
#include "common/log.h"
#include "data/dataset.h"
#include "io/json.h"
#include "metrics/metrics.h"
#include "model/classifier.h"

namespace advkfp::evaluate {
namespace {

std::vector<std::string> split(const std::string& csv) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream in(csv);
  while (std::getline(in, item, ',')) out.push_back(item);
  if (!csv.empty() && csv.back() == ',') out.push_back("");
  return out;
}

// Accuracy against eps for each attack, in one pass over the settings: the robustness curve.
io::Json robustness_curve(model::Classifier& net, const data::Dataset& ds,
                          const metrics::Evaluation& clean, const Options& o,
                          const std::vector<double>& epsilons,
                          const std::vector<std::string>& methods) {
  io::Json curve = io::Json::array();
  for (const auto& method : methods) {
    for (const double eps : epsilons) {
      io::Json point = {{"attack", method}, {"epsilon", eps}};
      if (eps == 0.0) {
        point["accuracy"] = clean.accuracy;
        point["attack_success_rate"] = 0.0;
        curve.push_back(point);
        continue;
      }
      attacks::AttackConfig cfg;
      cfg.method = attacks::parse_method(method);
      cfg.epsilon = eps;
      cfg.steps = o.steps;
      cfg.step_size = o.step_size;
      cfg.restarts = o.restarts;
      cfg.random_start = o.random_start;
      cfg.validate();
      auto adv = attacks::robust_attack_all(net, ds.images, ds.labels, cfg, o.batch_size, o.seed,
                                            0, clean.predictions);
      auto attacked = metrics::evaluate(net, adv, ds.labels, o.batch_size);
      const auto stats = metrics::attack_stats(clean.predictions, attacked.predictions, ds.labels,
                                               ds.images, adv);
      point["accuracy"] = attacked.accuracy;
      point["attack_success_rate"] = stats.success_rate;
      point["settings"] = attacks::to_json(cfg);
      log::info("sweep: ", cfg.describe(), ": accuracy ", attacked.accuracy);
      curve.push_back(point);
    }
  }
  return curve;
}

// KFP's ClassificationMetrics metadata: class names and confusion rows in category order.
io::Json confusion_metadata(const metrics::Evaluation& e, const std::vector<std::string>& names) {
  io::Json specs = io::Json::array(), rows = io::Json::array();
  for (const auto& n : names) specs.push_back({{"displayName", n}});
  for (const auto& r : e.confusion) rows.push_back({{"row", r}});
  return {{"annotationSpecs", specs}, {"rows", rows}};
}

void run(const Options& options) {
  const auto epsilons = parse_epsilons(options.sweep_epsilons, "sweep_epsilons");
  const auto methods = split(options.sweep_attacks);
  for (const auto& method : methods) attacks::parse_method(method);
  auto net = model::load_model(options.model, "model");
  Options o = options;
  o.batch_size = model::batch_size_for(options.batch_size, net.info().input_shape);
  auto ds = data::load_dataset(o.dataset, "dataset").slice(0, o.limit);
  data::check_compatible(ds, net.info().input_shape, net.info().num_classes(), "dataset");

  io::Json m = {{"tool", "evaluate"},
                {"model", model::describe_model(net.info())},
                {"dataset", {{"count", ds.size()}, {"provenance", ds.provenance}}}};
  // The training history stays with the model; its settings say what was evaluated.
  if (m["model"].contains("training")) {
    io::Json& training = m["model"]["training"];
    training.erase("history");
    if (training.contains("dataset")) {
      training["dataset"] = {{"count", training["dataset"].value("count", io::Json())}};
    }
  }
  auto clean = metrics::evaluate(net, ds.images, ds.labels, o.batch_size);
  metrics::Evaluation reported = clean;
  if (o.attack == "none") {
    m.update(metrics::to_json(clean, ds.class_names));
    m["attack"] = nullptr;
    log::info("accuracy ", clean.accuracy, " on ", ds.size(), " images");
  } else {
    attacks::AttackConfig cfg;
    cfg.method = attacks::parse_method(o.attack);
    cfg.epsilon = o.epsilon;
    cfg.steps = o.steps;
    cfg.step_size = o.step_size;
    cfg.restarts = o.restarts;
    cfg.random_start = o.random_start;
    cfg.validate();
    log::info("white-box ", cfg.describe(), " on ", ds.size(), " images");
    auto adv = ds.has_labels() ? attacks::robust_attack_all(net, ds.images, ds.labels, cfg,
                                                            o.batch_size, o.seed, o.log_every,
                                                            clean.predictions)
                               : attacks::attack_all(net, ds.images, ds.labels, cfg, o.batch_size,
                                                     o.seed, o.log_every);
    auto attacked = metrics::evaluate(net, adv, ds.labels, o.batch_size);
    reported = attacked;
    m.update(metrics::to_json(attacked, ds.class_names));
    m["clean_accuracy"] = ds.has_labels() ? io::Json(clean.accuracy) : io::Json(nullptr);
    m["attack"] = attacks::to_json(cfg);
    const auto stats =
        metrics::attack_stats(clean.predictions, attacked.predictions, ds.labels, ds.images, adv);
    m["attack"]["stats"] = metrics::to_json(stats);
    cli::publish_metadata("metrics", {{"clean_accuracy", clean.accuracy},
                                      {"robust_accuracy", attacked.accuracy},
                                      {"attack_success_rate", stats.success_rate},
                                      {"epsilon", cfg.epsilon},
                                      {"perturbation_linf_mean", stats.linf_mean},
                                      {"perturbation_l2_mean", stats.l2_mean}});
    log::info("accuracy ", clean.accuracy, " clean, ", attacked.accuracy, " under ",
              cfg.describe());
  }
  if (!epsilons.empty()) {
    if (!ds.has_labels()) throw Error(describe("dataset", "the eps sweep needs labels"));
    if (o.sweep_limit > 0 && o.sweep_limit < ds.size()) {
      // A sweep runs one attack per budget: on a prefix of the set it stays affordable.
      const auto part = ds.slice(0, o.sweep_limit);
      const auto part_clean = metrics::evaluate(net, part.images, part.labels, o.batch_size);
      m["robustness_curve"] = robustness_curve(net, part, part_clean, o, epsilons, methods);
    } else {
      m["robustness_curve"] = robustness_curve(net, ds, clean, o, epsilons, methods);
    }
    m["robustness_curve_count"] =
        o.sweep_limit > 0 ? std::min<int64_t>(o.sweep_limit, ds.size()) : ds.size();
  }
  io::write_json(o.metrics, m, "metrics");
  if (reported.labelled) {
    cli::publish_metadata("metrics", {{"accuracy", reported.accuracy},
                                      {"loss", reported.loss},
                                      {"mean_confidence", reported.mean_confidence},
                                      {"count", reported.count}});
    const auto cm = confusion_metadata(reported, ds.class_names);
    if (!o.confusion_matrix.empty()) {
      io::write_json(o.confusion_matrix, {{"confusionMatrix", cm}}, "confusion_matrix");
    }
    cli::publish_metadata("confusion_matrix", {{"confusionMatrix", cm}});
  } else if (!o.confusion_matrix.empty()) {
    io::write_json(o.confusion_matrix, {{"confusionMatrix", nullptr}}, "confusion_matrix");
  }
}

}  // namespace

std::vector<double> parse_epsilons(const std::string& csv, const std::string& what) {
  std::vector<double> out;
  if (csv.empty()) return out;
  for (const auto& item : split(csv)) {
    size_t used = 0;
    double v = -1;
    try {
      v = std::stod(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (item.empty() || used != item.size() || !(v >= 0.0 && v <= 1.0)) {
      throw UsageError(describe(what, "'" + item + "' is not a budget in [0, 1]"));
    }
    out.push_back(v);
  }
  return out;
}

const cli::Spec<Options>& tool() {
  static const auto s = cli::Spec<Options>(spec()).run(&run);
  return s;
}

}  // namespace advkfp::evaluate
