// pgd-train: model + training set -> robust model (adversarial training) + metrics JSON.
#include "pgd_train.h"

#include <optional>

#include "cli/component.h"
#include "cli/run.h"
#include "common/error.h"
#include "common/log.h"
#include "data/dataset.h"
#include "io/files.h"
#include "io/json.h"
#include "model/classifier.h"
#include "model/signature.h"
#include "training/training.h"

namespace advkfp::pgd_train {
namespace {

void run(const Options& o) {
  training::AdversarialConfig cfg;
  cfg.method = training::parse_adversarial_method(o.method);
  cfg.lr_schedule = o.lr_schedule == "auto"
                        ? (cfg.method == training::AdversarialMethod::kFast
                               ? training::LrSchedule::kOneCycle
                               : training::LrSchedule::kStep)
                        : training::parse_lr_schedule(o.lr_schedule);
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
  cfg.fast_step_factor = o.fast_step_factor;
  cfg.free_replays = o.free_replays;
  cfg.trades_beta = o.trades_beta;
  cfg.ramp_epochs = o.ramp_epochs;
  cfg.collapse_drop = o.collapse_drop;
  cfg.target_robust_accuracy = o.target_robust_accuracy;
  cfg.check_every = o.check_every;
  cfg.validation_attack = cfg.attack;
  cfg.validation_attack.method = attacks::parse_method(o.validation_attack);
  cfg.validation_attack.steps = o.validation_steps;
  cfg.validation_attack.step_size = 0.0;  // PGD: 2.5 * eps / steps for the check's own steps
  cfg.keep_best = o.keep_best;
  cfg.validate();
  if (o.validation_size == 0 && (o.target_robust_accuracy > 0 || o.check_every > 0)) {
    throw UsageError(describe("validation_size",
                              "0 leaves nothing for target_robust_accuracy / check_every to check"));
  }

  const auto signing_key = model::signing_key(o.signing_key);
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
  if (o.from_scratch) {
    // Fresh weights of the same architecture, drawn from the seed, into the loaded module. An
    // imported model has no recipe to draw them from (make_architecture names the ones it knows).
    net.restore(model::make_architecture(net.info().architecture, net.info().class_names,
                                         net.info().input_shape, o.seed)
                    .snapshot());
  }
  log::info(training::adversarial_method_name(cfg.method), " adversarial training ",
            o.from_scratch ? "from scratch (architecture of model " : "from model ",
            parent_sha.substr(0, 12), o.from_scratch ? ")" : "", ": eps ", cfg.attack.epsilon,
            ", ", n_train, " training / ", validation.size(), " held-out images, ",
            cfg.train.epochs, " epochs");

  training::CheckpointConfig checkpoint;
  checkpoint.dir = o.checkpoint_dir;
  checkpoint.resume = o.resume;
  if (checkpoint.enabled()) {
    cli::check_writable(checkpoint.file(), "checkpoint_dir");
    checkpoint.run = {{"tool", "pgd-train"},
                      {"parameters", cli::result_parameters(spec(), o)},
                      {"model_sha256", parent_sha},
                      {"dataset_sha256", training::dataset_fingerprint(all)}};
  }
  const auto result = training::train_adversarial(net, train, validation, cfg, checkpoint);

  io::Json hist = io::Json::array();
  double seconds = 0;
  for (const auto& r : result.history) {
    hist.push_back(training::to_json(r));
    seconds += r.seconds;
  }
  io::Json curve = io::Json::array();
  for (const auto& c : result.curve) curve.push_back(training::to_json(c));
  std::optional<training::CheckPoint> best;
  if (!result.curve.empty()) best = result.curve[static_cast<size_t>(result.best_check)];
  io::Json method_settings = {{"name", training::adversarial_method_name(cfg.method)},
                              {"lr_schedule", training::lr_schedule_name(cfg.lr_schedule)},
                              {"ramp_epochs", cfg.ramp_epochs},
                              {"from_scratch", o.from_scratch}};
  switch (cfg.method) {
    case training::AdversarialMethod::kMadry:
      method_settings["adversarial_fraction"] = cfg.adversarial_fraction;
      break;
    case training::AdversarialMethod::kFast:
      method_settings["adversarial_fraction"] = cfg.adversarial_fraction;
      method_settings["step_factor"] = cfg.fast_step_factor;
      break;
    case training::AdversarialMethod::kFree:
      method_settings["replays"] = cfg.free_replays;
      break;
    case training::AdversarialMethod::kTrades:
      method_settings["beta"] = cfg.trades_beta;
      break;
  }
  const io::Json settings = {{"method", "pgd-adversarial"},
                             {"adversarial_method", method_settings},
                             {"config", training::to_json(cfg.train)},
                             {"attack", attacks::to_json(cfg.attack)},
                             {"adversarial_fraction", cfg.adversarial_fraction},
                             {"validation_attack", attacks::to_json(cfg.validation_attack)},
                             {"validation_size", validation.size()},
                             {"best_epoch", result.best_epoch}};
  net.info().parent = o.from_scratch ? io::Json(nullptr)
                                     : io::Json{{"sha256", parent_sha},
                                                {"training", net.info().training}};
  net.info().seed = o.seed;
  net.info().training = settings;
  net.info().training["dataset"] = {{"count", train.size()}, {"provenance", all.provenance}};
  net.info().training["history"] = hist;
  model::save_model(o.robust_model, net, "robust_model", signing_key);

  io::Json m = settings;
  m["tool"] = "pgd-train";
  m["history"] = hist;
  m["seconds"] = seconds;  // the epochs' training loops
  m["wall_seconds"] = result.seconds;  // all of it, held-out checks included
  m["train_count"] = train.size();
  m["validation_accuracy"] = best ? best->clean_accuracy : 0.0;
  m["validation_robust_accuracy"] = best ? best->robust_accuracy : 0.0;
  m["start_validation_robust_accuracy"] =
      result.history.front().validation_robust_accuracy.value_or(0.0);
  // Time to robustness: the held-out robust accuracy against wall time, checks included.
  m["curve"] = curve;
  m["best_check"] = best ? io::Json(result.best_check) : io::Json(nullptr);
  m["stopped_early"] = result.stopped_early;
  m["target_robust_accuracy"] =
      cfg.target_robust_accuracy > 0 ? io::Json(cfg.target_robust_accuracy) : io::Json(nullptr);
  m["target_reached"] =
      result.target_reached ? training::to_json(*result.target_reached) : io::Json(nullptr);
  m["time_to_target_seconds"] =
      result.target_reached ? io::Json(result.target_reached->seconds) : io::Json(nullptr);
  m["collapse"] = result.collapse ? training::to_json(*result.collapse) : io::Json(nullptr);
  io::write_json(o.metrics, m, "metrics");
  io::Json meta = {{"validation_accuracy", m["validation_accuracy"]},
                   {"validation_robust_accuracy", m["validation_robust_accuracy"]},
                   {"start_validation_robust_accuracy", m["start_validation_robust_accuracy"]},
                   {"best_epoch", result.best_epoch},
                   {"epsilon", cfg.attack.epsilon},
                   {"seconds", seconds},
                   {"collapsed", result.collapse ? 1 : 0}};
  if (cfg.target_robust_accuracy > 0) {
    // KFP keeps metadata as numbers: 0/1 for the flag, the time only when reached.
    meta["target_reached"] = result.target_reached ? 1 : 0;
    if (result.target_reached) meta["time_to_target_seconds"] = result.target_reached->seconds;
  }
  cli::publish_metadata("metrics", meta);
  log::info("kept check ", result.best_check, " (epoch ", result.best_epoch,
            "): held-out accuracy ", m["validation_accuracy"].get<double>(), " clean, ",
            m["validation_robust_accuracy"].get<double>(), " under ",
            cfg.validation_attack.describe());
}

}  // namespace

const cli::Spec<Options>& tool() {
  static const auto s = cli::Spec<Options>(spec()).run(&run);
  return s;
}

}  // namespace advkfp::pgd_train
