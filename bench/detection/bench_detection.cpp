// bench-detection: how often detect-degradation's label-free mode fires and which verdict it gives
// (clean, shift, attack), on attacked windows, on clean windows and on benignly shifted windows,
// separately for the shifts the detector was calibrated on and for shifts it never saw.
//
// The test set is split into a reference (calibration) part and a window pool. Every pool image is
// attacked once per (attack, eps) and shifted once per benign shift, and all of them are scored
// once; each trial then draws a window of pool indices and decides it from the precomputed
// scores, so thousands of windows cost seconds. The adaptive attacker knows the detector: it
// runs PGD on the loss of the input and of its two squeezed copies together (the bit-depth
// squeezer passed through as the identity in the backward pass, BPDA), so that squeezing no
// longer undoes its examples and their squeezing score stays low.
#include <chrono>
#include <cmath>
#include <iomanip>
#include <iostream>
#include <random>
#include <sstream>
#include <tuple>

#include "attacks/attacks.h"
#include "cli/run.h"
#include "common/error.h"
#include "common/log.h"
#include "data/dataset.h"
#include "detect_degradation.h"
#include "detection/detection.h"
#include "detection/shifts.h"
#include "io/json.h"
#include "metrics/metrics.h"
#include "model/classifier.h"

namespace advkfp::bench_detection {
namespace {

struct Options : cli::CommonOptions {
  std::filesystem::path model, dataset, results;
  int64_t reference_count = 0;
  int64_t limit = 0;
  std::string window_sizes = "100,500,1000";
  std::string attacks = "fgsm,pgd";
  std::string epsilons = "0.05,0.1,0.15";
  std::string fractions = "0.1,0.5,1";
  int64_t trials = 200;
  int64_t pgd_steps = 10;
  std::string calibration_shifts = detect_degradation::Options{}.calibration_shifts;
  std::string held_out_shifts =
      "brightness:-0.1,gain:0.8,contrast:0.7,gamma:1.5,rotate:10,downscale:2,uniform-noise:0.1,"
      "salt-pepper:0.02";
  std::string adaptive_epsilons = "0.1";
  int64_t adaptive_count = 1000;
  int64_t adaptive_steps = 20;
  // The detector's settings default to detect-degradation's own.
  double alpha = detect_degradation::Options{}.alpha;
  double fpr = detect_degradation::Options{}.fpr;
  int64_t squeeze_bits = detect_degradation::Options{}.squeeze_bits;
  int64_t batch_size = 256;
};

template <class T>
std::vector<T> parse_list(const std::string& csv, const std::string& what, T lo, T hi) {
  std::vector<T> out;
  std::istringstream in(csv);
  for (std::string item; std::getline(in, item, ',');) {
    std::istringstream is(item);
    T v{};
    if (!(is >> v) || !is.eof() || v < lo || v > hi) {
      throw UsageError(describe(what, "'" + item + "' is not a value in [" + std::to_string(lo) +
                                          ", " + std::to_string(hi) + "]"));
    }
    out.push_back(v);
  }
  if (out.empty()) throw UsageError(describe(what, "empty list"));
  return out;
}

// One way of producing a window's inputs from the pool.
struct Condition {
  std::string name;     ///< "clean", "noise:0.05", "FGSM eps 0.1", ...
  std::string kind;     ///< clean | calibrated-shift | held-out-shift | attack | adaptive-attack
  double fraction = 1;  ///< share of each window taken from the altered set
  const detection::Scores* altered = nullptr;
  io::Json settings = io::Json::object();
};

struct Cell {
  double rate = 0, ks_rate = 0, squeeze_rate = 0;  ///< any alarm (degraded), and each test alone
  double attack_rate = 0, shift_rate = 0;           ///< verdicts
  double adversarial_rate = 0;                      ///< the far-moved test alone
  int64_t trials = 0;
};

// The adaptive attacker: PGD (random start, step 2.5 eps / steps) on the sum of the
// cross-entropies of x, of its bit-depth-reduced copy and of its 2x2-median copy, so that the
// squeezed copies are misclassified too and the squeezing score (their distance to f(x)) stays
// small. Bit-depth reduction has no gradient: it is the identity in the backward pass (BPDA,
// Athalye et al., ICML 2018); the median filter is differentiable as it is.
torch::Tensor adaptive_pgd(model::Classifier& net, const torch::Tensor& images,
                           const torch::Tensor& labels, double eps, int64_t steps,
                           int64_t squeeze_bits, int64_t batch_size, uint64_t seed) {
  net.eval();
  auto gen = at::detail::createCPUGenerator(seed);
  const double step = 2.5 * eps / static_cast<double>(steps);
  namespace F = torch::nn::functional;
  std::vector<torch::Tensor> out;
  for (int64_t begin = 0; begin < images.size(0); begin += batch_size) {
    const auto x0 = images.slice(0, begin, std::min(images.size(0), begin + batch_size));
    const auto y = labels.slice(0, begin, begin + x0.size(0));
    auto x = (x0 + (torch::rand(x0.sizes(), gen) * 2 - 1) * eps).clamp(0, 1);
    for (int64_t s = 0; s < steps; ++s) {
      x.requires_grad_(true);
      const auto bits = x + (detection::reduce_bit_depth(x.detach(), squeeze_bits) - x).detach();
      const auto loss = F::cross_entropy(net.forward(x), y) +
                        F::cross_entropy(net.forward(bits), y) +
                        F::cross_entropy(net.forward(detection::median_filter_2x2(x)), y);
      const auto grad = torch::autograd::grad({loss}, {x})[0];
      torch::NoGradGuard no_grad;
      x = x.detach() + step * grad.sign();
      x = (x0 + (x - x0).clamp(-eps, eps)).clamp(0, 1);
    }
    out.push_back(x.detach());
  }
  return torch::cat(out);
}

Cell run_cell(const detection::Calibration& cal, const detection::Scores& clean, const Condition& c,
              int64_t window, int64_t trials, double alpha, std::mt19937_64& rng) {
  const int64_t pool = clean.size();
  std::vector<int64_t> idx(static_cast<size_t>(pool));
  for (int64_t i = 0; i < pool; ++i) idx[static_cast<size_t>(i)] = i;
  const auto altered = static_cast<int64_t>(std::llround(c.fraction * static_cast<double>(window)));
  Cell cell;
  cell.trials = trials;
  int64_t fired = 0, ks = 0, sq = 0, attack = 0, shift = 0, adv = 0;
  for (int64_t t = 0; t < trials; ++t) {
    // Partial Fisher-Yates: the first `window` entries become a uniform draw without replacement.
    for (int64_t i = 0; i < window; ++i) {
      std::uniform_int_distribution<int64_t> pick(i, pool - 1);
      std::swap(idx[static_cast<size_t>(i)], idx[static_cast<size_t>(pick(rng))]);
    }
    detection::Scores w;
    for (int64_t i = 0; i < window; ++i) {
      const auto* from = (i < altered && c.altered) ? c.altered : &clean;
      w.push_back(*from, idx[static_cast<size_t>(i)]);
    }
    const auto d = detection::decide_window(cal, w, alpha);
    fired += d.degraded;
    ks += (d.p_max_probability < alpha || d.p_entropy < alpha);
    sq += d.binomial_p_value < alpha;
    attack += d.verdict == detection::Verdict::kAttack;
    shift += d.verdict == detection::Verdict::kShift;
    adv += d.adversarial_p_value < alpha;
  }
  const auto n = static_cast<double>(trials);
  cell.rate = fired / n;
  cell.ks_rate = ks / n;
  cell.squeeze_rate = sq / n;
  cell.attack_rate = attack / n;
  cell.shift_rate = shift / n;
  cell.adversarial_rate = adv / n;
  return cell;
}

std::string number(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

std::string percent(double v) {
  std::ostringstream os;
  os << std::fixed << std::setprecision(1) << 100 * v << "%";
  return os.str();
}

void run(const Options& o) {
  const auto windows = parse_list<int64_t>(o.window_sizes, "window_sizes", 1, 1000000);
  const auto epsilons = parse_list<double>(o.epsilons, "epsilons", 0, 1);
  const auto fractions = parse_list<double>(o.fractions, "fractions", 0, 1);
  const auto adaptive_epsilons =
      o.adaptive_epsilons.empty() ? std::vector<double>{}
                                  : parse_list<double>(o.adaptive_epsilons, "adaptive_epsilons", 0, 1);
  const auto calibration_shifts =
      detection::parse_shifts(o.calibration_shifts, "calibration_shifts");
  const auto held_out_shifts = detection::parse_shifts(o.held_out_shifts, "held_out_shifts");
  std::vector<attacks::Method> methods;
  {
    std::istringstream in(o.attacks);
    for (std::string m; std::getline(in, m, ',');) methods.push_back(attacks::parse_method(m));
  }
  auto net = model::load_model(o.model, "model");
  auto ds = data::load_dataset(o.dataset, "dataset").slice(0, o.limit);
  data::check_compatible(ds, net.info().input_shape, net.info().num_classes(), "dataset");
  if (!ds.has_labels()) throw Error(describe("dataset", "needs labels (to attack and to report)"));
  const int64_t n = ds.size();
  const int64_t n_ref = o.reference_count > 0 ? o.reference_count : n / 2;
  if (n_ref >= n) throw UsageError(describe("reference_count", "leaves no window pool"));
  const auto ref = ds.slice(0, n_ref);
  const auto pool = ds.slice(n_ref, 0);
  for (const int64_t w : windows) {
    if (w > pool.size()) {
      throw UsageError(describe("window_sizes", std::to_string(w) + " exceeds the pool of " +
                                                    std::to_string(pool.size()) + " images"));
    }
  }
  log::info("reference ", ref.size(), " images, pool ", pool.size(), " images");

  const auto score = [&](const torch::Tensor& images) {
    return detection::score_inputs(net, images, o.squeeze_bits, o.batch_size);
  };
  const auto since = [](std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
  };
  // Calibration exactly as detect-degradation does it: reference and its shifted copies.
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<detection::ShiftedScores> shifted;
  for (size_t i = 0; i < calibration_shifts.size(); ++i) {
    const auto seed = static_cast<uint64_t>(o.seed) + 1 + i;
    shifted.push_back({calibration_shifts[i].name(),
                       score(detection::apply_shift(ref.images, calibration_shifts[i], seed))});
  }
  const auto cal = detection::calibrate(score(ref.images), net.info().sha256, o.fpr,
                                        o.squeeze_bits, shifted);
  const double calibration_s = since(t0);
  log::info("calibrated in ", calibration_s, " s: adversarial threshold ",
            cal.threshold_adversarial);
  const auto t1 = std::chrono::steady_clock::now();
  const auto clean_scores = score(pool.images);
  const double window_scoring_s = since(t1);
  const auto clean_eval = metrics::evaluate(net, pool.images, pool.labels, o.batch_size);

  // Every altered version of the pool, scored once; `store` is reserved so the conditions'
  // pointers into it stay valid. The adaptive attack runs on the first adaptive_count pool
  // images only (it costs three gradients per step); its windows come from those.
  struct Set {
    std::string name, kind;
    io::Json settings;
    torch::Tensor images;
    int64_t count;
  };
  std::vector<Set> sets;
  // Seeds of the pool's shifts differ from the calibration's: other noise, same kind.
  const uint64_t pool_seed = static_cast<uint64_t>(o.seed) + 1000;
  for (const auto& sh : calibration_shifts) {
    sets.push_back({sh.name(), "calibrated-shift", {{"shift", sh.name()}, {"family", sh.family()}},
                    detection::apply_shift(pool.images, sh, pool_seed), pool.size()});
  }
  for (const auto& sh : held_out_shifts) {
    sets.push_back({sh.name(), "held-out-shift", {{"shift", sh.name()}, {"family", sh.family()}},
                    detection::apply_shift(pool.images, sh, pool_seed), pool.size()});
  }
  io::Json attack_accuracy = io::Json::array();
  for (const auto method : methods) {
    for (const double eps : epsilons) {
      attacks::AttackConfig cfg;
      cfg.method = method;
      cfg.epsilon = eps;
      cfg.steps = o.pgd_steps;
      const auto adv =
          attacks::attack_all(net, pool.images, pool.labels, cfg, o.batch_size, o.seed, 0);
      const auto acc = metrics::evaluate(net, adv, pool.labels, o.batch_size).accuracy;
      log::info(cfg.describe(), ": pool accuracy ", clean_eval.accuracy, " -> ", acc);
      attack_accuracy.push_back({{"attack", attacks::to_json(cfg)}, {"accuracy", acc}});
      const std::string name =
          method == attacks::Method::kFgsm ? "FGSM" : "PGD-" + std::to_string(o.pgd_steps);
      sets.push_back({name + " eps " + number(eps), "attack", attacks::to_json(cfg), adv,
                      pool.size()});
    }
  }
  const int64_t n_adaptive = std::min(o.adaptive_count, pool.size());
  io::Json adaptive_results = io::Json::array();
  for (const double eps : adaptive_epsilons) {
    const auto t = std::chrono::steady_clock::now();
    const auto part = pool.slice(0, n_adaptive);
    const auto adv = adaptive_pgd(net, part.images, part.labels, eps, o.adaptive_steps,
                                  o.squeeze_bits, o.batch_size,
                                  static_cast<uint64_t>(o.seed) + 2000);
    const auto acc = metrics::evaluate(net, adv, part.labels, o.batch_size).accuracy;
    const double s = since(t);
    const std::string name =
        "adaptive PGD-" + std::to_string(o.adaptive_steps) + " eps " + number(eps);
    log::info(name, " (adaptive) on ", n_adaptive, " images: accuracy ", acc, " in ", s, " s");
    io::Json settings = {{"attack", "pgd_through_squeezers"},
                         {"epsilon", eps},
                         {"steps", o.adaptive_steps},
                         {"images", n_adaptive}};
    adaptive_results.push_back({{"settings", settings}, {"accuracy", acc}, {"seconds", s}});
    sets.push_back({name, "adaptive-attack", settings, adv, n_adaptive});
  }

  std::vector<Condition> conditions;
  std::vector<detection::Scores> store;
  std::vector<detection::Scores> clean_parts;  // the clean pool cut to each set's size
  store.reserve(sets.size());
  clean_parts.reserve(sets.size());
  std::vector<const detection::Scores*> clean_for;
  for (const auto& set : sets) {
    store.push_back(score(set.images));
    const bool attack = set.kind == "attack" || set.kind == "adaptive-attack";
    for (const double f : attack ? fractions : std::vector<double>{1.0}) {
      conditions.push_back({set.name, set.kind, f, &store.back(), set.settings});
    }
    clean_parts.push_back(clean_scores.slice(0, set.count));
    for (size_t i = clean_for.size(); i < conditions.size(); ++i) clean_for.push_back(&clean_parts.back());
  }
  conditions.insert(conditions.begin(), Condition{"clean", "clean", 0.0, nullptr, {}});
  clean_for.insert(clean_for.begin(), &clean_scores);
  const double prep_s = since(t0);

  std::mt19937_64 rng(static_cast<uint64_t>(o.seed));
  io::Json cells = io::Json::array();
  std::ostringstream table;
  table << "| condition | kind | altered |";
  for (const int64_t w : windows) table << " " << w << ": attack | " << w << ": any alarm |";
  table << "\n|---|---|---|";
  for (size_t i = 0; i < windows.size(); ++i) table << "---|---|";
  table << "\n";
  for (size_t ci = 0; ci < conditions.size(); ++ci) {
    const auto& c = conditions[ci];
    const auto& clean = *clean_for[ci];
    table << "| " << c.name << " | " << c.kind << " | "
          << (c.kind == "attack" || c.kind == "adaptive-attack" ? percent(c.fraction) : "-")
          << " |";
    for (const int64_t w : windows) {
      if (w > clean.size()) {
        table << " - | - |";
        continue;
      }
      const auto cell = run_cell(cal, clean, c, w, o.trials, o.alpha, rng);
      table << " " << percent(cell.attack_rate) << " | " << percent(cell.rate) << " |";
      cells.push_back({{"condition", c.name},
                       {"kind", c.kind},
                       {"settings", c.settings},
                       {"fraction_altered", c.fraction},
                       {"window", w},
                       {"trials", cell.trials},
                       {"attack_rate", cell.attack_rate},
                       {"shift_rate", cell.shift_rate},
                       {"alarm_rate", cell.rate},
                       {"ks_alarm_rate", cell.ks_rate},
                       {"squeeze_alarm_rate", cell.squeeze_rate},
                       {"adversarial_test_rate", cell.adversarial_rate}});
    }
    table << "\n";
  }
  const double total_s = since(t0);
  std::cout << "Verdict attack / any alarm (verdict shift or attack) per window, " << o.trials
            << " windows per cell, alpha " << o.alpha << ", fpr " << o.fpr << ", squeeze bits "
            << o.squeeze_bits << ":\n\n"
            << table.str();

  io::Json rates = io::Json::array();
  for (const auto& r : cal.rates) {
    rates.push_back({{"set", r.set}, {"squeeze", r.squeeze_rate}, {"adversarial", r.adversarial_rate}});
  }
  io::Json out = {{"tool", "bench-detection"},
                  {"model", model::describe_model(net.info())},
                  {"dataset", {{"count", n}, {"provenance", ds.provenance}}},
                  {"reference_count", ref.size()},
                  {"pool_count", pool.size()},
                  {"settings",
                   {{"alpha", o.alpha},
                    {"fpr", o.fpr},
                    {"squeeze_bits", o.squeeze_bits},
                    {"calibration_shifts", o.calibration_shifts},
                    {"held_out_shifts", o.held_out_shifts},
                    {"trials", o.trials},
                    {"seed", o.seed},
                    {"threads", torch::get_num_threads()}}},
                  {"calibration",
                   {{"threshold", cal.threshold},
                    {"threshold_bit_depth", cal.threshold_bit_depth},
                    {"threshold_median", cal.threshold_median},
                    {"threshold_adversarial", cal.threshold_adversarial},
                    {"false_positive_rates", rates},
                    {"seconds", calibration_s},
                    {"window_scoring_seconds_per_1000",
                     1000 * window_scoring_s / static_cast<double>(pool.size())}}},
                  {"pool_clean_accuracy", clean_eval.accuracy},
                  {"pool_attack_accuracy", attack_accuracy},
                  {"adaptive", adaptive_results},
                  {"seconds", {{"prepare", prep_s}, {"total", total_s}}},
                  {"cells", cells}};
  out["model"].erase("training");
  io::write_json(o.results, out, "results");
  log::info("calibration ", calibration_s, " s, prepared in ", prep_s, " s, all in ", total_s,
            " s");
}

}  // namespace

const cli::Spec<Options>& spec() {
  static const auto s =
      cli::Spec<Options>(
          "bench-detection",
          "Measure detect-degradation's label-free detector and its verdict: attack and alarm "
          "rates on windows with a share of FGSM/PGD/adaptive inputs, on clean windows, and on "
          "windows under calibrated and held-out benign shifts.")
          .input("model", &Options::model, cli::types::kModel, "Model folder.")
          .input("dataset", &Options::dataset, cli::types::kDataset,
                 "Labelled test set: the first reference_count images calibrate, the rest are "
                 "the window pool.")
          .output("results", &Options::results, cli::types::kMetrics,
                  "JSON: every cell (condition, share altered, window size, alarm rates).")
          .param("reference_count", &Options::reference_count,
                 "Images used as the clean reference (0: the first half).", cli::at_least(0))
          .param("limit", &Options::limit, "Use only the first N images (0: all).",
                 cli::at_least(0))
          .param("window_sizes", &Options::window_sizes, "Window sizes, comma-separated.")
          .param("attacks", &Options::attacks, "Attacks, comma-separated: fgsm, pgd.")
          .param("epsilons", &Options::epsilons, "Attack budgets, comma-separated.")
          .param("fractions", &Options::fractions,
                 "Shares of each window that are attacked, comma-separated.")
          .param("trials", &Options::trials, "Windows drawn per cell.", cli::at_least(1))
          .param("pgd_steps", &Options::pgd_steps, "PGD iterations.", cli::at_least(1))
          .param("calibration_shifts", &Options::calibration_shifts,
                 "Benign shifts the detector calibrates on (as detect-degradation), also applied "
                 "to the pool.")
          .param("held_out_shifts", &Options::held_out_shifts,
                 "Benign shifts applied to the pool only: the detector never saw them.")
          .param("adaptive_epsilons", &Options::adaptive_epsilons,
                 "Budgets of the adaptive attack (PGD through the squeezers); empty: none.")
          .param("adaptive_count", &Options::adaptive_count,
                 "Pool images the adaptive attack runs on (its windows are drawn from them).",
                 cli::at_least(1))
          .param("adaptive_steps", &Options::adaptive_steps, "Adaptive attack: PGD iterations.",
                 cli::at_least(1))
          .param("alpha", &Options::alpha, "Significance level, as detect-degradation.",
                 cli::in_range(0, 1, true, true))
          .param("fpr", &Options::fpr, "Per-input false-positive rate, as detect-degradation.",
                 cli::in_range(0, 1, true, true))
          .param("squeeze_bits", &Options::squeeze_bits, "Bit depth of the bit-reduction squeezer.",
                 cli::in_range(1, 8))
          .param("batch_size", &Options::batch_size, "Inputs per forward pass.", cli::at_least(1))
          .common()
          .loads_models()
          .run(&run);
  return s;
}

}  // namespace advkfp::bench_detection

int main(int argc, char** argv) {
  return advkfp::cli::run(argc, argv, advkfp::bench_detection::spec());
}
