// Mini-batch training loops shared by clean and adversarial training.
#include "training/training.h"

#include <chrono>
#include <cmath>
#include <functional>
#include <iomanip>
#include <utility>

#include "common/error.h"
#include "common/log.h"
#include "metrics/metrics.h"

namespace advkfp::training {
namespace F = torch::nn::functional;

void TrainConfig::validate() const {
  checks::require("epochs", static_cast<double>(epochs), epochs_range());
  checks::require("batch_size", static_cast<double>(batch_size), batch_size_range());
  checks::require("learning_rate", learning_rate, learning_rate_range());
  checks::require("lr_step", static_cast<double>(lr_step), lr_step_range());
  checks::require("lr_gamma", lr_gamma, lr_gamma_range());
}

void AdversarialConfig::validate() const {
  train.validate();
  attack.validate();
  validation_attack.validate();
  checks::require("adversarial_fraction", adversarial_fraction, fraction_range());
  checks::require("fast_step_factor", fast_step_factor, fast_step_factor_range());
  checks::require("free_replays", static_cast<double>(free_replays), free_replays_range());
  checks::require("trades_beta", trades_beta, trades_beta_range());
  checks::require("ramp_epochs", static_cast<double>(ramp_epochs), count_range());
  checks::require("collapse_drop", collapse_drop, fraction_range());
  checks::require("target_robust_accuracy", target_robust_accuracy, fraction_range());
  checks::require("check_every", static_cast<double>(check_every), count_range());
}

AdversarialMethod parse_adversarial_method(const std::string& name) {
  if (name == "madry") return AdversarialMethod::kMadry;
  if (name == "fast") return AdversarialMethod::kFast;
  if (name == "free") return AdversarialMethod::kFree;
  if (name == "trades") return AdversarialMethod::kTrades;
  throw UsageError(
      describe("method", "unknown method '" + name + "' (use madry, fast, free or trades)"));
}

std::string adversarial_method_name(AdversarialMethod m) {
  switch (m) {
    case AdversarialMethod::kMadry: return "madry";
    case AdversarialMethod::kFast: return "fast";
    case AdversarialMethod::kFree: return "free";
    case AdversarialMethod::kTrades: return "trades";
  }
  return "?";
}

LrSchedule parse_lr_schedule(const std::string& name) {
  if (name == "step") return LrSchedule::kStep;
  if (name == "one-cycle") return LrSchedule::kOneCycle;
  throw UsageError(describe("lr_schedule", "unknown schedule '" + name + "' (use step or one-cycle)"));
}

std::string lr_schedule_name(LrSchedule s) { return s == LrSchedule::kStep ? "step" : "one-cycle"; }

double learning_rate_at(const TrainConfig& cfg, LrSchedule schedule, int64_t epoch, int64_t batch,
                        int64_t batches) {
  if (schedule == LrSchedule::kStep) {
    return cfg.learning_rate *
           std::pow(cfg.lr_gamma, static_cast<double>((epoch - 1) / cfg.lr_step));
  }
  // One cycle over all batches, at the middle of each batch: never exactly 0.
  const double total = static_cast<double>(std::max<int64_t>(cfg.epochs * batches, 1));
  const double p = (static_cast<double>((epoch - 1) * batches + batch) + 0.5) / total;
  const double peak = 0.4;
  return cfg.learning_rate * (p <= peak ? p / peak : std::max(0.0, (1.0 - p) / (1.0 - peak)));
}

double ramped_epsilon(double eps, int64_t ramp_epochs, int64_t t, int64_t batches) {
  if (ramp_epochs <= 0) return eps;
  const double ramp = static_cast<double>(ramp_epochs * batches);
  return eps * std::min(1.0, static_cast<double>(t + 1) / ramp);
}

torch::Tensor trades_loss(const torch::Tensor& clean_logits, const torch::Tensor& adv_logits,
                          const torch::Tensor& y, double beta) {
  const auto p_clean = F::softmax(clean_logits, 1);
  return F::cross_entropy(clean_logits, y) +
         beta * attacks::kl_to_logits(p_clean, adv_logits).mean();
}

namespace {

// What one optimisation step trained on: its loss (a scalar) and the logits whose accuracy the
// epoch reports.
struct StepResult {
  torch::Tensor loss, logits;
};
// One training step on batch (x, y); `t` is the batch's global index (0-based, over all epochs).
using StepFn =
    std::function<StepResult(const torch::Tensor& x, const torch::Tensor& y, int64_t t)>;
// Called after batch `b` (0-based) of an epoch; returns true to end training there.
using AfterBatchFn = std::function<bool(int64_t b)>;

void set_learning_rate(torch::optim::Adam& opt, double lr) {
  for (auto& group : opt.param_groups()) {
    static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
  }
}

// The plain step: cross-entropy on (x, y), in train mode.
StepResult cross_entropy_step(model::Classifier& net, torch::optim::Adam& opt,
                              const torch::Tensor& x, const torch::Tensor& y) {
  net.train();
  opt.zero_grad();
  auto logits = net.forward(x);
  auto loss = F::cross_entropy(logits, y);
  loss.backward();
  opt.step();
  return {loss.detach(), logits.detach()};
}

// One epoch of shuffled mini-batches; `step` trains on each, `after_batch` may end it early.
EpochRecord run_epoch(model::Classifier& net, torch::optim::Adam& opt, const data::Dataset& train,
                      const TrainConfig& cfg, LrSchedule schedule, int64_t epoch,
                      at::Generator& gen, const StepFn& step, const AfterBatchFn& after_batch) {
  const int64_t n = train.size();
  auto perm = torch::randperm(n, gen, torch::kInt64);
  const int64_t batches = (n + cfg.batch_size - 1) / cfg.batch_size;
  log::Progress progress("epoch " + std::to_string(epoch), batches, cfg.batch_size, cfg.log_every);
  double loss_sum = 0, lr_max = 0;
  int64_t correct = 0, seen = 0;
  for (int64_t b = 0; b < batches; ++b) {
    const double lr = learning_rate_at(cfg, schedule, epoch, b, batches);
    lr_max = std::max(lr_max, lr);
    set_learning_rate(opt, lr);
    auto idx = perm.slice(0, b * cfg.batch_size, std::min(n, (b + 1) * cfg.batch_size));
    auto x = train.images.index_select(0, idx);
    auto y = train.labels.index_select(0, idx);
    const auto result = step(x, y, (epoch - 1) * batches + b);
    const double l = result.loss.item<double>();
    if (!std::isfinite(l)) {
      throw Error(describe("training", "loss became " + std::to_string(l) + " in epoch " +
                                           std::to_string(epoch) + " (learning rate too high?)"));
    }
    loss_sum += l * static_cast<double>(idx.size(0));
    correct += result.logits.argmax(1).eq(y).sum().item<int64_t>();
    seen += idx.size(0);
    std::ostringstream extra;
    extra << "loss " << std::fixed << std::setprecision(4) << loss_sum / seen;
    progress.step(extra.str());
    if (after_batch && after_batch(b)) break;
  }
  EpochRecord r;
  r.epoch = epoch;
  r.learning_rate = lr_max;
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

int64_t batches_per_epoch(const data::Dataset& train, const TrainConfig& cfg) {
  return (train.size() + cfg.batch_size - 1) / cfg.batch_size;
}

nlohmann::json history_json(const std::vector<EpochRecord>& history) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& r : history) out.push_back(to_json(r));
  return out;
}

std::vector<EpochRecord> history_from_json(const nlohmann::json& j) {
  std::vector<EpochRecord> out;
  for (const auto& r : j) out.push_back(epoch_record_from_json(r));
  return out;
}

}  // namespace

