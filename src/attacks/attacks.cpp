// FGSM and PGD as pure functions of (model, inputs, labels, config).
#include "attacks/attacks.h"

#include <cmath>
#include <sstream>

#include "common/error.h"
#include "common/log.h"

namespace advkfp::attacks {
namespace F = torch::nn::functional;

Method parse_method(const std::string& name) {
  if (name == "fgsm") return Method::kFgsm;
  if (name == "pgd") return Method::kPgd;
  throw UsageError(advkfp::describe("attack", "unknown method '" + name + "' (use fgsm or pgd)"));
}

std::string method_name(Method m) { return m == Method::kFgsm ? "fgsm" : "pgd"; }

double AttackConfig::effective_step() const {
  if (method == Method::kFgsm) return epsilon;
  return step_size > 0 ? step_size : 2.5 * epsilon / static_cast<double>(steps);
}

void AttackConfig::validate() const {
  if (!(epsilon > 0.0 && epsilon <= 1.0)) {
    throw UsageError(advkfp::describe("epsilon", std::to_string(epsilon) + " is outside (0, 1]"));
  }
  if (method == Method::kPgd) {
    if (steps < 1) throw UsageError(advkfp::describe("steps", std::to_string(steps) + " must be >= 1"));
    if (!(step_size >= 0.0 && step_size <= 1.0) || !std::isfinite(step_size)) {
      throw UsageError(advkfp::describe("step_size", std::to_string(step_size) + " is outside [0, 1]"));
    }
    if (restarts < 1) {
      throw UsageError(advkfp::describe("restarts", std::to_string(restarts) + " must be >= 1"));
    }
  }
}

std::string AttackConfig::describe() const {
  std::ostringstream os;
  if (method == Method::kFgsm) {
    os << "FGSM eps=" << epsilon;
  } else {
    os << "PGD-" << steps << " eps=" << epsilon << " step=" << effective_step()
       << " restarts=" << restarts << (random_start ? " random-start" : "");
  }
  return os.str();
}

namespace {

torch::Tensor input_gradient(model::Classifier& net, const torch::Tensor& x,
                             const torch::Tensor& y) {
  auto xg = x.detach().requires_grad_(true);
  auto loss = F::cross_entropy(net.forward(xg), y);
  return torch::autograd::grad({loss}, {xg})[0];
}

torch::Tensor per_sample_loss(model::Classifier& net, const torch::Tensor& x,
                              const torch::Tensor& y, torch::Tensor* wrong) {
  torch::NoGradGuard no_grad;
  auto logits = net.forward(x);
  if (wrong) *wrong = logits.argmax(1).ne(y);
  return F::cross_entropy(logits, y, F::CrossEntropyFuncOptions().reduction(torch::kNone));
}

}  // namespace

torch::Tensor fgsm(model::Classifier& net, const torch::Tensor& x, const torch::Tensor& y,
                   double epsilon) {
  model::FrozenParameters frozen(net);
  auto g = input_gradient(net, x, y);
  return (x + epsilon * g.sign()).clamp_(0.0, 1.0).detach();
}

torch::Tensor pgd(model::Classifier& net, const torch::Tensor& x, const torch::Tensor& y,
                  const AttackConfig& config, at::Generator& gen) {
  model::FrozenParameters frozen(net);
  const double eps = config.epsilon;
  const double alpha = config.effective_step();
  const auto x0 = x.detach();
  torch::Tensor best, best_loss, best_wrong;
  for (int64_t r = 0; r < config.restarts; ++r) {
    torch::Tensor xa = x0.clone();
    if (config.random_start) {
      xa = (xa + torch::empty_like(xa).uniform_(-eps, eps, gen)).clamp_(0.0, 1.0);
    }
    for (int64_t s = 0; s < config.steps; ++s) {
      auto g = input_gradient(net, xa, y);
      xa = xa + alpha * g.sign();
      xa = x0 + (xa - x0).clamp_(-eps, eps);
      xa.clamp_(0.0, 1.0);
    }
    if (config.restarts == 1) return xa.detach();
    torch::Tensor wrong;
    auto loss = per_sample_loss(net, xa, y, &wrong);
    if (r == 0) {
      best = xa, best_loss = loss, best_wrong = wrong;
      continue;
    }
    // Prefer a restart that fools the model; among equals, the one with the higher loss.
    auto take = (wrong & ~best_wrong) | ((wrong == best_wrong) & (loss > best_loss));
    auto mask = take.view({-1, 1, 1, 1});
    best = torch::where(mask, xa, best);
    best_loss = torch::where(take, loss, best_loss);
    best_wrong = best_wrong | wrong;
  }
  return best.detach();
}

torch::Tensor attack_batch(model::Classifier& net, const torch::Tensor& x, const torch::Tensor& y,
                           const AttackConfig& config, at::Generator& gen) {
  if (config.method == Method::kFgsm) return fgsm(net, x, y, config.epsilon);
  return pgd(net, x, y, config, gen);
}

torch::Tensor predicted_labels(model::Classifier& net, const torch::Tensor& x) {
  torch::NoGradGuard no_grad;
  return net.forward(x).argmax(1);
}

torch::Tensor attack_all(model::Classifier& net, const torch::Tensor& images,
                         const torch::Tensor& labels, const AttackConfig& config,
                         int64_t batch_size, int64_t seed, int64_t log_every) {
  config.validate();
  TORCH_CHECK(batch_size > 0, "attack_all: batch_size must be positive");
  net.eval();
  auto gen = at::detail::createCPUGenerator(static_cast<uint64_t>(seed));
  const int64_t n = images.size(0);
  auto out = torch::empty_like(images);
  const int64_t batches = (n + batch_size - 1) / batch_size;
  log::Progress progress(config.describe(), batches, batch_size, log_every);
  for (int64_t b = 0; b < batches; ++b) {
    const int64_t begin = b * batch_size, end = std::min(n, begin + batch_size);
    auto x = images.slice(0, begin, end);
    auto y = labels.defined() ? labels.slice(0, begin, end) : predicted_labels(net, x);
    out.slice(0, begin, end).copy_(attack_batch(net, x, y, config, gen));
    progress.step();
  }
  return out;
}

nlohmann::json to_json(const AttackConfig& c) {
  nlohmann::json j = {{"method", method_name(c.method)}, {"epsilon", c.epsilon}};
  if (c.method == Method::kPgd) {
    j["step_size"] = c.effective_step();
    j["steps"] = c.steps;
    j["random_start"] = c.random_start;
    j["restarts"] = c.restarts;
  }
  return j;
}

}  // namespace advkfp::attacks
