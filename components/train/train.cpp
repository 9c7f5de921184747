// train: dataset -> TorchScript model folder + metrics JSON.
#include "train.h"

#include "cli/component.h"
#include "cli/run.h"
#include "common/log.h"
#include "data/dataset.h"
#include "io/json.h"
#include "model/classifier.h"
#include "model/signature.h"
#include "training/training.h"

namespace advkfp::train {
namespace {

void run(const Options& o) {
  const auto signing_key = model::signing_key(o.signing_key);
  auto ds = data::load_dataset(o.dataset, "dataset").slice(0, o.limit);
  training::TrainConfig cfg;
  cfg.epochs = o.epochs;
  cfg.batch_size = o.batch_size;
  cfg.learning_rate = o.learning_rate;
  cfg.lr_step = o.lr_step;
  cfg.lr_gamma = o.lr_gamma;
  cfg.seed = o.seed;
  cfg.log_every = o.log_every;
  cfg.validate();

  const bool fine_tune = !o.init_model.empty();
  auto net = fine_tune ? model::load_model(o.init_model, "init_model")
                       : model::make_architecture(o.architecture, ds.class_names, ds.image_shape(),
                                                  o.seed);
  if (fine_tune && o.architecture != Options{}.architecture &&
      o.architecture != net.info().architecture) {
    throw UsageError(describe(
        "architecture",
        "'" + o.architecture + "' does not match init_model's '" + net.info().architecture + "'"));
  }
  data::check_compatible(ds, net.info().input_shape, net.info().num_classes(), "dataset");
  const std::string parent_sha = net.info().sha256;
  log::info(fine_tune ? "fine-tuning " : "training ", net.info().architecture, " (",
            net.parameter_count(), " parameters",
            fine_tune ? ", model " + parent_sha.substr(0, 12) : std::string(), ") on ", ds.size(),
            " images for ", cfg.epochs, " epochs");
  training::CheckpointConfig checkpoint;
  checkpoint.dir = o.checkpoint_dir;
  checkpoint.resume = o.resume;
  if (checkpoint.enabled()) {
    cli::check_writable(checkpoint.file(), "checkpoint_dir");
    checkpoint.run = {{"tool", "train"},
                      {"parameters", cli::result_parameters(spec(), o)},
                      {"dataset_sha256", training::dataset_fingerprint(ds)},
                      {"init_model_sha256", fine_tune ? io::Json(parent_sha) : io::Json(nullptr)}};
  }
  const auto history = training::train_clean(net, ds, cfg, checkpoint);

  io::Json hist = io::Json::array();
  double seconds = 0;
  for (const auto& r : history) {
    hist.push_back(training::to_json(r));
    seconds += r.seconds;
  }
  if (fine_tune) net.info().parent = {{"sha256", parent_sha}, {"training", net.info().training}};
  net.info().seed = o.seed;
  net.info().training = {{"method", fine_tune ? "clean-fine-tune" : "clean"},
                         {"config", training::to_json(cfg)},
                         {"dataset", {{"count", ds.size()}, {"provenance", ds.provenance}}},
                         {"history", hist}};
  model::save_model(o.model, net, "model", signing_key);
  io::Json m = {{"tool", "train"},
                {"model", model::describe_model(net.info())},
                {"count", ds.size()},
                {"train_loss", history.empty() ? 0.0 : history.back().train_loss},
                {"train_accuracy", history.empty() ? 0.0 : history.back().train_accuracy},
                {"seconds", seconds},
                {"images_per_second",
                 seconds > 0 ? static_cast<double>(ds.size() * cfg.epochs) / seconds : 0.0},
                {"history", hist}};
  m["model"].erase("training");
  io::write_json(o.metrics, m, "metrics");
  cli::publish_metadata("metrics", {{"train_loss", m["train_loss"]},
                                    {"train_accuracy", m["train_accuracy"]},
                                    {"images_per_second", m["images_per_second"]},
                                    {"epochs", cfg.epochs}});
}

}  // namespace

const cli::Spec<Options>& tool() {
  static const auto s = cli::Spec<Options>(spec()).run(&run);
  return s;
}

}  // namespace advkfp::train