std::vector<EpochRecord> train_clean(model::Classifier& net, const data::Dataset& train,
                                     const TrainConfig& config,
                                     const CheckpointConfig& checkpoint) {
  config.validate();
  require_labels(train, "dataset");
  auto gen = at::detail::createCPUGenerator(static_cast<uint64_t>(config.seed));
  torch::optim::Adam opt(net.parameters(), torch::optim::AdamOptions(config.learning_rate));
  const StepFn step = [&](const torch::Tensor& x, const torch::Tensor& y, int64_t) {
    return cross_entropy_step(net, opt, x, y);
  };
  std::vector<EpochRecord> history;
  int64_t done = 0;
  if (auto saved = load_checkpoint(checkpoint, opt)) {
    net.restore(saved->weights);
    set_generator_state(gen, saved->tensors.at("shuffle_generator"));
    history = history_from_json(saved->loop.at("history"));
    done = saved->epoch;
  }
  for (int64_t epoch = done + 1; epoch <= config.epochs; ++epoch) {
    history.push_back(
        run_epoch(net, opt, train, config, LrSchedule::kStep, epoch, gen, step, nullptr));
    const auto& r = history.back();
    log::info("epoch ", epoch, "/", config.epochs, ": loss ", r.train_loss, ", train accuracy ",
              r.train_accuracy, ", ", static_cast<int64_t>(r.images_per_second), " img/s");
    if (checkpoint.enabled()) {
      CheckpointState state;
      state.epoch = epoch;
      state.loop = {{"history", history_json(history)}};
      state.weights = net.snapshot();
      state.tensors = {{"shuffle_generator", generator_state(gen)}};
      save_checkpoint(checkpoint, state, opt);
    }
  }
  net.eval();
  return history;
}

