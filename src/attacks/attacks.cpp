// FGSM, PGD and APGD-CE as pure functions of (model, inputs, labels, config).
#include "attacks/attacks.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "common/error.h"
#include "common/log.h"

namespace advkfp::attacks {
namespace F = torch::nn::functional;

Method parse_method(const std::string& name) {
  if (name == "fgsm") return Method::kFgsm;
  if (name == "pgd") return Method::kPgd;
  if (name == "apgd") return Method::kApgd;
  throw UsageError(
      advkfp::describe("attack", "unknown method '" + name + "' (use fgsm, pgd or apgd)"));
}

std::string method_name(Method m) {
  switch (m) {
    case Method::kFgsm: return "fgsm";
    case Method::kPgd: return "pgd";
    case Method::kApgd: return "apgd";
  }
  return "?";
}

double AttackConfig::effective_step() const {
  if (method == Method::kFgsm) return epsilon;
  if (method == Method::kApgd) return 2.0 * epsilon;  // the initial step; it adapts per image
  return step_size > 0 ? step_size : 2.5 * epsilon / static_cast<double>(steps);
}

void AttackConfig::validate() const {
  checks::require("epsilon", epsilon, epsilon_range());
  if (method != Method::kFgsm) {
    checks::require("steps", static_cast<double>(steps), steps_range());
    checks::require("step_size", step_size, step_size_range());
    checks::require("restarts", static_cast<double>(restarts), steps_range());
  }
}

std::string AttackConfig::describe() const {
  std::ostringstream os;
  if (method == Method::kFgsm) {
    os << "FGSM eps=" << epsilon;
  } else if (method == Method::kApgd) {
    os << "APGD-CE-" << steps << " eps=" << epsilon << " restarts=" << restarts
       << (random_start ? " random-start" : "");
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

torch::Tensor per_sample_loss(const torch::Tensor& logits, const torch::Tensor& y) {
  return F::cross_entropy(logits, y, F::CrossEntropyFuncOptions().reduction(torch::kNone));
}

torch::Tensor fgsm_step(const torch::Tensor& x, const torch::Tensor& g, double epsilon) {
  return (x + epsilon * g.sign()).clamp_(0.0, 1.0).detach();
}

// One PGD step and its projection, in one pass over the batch and in place:
//   x <- clamp(x0 + clamp((x + alpha * sign(g)) - x0, -eps, eps), 0, 1)
// with the same float operations in the same order as that tensor expression (so the same
// results, bit for bit), without the five temporaries it allocates per step. alpha * sign(g) is
// exact, so a compiler contracting it into a fused multiply-add cannot change a result either.
void step_and_project(torch::Tensor& x, const torch::Tensor& g, const torch::Tensor& x0,
                      double alpha, double eps) {
  TORCH_CHECK(x.is_contiguous() && x0.is_contiguous() && x.scalar_type() == torch::kFloat &&
                  x0.sizes() == x.sizes(),
              "step_and_project: x and x0 must be contiguous float32 of one shape");
  const auto gc = g.contiguous();
  float* xp = x.data_ptr<float>();
  const float* gp = gc.data_ptr<float>();
  const float* x0p = x0.data_ptr<float>();
  const auto a = static_cast<float>(alpha), e = static_cast<float>(eps);
  at::parallel_for(0, x.numel(), 1 << 14, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const float s = static_cast<float>((0.0f < gp[i]) - (gp[i] < 0.0f));  // at::sign
      const float d = std::min(std::max((xp[i] + a * s) - x0p[i], -e), e);
      xp[i] = std::min(std::max(x0p[i] + d, 0.0f), 1.0f);
    }
  });
}

}  // namespace

torch::Tensor fgsm(model::Classifier& net, const torch::Tensor& x, const torch::Tensor& y,
                   double epsilon) {
  model::FrozenParameters frozen(net);
  return fgsm_step(x, input_gradient(net, x, y), epsilon);
}

