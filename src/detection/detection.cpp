// Label-free detection: KS and binomial tests, feature squeezing scores, calibration, decisions.
#include "detection/detection.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/error.h"
#include "io/json.h"
#include "model/classifier.h"

namespace advkfp::detection {
namespace {

constexpr double kPi = 3.14159265358979323846;

std::string fmt(double v) {
  std::ostringstream os;
  os << std::setprecision(4) << v;
  return os.str();
}

void check_finite(const std::vector<double>& v, const std::string& what) {
  for (double x : v) {
    if (!std::isfinite(x)) throw Error(describe(what, "non-finite value"));
  }
}

// D over two ascending samples; ties in either sample move both CDFs past the tied value at once.
double ks_statistic_sorted(const std::vector<double>& a, const std::vector<double>& b) {
  const size_t n = a.size(), m = b.size();
  size_t i = 0, j = 0;
  double d = 0;
  while (i < n && j < m) {
    const double x = std::min(a[i], b[j]);
    while (i < n && a[i] <= x) ++i;
    while (j < m && b[j] <= x) ++j;
    d = std::max(d, std::abs(static_cast<double>(i) / n - static_cast<double>(j) / m));
  }
  // Once one sample is used up its CDF is 1 and the gap only shrinks: the maximum was seen.
  return d;
}

}  // namespace

double kolmogorov_q(double lambda) {
  if (!(lambda > 0)) return 1.0;
  // Numerical Recipes 3rd ed. KSdist::qks: the theta-function form converges fast for small
  // lambda, the alternating series for large; both to about 1e-15 with four terms.
  if (lambda < 1.18) {
    const double y = std::exp(-kPi * kPi / (8 * lambda * lambda));
    const double p =
        std::sqrt(2 * kPi) / lambda * (y + std::pow(y, 9) + std::pow(y, 25) + std::pow(y, 49));
    return std::clamp(1.0 - p, 0.0, 1.0);
  }
  const double x = std::exp(-2 * lambda * lambda);
  const double q = 2 * (x - std::pow(x, 4) + std::pow(x, 9) - std::pow(x, 16));
  return std::clamp(q, 0.0, 1.0);
}

KsResult ks_two_sample_sorted(const std::vector<double>& sorted_a, std::vector<double> b) {
  if (sorted_a.empty() || b.empty()) throw Error("ks test: a sample is empty");
  std::sort(b.begin(), b.end());
  KsResult r;
  r.statistic = ks_statistic_sorted(sorted_a, b);
  const double n = static_cast<double>(sorted_a.size()), m = static_cast<double>(b.size());
  const double ne = n * m / (n + m);
  const double root = std::sqrt(ne);
  r.p_value = kolmogorov_q((root + 0.12 + 0.11 / root) * r.statistic);
  return r;
}

KsResult ks_two_sample(std::vector<double> a, std::vector<double> b) {
  std::sort(a.begin(), a.end());
  return ks_two_sample_sorted(a, std::move(b));
}

double binomial_upper_tail(int64_t k, int64_t n, double p) {
  if (n < 0 || !(p >= 0 && p <= 1)) {
    throw Error("binomial test: needs n >= 0 and p in [0, 1], got n " + std::to_string(n) + ", p " +
                fmt(p));
  }
  if (k <= 0) return 1.0;
  if (k > n) return 0.0;
  if (p == 0) return 0.0;
  if (p == 1) return 1.0;
  const double lp = std::log(p), lq = std::log1p(-p);
  const double lfn = std::lgamma(static_cast<double>(n) + 1);
  std::vector<double> terms;
  terms.reserve(static_cast<size_t>(n - k + 1));
  for (int64_t i = k; i <= n; ++i) {
    const double di = static_cast<double>(i), dn = static_cast<double>(n);
    terms.push_back(lfn - std::lgamma(di + 1) - std::lgamma(dn - di + 1) + di * lp +
                    (dn - di) * lq);
  }
  const double top = *std::max_element(terms.begin(), terms.end());
  double sum = 0;
  for (double t : terms) sum += std::exp(t - top);
  return std::min(1.0, std::exp(top) * sum);
}

double bonferroni(double p, int64_t tests) { return std::min(1.0, p * static_cast<double>(tests)); }

double threshold_at_fpr(std::vector<double> scores, double fpr) {
  if (scores.empty()) throw Error("threshold: no scores to calibrate on");
  if (!(fpr > 0 && fpr < 1)) throw Error("threshold: fpr " + fmt(fpr) + " is outside (0, 1)");
  std::sort(scores.begin(), scores.end());
  const auto n = static_cast<int64_t>(scores.size());
  // The small epsilon keeps fpr * n = 50 from flooring to 49 through rounding.
  const auto above = static_cast<int64_t>(std::floor(fpr * static_cast<double>(n) + 1e-9));
  return scores[static_cast<size_t>(std::max<int64_t>(0, n - above - 1))];
}

// ---------------------------------------------------------------------------------------------

torch::Tensor reduce_bit_depth(const torch::Tensor& x, int64_t bits) {
  if (bits < 1 || bits > 8)
    throw Error("squeeze_bits: " + std::to_string(bits) + " is outside [1, 8]");
  const double levels = std::pow(2.0, static_cast<double>(bits)) - 1;
  return (x * levels).round() / levels;
}

torch::Tensor median_filter_2x2(const torch::Tensor& x) {
  namespace F = torch::nn::functional;
  TORCH_CHECK(x.dim() == 4, "median_filter_2x2: expects [N,C,H,W]");
  const int64_t h = x.size(2), w = x.size(3);
  using torch::indexing::Slice;
  // Pad one row above and one column left by replication (scipy's 'reflect' for a pad of 1).
  auto p = F::pad(x, F::PadFuncOptions({1, 0, 1, 0}).mode(torch::kReplicate));
  auto win = torch::stack({p.index({Slice(), Slice(), Slice(0, h), Slice(0, w)}),
                           p.index({Slice(), Slice(), Slice(0, h), Slice(1, w + 1)}),
                           p.index({Slice(), Slice(), Slice(1, h + 1), Slice(0, w)}),
                           p.index({Slice(), Slice(), Slice(1, h + 1), Slice(1, w + 1)})},
                          -1);
  return std::get<0>(win.sort(-1)).select(-1, 2).contiguous();
}

void Scores::push_back(const Scores& from, int64_t i) {
  const auto k = static_cast<size_t>(i);
  max_probability.push_back(from.max_probability[k]);
  entropy.push_back(from.entropy[k]);
  bit_depth.push_back(from.bit_depth[k]);
  median.push_back(from.median[k]);
  squeeze.push_back(from.squeeze[k]);
}

Scores Scores::slice(int64_t begin, int64_t end) const {
  Scores out;
  for (int64_t i = begin; i < end; ++i) out.push_back(*this, i);
  return out;
}

Scores score_inputs(model::Classifier& net, const torch::Tensor& images, int64_t squeeze_bits,
                    int64_t batch_size) {
  TORCH_CHECK(batch_size > 0, "score_inputs: batch_size must be positive");
  TORCH_CHECK(images.dim() == 4, "score_inputs: expects [N,C,H,W]");
  torch::NoGradGuard no_grad;
  net.eval();
  const int64_t n = images.size(0);
  Scores s;
  auto append = [](std::vector<double>& out, const torch::Tensor& t) {
    auto c = t.to(torch::kDouble).contiguous();
    out.insert(out.end(), c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
  };
  for (int64_t begin = 0; begin < n; begin += batch_size) {
    const auto x = images.slice(0, begin, std::min(n, begin + batch_size));
    // float64 softmax: in float32 a confident model's max-probability saturates at exactly 1,
    // which would turn most of the KS sample into ties.
    const auto log_p = net.forward(x).to(torch::kDouble).log_softmax(1);
    const auto p = log_p.exp();
    const auto probs = [&](const torch::Tensor& in) {
      return net.forward(in).to(torch::kDouble).softmax(1);
    };
    const auto d_bits = (p - probs(reduce_bit_depth(x, squeeze_bits))).abs().sum(1);
    const auto d_median = (p - probs(median_filter_2x2(x))).abs().sum(1);
    append(s.max_probability, p.amax(1));
    append(s.entropy, -(p * log_p).sum(1));
    append(s.bit_depth, d_bits);
    append(s.median, d_median);
    append(s.squeeze, torch::maximum(d_bits, d_median));
  }
  return s;
}

// ---------------------------------------------------------------------------------------------

Calibration calibrate(const Scores& reference, const std::string& model_sha256, double fpr,
                      int64_t squeeze_bits, const std::vector<ShiftedScores>& shifted) {
  if (!(fpr > 0 && fpr < 1)) throw Error("fpr: " + fmt(fpr) + " is outside (0, 1)");
  const auto needed = static_cast<int64_t>(std::ceil(5.0 / fpr - 1e-9));
  const auto check_size = [&](int64_t n, const std::string& what) {
    if (n < needed) {
      throw Error(describe(what, std::to_string(n) + " inputs are too few to calibrate at fpr " +
                                     fmt(fpr) + " (need at least " + std::to_string(needed) +
                                     ")"));
    }
  };
  const int64_t n = reference.size();
  check_size(n, "reference");
  for (const auto& sh : shifted) check_size(sh.scores.size(), "reference shifted by " + sh.shift);
  Calibration c;
  c.model_sha256 = model_sha256;
  c.fpr = fpr;
  c.squeeze_bits = squeeze_bits;
  c.reference_count = n;
  c.threshold = threshold_at_fpr(reference.squeeze, fpr);
  c.threshold_bit_depth = threshold_at_fpr(reference.bit_depth, fpr);
  c.threshold_median = threshold_at_fpr(reference.median, fpr);
  c.reference_max_probability = reference.max_probability;
  c.reference_entropy = reference.entropy;
  std::sort(c.reference_max_probability.begin(), c.reference_max_probability.end());
  std::sort(c.reference_entropy.begin(), c.reference_entropy.end());
  c.threshold_adversarial = threshold_at_fpr(reference.squeeze, fpr);
  for (const auto& sh : shifted) {
    c.shifts.push_back(sh.shift);
    c.threshold_adversarial =
        std::max(c.threshold_adversarial, threshold_at_fpr(sh.scores.squeeze, fpr));
  }
  const auto rates = [&](const std::string& name, const Scores& sc) {
    SetRates r;
    r.set = name;
    r.count = sc.size();
    for (int64_t i = 0; i < r.count; ++i) {
      r.squeeze_rate += sc.squeeze[static_cast<size_t>(i)] > c.threshold;
      r.adversarial_rate += sc.squeeze[static_cast<size_t>(i)] > c.threshold_adversarial;
    }
    r.squeeze_rate /= static_cast<double>(r.count);
    r.adversarial_rate /= static_cast<double>(r.count);
    return r;
  };
  c.rates.push_back(rates("clean", reference));
  for (const auto& sh : shifted) c.rates.push_back(rates(sh.shift, sh.scores));
  return c;
}

nlohmann::json to_json(const Calibration& c) {
  nlohmann::json rates = nlohmann::json::array();
  for (const auto& r : c.rates) {
    rates.push_back({{"set", r.set},
                     {"count", r.count},
                     {"squeeze", r.squeeze_rate},
                     {"adversarial", r.adversarial_rate}});
  }
  return {{"format", kCalibrationFormat},
          {"calibrated", true},
          {"model_sha256", c.model_sha256},
          {"fpr", c.fpr},
          {"squeeze_bits", c.squeeze_bits},
          {"squeezers", {"bit_depth", "median_2x2"}},
          {"reference_count", c.reference_count},
          {"thresholds",
           {{"squeeze", c.threshold},
            {"bit_depth", c.threshold_bit_depth},
            {"median", c.threshold_median}}},
          {"reference",
           {{"max_probability", c.reference_max_probability}, {"entropy", c.reference_entropy}}},
          {"adversarial",
           {{"statistic", kAdversarialStatistic},
            {"threshold", c.threshold_adversarial},
            {"shifts", c.shifts},
            {"false_positive_rates", rates}}}};
}

nlohmann::json uncalibrated_json(const std::string& reason) {
  return {{"format", kCalibrationFormat}, {"calibrated", false}, {"reason", reason}};
}

Calibration calibration_from_json(const nlohmann::json& j, const std::string& what) {
  if (!j.is_object()) throw Error(describe(what, "not a calibration (expected a JSON object)"));
  const auto format = io::require<std::string>(j, "format", what);
  if (format != kCalibrationFormat) {
    throw Error(describe(what, "format '" + format + "' is not " + kCalibrationFormat));
  }
  if (j.contains("calibrated") && j["calibrated"] == false) {
    const auto& reason = j.contains("reason") ? j["reason"] : nlohmann::json("no reason given");
    throw Error(describe(what, "holds no calibration (" +
                                   (reason.is_string() ? reason.get<std::string>() : reason.dump()) +
                                   ")"));
  }
  Calibration c;
  c.model_sha256 = io::require<std::string>(j, "model_sha256", what);
  if (c.model_sha256.size() != 64 ||
      c.model_sha256.find_first_not_of("0123456789abcdef") != std::string::npos) {
    throw Error(describe(what, "model_sha256 is not a lowercase hex SHA-256"));
  }
  c.fpr = io::require<double>(j, "fpr", what);
  if (!(c.fpr > 0 && c.fpr < 1)) throw Error(describe(what, "fpr is outside (0, 1)"));
  c.squeeze_bits = io::require<int64_t>(j, "squeeze_bits", what);
  if (c.squeeze_bits < 1 || c.squeeze_bits > 8) {
    throw Error(describe(what, "squeeze_bits is outside [1, 8]"));
  }
  c.reference_count = io::require<int64_t>(j, "reference_count", what);
  const auto t = io::require<nlohmann::json>(j, "thresholds", what);
  c.threshold = io::require<double>(t, "squeeze", what + " thresholds");
  c.threshold_bit_depth = io::require<double>(t, "bit_depth", what + " thresholds");
  c.threshold_median = io::require<double>(t, "median", what + " thresholds");
  check_finite({c.threshold, c.threshold_bit_depth, c.threshold_median}, what + " thresholds");
  const auto r = io::require<nlohmann::json>(j, "reference", what);
  c.reference_max_probability =
      io::require<std::vector<double>>(r, "max_probability", what + " reference");
  c.reference_entropy = io::require<std::vector<double>>(r, "entropy", what + " reference");
  for (const auto* v : {&c.reference_max_probability, &c.reference_entropy}) {
    if (c.reference_count < 1 || static_cast<int64_t>(v->size()) != c.reference_count) {
      throw Error(describe(what, "reference samples do not hold reference_count (" +
                                     std::to_string(c.reference_count) + ") values"));
    }
  }
  check_finite(c.reference_max_probability, what + " reference");
  check_finite(c.reference_entropy, what + " reference");
  const auto a = io::require<nlohmann::json>(j, "adversarial", what);
  const std::string aw = what + " adversarial";
  c.threshold_adversarial = io::require<double>(a, "threshold", aw);
  check_finite({c.threshold_adversarial}, aw + " threshold");
  const auto statistic = io::require<std::string>(a, "statistic", aw);
  if (statistic != kAdversarialStatistic) {
    throw Error(describe(what, "adversarial statistic '" + statistic + "' is not " +
                                   kAdversarialStatistic + "; recalibrate"));
  }
  c.shifts = io::require<std::vector<std::string>>(a, "shifts", aw);
  for (const auto& r : io::require<std::vector<nlohmann::json>>(a, "false_positive_rates", aw)) {
    SetRates x;
    x.set = io::require<std::string>(r, "set", aw + " false_positive_rates");
    x.count = io::require<int64_t>(r, "count", aw + " false_positive_rates");
    x.squeeze_rate = io::require<double>(r, "squeeze", aw + " false_positive_rates");
    x.adversarial_rate = io::require<double>(r, "adversarial", aw + " false_positive_rates");
    c.rates.push_back(x);
  }
  std::sort(c.reference_max_probability.begin(), c.reference_max_probability.end());
  std::sort(c.reference_entropy.begin(), c.reference_entropy.end());
  return c;
}

void save_calibration(const std::filesystem::path& path, const Calibration& c,
                      const std::string& what) {
  io::write_json(path, to_json(c), what);
}

Calibration load_calibration(const std::filesystem::path& path, const std::string& what) {
  return calibration_from_json(io::read_json(path, what), what);
}

void check_same_model(const Calibration& c, const std::string& model_sha256,
                      const std::string& what) {
  if (c.model_sha256 != model_sha256) {
    throw Error(describe(what, "made for model sha256 " + c.model_sha256.substr(0, 12) +
                                   "..., not this model (" + model_sha256.substr(0, 12) +
                                   "...); recalibrate on the reference set"));
  }
}

// ---------------------------------------------------------------------------------------------

WindowDecision decide_window(const Calibration& c, const Scores& window, double alpha,
                             int64_t offset, int64_t index) {
  if (window.size() == 0) throw Error("window: no inputs to decide on");
  if (!(alpha > 0 && alpha < 1)) throw Error("alpha: " + fmt(alpha) + " is outside (0, 1)");
  WindowDecision w;
  w.index = index;
  w.offset = offset;
  w.count = window.size();
  w.threshold = c.threshold;
  w.fpr = c.fpr;
  w.ks_max_probability = ks_two_sample_sorted(c.reference_max_probability, window.max_probability);
  w.ks_entropy = ks_two_sample_sorted(c.reference_entropy, window.entropy);
  w.p_max_probability = bonferroni(w.ks_max_probability.p_value, kKsTests);
  w.p_entropy = bonferroni(w.ks_entropy.p_value, kKsTests);
  for (int64_t i = 0; i < w.count; ++i) {
    if (window.squeeze[static_cast<size_t>(i)] > c.threshold) w.flagged.push_back(offset + i);
  }
  w.flagged_count = static_cast<int64_t>(w.flagged.size());
  w.binomial_p_value = binomial_upper_tail(w.flagged_count, w.count, c.fpr);

  const auto verdict = [&](double p) { return p < alpha ? " < alpha " : " >= alpha "; };
  const auto ks_reason = [&](const char* name, const KsResult& k, double p) {
    return std::string("KS on ") + name + ": D " + fmt(k.statistic) + ", p " + fmt(p) +
           " (Bonferroni x" + std::to_string(kKsTests) + ")" + verdict(p) + fmt(alpha);
  };
  w.reasons.push_back(ks_reason("max probability", w.ks_max_probability, w.p_max_probability));
  w.reasons.push_back(ks_reason("entropy", w.ks_entropy, w.p_entropy));
  w.reasons.push_back("feature squeezing: " + std::to_string(w.flagged_count) + " of " +
                      std::to_string(w.count) + " inputs above " + fmt(c.threshold) +
                      " (expected " + fmt(c.fpr * static_cast<double>(w.count)) + "), binomial p " +
                      fmt(w.binomial_p_value) + verdict(w.binomial_p_value) + fmt(alpha));
  w.degraded = w.p_max_probability < alpha || w.p_entropy < alpha || w.binomial_p_value < alpha;

  // Adversarial evidence: how many inputs look like they sit just across a decision boundary.
  w.threshold_adversarial = c.threshold_adversarial;
  std::vector<double> flagged_squeeze;
  for (int64_t i = 0; i < w.count; ++i) {
    const auto k = static_cast<size_t>(i);
    if (window.squeeze[k] > c.threshold_adversarial) w.adversarial_flagged.push_back(offset + i);
    if (window.squeeze[k] > c.threshold) flagged_squeeze.push_back(window.squeeze[k]);
  }
  if (!flagged_squeeze.empty()) {
    const auto mid = flagged_squeeze.begin() + static_cast<std::ptrdiff_t>(flagged_squeeze.size() / 2);
    std::nth_element(flagged_squeeze.begin(), mid, flagged_squeeze.end());
    w.squeeze_flagged_median = *mid;
  }
  w.adversarial_count = static_cast<int64_t>(w.adversarial_flagged.size());
  w.adversarial_p_value = binomial_upper_tail(w.adversarial_count, w.count, c.fpr);
  const bool adversarial = w.adversarial_p_value < alpha;
  w.reasons.push_back("far-moved inputs: " + std::to_string(w.adversarial_count) + " of " +
                      std::to_string(w.count) + " inputs with a squeezing score above " +
                      fmt(c.threshold_adversarial) + " (at most " +
                      fmt(c.fpr * static_cast<double>(w.count)) +
                      " on clean and calibrated benign shifts), binomial p " +
                      fmt(w.adversarial_p_value) + verdict(w.adversarial_p_value) + fmt(alpha));
  w.verdict = !w.degraded ? Verdict::kClean : adversarial ? Verdict::kAttack : Verdict::kShift;
  w.reasons.push_back(
      w.verdict == Verdict::kClean
          ? std::string("verdict clean: no change test fired")
          : w.verdict == Verdict::kAttack
                ? std::string("verdict attack: the inputs changed and too many of them moved "
                              "far (squeezing undoes much more than a benign shift)")
                : std::string("verdict shift: the inputs changed, but no more of them moved far "
                              "than on clean and calibrated benign shifts"));
  return w;
}

std::string verdict_name(Verdict v) {
  switch (v) {
    case Verdict::kClean: return "clean";
    case Verdict::kShift: return "shift";
    case Verdict::kAttack: return "attack";
  }
  return "clean";
}

std::optional<int64_t> first_alarm(const std::vector<bool>& bad, int64_t consecutive) {
  int64_t run = 0;
  for (size_t i = 0; i < bad.size(); ++i) {
    run = bad[i] ? run + 1 : 0;
    if (run >= consecutive) return static_cast<int64_t>(i);
  }
  return std::nullopt;
}

StreamDecision decide_stream(const Calibration& c, const Scores& scores, double alpha,
                             int64_t window_size, int64_t consecutive) {
  if (window_size < 0) throw Error("window_size: must be >= 0");
  if (consecutive < 1) throw Error("consecutive: must be >= 1");
  const int64_t n = scores.size();
  if (n == 0) throw Error("window: no inputs to decide on");
  StreamDecision s;
  s.window_size = window_size;
  s.consecutive = consecutive;
  const int64_t step = window_size == 0 ? n : window_size;
  std::vector<bool> bad, attacked;
  int64_t run = 0;
  for (int64_t begin = 0, index = 0; begin < n; begin += step, ++index) {
    const int64_t end = std::min(n, begin + step);
    s.windows.push_back(decide_window(c, scores.slice(begin, end), alpha, begin, index));
    bad.push_back(s.windows.back().degraded);
    run = bad.back() ? run + 1 : 0;
    s.longest_bad_run = std::max(s.longest_bad_run, run);
    s.bad_windows += bad.back() ? 1 : 0;
    attacked.push_back(s.windows.back().verdict == Verdict::kAttack);
    s.attack_windows += attacked.back() ? 1 : 0;
    s.shift_windows += s.windows.back().verdict == Verdict::kShift ? 1 : 0;
  }
  s.alarm_window = first_alarm(bad, consecutive);
  s.degraded = s.alarm_window.has_value();
  s.attack_window = first_alarm(attacked, consecutive);
  s.verdict = s.attack_window ? Verdict::kAttack : s.degraded ? Verdict::kShift : Verdict::kClean;
  return s;
}

nlohmann::json to_json(const WindowDecision& w) {
  const auto ks = [](const KsResult& k, double corrected) {
    return nlohmann::json{
        {"statistic", k.statistic}, {"p_value", k.p_value}, {"p_value_bonferroni", corrected}};
  };
  return {{"index", w.index},
          {"offset", w.offset},
          {"count", w.count},
          {"degraded", w.degraded},
          {"ks",
           {{"max_probability", ks(w.ks_max_probability, w.p_max_probability)},
            {"entropy", ks(w.ks_entropy, w.p_entropy)}}},
          {"squeeze",
           {{"threshold", w.threshold},
            {"fpr", w.fpr},
            {"flagged_count", w.flagged_count},
            {"flagged_fraction", static_cast<double>(w.flagged_count) / w.count},
            {"binomial_p_value", w.binomial_p_value},
            {"flagged_indices", w.flagged}}},
          {"verdict", verdict_name(w.verdict)},
          {"adversarial",
           {{"statistic", kAdversarialStatistic},
            {"threshold", w.threshold_adversarial},
            {"flagged_count", w.adversarial_count},
            {"flagged_fraction", static_cast<double>(w.adversarial_count) / w.count},
            {"binomial_p_value", w.adversarial_p_value},
            {"squeeze_flagged_median", w.squeeze_flagged_median},
            {"flagged_indices", w.adversarial_flagged}}},
          {"reasons", w.reasons}};
}

nlohmann::json to_json(const StreamDecision& s) {
  nlohmann::json windows = nlohmann::json::array();
  for (const auto& w : s.windows) windows.push_back(to_json(w));
  return {{"degraded", s.degraded},
          {"verdict", verdict_name(s.verdict)},
          {"attack_windows", s.attack_windows},
          {"shift_windows", s.shift_windows},
          {"attack_window", s.attack_window ? nlohmann::json(*s.attack_window) : nlohmann::json()},
          {"window_size", s.window_size},
          {"consecutive", s.consecutive},
          {"window_count", static_cast<int64_t>(s.windows.size())},
          {"bad_windows", s.bad_windows},
          {"longest_bad_run", s.longest_bad_run},
          {"alarm_window", s.alarm_window ? nlohmann::json(*s.alarm_window) : nlohmann::json()},
          {"windows", windows}};
}

}  // namespace advkfp::detection