AdversarialResult train_adversarial(model::Classifier& net, const data::Dataset& train,
                                    const data::Dataset& validation,
                                    const AdversarialConfig& config,
                                    const CheckpointConfig& checkpoint) {
  config.validate();
  require_labels(train, "dataset");
  using Clock = std::chrono::steady_clock;
  auto started = Clock::now();
  const auto since = [](Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
  };
  auto gen = at::detail::createCPUGenerator(static_cast<uint64_t>(config.train.seed));
  auto attack_gen = at::detail::createCPUGenerator(static_cast<uint64_t>(config.train.seed) + 1);
  torch::optim::Adam opt(net.parameters(), torch::optim::AdamOptions(config.train.learning_rate));
  const int64_t batches = batches_per_epoch(train, config.train);
  const double eps = config.attack.epsilon;
  const auto eps_at = [&](int64_t t) { return ramped_epsilon(eps, config.ramp_epochs, t, batches); };

  // The held-out check: clean and under the validation attack, with the same random starts each
  // time, so checks compare the weights and nothing else.
  AdversarialResult result;
  double check_seconds = 0, best_robust = -1;
  std::vector<torch::Tensor> best = net.snapshot();
  const bool checking = validation.size() > 0;
  const auto check = [&](int64_t epoch, int64_t done) {
    const auto t0 = Clock::now();
    const int64_t bs = 500;  // evaluate's default batch
    auto clean = metrics::evaluate(net, validation.images, validation.labels, bs);
    auto adv_images =
        attacks::robust_attack_all(net, validation.images, validation.labels,
                                   config.validation_attack, bs, config.train.seed + 2, 0,
                                   clean.predictions);
    auto robust = metrics::evaluate(net, adv_images, validation.labels, bs);
    check_seconds += since(t0);
    CheckPoint c;
    c.epoch = epoch;
    c.batches = done;
    c.seconds = since(started);
    c.train_seconds = c.seconds - check_seconds;
    c.epsilon = done > 0 ? eps_at(done - 1) : 0.0;
    c.clean_accuracy = clean.accuracy;
    c.robust_accuracy = robust.accuracy;
    log::info("check after ", done, " batches (", static_cast<int64_t>(c.seconds), " s): clean ",
              c.clean_accuracy, ", ", config.validation_attack.describe(), " ",
              c.robust_accuracy);
    // Keep-best, target and collapse: each check may end training.
    result.curve.push_back(c);
    const int64_t index = static_cast<int64_t>(result.curve.size()) - 1;
    if (!config.keep_best || c.robust_accuracy > best_robust) {
      if (config.keep_best) best = net.snapshot();
      best_robust = std::max(best_robust, c.robust_accuracy);
      result.best_check = index;
      result.best_epoch = epoch;
    }
    bool stop = false;
    if (config.target_robust_accuracy > 0 && !result.target_reached &&
        c.robust_accuracy >= config.target_robust_accuracy) {
      result.target_reached = c;
      log::info("target robust accuracy ", config.target_robust_accuracy, " reached after ",
                c.seconds, " s");
      stop = true;
    }
    if (config.collapse_drop > 0 && c.robust_accuracy < best_robust - config.collapse_drop) {
      result.collapse = c;
      log::warn("robust accuracy collapsed to ", c.robust_accuracy, " (best ", best_robust,
                "): stopping and keeping the best check");
      stop = true;
    }
    return std::pair{c, stop};
  };

  // The methods' training steps.
  const auto adv_count = [&](int64_t b) {
    return static_cast<int64_t>(std::llround(config.adversarial_fraction * static_cast<double>(b)));
  };
  // madry and fast: `attack` on the first round(fraction * B) images, cross-entropy on the batch.
  const auto mixed_step = [&](const torch::Tensor& x, const torch::Tensor& y,
                              const attacks::AttackConfig& attack) {
    const int64_t k = adv_count(x.size(0));
    if (k == 0) return cross_entropy_step(net, opt, x, y);
    net.eval();  // craft against the deployed behaviour of the current weights
    auto adv = attacks::attack_batch(net, x.slice(0, 0, k), y.slice(0, 0, k), attack, attack_gen);
    return cross_entropy_step(net, opt, k == x.size(0) ? adv : torch::cat({adv, x.slice(0, k)}, 0),
                              y);
  };
  torch::Tensor free_delta;  // free: the perturbation carried from replay to replay, batch to batch
  StepFn step;
  switch (config.method) {
    case AdversarialMethod::kMadry:
      step = [&](const torch::Tensor& x, const torch::Tensor& y, int64_t t) {
        auto attack = config.attack;
        attack.epsilon = eps_at(t);
        return mixed_step(x, y, attack);
      };
      break;
    case AdversarialMethod::kFast:
      step = [&](const torch::Tensor& x, const torch::Tensor& y, int64_t t) {
        attacks::AttackConfig attack;  // one PGD step from a random start: FGSM with noise
        attack.method = attacks::Method::kPgd;
        attack.epsilon = eps_at(t);
        attack.steps = 1;
        attack.step_size = std::min(1.0, config.fast_step_factor * attack.epsilon);
        attack.random_start = true;
        return mixed_step(x, y, attack);
      };
      break;
    case AdversarialMethod::kFree:
      free_delta = torch::zeros({config.train.batch_size, train.images.size(1),
                                 train.images.size(2), train.images.size(3)});
      step = [&](const torch::Tensor& x, const torch::Tensor& y, int64_t t) {
        const double e = eps_at(t);
        auto delta = free_delta.slice(0, 0, x.size(0));
        StepResult last;
        net.train();
        for (int64_t m = 0; m < config.free_replays; ++m) {
          opt.zero_grad();
          auto d = delta.clone().requires_grad_(true);
          auto logits = net.forward((x + d).clamp(0.0, 1.0));
          auto loss = F::cross_entropy(logits, y);
          loss.backward();  // parameter and input gradients from one backward pass
          opt.step();
          {
            torch::NoGradGuard no_grad;
            delta.copy_((d.detach() + e * d.grad().sign()).clamp_(-e, e));
          }
          last = {loss.detach(), logits.detach()};
        }
        return last;
      };
      break;
    case AdversarialMethod::kTrades:
      step = [&](const torch::Tensor& x, const torch::Tensor& y, int64_t t) {
        auto attack = config.attack;
        attack.epsilon = eps_at(t);
        net.eval();
        torch::Tensor p_clean;
        {
          torch::NoGradGuard no_grad;
          p_clean = F::softmax(net.forward(x), 1);
        }
        auto adv = attacks::pgd_kl(net, x, p_clean, attack, attack_gen);
        net.train();
        opt.zero_grad();
        const int64_t b = x.size(0);
        auto logits = net.forward(torch::cat({x, adv}, 0));  // one pass: the model has no batch norm
        auto clean_logits = logits.slice(0, 0, b);
        auto loss = trades_loss(clean_logits, logits.slice(0, b), y, config.trades_beta);
        loss.backward();
        opt.step();
        return StepResult{loss.detach(), clean_logits.detach()};
      };
      break;
  }

  // Everything the loop carries from epoch to epoch, for checkpoints.
  bool stop = false;
  const auto save_state = [&](int64_t epoch) {
    if (!checkpoint.enabled()) return;
    CheckpointState state;
    state.epoch = epoch;
    state.loop = {{"history", history_json(result.history)},
                  {"curve", nlohmann::json::array()},
                  {"best_check", result.best_check},
                  {"best_epoch", result.best_epoch},
                  {"best_robust", best_robust},
                  {"target_reached", result.target_reached ? to_json(*result.target_reached)
                                                           : nlohmann::json(nullptr)},
                  {"collapse", result.collapse ? to_json(*result.collapse) : nlohmann::json(nullptr)},
                  {"stopped", stop},
                  {"check_seconds", check_seconds},
                  {"seconds", since(started)}};
    for (const auto& c : result.curve) state.loop["curve"].push_back(to_json(c));
    state.weights = net.snapshot();
    state.tensors = {{"shuffle_generator", generator_state(gen)},
                     {"attack_generator", generator_state(attack_gen)}};
    for (size_t i = 0; i < best.size(); ++i) state.tensors["best_" + std::to_string(i)] = best[i];
    if (free_delta.defined()) state.tensors["free_delta"] = free_delta;
    save_checkpoint(checkpoint, state, opt);
  };
  int64_t epochs_done = 0;
  if (auto saved = load_checkpoint(checkpoint, opt)) {
    const auto& loop = saved->loop;
    const auto& tensors = saved->tensors;
    net.restore(saved->weights);
    set_generator_state(gen, tensors.at("shuffle_generator"));
    set_generator_state(attack_gen, tensors.at("attack_generator"));
    for (size_t i = 0; i < best.size(); ++i) best[i] = tensors.at("best_" + std::to_string(i));
    if (free_delta.defined()) free_delta.copy_(tensors.at("free_delta"));
    result.history = history_from_json(loop.at("history"));
    for (const auto& c : loop.at("curve")) result.curve.push_back(check_point_from_json(c));
    result.best_check = loop.at("best_check").get<int64_t>();
    result.best_epoch = loop.at("best_epoch").get<int64_t>();
    best_robust = loop.at("best_robust").get<double>();
    if (!loop.at("target_reached").is_null()) {
      result.target_reached = check_point_from_json(loop.at("target_reached"));
    }
    if (!loop.at("collapse").is_null()) result.collapse = check_point_from_json(loop.at("collapse"));
    stop = loop.at("stopped").get<bool>();
    check_seconds = loop.at("check_seconds").get<double>();
    // Wall times go on from the interrupted run's (the time lost to the crash is not counted).
    started = Clock::now() - std::chrono::duration_cast<Clock::duration>(
                                 std::chrono::duration<double>(loop.at("seconds").get<double>()));
    epochs_done = saved->epoch;
  } else {
    EpochRecord start;
    if (checking) {
      const auto [c, s] = check(0, 0);
      start.validation_accuracy = c.clean_accuracy;
      start.validation_robust_accuracy = c.robust_accuracy;
      stop = s;
    }
    result.history.push_back(start);
    save_state(0);
  }
  for (int64_t epoch = epochs_done + 1; epoch <= config.train.epochs && !stop; ++epoch) {
    std::optional<CheckPoint> last_check;
    const AfterBatchFn after_batch = [&](int64_t b) {
      const int64_t done = (epoch - 1) * batches + b + 1;
      if (!checking || config.check_every <= 0 || done % config.check_every != 0 ||
          b + 1 == batches) {
        return false;  // the epoch's own check follows its last batch
      }
      const auto [c, s] = check(epoch, done);
      last_check = c;
      stop = s;
      return stop;
    };
    auto r = run_epoch(net, opt, train, config.train, config.lr_schedule, epoch, gen, step,
                       after_batch);
    if (checking && !stop) {
      const int64_t done = (epoch - 1) * batches + batches;
      const auto [c, s] = check(epoch, done);
      last_check = c;
      stop = s;
    }
    if (last_check) {
      r.validation_accuracy = last_check->clean_accuracy;
      r.validation_robust_accuracy = last_check->robust_accuracy;
    }
    log::info("epoch ", epoch, "/", config.train.epochs, ": ",
              adversarial_method_name(config.method), " loss ", r.train_loss,
              ", accuracy on trained batches ", r.train_accuracy, ", ",
              static_cast<int64_t>(r.images_per_second), " img/s");
    if (!checking) result.best_epoch = epoch;
    result.history.push_back(r);
    save_state(epoch);
  }
  result.stopped_early = stop;
  if (config.keep_best && checking) net.restore(best);
  result.seconds = since(started);
  net.eval();
  return result;
}

