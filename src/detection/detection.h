// Label-free degradation detection from a model's own outputs: two-sample Kolmogorov-Smirnov
// tests on softmax confidence, feature squeezing (Xu et al., NDSS 2018) with a per-input threshold
// calibrated on clean data, a binomial test of the flagged count, and hysteresis over a stream of
// windows. Statistics and decisions are plain structs; only score_inputs() touches a model.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

namespace at {
class Tensor;
}
namespace advkfp::model {
class Classifier;
}

namespace advkfp::detection {

// ---------------------------------------------------------------------------------------------
// Statistics

struct KsResult {
  double statistic = 0;  ///< D = sup_x |F_a(x) - F_b(x)|, in [0, 1]
  double p_value = 1;    ///< two-sided, asymptotic (see ks_two_sample)
};

/// Survival function of the Kolmogorov distribution, Q(lambda) = 2 sum_{j>=1} (-1)^(j-1)
/// exp(-2 j^2 lambda^2), in [0, 1]; Q(lambda) = 1 for lambda <= 0.
double kolmogorov_q(double lambda);

/// Two-sample, two-sided Kolmogorov-Smirnov test. D handles ties (equal values step the two
/// empirical CDFs together). The p-value is the asymptotic Kolmogorov distribution with Stephens'
/// effective-n correction, p = Q((sqrt(ne) + 0.12 + 0.11 / sqrt(ne)) * D), ne = n m / (n + m)
/// (Numerical Recipes 3rd ed. section 14.3.3, `kstwo`); accurate to a few percent of p for ne >= 4
/// and conservative with ties. `a` and `b` need not be sorted; NaNs are not allowed. Throws
/// advkfp::Error when either sample is empty.
KsResult ks_two_sample(std::vector<double> a, std::vector<double> b);
/// The same with `sorted_a` already sorted ascending (the calibrated reference), saving a sort.
KsResult ks_two_sample_sorted(const std::vector<double>& sorted_a, std::vector<double> b);

/// Exact upper binomial tail P(X >= k) for X ~ Binomial(n, p), summed in log space; 1 for k <= 0,
/// 0 for k > n. Throws advkfp::Error for n < 0 or p outside [0, 1].
double binomial_upper_tail(int64_t k, int64_t n, double p);

/// Bonferroni correction of one of `tests` p-values: min(1, p * tests).
double bonferroni(double p, int64_t tests);

/// The per-input threshold whose exceedance rate on `scores` is at most `fpr`: the
/// (n - floor(fpr * n))-th smallest score, so that at most floor(fpr * n) scores lie strictly above
/// it. Inputs are flagged when their score is > the threshold. Throws advkfp::Error for an empty
/// set or fpr outside (0, 1).
double threshold_at_fpr(std::vector<double> scores, double fpr);

// ---------------------------------------------------------------------------------------------
// Per-input scores

/// Bit-depth reduction to `bits` bits: round(x * (2^bits - 1)) / (2^bits - 1). `x` float [N,C,H,W]
/// in [0,1]; returns a new tensor of the same shape. Throws advkfp::Error for bits outside [1, 8].
at::Tensor reduce_bit_depth(const at::Tensor& x, int64_t bits);

/// 2x2 median filter as scipy.ndimage.median_filter(size=2) computes it (Xu et al.'s squeezer):
/// the window is the pixel and its up, left and up-left neighbours, edges replicated, and the value
/// is the upper of the two middle values (rank 2 of 0..3). `x` float [N,C,H,W]; same shape out.
at::Tensor median_filter_2x2(const at::Tensor& x);

/// What the detector looks at for each input, all from logits and softmax in float64.
struct Scores {
  std::vector<double> max_probability;  ///< max_c softmax(f(x))_c, in [1/C, 1]
  std::vector<double> entropy;          ///< -sum_c p_c ln p_c, in nats, in [0, ln C]
  std::vector<double> bit_depth;        ///< || softmax(f(x)) - softmax(f(bit_depth(x))) ||_1
  std::vector<double> median;           ///< || softmax(f(x)) - softmax(f(median_2x2(x))) ||_1
  /// max(bit_depth, median): the feature-squeezing score. It is also the per-input adversarial
  /// evidence of the verdict, against the higher threshold that calibrated benign shifts set
  /// (Calibration::threshold_adversarial, kAdversarialStatistic).
  std::vector<double> squeeze;

