// Mini-batch training loops shared by clean and adversarial training.
#include "training/training.h"

#include <chrono>
#include <cmath>
#include <functional>
#include <iomanip>

#include "common/error.h"
#include "common/log.h"
#include "metrics/metrics.h"

namespace advkfp::training {
namespace F = torch::nn::functional;

void TrainConfig::validate() const {
  if (epochs < 0) throw UsageError(describe("epochs", std::to_string(epochs) + " must be >= 0"));
  if (batch_size < 1) {
    throw UsageError(describe("batch_size", std::to_string(batch_size) + " must be >= 1"));
  }
  if (!(learning_rate > 0 && learning_rate < 10)) {
    throw UsageError(describe("learning_rate", std::to_string(learning_rate) + " is outside (0, 10)"));
  }
  if (lr_step < 1) throw UsageError(describe("lr_step", std::to_string(lr_step) + " must be >= 1"));
  if (!(lr_gamma > 0 && lr_gamma <= 1)) {
    throw UsageError(describe("lr_gamma", std::to_string(lr_gamma) + " is outside (0, 1]"));
  }
}

void AdversarialConfig::validate() const {
  train.validate();
  attack.validate();
  validation_attack.validate();
  if (!(adversarial_fraction >= 0 && adversarial_fraction <= 1)) {
    throw UsageError(describe("adversarial_fraction",
                              std::to_string(adversarial_fraction) + " is outside [0, 1]"));
  }
}

namespace {

using BatchFn = std::function<torch::Tensor(const torch::Tensor& x, const torch::Tensor& y)>;

void set_learning_rate(torch::optim::Adam& opt, double lr) {
  for (auto& group : opt.param_groups()) {
    static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
  }
}

// One epoch of shuffled mini-batches. `prepare` turns a clean batch into what is trained on (the
// identity for clean training); it runs with the model in whatever mode it leaves it, so the loop
// switches back to train mode before each update.
EpochRecord run_epoch(model::Classifier& net, torch::optim::Adam& opt, const data::Dataset& train,
                      const TrainConfig& cfg, int64_t epoch, at::Generator& gen,
                      const BatchFn& prepare) {
  const double lr =
      cfg.learning_rate * std::pow(cfg.lr_gamma, static_cast<double>((epoch - 1) / cfg.lr_step));
  set_learning_rate(opt, lr);
  const int64_t n = train.size();
  auto perm = torch::randperm(n, gen, torch::kInt64);
  const int64_t batches = (n + cfg.batch_size - 1) / cfg.batch_size;
  log::Progress progress("epoch " + std::to_string(epoch), batches, cfg.batch_size, cfg.log_every);
  double loss_sum = 0;
  int64_t correct = 0, seen = 0;
  for (int64_t b = 0; b < batches; ++b) {
    auto idx = perm.slice(0, b * cfg.batch_size, std::min(n, (b + 1) * cfg.batch_size));
    auto x = train.images.index_select(0, idx);
    auto y = train.labels.index_select(0, idx);
    if (prepare) x = prepare(x, y);
    net.train();
    opt.zero_grad();
    auto logits = net.forward(x);
    auto loss = F::cross_entropy(logits, y);
    loss.backward();
    opt.step();
    const double l = loss.item<double>();
    if (!std::isfinite(l)) {
      throw Error(describe("training", "loss became " + std::to_string(l) + " in epoch " +
                                           std::to_string(epoch) + " (learning rate too high?)"));
    }
    loss_sum += l * static_cast<double>(idx.size(0));
    correct += logits.argmax(1).eq(y).sum().item<int64_t>();
    seen += idx.size(0);
    std::ostringstream extra;
    extra << "loss " << std::fixed << std::setprecision(4) << loss_sum / seen;
    progress.step(extra.str());
  }
  EpochRecord r;
  r.epoch = epoch;
  r.learning_rate = lr;
  r.train_loss = seen ? loss_sum / seen : 0;
  r.train_accuracy = seen ? static_cast<double>(correct) / seen : 0;
  r.seconds = progress.elapsed_seconds();
  r.images_per_second = r.seconds > 0 ? seen / r.seconds : 0;
  return r;
}

void require_labels(const data::Dataset& ds, const std::string& what) {
  if (!ds.has_labels()) throw Error(describe(what, "training needs a labelled dataset"));
  if (ds.size() == 0) throw Error(describe(what, "the dataset is empty"));
}

}  // namespace

std::vector<EpochRecord> train_clean(model::Classifier& net, const data::Dataset& train,
                                     const TrainConfig& config) {
  config.validate();
  require_labels(train, "dataset");
  auto gen = at::detail::createCPUGenerator(static_cast<uint64_t>(config.seed));
  torch::optim::Adam opt(net.parameters(), torch::optim::AdamOptions(config.learning_rate));
  std::vector<EpochRecord> history;
  for (int64_t epoch = 1; epoch <= config.epochs; ++epoch) {
    history.push_back(run_epoch(net, opt, train, config, epoch, gen, nullptr));
    const auto& r = history.back();
    log::info("epoch ", epoch, "/", config.epochs, ": loss ", r.train_loss, ", train accuracy ",
              r.train_accuracy, ", ", static_cast<int64_t>(r.images_per_second), " img/s");
  }
  net.eval();
  return history;
}

AdversarialResult train_adversarial(model::Classifier& net, const data::Dataset& train,
                                    const data::Dataset& validation,
                                    const AdversarialConfig& config) {
  config.validate();
  require_labels(train, "dataset");
  auto gen = at::detail::createCPUGenerator(static_cast<uint64_t>(config.train.seed));
  auto attack_gen = at::detail::createCPUGenerator(static_cast<uint64_t>(config.train.seed) + 1);
  torch::optim::Adam opt(net.parameters(), torch::optim::AdamOptions(config.train.learning_rate));

  auto validate_epoch = [&](EpochRecord& r) {
    if (validation.size() == 0) return;
    const int64_t bs = 500;  // evaluate's default batch
    auto clean = metrics::evaluate(net, validation.images, validation.labels, bs);
    auto adv_images =
        attacks::robust_attack_all(net, validation.images, validation.labels,
                                   config.validation_attack, bs, config.train.seed + 2, 0,
                                   clean.predictions);
    auto robust = metrics::evaluate(net, adv_images, validation.labels, bs);
    r.validation_accuracy = clean.accuracy;
    r.validation_robust_accuracy = robust.accuracy;
    log::info("epoch ", r.epoch, " validation: clean ", clean.accuracy, ", ",
              config.validation_attack.describe(), " ", robust.accuracy);
  };

  const auto adv_count = [&](int64_t b) {
    return static_cast<int64_t>(std::llround(config.adversarial_fraction * static_cast<double>(b)));
  };
  const BatchFn prepare = [&](const torch::Tensor& x, const torch::Tensor& y) {
    const int64_t k = adv_count(x.size(0));
    if (k == 0) return x;
    net.eval();  // craft against the deployed behaviour of the current weights
    auto adv = attacks::attack_batch(net, x.slice(0, 0, k), y.slice(0, 0, k), config.attack,
                                     attack_gen);
    if (k == x.size(0)) return adv;
    return torch::cat({adv, x.slice(0, k)}, 0);
  };

  AdversarialResult result;
  EpochRecord start;
  validate_epoch(start);
  result.history.push_back(start);
  std::vector<torch::Tensor> best = net.snapshot();
  double best_robust = start.validation_robust_accuracy.value_or(-1.0);
  for (int64_t epoch = 1; epoch <= config.train.epochs; ++epoch) {
    auto r = run_epoch(net, opt, train, config.train, epoch, gen, prepare);
    validate_epoch(r);
    log::info("epoch ", epoch, "/", config.train.epochs, ": adversarial loss ", r.train_loss,
              ", accuracy on trained batches ", r.train_accuracy, ", ",
              static_cast<int64_t>(r.images_per_second), " img/s");
    const double robust = r.validation_robust_accuracy.value_or(-1.0);
    if (!config.keep_best || validation.size() == 0 || robust > best_robust) {
      best_robust = robust;
      result.best_epoch = epoch;
      if (config.keep_best) best = net.snapshot();
    }
    result.history.push_back(r);
  }
  if (config.keep_best && validation.size() > 0) net.restore(best);
  net.eval();
  return result;
}

nlohmann::json to_json(const EpochRecord& r) {
  nlohmann::json j = {{"epoch", r.epoch},
                      {"learning_rate", r.learning_rate},
                      {"train_loss", r.train_loss},
                      {"train_accuracy", r.train_accuracy},
                      {"seconds", r.seconds},
                      {"images_per_second", r.images_per_second}};
  if (r.validation_accuracy) j["validation_accuracy"] = *r.validation_accuracy;
  if (r.validation_robust_accuracy) j["validation_robust_accuracy"] = *r.validation_robust_accuracy;
  return j;
}

nlohmann::json to_json(const TrainConfig& c) {
  return {{"optimizer", "adam"},     {"epochs", c.epochs},     {"batch_size", c.batch_size},
          {"learning_rate", c.learning_rate}, {"lr_step", c.lr_step}, {"lr_gamma", c.lr_gamma},
          {"seed", c.seed}};
}

}  // namespace advkfp::training