nlohmann::json to_json(const CheckPoint& c) {
  return {{"epoch", c.epoch},
          {"batches", c.batches},
          {"seconds", c.seconds},
          {"train_seconds", c.train_seconds},
          {"epsilon", c.epsilon},
          {"clean_accuracy", c.clean_accuracy},
          {"robust_accuracy", c.robust_accuracy}};
}

CheckPoint check_point_from_json(const nlohmann::json& j) {
  CheckPoint c;
  c.epoch = j.at("epoch").get<int64_t>();
  c.batches = j.at("batches").get<int64_t>();
  c.seconds = j.at("seconds").get<double>();
  c.train_seconds = j.at("train_seconds").get<double>();
  c.epsilon = j.at("epsilon").get<double>();
  c.clean_accuracy = j.at("clean_accuracy").get<double>();
  c.robust_accuracy = j.at("robust_accuracy").get<double>();
  return c;
}

EpochRecord epoch_record_from_json(const nlohmann::json& j) {
  EpochRecord r;
  r.epoch = j.at("epoch").get<int64_t>();
  r.learning_rate = j.at("learning_rate").get<double>();
  r.train_loss = j.at("train_loss").get<double>();
  r.train_accuracy = j.at("train_accuracy").get<double>();
  r.seconds = j.at("seconds").get<double>();
  r.images_per_second = j.at("images_per_second").get<double>();
  if (j.contains("validation_accuracy")) r.validation_accuracy = j.at("validation_accuracy").get<double>();
  if (j.contains("validation_robust_accuracy")) {
    r.validation_robust_accuracy = j.at("validation_robust_accuracy").get<double>();
  }
  return r;
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