  int64_t size() const { return static_cast<int64_t>(max_probability.size()); }
  /// Appends input `i` of `from`.
  void push_back(const Scores& from, int64_t i);
  /// Inputs [begin, end).
  Scores slice(int64_t begin, int64_t end) const;
};

/// Runs `net` (eval mode, no gradients) on `images` (float32 [N,C,H,W] in [0,1], CPU) and on their
/// two squeezed copies, `batch_size` inputs at a time: 3 forward passes per input. The scores of an
/// input do not depend on the others.
Scores score_inputs(model::Classifier& net, const at::Tensor& images, int64_t squeeze_bits,
                    int64_t batch_size);

// ---------------------------------------------------------------------------------------------
// Calibration: what the reference (clean, held-out) set says, computed once and reusable.

inline constexpr const char* kCalibrationFormat = "advkfp.calibration/v2";
/// What the calibration's adversarial threshold is on (Scores::squeeze).
inline constexpr const char* kAdversarialStatistic = "squeeze";

/// Scores of one benignly shifted copy of the reference set, named by its shift.
struct ShiftedScores {
  std::string shift;  ///< "kind:value" (see shifts.h)
  Scores scores;
};

/// Per-input exceedance rates of one calibration set at the calibrated thresholds: the
/// false-positive rates the window tests assume (clean) and bound (shifts).
struct SetRates {
  std::string set;  ///< "clean" or the shift's name
  int64_t count = 0;
  double squeeze_rate = 0;      ///< share of inputs with squeeze > threshold
  double adversarial_rate = 0;  ///< share with adversarial > threshold_adversarial
};

struct Calibration {
  std::string model_sha256;  ///< of model.pt: a calibration is valid for this model only
  double fpr = 0.05;         ///< per-input false-positive rate the thresholds were set at
  int64_t squeeze_bits = 0;
  int64_t reference_count = 0;
  double threshold = 0;            ///< on Scores::squeeze; flagged when score > threshold
  double threshold_bit_depth = 0;  ///< each squeezer alone at the same fpr (reported only)
  double threshold_median = 0;
  std::vector<double> reference_max_probability;  ///< sorted ascending, for the KS tests
  std::vector<double> reference_entropy;          ///< sorted ascending
  // Adversarial evidence. Feature squeezing fires on benign shifts too, but they move every input
  // a little while an attack moves many inputs far: threshold_adversarial is the squeezing score
  // that at most fpr of the clean reference and at most fpr of each shifted copy exceed (the
  // largest of the per-set thresholds), so that a window of calibrated benign shifts has at most
  // fpr of its inputs above it, and an attacked window many more.
  std::vector<std::string> shifts;  ///< the calibration shifts, "kind:value"
  double threshold_adversarial = 0;
  std::vector<SetRates> rates;  ///< clean first, then each shift
};

/// Calibrates on the reference set's scores and on those of its benignly shifted copies (made
/// with apply_shift from the same reference images). Throws
/// advkfp::Error naming "reference" when the set has fewer than 5 / fpr inputs (too few to place
/// a threshold at that rate).
Calibration calibrate(const Scores& reference, const std::string& model_sha256, double fpr,
                      int64_t squeeze_bits, const std::vector<ShiftedScores>& shifted = {});

nlohmann::json to_json(const Calibration& c);
/// A calibration artifact that holds none ({"format": ..., "calibrated": false, "reason": ...}),
/// for a tool that must write the output but calibrated nothing; loading it fails with `reason`.
nlohmann::json uncalibrated_json(const std::string& reason);
/// Parses and validates (format, counts, ranges, finite values). Throws advkfp::Error naming
/// `what`.
Calibration calibration_from_json(const nlohmann::json& j, const std::string& what);
void save_calibration(const std::filesystem::path& path, const Calibration& c,
                      const std::string& what);
Calibration load_calibration(const std::filesystem::path& path, const std::string& what);
/// Throws advkfp::Error naming `what` when `c` was made for another model.
void check_same_model(const Calibration& c, const std::string& model_sha256,
                      const std::string& what);

// ---------------------------------------------------------------------------------------------
// Decisions

/// The two KS statistics are Bonferroni-corrected together (2 tests); the binomial test of the
/// flagged count is tested at alpha on its own, so a clean window raises an alarm with probability
/// at most about 2 * alpha.
inline constexpr int64_t kKsTests = 2;

/// The three-way answer for a window or a stream:
///   clean   nothing changed (no test fired);
///   shift   the inputs changed (a KS or the squeezing test fired) but not the way attacks change
///           them: the adversarial test did not fire;
///   attack  the inputs changed and the adversarial test fired too.
enum class Verdict { kClean, kShift, kAttack };
std::string verdict_name(Verdict v);  ///< "clean", "shift", "attack"

struct WindowDecision {
  int64_t index = 0;   ///< window number in the stream
  int64_t offset = 0;  ///< index of its first input in the whole set
  int64_t count = 0;
  bool degraded = false;  ///< something changed: a KS or the squeezing test fired
  Verdict verdict = Verdict::kClean;
  KsResult ks_max_probability, ks_entropy;
  double p_max_probability = 1, p_entropy = 1;  ///< Bonferroni-corrected KS p-values
  double threshold = 0, fpr = 0;  ///< the calibration's squeeze threshold and its rate
  int64_t flagged_count = 0;
  double binomial_p_value = 1;       ///< P(X >= flagged_count), X ~ Binomial(count, fpr)
  std::vector<int64_t> flagged;      ///< indices (into the whole set) with squeeze > threshold
  // Adversarial evidence.
  double threshold_adversarial = 0;
  int64_t adversarial_count = 0;
  double adversarial_p_value = 1;  ///< P(X >= adversarial_count), X ~ Binomial(count, fpr)
  std::vector<int64_t> adversarial_flagged;  ///< indices with adversarial > threshold
  double squeeze_flagged_median = 0;  ///< median squeeze score of the flagged inputs (0: none)
  std::vector<std::string> reasons;   ///< one sentence per test, fired or not, then the verdict
};

/// Decides one window: degraded when a Bonferroni-corrected KS p-value or the binomial p-value of
/// the squeezing count is below `alpha`; verdict attack when it is degraded and the binomial
/// p-value of the adversarial count is below `alpha` too. Flagged indices are reported as
/// `offset + i`. Throws advkfp::Error for an empty window or alpha outside (0, 1).
WindowDecision decide_window(const Calibration& c, const Scores& window, double alpha,
                             int64_t offset = 0, int64_t index = 0);

/// Index of the window at which `bad` first holds `consecutive` times in a row, or nothing.
std::optional<int64_t> first_alarm(const std::vector<bool>& bad, int64_t consecutive);

struct StreamDecision {
  bool degraded = false;  ///< some run of `consecutive` bad windows in a row
  /// attack when some run of `consecutive` windows in a row are all attack, else shift when
  /// degraded, else clean: so verdict != clean exactly when degraded.
  Verdict verdict = Verdict::kClean;
  int64_t attack_windows = 0, shift_windows = 0;
  std::optional<int64_t> attack_window;  ///< the window that completed the first attack run
  int64_t window_size = 0, consecutive = 1;
  int64_t bad_windows = 0, longest_bad_run = 0;
  std::optional<int64_t> alarm_window;  ///< the window that completed the first such run
  std::vector<WindowDecision> windows;
};

/// Splits `scores` into consecutive windows of `window_size` inputs (0: one window; the last may
/// be shorter), decides each, and fires once `consecutive` windows in a row are bad.
StreamDecision decide_stream(const Calibration& c, const Scores& scores, double alpha,
                             int64_t window_size, int64_t consecutive);

nlohmann::json to_json(const WindowDecision& w);
nlohmann::json to_json(const StreamDecision& s);

}  // namespace advkfp::detection