torch::Tensor pgd(model::Classifier& net, const torch::Tensor& x, const torch::Tensor& y,
                  const AttackConfig& config, at::Generator& gen) {
  model::FrozenParameters frozen(net);
  const double eps = config.epsilon;
  const double alpha = config.effective_step();
  const auto x0 = x.detach().contiguous();
  torch::Tensor best, best_loss, best_wrong;
  for (int64_t r = 0; r < config.restarts; ++r) {
    torch::Tensor xa = x0.clone();
    if (config.random_start) xa.add_(torch::empty_like(xa).uniform_(-eps, eps, gen)).clamp_(0.0, 1.0);
    for (int64_t s = 0; s < config.steps; ++s) {
      step_and_project(xa, input_gradient(net, xa, y), x0, alpha, eps);
    }
    if (config.restarts == 1) return xa;
    torch::Tensor loss, wrong;
    {
      torch::NoGradGuard no_grad;
      auto logits = net.forward(xa);
      wrong = logits.argmax(1).ne(y);
      loss = per_sample_loss(logits, y);
    }
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

namespace {

// `size` rows of a batch: the live ones (in order), then settled ones as padding.
torch::Tensor pick(const torch::Tensor& live_rows, const torch::Tensor& settled_rows,
                   int64_t size) {
  return torch::cat({live_rows, settled_rows.slice(0, 0, size - live_rows.size(0))});
}

// robust_attack_all() on one batch; `correct` (bool [N]) marks the images classified correctly on
// the clean input.
torch::Tensor robust_batch(model::Classifier& net, const torch::Tensor& x, const torch::Tensor& y,
                           const torch::Tensor& correct, const AttackConfig& config,
                           at::Generator& gen) {
  if (config.method == Method::kApgd) return apgd(net, x, y, correct, config, gen);
  model::FrozenParameters frozen(net);
  const auto x0 = x.detach().contiguous();
  auto out = x0.clone();
  if (config.method == Method::kFgsm) {
    const auto active = correct.nonzero().flatten();  // batch rows classified correctly
    if (active.numel() == 0) return out;
    auto xg = x0.index_select(0, active).requires_grad_(true);
    // d(sum of per-image losses)/dx: an image's gradient does not depend on its batch.
    auto loss = F::cross_entropy(net.forward(xg), y.index_select(0, active),
                                 F::CrossEntropyFuncOptions().reduction(torch::kSum));
    auto g = torch::autograd::grad({loss}, {xg})[0];
    out.index_copy_(0, active, fgsm_step(xg.detach(), g, config.epsilon));
    return out;
  }
  const double eps = config.epsilon;
  const double alpha = config.effective_step();
  const int64_t n = x0.size(0);
  // Rows of the batch already settled: wrong on the clean input, or fooled by an iterate.
  auto done = correct.logical_not();
  // Per batch row: the loss of the restart kept for a row never fooled.
  auto best_loss = torch::full({n}, -std::numeric_limits<float>::infinity());
  // The rows still attacked are computed in groups of n, n/2, n/4, ... rows (rounded up), padded
  // with settled rows whose results are ignored: the tensors of a step then come in a few fixed
  // sizes, which the allocator reuses batch after batch, instead of a new size per step.
  const auto group_size = [n](int64_t live) {
    int64_t size = n;
    while (size > 1 && (size + 1) / 2 >= live) size = (size + 1) / 2;
    return size;
  };
  const auto settle = [&](const torch::Tensor& rows, const torch::Tensor& xa,
                          const torch::Tensor& which) {  // out[rows[j]] = xa[j] where which[j]
    const auto js = which.nonzero().flatten();
    const auto* j = js.data_ptr<int64_t>();
    const auto* row = rows.data_ptr<int64_t>();
    for (int64_t i = 0; i < js.size(0); ++i) out[row[j[i]]].copy_(xa[j[i]]);
  };
  for (int64_t r = 0; r < config.restarts; ++r) {
    torch::Tensor noise;  // drawn for the whole batch, as pgd() draws it
    if (config.random_start) noise = torch::empty_like(x0).uniform_(-eps, eps, gen);
    const auto live_rows = done.logical_not().nonzero().flatten();
    const int64_t live_count = live_rows.size(0);
    if (live_count == 0) continue;
    const int64_t size = group_size(live_count);
    auto rows = pick(live_rows, done.nonzero().flatten(), size);
    auto live = torch::arange(size).lt(live_count);
    auto xs0 = x0.index_select(0, rows);
    auto ys = y.index_select(0, rows);
    auto xa = xs0.clone();
    if (config.random_start) xa.add_(noise.index_select(0, rows)).clamp_(0.0, 1.0);
    for (int64_t s = 0;; ++s) {
      const bool last = s == config.steps;  // the final iterate: checked, not stepped from
      auto xg = xa.detach().requires_grad_(!last);
      torch::Tensor logits;
      {
        c10::AutoGradMode grad_mode(!last);
        logits = net.forward(xg);
      }
      const auto fooled = logits.argmax(1).ne(ys);
      const auto newly = fooled & live;
      settle(rows, xa, newly);
      done.index_fill_(0, rows.masked_select(newly), true);
      live &= fooled.logical_not();
      if (last) {
        // Rows never fooled: keep this restart's iterate where its loss is the highest so far.
        torch::NoGradGuard no_grad;
        const auto loss = per_sample_loss(logits, ys);
        const auto better = live & loss.gt(best_loss.index_select(0, rows));
        settle(rows, xa, better);
        best_loss.index_put_({rows.masked_select(better)}, loss.masked_select(better));
        break;
      }
      const int64_t left = live.sum().item<int64_t>();
      if (left == 0) break;
      // d(sum of the live rows' losses)/dx: an image's gradient does not depend on its batch.
      auto loss = (per_sample_loss(logits, ys) * live.to(logits.scalar_type())).sum();
      auto g = torch::autograd::grad({loss}, {xg})[0];
      step_and_project(xa, g, xs0, alpha, eps);
      const int64_t next = group_size(left);
      if (next < rows.size(0)) {
        const auto sel = pick(live.nonzero().flatten(), live.logical_not().nonzero().flatten(), next);
        rows = rows.index_select(0, sel);
        live = live.index_select(0, sel);
        xa = xa.index_select(0, sel);
        xs0 = xs0.index_select(0, sel);
        ys = ys.index_select(0, sel);
      }
    }
  }
  return out;
}

}  // namespace

torch::Tensor kl_to_logits(const torch::Tensor& p, const torch::Tensor& logits) {
  return (torch::xlogy(p, p) - p * F::log_softmax(logits, 1)).sum(1);
}

torch::Tensor pgd_kl(model::Classifier& net, const torch::Tensor& x, const torch::Tensor& p_clean,
                     const AttackConfig& config, at::Generator& gen) {
  model::FrozenParameters frozen(net);
  const double eps = config.epsilon;
  const double alpha = config.effective_step();
  const auto x0 = x.detach().contiguous();
  const auto p = p_clean.detach();
  auto xa = (x0 + 0.001 * torch::empty_like(x0).normal_(0.0, 1.0, gen)).clamp_(0.0, 1.0);
  for (int64_t s = 0; s < config.steps; ++s) {
    auto xg = xa.detach().requires_grad_(true);
    auto kl = kl_to_logits(p, net.forward(xg)).sum();
    step_and_project(xa, torch::autograd::grad({kl}, {xg})[0], x0, alpha, eps);
  }
  return xa;
}

std::vector<int64_t> apgd_checkpoints(int64_t steps) {
  // The reference code's integer rounding: the first window int(0.22 N) steps, each next one
  // int(0.03 N) shorter, never shorter than int(0.06 N); every length at least 1.
  const auto part = [steps](double f) {
    return std::max<int64_t>(static_cast<int64_t>(f * static_cast<double>(steps)), 1);
  };
  const int64_t decrease = part(0.03), shortest = part(0.06);
  std::vector<int64_t> out;
  for (int64_t window = part(0.22), at = window; at <= steps;
       window = std::max(window - decrease, shortest), at += window) {
    out.push_back(at);
  }
  return out;
}

torch::Tensor apgd(model::Classifier& net, const torch::Tensor& x, const torch::Tensor& y,
                   const torch::Tensor& active, const AttackConfig& config, at::Generator& gen) {
  model::FrozenParameters frozen(net);
  const double eps = config.epsilon;
  const auto x0_all = x.detach().contiguous();
  auto out = x0_all.clone();
  const int64_t n = x0_all.size(0);
  const auto checkpoints = apgd_checkpoints(config.steps);
  auto done = active.logical_not();
  auto kept_loss = torch::full({n}, -std::numeric_limits<float>::infinity());
  const auto project = [eps](const torch::Tensor& v, const torch::Tensor& x0) {
    return torch::minimum(torch::maximum(v, x0 - eps), x0 + eps).clamp_(0.0, 1.0);
  };
  const auto expand = [](const torch::Tensor& rowwise) { return rowwise.view({-1, 1, 1, 1}); };
  // The rows still attacked are computed in groups of a multiple of n/8 rows (rounded up),
  // padded with settled rows (not live: never settled again, their results ignored), so the
  // tensors of a step come in at most 8 sizes the allocator reuses, instead of a new size each
  // time a row is fooled (which took ~22,000 page faults per batch of 500 and 2.5 GB at 10,000
  // images). Eighths rather than robust_batch()'s halving: APGD runs on defended models, where
  // half the rows or more stay live, and halving would compute up to twice the rows.
  const int64_t unit = (n + 7) / 8;
  const auto group_size = [n, unit](int64_t live) {
    return std::min(n, (live + unit - 1) / unit * unit);
  };
  for (int64_t r = 0; r < config.restarts; ++r) {
    torch::Tensor noise;  // drawn for the whole batch, as pgd() draws it
    if (config.random_start) noise = torch::empty_like(x0_all).uniform_(-eps, eps, gen);
    const auto live_rows = done.logical_not().nonzero().flatten();
    const int64_t live_count = live_rows.size(0);
    if (live_count == 0) continue;
    const int64_t size = group_size(live_count);
    auto rows = pick(live_rows, done.nonzero().flatten(), size);
    auto live = torch::arange(size).lt(live_count);
    int64_t left = live_count;
    auto x0 = x0_all.index_select(0, rows);
    auto ys = y.index_select(0, rows);
    auto xa = x0.clone();
    if (config.random_start) xa.add_(noise.index_select(0, rows)).clamp_(0.0, 1.0);
    torch::Tensor loss, grad, fooled;
    const auto evaluate_at = [&]() {
      auto xg = xa.detach().requires_grad_(true);
      auto logits = net.forward(xg);
      loss = per_sample_loss(logits, ys);
      // d(sum of per-image losses)/dx: an image's gradient does not depend on its batch.
      grad = torch::autograd::grad({loss.sum()}, {xg})[0];
      loss = loss.detach();
      fooled = logits.argmax(1).ne(ys);
    };
    evaluate_at();
    auto x_best = xa.clone(), grad_best = grad.clone(), loss_best = loss.clone();
    auto x_old = xa.clone();
    auto step = torch::full({size}, 2.0 * eps);
    auto loss_prev = loss.clone();
    auto increases = torch::zeros({size}, torch::kInt64);
    auto loss_best_at_check = loss_best.clone();
    auto halved_at_check = torch::ones({size}, torch::kBool);
    // Settles the live rows fooled at the current iterate; when few enough are left, moves to
    // the next smaller group (every per-row tensor keeps the same rows).
    const auto settle_fooled = [&]() {
      const auto newly = fooled & live;
      if (!newly.any().item<bool>()) return;
      const auto js = newly.nonzero().flatten();
      const auto* j = js.data_ptr<int64_t>();
      const auto* row = rows.data_ptr<int64_t>();
      for (int64_t i = 0; i < js.size(0); ++i) out[row[j[i]]].copy_(xa[j[i]]);
      done.index_fill_(0, rows.index_select(0, js), true);
      live &= newly.logical_not();
      left -= js.size(0);
      const int64_t next = group_size(left);
      if (left == 0 || next >= rows.size(0)) return;
      const auto keep =
          pick(live.nonzero().flatten(), live.logical_not().nonzero().flatten(), next);
      for (torch::Tensor* t : {&rows, &live, &x0, &ys, &xa, &loss, &grad, &fooled, &x_best,
                               &grad_best, &loss_best, &x_old, &step, &loss_prev, &increases,
                               &loss_best_at_check, &halved_at_check}) {
        *t = t->index_select(0, keep);
      }
    };
    settle_fooled();
    size_t next_check = 0;
    for (int64_t i = 0; i < config.steps && left > 0; ++i) {
      {
        torch::NoGradGuard no_grad;
        const auto momentum = xa - x_old;
        x_old = xa;
        const double a = i > 0 ? 0.75 : 1.0;  // no momentum on the first step
        const auto z = project(xa + expand(step) * grad.sign(), x0);
        xa = project(xa + (z - xa) * a + momentum * (1.0 - a), x0).contiguous();
      }
      evaluate_at();
      settle_fooled();
      if (left == 0) break;
      increases += loss.gt(loss_prev).to(torch::kInt64);
      loss_prev = loss;
      const auto better = loss.gt(loss_best);
      x_best = torch::where(expand(better), xa, x_best);
      grad_best = torch::where(expand(better), grad, grad_best);
      loss_best = torch::where(better, loss, loss_best);
      if (next_check < checkpoints.size() && i + 1 == checkpoints[next_check]) {
        const int64_t window =
            checkpoints[next_check] - (next_check > 0 ? checkpoints[next_check - 1] : 0);
        // Condition 1: at most 75% of the window's steps raised the loss. Condition 2: the step
        // was not halved at the previous checkpoint and the best loss has not improved since.
        const auto oscillates = increases.to(torch::kDouble).le(0.75 * static_cast<double>(window));
        const auto stalled = halved_at_check.logical_not() & loss_best_at_check.ge(loss_best);
        const auto halve = oscillates | stalled;
        halved_at_check = halve;
        loss_best_at_check = loss_best.clone();
        step = torch::where(halve, step * 0.5, step);
        xa = torch::where(expand(halve), x_best, xa).contiguous();
        grad = torch::where(expand(halve), grad_best, grad);
        increases.zero_();
        ++next_check;
      }
    }
    if (left == 0) continue;
    // Live rows never fooled: keep this restart's best point where its loss beats earlier
    // restarts'.
    const auto take = live & loss_best.gt(kept_loss.index_select(0, rows));
    const auto js = take.nonzero().flatten();
    const auto* j = js.data_ptr<int64_t>();
    const auto* row = rows.data_ptr<int64_t>();
    for (int64_t i = 0; i < js.size(0); ++i) out[row[j[i]]].copy_(x_best[j[i]]);
    kept_loss.index_put_({rows.index_select(0, js)}, loss_best.index_select(0, js));
  }
  return out;
}

torch::Tensor attack_batch(model::Classifier& net, const torch::Tensor& x, const torch::Tensor& y,
                           const AttackConfig& config, at::Generator& gen) {
  if (config.method == Method::kFgsm) return fgsm(net, x, y, config.epsilon);
  if (config.method == Method::kApgd) {
    return apgd(net, x, y, torch::ones({x.size(0)}, torch::kBool), config, gen);
  }
  return pgd(net, x, y, config, gen);
}

torch::Tensor predicted_labels(model::Classifier& net, const torch::Tensor& x) {
  torch::Tensor pred;
  {
    c10::InferenceMode inference;
    pred = net.forward(x).argmax(1);
  }
  return pred.clone();  // a normal tensor: labels are saved for the attack's backward pass
}

namespace {

// The batch loop both whole-set attacks share: validates, puts `net` in eval mode, seeds one
// generator for the whole set and writes `attack(begin, end, gen)`'s batch into a new tensor.
template <typename AttackBatch>
torch::Tensor in_batches(model::Classifier& net, const torch::Tensor& images,
                         const AttackConfig& config, int64_t batch_size, int64_t seed,
                         int64_t log_every, const char* caller, AttackBatch attack) {
  config.validate();
  TORCH_CHECK(batch_size > 0, caller, ": batch_size must be positive");
  net.eval();
  auto gen = at::detail::createCPUGenerator(static_cast<uint64_t>(seed));
  const int64_t n = images.size(0);
  auto out = torch::empty_like(images);
  const int64_t batches = (n + batch_size - 1) / batch_size;
  log::Progress progress(config.describe(), batches, batch_size, log_every);
  for (int64_t b = 0; b < batches; ++b) {
    const int64_t begin = b * batch_size, end = std::min(n, begin + batch_size);
    out.slice(0, begin, end).copy_(attack(begin, end, gen));
    progress.step();
  }
  return out;
}

}  // namespace

torch::Tensor attack_all(model::Classifier& net, const torch::Tensor& images,
                         const torch::Tensor& labels, const AttackConfig& config,
                         int64_t batch_size, int64_t seed, int64_t log_every) {
  return in_batches(net, images, config, batch_size, seed, log_every, "attack_all",
                    [&](int64_t begin, int64_t end, at::Generator& gen) {
                      auto x = images.slice(0, begin, end);
                      auto y = labels.defined() ? labels.slice(0, begin, end)
                                                : predicted_labels(net, x);
                      return attack_batch(net, x, y, config, gen);
                    });
}

torch::Tensor robust_attack_all(model::Classifier& net, const torch::Tensor& images,
                                const torch::Tensor& labels, const AttackConfig& config,
                                int64_t batch_size, int64_t seed, int64_t log_every,
                                const torch::Tensor& clean_predictions) {
  TORCH_CHECK(labels.defined(), "robust_attack_all: needs labels");
  return in_batches(net, images, config, batch_size, seed, log_every, "robust_attack_all",
                    [&](int64_t begin, int64_t end, at::Generator& gen) {
                      auto x = images.slice(0, begin, end);
                      auto y = labels.slice(0, begin, end);
                      auto pred = clean_predictions.defined()
                                      ? clean_predictions.slice(0, begin, end)
                                      : predicted_labels(net, x);
                      return robust_batch(net, x, y, pred.eq(y), config, gen);
                    });
}

nlohmann::json to_json(const AttackConfig& c) {
  nlohmann::json j = {{"method", method_name(c.method)}, {"epsilon", c.epsilon}};
  if (c.method == Method::kApgd) {
    j["steps"] = c.steps;
    j["random_start"] = c.random_start;
    j["restarts"] = c.restarts;
    j["momentum"] = 0.75;
    j["initial_step_size"] = c.effective_step();
  } else if (c.method == Method::kPgd) {
    j["step_size"] = c.effective_step();
    j["steps"] = c.steps;
    j["random_start"] = c.random_start;
    j["restarts"] = c.restarts;
  }
  return j;
}

}  // namespace advkfp::attacks
