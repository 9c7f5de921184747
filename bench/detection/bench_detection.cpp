// bench-detection: how often detect-degradation's label-free mode fires, on attacked windows
// (detection rate) and on clean and benignly shifted windows (false-alarm rate).
//
// The test set is split into a reference (calibration) part and a window pool. Every pool image is
// attacked once per (attack, eps) and shifted once per benign shift, and all of them are scored
// once; each trial then draws a window of pool indices and decides it from the precomputed
// scores, so thousands of windows cost seconds.
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
  std::string name;     ///< "clean", "noise 0.05", "FGSM eps 0.1", ...
  std::string kind;     ///< clean | benign | attack
  double fraction = 1;  ///< share of each window taken from the altered set
  const detection::Scores* altered = nullptr;
  io::Json settings = io::Json::object();
};

struct Cell {
  double rate = 0, ks_rate = 0, squeeze_rate = 0;
  int64_t trials = 0;
};

// Benign shifts of a [N,1,H,W] batch in [0,1].
torch::Tensor shift_right(const torch::Tensor& x, int64_t pixels) {
  namespace F = torch::nn::functional;
  const int64_t w = x.size(3);
  return F::pad(x, F::PadFuncOptions({pixels, 0, 0, 0})).slice(3, 0, w).contiguous();
}

