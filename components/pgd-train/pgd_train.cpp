// pgd-train: model + training set -> robust model (PGD adversarial training) + metrics JSON.
#include "pgd_train.h"

#include "cli/component.h"
#include "common/error.h"
#include "common/log.h"
#include "data/dataset.h"
#include "io/files.h"
#include "io/json.h"
#include "model/classifier.h"
#include "training/training.h"

namespace advkfp::pgd_train {
namespace {

void run(const Options& o) {
  training::AdversarialConfig cfg;
  cfg.train.epochs = o.epochs;
  cfg.train.batch_size = o.batch_size;
  cfg.train.learning_rate = o.learning_rate;
  cfg.train.lr_step = o.lr_step;
  cfg.train.lr_gamma = o.lr_gamma;
  cfg.train.seed = o.seed;
  cfg.train.log_every = o.log_every;
  cfg.attack.method = attacks::Method::kPgd;
  cfg.attack.epsilon = o.epsilon;
  cfg.attack.step_size = o.step_size;
  cfg.attack.steps = o.steps;
  cfg.attack.random_start = o.random_start;
  cfg.adversarial_fraction = o.adversarial_fraction;
  cfg.validation_attack = cfg.attack;
  cfg.validation_attack.steps = o.validation_steps;
  cfg.validation_attack.step_size = 0.0;  // 2.5 * eps / steps for the check's own step count
  cfg.keep_best = o.keep_best;
  cfg.validate();

  auto net = model::load_model(o.model, "model");
  auto all = data::load_dataset(o.dataset, "dataset").slice(0, o.limit);
  data::check_compatible(all, net.info().input_shape, net.info().num_classes(), "dataset");
  if (!all.has_labels()) throw Error(describe("dataset", "PGD training needs labels"));
  if (o.validation_size >= all.size()) {
    throw UsageError(describe("validation_size", std::to_string(o.validation_size) +
                                                     " leaves no training images out of " +
                                                     std::to_string(all.size())));
  }
  // The held-out slice is the end of the set: fixed, so reruns compare like with like.
  const int64_t n_train = all.size() - o.validation_size;
  auto train = all.slice(0, n_train);
  auto validation = all.slice(n_train, o.validation_size);
  const std::string parent_sha = net.info().sha256;
  log::info("PGD adversarial training from model ", parent_sha.substr(0, 12), ": ",
            cfg.attack.describe(), ", ", n_train, " training / ", validation.size(),
            " held-out images, ", cfg.train.epochs, " epochs");

  const auto result = training::train_adversarial(net, train, validation, cfg);

  io::Json hist = io::Json::array();
  double seconds = 0;
  for (const auto& r : result.history) {
    hist.push_back(training::to_json(r));
    seconds += r.seconds;
  }
  const auto& best = result.history[static_cast<size_t>(result.best_epoch)];
  const io::Json settings = {{"method", "pgd-adversarial"},
                             {"config", training::to_json(cfg.train)},
                             {"attack", attacks::to_json(cfg.attack)},
                             {"adversarial_fraction", cfg.adversarial_fraction},
                             {"validation_attack", attacks::to_json(cfg.validation_attack)},
                             {"validation_size", validation.size()},
                             {"best_epoch", result.best_epoch}};
  net.info().parent = {{"sha256", parent_sha}, {"training", net.info().training}};
  net.info().seed = o.seed;
  net.info().training = settings;
  net.info().training["dataset"] = {{"count", train.size()}, {"provenance", all.provenance}};
  net.info().training["history"] = hist;
  model::save_model(o.robust_model, net, "robust_model");

  io::Json m = settings;
  m["tool"] = "pgd-train";
  m["history"] = hist;
  m["seconds"] = seconds;
  m["train_count"] = train.size();
  m["validation_accuracy"] = best.validation_accuracy.value_or(0.0);
  m["validation_robust_accuracy"] = best.validation_robust_accuracy.value_or(0.0);
  m["start_validation_robust_accuracy"] =
      result.history.front().validation_robust_accuracy.value_or(0.0);
  io::write_json(o.metrics, m, "metrics");
  cli::publish_metadata("metrics",
                        {{"validation_accuracy", m["validation_accuracy"]},
                         {"validation_robust_accuracy", m["validation_robust_accuracy"]},
                         {"start_validation_robust_accuracy", m["start_validation_robust_accuracy"]},
                         {"best_epoch", result.best_epoch},
                         {"epsilon", cfg.attack.epsilon}});
  log::info("kept epoch ", result.best_epoch, ": held-out accuracy ",
            best.validation_accuracy.value_or(0.0), " clean, ",
            best.validation_robust_accuracy.value_or(0.0), " under ",
            cfg.validation_attack.describe());
}

}  // namespace

const cli::Spec<Options>& tool() {
  static const auto s = cli::Spec<Options>(spec()).run(&run);
  return s;
}

}  // namespace advkfp::pgd_train
