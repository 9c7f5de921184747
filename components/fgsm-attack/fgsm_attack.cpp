// fgsm-attack: model + dataset + eps -> adversarial dataset (float32, lossless) + metrics JSON.
#include "fgsm_attack.h"

#include "attacks/attacks.h"
#include "cli/component.h"
#include "common/log.h"
#include "data/dataset.h"
#include "io/files.h"
#include "io/json.h"
#include "metrics/metrics.h"
#include "model/classifier.h"

namespace advkfp::fgsm_attack {
namespace {

void run(const Options& options) {
  attacks::AttackConfig cfg;
  cfg.method = attacks::Method::kFgsm;
  cfg.epsilon = options.epsilon;
  cfg.validate();
  auto net = model::load_model(options.model, "model");
  Options o = options;
  o.batch_size = model::batch_size_for(options.batch_size, net.info().input_shape);
  auto ds = data::load_dataset(o.dataset, "dataset").slice(0, o.limit);
  data::check_compatible(ds, net.info().input_shape, net.info().num_classes(), "dataset");
  const auto& sha = net.info().sha256;

  // Without labels (or when asked) craft against the model's own predictions: no label leaking.
  const bool labelled = ds.has_labels() && !o.use_predictions;
  log::info(cfg.describe(), " on ", ds.size(), " images, targets: ",
            labelled ? "true labels" : "model predictions");
  auto adv = attacks::attack_all(net, ds.images, labelled ? ds.labels : torch::Tensor(), cfg,
                                 o.batch_size, o.seed, o.log_every);

  auto clean = metrics::evaluate(net, ds.images, ds.labels, o.batch_size);
  auto attacked = metrics::evaluate(net, adv, ds.labels, o.batch_size);
  const auto stats =
      metrics::attack_stats(clean.predictions, attacked.predictions, ds.labels, ds.images, adv);

  data::Dataset out = ds;
  out.images = adv;
  out.provenance = {{"attack", attacks::to_json(cfg)},
                    {"targets", labelled ? "labels" : "predictions"},
                    {"model_sha256", sha},
                    {"source", ds.provenance}};
  data::save_dataset(o.adversarial_dataset, out, data::ImageEncoding::kFloat32,
                     "adversarial_dataset");

  io::Json m = {{"tool", "fgsm-attack"},
                {"attack", attacks::to_json(cfg)},
                {"targets", labelled ? "labels" : "predictions"},
                {"model_sha256", sha},
                {"count", ds.size()},
                {"clean_mean_confidence", clean.mean_confidence},
                {"adversarial_mean_confidence", attacked.mean_confidence}};
  m.update(metrics::to_json(stats));
  if (!ds.has_labels()) {
    m["clean_accuracy"] = nullptr;
    m["adversarial_accuracy"] = nullptr;
  }
  io::write_json(o.metrics, m, "metrics");
  io::Json meta = {{"epsilon", cfg.epsilon},
                   {"attack_success_rate", stats.success_rate},
                   {"perturbation_linf_mean", stats.linf_mean},
                   {"perturbation_linf_max", stats.linf_max},
                   {"perturbation_l2_mean", stats.l2_mean}};
  if (ds.has_labels()) {
    meta["clean_accuracy"] = stats.clean_accuracy;
    meta["adversarial_accuracy"] = stats.adversarial_accuracy;
  }
  cli::publish_metadata("metrics", meta);
  log::info("accuracy ", stats.clean_accuracy, " clean -> ", stats.adversarial_accuracy,
            " under attack; success rate ", stats.success_rate);
}

}  // namespace

const cli::Spec<Options>& tool() {
  static const auto s = cli::Spec<Options>(spec()).run(&run);
  return s;
}

}  // namespace advkfp::fgsm_attack