Cell run_cell(const detection::Calibration& cal, const detection::Scores& clean, const Condition& c,
              int64_t window, int64_t trials, double alpha, std::mt19937_64& rng) {
  const int64_t pool = clean.size();
  std::vector<int64_t> idx(static_cast<size_t>(pool));
  for (int64_t i = 0; i < pool; ++i) idx[static_cast<size_t>(i)] = i;
  const auto altered = static_cast<int64_t>(std::llround(c.fraction * static_cast<double>(window)));
  Cell cell;
  cell.trials = trials;
  int64_t fired = 0, ks = 0, sq = 0;
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
  }
  const auto n = static_cast<double>(trials);
  cell.rate = fired / n;
  cell.ks_rate = ks / n;
  cell.squeeze_rate = sq / n;
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

  const auto t0 = std::chrono::steady_clock::now();
  const auto score = [&](const torch::Tensor& images) {
    return detection::score_inputs(net, images, o.squeeze_bits, o.batch_size);
  };
  const auto cal =
      detection::calibrate(score(ref.images), net.info().sha256, o.fpr, o.squeeze_bits);
  const auto clean_scores = score(pool.images);
  const auto clean_eval = metrics::evaluate(net, pool.images, pool.labels, o.batch_size);

  // Every altered version of the pool, scored once; `store` is reserved so the conditions'
  // pointers into it stay valid.
  std::vector<Condition> conditions;
  std::vector<detection::Scores> store;
  std::vector<std::tuple<std::string, std::string, io::Json, torch::Tensor>> sets;
  auto gen = at::detail::createCPUGenerator(static_cast<uint64_t>(o.seed));
  for (const double sigma : {0.05, 0.1}) {
    auto noise = torch::randn(pool.images.sizes(), gen) * sigma;
    sets.emplace_back("noise sigma " + number(sigma), "benign",
                      io::Json{{"shift", "gaussian_noise"}, {"sigma", sigma}},
                      (pool.images + noise).clamp(0, 1));
  }
  for (const double delta : {0.1, -0.1}) {
    sets.emplace_back(std::string("brightness ") + (delta > 0 ? "+" : "-") + "0.1", "benign",
                      io::Json{{"shift", "brightness"}, {"delta", delta}},
                      (pool.images + delta).clamp(0, 1));
  }
  sets.emplace_back("shift 2 px right", "benign", io::Json{{"shift", "translate"}, {"pixels", 2}},
                    shift_right(pool.images, 2));
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
      sets.emplace_back(name + " eps " + number(eps), "attack", attacks::to_json(cfg), adv);
    }
  }
  store.reserve(sets.size());
  for (const auto& [name, kind, settings, images] : sets) {
    store.push_back(score(images));
    if (kind == "benign") {
      conditions.push_back({name, kind, 1.0, &store.back(), settings});
    } else {
      for (const double f : fractions)
        conditions.push_back({name, kind, f, &store.back(), settings});
    }
  }
  conditions.insert(conditions.begin(), Condition{"clean", "clean", 0.0, nullptr, {}});
  const double prep_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  std::mt19937_64 rng(static_cast<uint64_t>(o.seed));
  io::Json cells = io::Json::array();
  std::ostringstream table;
  table << "| windows of | altered |";
  for (const int64_t w : windows) table << " " << w << " |";
  table << "\n|---|---|";
  for (size_t i = 0; i < windows.size(); ++i) table << "---|";
  table << "\n";
  for (const auto& c : conditions) {
    table << "| " << c.name << " | " << (c.kind == "attack" ? percent(c.fraction) : "-") << " |";
    for (const int64_t w : windows) {
      const auto cell = run_cell(cal, clean_scores, c, w, o.trials, o.alpha, rng);
      table << " " << percent(cell.rate) << " |";
      cells.push_back({{"condition", c.name},
                       {"kind", c.kind},
                       {"settings", c.settings},
                       {"fraction_altered", c.fraction},
                       {"window", w},
                       {"trials", cell.trials},
                       {"alarm_rate", cell.rate},
                       {"ks_alarm_rate", cell.ks_rate},
                       {"squeeze_alarm_rate", cell.squeeze_rate}});
    }
    table << "\n";
  }
  const double total_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::cout << "Alarm rate (detection rate for attacks, false-alarm rate for clean and benign "
               "shifts), "
            << o.trials << " windows per cell, alpha " << o.alpha << ", fpr " << o.fpr
            << ", squeeze bits " << o.squeeze_bits << ":\n\n"
            << table.str();

  io::Json out = {{"tool", "bench-detection"},
                  {"model", model::describe_model(net.info())},
                  {"dataset", {{"count", n}, {"provenance", ds.provenance}}},
                  {"reference_count", ref.size()},
                  {"pool_count", pool.size()},
                  {"settings",
                   {{"alpha", o.alpha},
                    {"fpr", o.fpr},
                    {"squeeze_bits", o.squeeze_bits},
                    {"trials", o.trials},
                    {"seed", o.seed},
                    {"threads", torch::get_num_threads()}}},
                  {"calibration",
                   {{"threshold", cal.threshold},
                    {"threshold_bit_depth", cal.threshold_bit_depth},
                    {"threshold_median", cal.threshold_median}}},
                  {"pool_clean_accuracy", clean_eval.accuracy},
                  {"pool_attack_accuracy", attack_accuracy},
                  {"seconds", {{"prepare", prep_s}, {"total", total_s}}},
                  {"cells", cells}};
  out["model"].erase("training");
  io::write_json(o.results, out, "results");
  log::info("prepared in ", prep_s, " s, all in ", total_s, " s");
}

}  // namespace

const cli::Spec<Options>& spec() {
  static const auto s =
      cli::Spec<Options>(
          "bench-detection",
          "Measure detect-degradation's label-free detector: detection rate on windows with a "
          "share of FGSM/PGD inputs and false-alarm rate on clean and benignly shifted windows.")
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
          .param("alpha", &Options::alpha, "Significance level, as detect-degradation.",
                 cli::in_range(0, 1, true, true))
          .param("fpr", &Options::fpr, "Per-input false-positive rate, as detect-degradation.",
                 cli::in_range(0, 1, true, true))
          .param("squeeze_bits", &Options::squeeze_bits, "Bit depth of the bit-reduction squeezer.",
                 cli::in_range(1, 8))
          .param("batch_size", &Options::batch_size, "Inputs per forward pass.", cli::at_least(1))
          .common()
          .run(&run);
  return s;
}

}  // namespace advkfp::bench_detection

int main(int argc, char** argv) {
  return advkfp::cli::run(argc, argv, advkfp::bench_detection::spec());
}
