// Label-free detection: KS and binomial tests against known values, squeezers, calibration at the
// requested false-positive rate, window decisions, hysteresis, calibration artifacts; benign
// shifts, the calibration against them and the clean / shift / attack verdict.
#include "detection/detection.h"

#include "detection/shifts.h"

#include <catch2/catch.hpp>
#include <random>

#include "attacks/attacks.h"
#include "common/error.h"
#include "io/json.h"
#include "support/helpers.h"

using namespace advkfp;
using namespace advkfp::detection;

namespace {

std::vector<double> range(int from, int to) {  // from, from+1, ..., to-1
  std::vector<double> v;
  for (int i = from; i < to; ++i) v.push_back(i);
  return v;
}

// A fixed model and its scores on t10k slices, shared by the tests below.
struct Scored {
  model::Classifier& net = test::small_trained_model();
  data::Dataset data = test::fashion_slice("t10k", 2000);
  Scores reference = score_inputs(net, data.slice(0, 1000).images, 4, 250);
  Scores held_out = score_inputs(net, data.slice(1000, 1000).images, 4, 250);
  // The calibration shifts of detect-degradation's default, applied to half the reference images
  // (enough for a threshold at fpr 0.05, and half the cost).
  std::vector<ShiftedScores> shifted = [this] {
    std::vector<ShiftedScores> out;
    uint64_t seed = 1;
    for (const auto& sh : parse_shifts("brightness:0.1,translate:2,blur:0.8,noise:0.05", "t")) {
      out.push_back(
          {sh.name(), score_inputs(net, apply_shift(data.slice(0, 500).images, sh, seed++), 4,
                                   250)});
    }
    return out;
  }();
  Calibration calibration = calibrate(reference, "ab", 0.05, 4, shifted);
  static Scored& get() {
    static Scored s;
    return s;
  }
};

}  // namespace

TEST_CASE("Kolmogorov survival function matches tabulated values", "[unit][detection]") {
  // Kolmogorov distribution table values (Smirnov 1948; Massey 1951): P(K > 1.2239) = 0.10,
  // P(K > 1.3581) = 0.05, P(K > 1.6276) = 0.01, and P(K > 1) = 0.2700, P(K > 0.5) = 0.9639. The
  // extra digits are the series 2 sum (-1)^(j-1) exp(-2 j^2 l^2) summed to 200 terms in Python.
  CHECK(kolmogorov_q(1.0) == Approx(0.26999967167735456).epsilon(1e-12));
  CHECK(kolmogorov_q(0.5) == Approx(0.9639452436648751).epsilon(1e-12));
  CHECK(kolmogorov_q(1.2239) == Approx(0.0999744927117977).epsilon(1e-10));
  CHECK(kolmogorov_q(1.3581) == Approx(0.0499996304316674).epsilon(1e-10));
  CHECK(kolmogorov_q(1.6276) == Approx(0.010001537333060776).epsilon(1e-10));
  CHECK(kolmogorov_q(0.0) == 1.0);
  CHECK(kolmogorov_q(10.0) == Approx(0.0).margin(1e-80));
}

TEST_CASE("two-sample KS statistic and p-value", "[unit][detection]") {
  // Hand-computed D: disjoint samples; interleaved samples (max gap 0.5 at x = 2, 3 and 4).
  CHECK(ks_two_sample({1, 2, 3, 4, 5}, {6, 7, 8}).statistic == 1.0);
  CHECK(ks_two_sample({1, 2, 3, 4}, {2.5, 3.5, 5, 6}).statistic == 0.5);
  CHECK(ks_two_sample({4, 3, 2, 1}, {6, 5, 3.5, 2.5}).statistic == 0.5);  // order does not matter
  // Ties step both CDFs together: F_a(1) = 0.5, F_b(1) = 0.25, both 1 at 2, so D = 0.25 (a walk
  // that steps through tied values one sample at a time would report 0.5).
  CHECK(ks_two_sample({1, 1, 2, 2}, {1, 2, 2, 2}).statistic == 0.25);
  CHECK(ks_two_sample({1, 2, 3}, {1, 2, 3}).statistic == 0.0);
  CHECK(ks_two_sample({1, 2, 3}, {1, 2, 3}).p_value == 1.0);
  // n = m = 50, shifted by 15: D = 0.3, ne = 25, lambda = (5 + 0.12 + 0.11 / 5) * 0.3 = 1.5426;
  // p = Q(1.5426) = 0.017144412343195865 (Numerical Recipes 3rd ed. eq. 14.3.18 with Stephens'
  // correction, evaluated in Python as above).
  const auto r = ks_two_sample(range(0, 50), range(15, 65));
  CHECK(r.statistic == Approx(0.3).epsilon(1e-12));
  CHECK(r.p_value == Approx(0.017144412343195865).epsilon(1e-9));
  // The pre-sorted entry point gives the same answer.
  const auto s = ks_two_sample_sorted(range(0, 50), range(15, 65));
  CHECK(s.statistic == r.statistic);
  CHECK(s.p_value == r.p_value);
  CHECK_THROWS_AS(ks_two_sample({}, {1.0}), Error);
}

TEST_CASE("KS p-values under the null reject at most alpha of the time", "[unit][detection]") {
  std::mt19937_64 rng(5);
  std::normal_distribution<double> normal;
  int rejected = 0;
  const int trials = 2000;
  for (int t = 0; t < trials; ++t) {
    std::vector<double> a(300), b(100);
    for (auto& x : a) x = normal(rng);
    for (auto& x : b) x = normal(rng);
    rejected += ks_two_sample(a, b).p_value < 0.05;
  }
  // The asymptotic p-value is slightly conservative at these sizes: about 4-5% rejections.
  CHECK(rejected > 0.03 * trials);
  CHECK(rejected < 0.06 * trials);
  // And a real shift of 0.5 sd is found nearly always.
  std::vector<double> a(300), b(100);
  for (auto& x : a) x = normal(rng);
  for (auto& x : b) x = normal(rng) + 0.5;
  CHECK(ks_two_sample(a, b).p_value < 1e-3);
}

TEST_CASE("exact binomial upper tail", "[unit][detection]") {
  // By hand: P(X >= 8 | 10, 1/2) = (45 + 10 + 1) / 1024; P(X >= 1 | 20, 0.05) = 1 - 0.95^20;
  // P(X >= 3 | 5, 0.2) = 10 * 0.008 * 0.64 + 5 * 0.0016 * 0.8 + 0.00032.
  CHECK(binomial_upper_tail(8, 10, 0.5) == Approx(56.0 / 1024).epsilon(1e-12));
  CHECK(binomial_upper_tail(1, 20, 0.05) == Approx(1 - std::pow(0.95, 20)).epsilon(1e-12));
  CHECK(binomial_upper_tail(3, 5, 0.2) == Approx(0.05792).epsilon(1e-12));
  // Exact rational sums in Python (fractions.Fraction, math.comb).
  CHECK(binomial_upper_tail(11, 100, 0.05) == Approx(0.0114724100674847).epsilon(1e-10));
  CHECK(binomial_upper_tail(75, 1000, 0.05) == Approx(0.0004113434417590711).epsilon(1e-9));
  CHECK(binomial_upper_tail(0, 10, 0.3) == 1.0);
  CHECK(binomial_upper_tail(11, 10, 0.3) == 0.0);
  CHECK_THROWS_AS(binomial_upper_tail(1, 10, 1.5), Error);
  CHECK(bonferroni(0.004, 2) == 0.008);
  CHECK(bonferroni(0.7, 2) == 1.0);
}

TEST_CASE("threshold at fpr leaves at most fpr * n scores above it", "[unit][detection]") {
  auto scores = range(1, 101);  // 1..100
  std::shuffle(scores.begin(), scores.end(), std::mt19937(1));
  CHECK(threshold_at_fpr(scores, 0.05) == 95);  // 96..100 lie above: exactly 5
  CHECK(threshold_at_fpr(scores, 0.10) == 90);
  CHECK(threshold_at_fpr(scores, 0.001) == 100);  // none may lie above
  CHECK_THROWS_AS(threshold_at_fpr(scores, 0.0), Error);
  CHECK_THROWS_AS(threshold_at_fpr({}, 0.05), Error);
}

TEST_CASE("squeezers: bit depth and 2x2 median", "[unit][detection]") {
  auto x = torch::tensor({0.1f, 0.4f, 0.6f, 0.95f}).view({1, 1, 2, 2});
  CHECK(
      torch::equal(reduce_bit_depth(x, 1), torch::tensor({0.f, 0.f, 1.f, 1.f}).view({1, 1, 2, 2})));
  // 2 bits: levels 0, 1/3, 2/3, 1.
  CHECK(torch::allclose(reduce_bit_depth(x, 2),
                        torch::tensor({0.f, 1 / 3.f, 2 / 3.f, 1.f}).view({1, 1, 2, 2})));
  CHECK_THROWS_AS(reduce_bit_depth(x, 0), Error);
  // [[1,2],[3,4]] padded up and left by replication is [[1,1,2],[1,1,2],[3,3,4]]; windows
  // {1,1,1,1} {1,2,1,2} {1,1,3,3} {1,2,3,4} -> upper middles 1, 2, 3, 3.
  auto m = median_filter_2x2(torch::tensor({1.f, 2.f, 3.f, 4.f}).view({1, 1, 2, 2}));
  CHECK(torch::equal(m, torch::tensor({1.f, 2.f, 3.f, 3.f}).view({1, 1, 2, 2})));
  // An isolated bright pixel (salt noise) is removed.
  auto salt = torch::zeros({1, 1, 4, 4});
  salt[0][0][1][1] = 1;
  CHECK(median_filter_2x2(salt).max().item<float>() == 0.f);
}

TEST_CASE("scores are probabilities, entropies and L1 distances", "[unit][detection]") {
  const auto& s = Scored::get();
  REQUIRE(s.reference.size() == 1000);
  for (int64_t i = 0; i < s.reference.size(); ++i) {
    const auto k = static_cast<size_t>(i);
    CHECK(s.reference.max_probability[k] >= 0.1 - 1e-12);
    CHECK(s.reference.max_probability[k] <= 1.0);
    CHECK(s.reference.entropy[k] >= 0.0);
    CHECK(s.reference.entropy[k] <= std::log(10.0) + 1e-9);
    CHECK(s.reference.squeeze[k] == std::max(s.reference.bit_depth[k], s.reference.median[k]));
    CHECK(s.reference.squeeze[k] <= 2.0);
  }
  // Batching does not change the scores beyond rounding: batches of 4 and of 1000 may take
  // different BLAS kernels (summation orders), so the values agree to a tolerance, not bit for bit.
  auto& net = test::small_trained_model();
  const auto again = score_inputs(net, s.data.slice(0, 1000).images, 4, 1000);
  REQUIRE(again.entropy.size() == s.reference.entropy.size());
  for (size_t k = 0; k < again.entropy.size(); ++k) {
    CHECK(again.entropy[k] == Approx(s.reference.entropy[k]).margin(1e-5));
  }
}

// serve's monitor scores windows with the model its batcher is running, so Classifier::eval(),
// which scoring calls, writes the modules' training flags only where one is still set; it must
// still find one set on a child.
TEST_CASE("scoring puts every module in eval mode including a child left training",
          "[unit][detection]") {
  // A ResNet (BatchNorm reads self.training) inside a wrapper, as import-model builds one.
  auto inner = model::make_resnet_small(data::fashion_mnist_class_names(), {1, 28, 28}, 3);
  torch::jit::Module wrapper("Wrapper");
  wrapper.register_attribute("training", c10::BoolType::get(), true);
  wrapper.register_module("model", inner.module());
  wrapper.define("def forward(self, x):\n    return self.model.forward(x)\n");
  model::Classifier net(wrapper, inner.info());
  const auto images = torch::full({8, 1, 28, 28}, 0.5f);
  auto modules_training = [&] {
    int64_t n = 0;
    for (const auto& m : net.module().modules()) n += m.attr("training").toBool();
    return n;
  };
  net.train(true);
  REQUIRE(modules_training() == 2);
  const auto eval_scores = score_inputs(net, images, 4, 8);
  CHECK(modules_training() == 0);
  // The root in eval mode and the inner module still training, as a module can be saved.
  inner.module().train(true);
  REQUIRE(modules_training() == 1);
  const auto again = score_inputs(net, images, 4, 8);
  CHECK(modules_training() == 0);
  CHECK(again.entropy == eval_scores.entropy);  // the same computation, in eval mode both times
}

TEST_CASE("calibration hits the requested FPR on held-out clean data", "[unit][detection]") {
  const auto& s = Scored::get();
  for (const double fpr : {0.05, 0.1}) {
    const auto c = calibrate(s.reference, "ab", fpr, 4);
    int64_t flagged = 0;
    for (double v : s.held_out.squeeze) flagged += v > c.threshold;
    const double rate = static_cast<double>(flagged) / s.held_out.size();
    INFO("fpr " << fpr << ": held-out rate " << rate);
    // Sampling error of the threshold (1000 reference inputs) and of the rate (1000 held out):
    // about 0.01 at fpr 0.05; 0.03 is three of those.
    CHECK(std::abs(rate - fpr) < 0.03);
  }
  // Too few reference inputs for the rate: 5 / 0.05 = 100 needed.
  CHECK_THROWS_WITH(calibrate(s.reference.slice(0, 99), "ab", 0.05, 4),
                    Catch::Contains("reference: 99 inputs are too few"));
}

TEST_CASE("an FGSM window fires and a clean window does not", "[unit][detection]") {
  const auto& s = Scored::get();
  auto& net = test::small_trained_model();
  const auto c = calibrate(s.reference, "ab", 0.05, 4);
  const auto window = s.data.slice(1000, 500);
  const auto clean = decide_window(c, s.held_out.slice(0, 500), 0.01);
  INFO(clean.reasons[0] << "\n" << clean.reasons[1] << "\n" << clean.reasons[2]);
  CHECK_FALSE(clean.degraded);
  const auto adv = attacks::attack_all(net, window.images, torch::Tensor(), attacks::AttackConfig{},
                                       250, 0, 0);  // FGSM eps 0.15
  const auto attacked = decide_window(c, score_inputs(net, adv, 4, 250), 0.01, 1000);
  INFO(attacked.reasons[0] << "\n" << attacked.reasons[1] << "\n" << attacked.reasons[2]);
  CHECK(attacked.degraded);
  // Flagged indices are reported in the caller's numbering and are the inputs above threshold.
  REQUIRE_FALSE(attacked.flagged.empty());
  CHECK(attacked.flagged.front() >= 1000);
  CHECK(attacked.flagged_count == static_cast<int64_t>(attacked.flagged.size()));
}

TEST_CASE("hysteresis fires only after K bad windows in a row", "[unit][detection]") {
  CHECK(first_alarm({true, false, true, true, false}, 1) == 0);
  CHECK(first_alarm({true, false, true, true, false}, 2) == 3);
  CHECK_FALSE(first_alarm({true, false, true, true, false}, 3).has_value());
  CHECK_FALSE(first_alarm({}, 1).has_value());

  // A stream: clean, attacked, clean, attacked, attacked (200 inputs each).
  const auto& s = Scored::get();
  auto& net = test::small_trained_model();
  attacks::AttackConfig fgsm;
  fgsm.epsilon = 0.15;
  const auto adv = score_inputs(
      net,
      attacks::attack_all(net, s.data.slice(1000, 600).images, torch::Tensor(), fgsm, 200, 0, 0), 4,
      200);
  Scores stream = s.held_out.slice(0, 200);
  for (int64_t i = 0; i < 200; ++i) stream.push_back(adv, i);
  for (int64_t i = 200; i < 400; ++i) stream.push_back(s.held_out, i);
  for (int64_t i = 200; i < 600; ++i) stream.push_back(adv, i);
  const auto c = calibrate(s.reference, "ab", 0.05, 4);
  const auto k2 = decide_stream(c, stream, 0.01, 200, 2);
  REQUIRE(k2.windows.size() == 5);
  CHECK(k2.windows[2].offset == 400);
  CHECK(k2.bad_windows == 3);
  CHECK(k2.longest_bad_run == 2);
  CHECK(k2.degraded);
  CHECK(k2.alarm_window == 4);
  CHECK(decide_stream(c, stream, 0.01, 200, 1).alarm_window == 1);
  CHECK_FALSE(decide_stream(c, stream, 0.01, 200, 3).degraded);
  // window_size 0: the whole stream is one window; a short last window is still decided.
  CHECK(decide_stream(c, stream, 0.01, 0, 1).windows.size() == 1);
  CHECK(decide_stream(c, stream, 0.01, 300, 1).windows.back().count == 100);
}

TEST_CASE("calibration round-trips through JSON and refuses another model", "[unit][detection]") {
  const auto& s = Scored::get();
  const std::string sha(64, 'a');
  const auto c = calibrate(s.reference, sha, 0.05, 4, s.shifted);
  test::TempDir dir;
  save_calibration(dir / "cal.json", c, "calibration");
  const auto back = load_calibration(dir / "cal.json", "calibration_in");
  CHECK(back.model_sha256 == sha);
  CHECK(back.threshold_adversarial == c.threshold_adversarial);
  CHECK(back.shifts == std::vector<std::string>{"brightness:0.1", "translate:2", "blur:0.8",
                                                "noise:0.05"});
  REQUIRE(back.rates.size() == 5);
  CHECK(back.rates[0].set == "clean");
  CHECK(back.rates[4].adversarial_rate == c.rates[4].adversarial_rate);
  CHECK(back.rates[2].squeeze_rate == c.rates[2].squeeze_rate);
  CHECK(back.fpr == c.fpr);
  CHECK(back.squeeze_bits == c.squeeze_bits);
  CHECK(back.threshold == c.threshold);
  CHECK(back.reference_max_probability == c.reference_max_probability);
  CHECK(back.reference_entropy == c.reference_entropy);
  const auto w = s.held_out.slice(0, 300);
  CHECK(decide_window(back, w, 0.01).p_entropy == decide_window(c, w, 0.01).p_entropy);
  CHECK(decide_window(back, w, 0.01).adversarial_p_value ==
        decide_window(c, w, 0.01).adversarial_p_value);

  CHECK_NOTHROW(check_same_model(back, sha, "calibration_in"));
  CHECK_THROWS_WITH(check_same_model(back, std::string(64, 'b'), "calibration_in"),
                    Catch::Contains("calibration_in: made for model sha256 aaaaaaaaaaaa"));

  auto j = to_json(c);
  j["reference"]["entropy"].erase(0);
  CHECK_THROWS_WITH(calibration_from_json(j, "calibration_in"),
                    Catch::Contains("reference samples do not hold"));
  j = to_json(c);
  j["fpr"] = 1.5;
  CHECK_THROWS_WITH(calibration_from_json(j, "calibration_in"), Catch::Contains("fpr"));
  j = to_json(c);
  j["adversarial"].erase("threshold");
  CHECK_THROWS_WITH(calibration_from_json(j, "calibration_in"),
                    Catch::Contains("calibration_in adversarial: field 'threshold' is missing"));
  j = to_json(c);
  j["adversarial"]["statistic"] = "noise_flip";  // another statistic's threshold: recalibrate
  CHECK_THROWS_WITH(calibration_from_json(j, "calibration_in"),
                    Catch::Contains("adversarial statistic 'noise_flip' is not squeeze"));
  j = to_json(c);
  j["format"] = "advkfp.calibration/v1";  // made before the verdict existed: recalibrate
  CHECK_THROWS_WITH(calibration_from_json(j, "calibration_in"),
                    Catch::Contains("format 'advkfp.calibration/v1' is not"));
  CHECK_THROWS_WITH(calibration_from_json(uncalibrated_json("mode labeled"), "calibration_in"),
                    Catch::Contains("holds no calibration (mode labeled)"));
}

TEST_CASE("benign shifts parse, apply and repeat with their seed", "[unit][detection]") {
  const auto s = parse_shift("brightness:0.1", "shifts");
  CHECK(s.kind == "brightness");
  CHECK(s.value == 0.1);
  CHECK(s.name() == "brightness:0.1");
  CHECK(s.family() == "photometric");
  CHECK(parse_shift("rotate:-10", "shifts").family() == "geometric");
  CHECK(to_string(parse_shifts("blur:0.8,salt-pepper:0.02", "shifts")) ==
        "blur:0.8,salt-pepper:0.02");
  CHECK(parse_shifts("", "shifts").empty());
  CHECK_THROWS_WITH(parse_shift("fog:1", "shifts"), Catch::Contains("shifts: unknown shift 'fog'"));
  CHECK_THROWS_WITH(parse_shift("blur", "shifts"), Catch::Contains("is not kind:value"));
  CHECK_THROWS_WITH(parse_shift("translate:1.5", "shifts"), Catch::Contains("whole pixels"));
  CHECK_THROWS_WITH(parse_shift("brightness:2", "shifts"), Catch::Contains("in [-1, 1]"));
  CHECK_THROWS_WITH(parse_shift("gain:x", "shifts"), Catch::Contains("must be a number"));
  CHECK_THROWS_AS(parse_shifts("gain:0.8,,blur:1", "shifts"), UsageError);

  // translate:1 moves a 3x3 ramp one pixel right and one down, zeros coming in.
  const auto ramp = torch::arange(1, 10, torch::kFloat).view({1, 1, 3, 3}) / 10;
  const auto moved = apply_shift(ramp, parse_shift("translate:1", "t"), 0);
  CHECK(torch::allclose(moved, torch::tensor({0.f, 0.f, 0.f, 0.f, .1f, .2f, 0.f, .4f, .5f})
                                   .view({1, 1, 3, 3})));
  CHECK(torch::allclose(apply_shift(ramp, parse_shift("gain:0.5", "t"), 0), ramp * 0.5));
  CHECK(torch::allclose(apply_shift(ramp, parse_shift("brightness:0.5", "t"), 0),
                        (ramp + 0.5).clamp(0, 1)));
  // rotate:0 and blur leave a constant image as it is.
  const auto flat = torch::full({2, 1, 8, 8}, 0.5f);
  CHECK(torch::allclose(apply_shift(flat, parse_shift("blur:1", "t"), 0), flat, 0, 1e-6));
  CHECK(torch::allclose(apply_shift(ramp, parse_shift("rotate:0", "t"), 0), ramp, 0, 1e-6));
  CHECK(torch::allclose(apply_shift(flat, parse_shift("downscale:2", "t"), 0), flat, 0, 1e-6));
  // The noise kinds repeat with their seed, change with it, and stay in [0, 1].
  for (const char* kind : {"noise:0.1", "uniform-noise:0.1", "salt-pepper:0.05"}) {
    const auto sh = parse_shift(kind, "t");
    const auto a = apply_shift(flat, sh, 3);
    CHECK(torch::equal(a, apply_shift(flat, sh, 3)));
    CHECK_FALSE(torch::equal(a, apply_shift(flat, sh, 4)));
    CHECK(a.min().item<float>() >= 0.f);
    CHECK(a.max().item<float>() <= 1.f);
  }
}

namespace {

// The verdict at the detector's default squeezer (2 bits), on the same model and slices: the
// reference and its calibration shifts as detect-degradation makes them (all 1000 reference
// images, shift seeds 1..4).
struct Verdicts {
  static constexpr int64_t kBits = 2;
  model::Classifier& net = test::small_trained_model();
  const data::Dataset& data = Scored::get().data;
  Scores reference = score_inputs(net, data.slice(0, 1000).images, kBits, 250);
  Calibration calibration = [this] {
    std::vector<ShiftedScores> shifted;
    uint64_t seed = 1;
    for (const auto& sh : parse_shifts("brightness:0.1,translate:2,blur:0.8,noise:0.05", "t")) {
      shifted.push_back(
          {sh.name(), score_inputs(net, apply_shift(data.slice(0, 1000).images, sh, seed++),
                                   kBits, 250)});
    }
    return calibrate(reference, "ab", 0.05, kBits, shifted);
  }();
  WindowDecision decide(const torch::Tensor& images) {
    return decide_window(calibration, score_inputs(net, images, kBits, 250), 0.01, 1000);
  }
  static Verdicts& get() {
    static Verdicts v;
    return v;
  }
};

}  // namespace

TEST_CASE("the squeezing score does not depend on batching",
          "[unit][detection]") {
  auto& net = test::small_trained_model();
  const auto x = Scored::get().data.slice(0, 120).images;
  const auto a = score_inputs(net, x, 2, 120);
  const auto b = score_inputs(net, x, 2, 50);
  REQUIRE(a.size() == 120);
  for (size_t i = 0; i < 120; ++i) {
    // Other batch sizes run other BLAS kernels: equal to a tolerance.
    CHECK(a.squeeze[i] == Approx(b.squeeze[i]).margin(1e-4));
  }
}

TEST_CASE("verdict: clean windows clean, FGSM and PGD windows attack, benign shifts shift",
          "[unit][detection]") {
  auto& v = Verdicts::get();
  const auto& c = v.calibration;
  // The threshold keeps every calibration set at or below fpr, and is set by one of them.
  REQUIRE(c.rates.size() == 5);
  double highest = 0;
  for (const auto& r : c.rates) {
    INFO(r.set << ": " << r.adversarial_rate);
    CHECK(r.adversarial_rate <= c.fpr + 1e-12);
    highest = std::max(highest, r.adversarial_rate);
  }
  CHECK(highest > c.fpr - 0.01);
  CHECK(c.threshold_adversarial >= c.threshold);

  const auto window = v.data.slice(1000, 500);
  const auto clean = v.decide(window.images);
  INFO(clean.reasons[2] << "; " << clean.reasons[3]);
  CHECK(clean.verdict == Verdict::kClean);

  // eps 0.1 and 0.15. At eps 0.05 this 2-epoch model's squeezing scores hardly move (measured:
  // 20 FGSM and 24 PGD inputs of 500 above the threshold, 25 allowed): not even an alarm, so a
  // shift-or-clean miss; the README's model is measured at eps 0.05 with bench-detection.
  for (const auto method : {attacks::Method::kFgsm, attacks::Method::kPgd}) {
    for (const double eps : {0.1, 0.15}) {
      attacks::AttackConfig cfg;
      cfg.method = method;
      cfg.epsilon = eps;
      const auto adv = attacks::attack_all(v.net, window.images, window.labels, cfg, 250, 0, 0);
      const auto d = v.decide(adv);
      INFO(cfg.describe() << ": " << d.reasons[2] << "; " << d.reasons[3]);
      CHECK(d.verdict == Verdict::kAttack);
      CHECK(d.adversarial_count == static_cast<int64_t>(d.adversarial_flagged.size()));
      for (const auto i : d.adversarial_flagged) CHECK(i >= 1000);
    }
  }
  // Benign shifts the calibration never saw (bench-detection's held-out families): the inputs
  // changed, but not the way attacks change them.
  for (const char* shift : {"brightness:-0.1", "gain:0.8", "contrast:0.7", "gamma:1.5",
                            "rotate:10", "downscale:2", "uniform-noise:0.1",
                            "salt-pepper:0.02"}) {
    const auto d = v.decide(apply_shift(window.images, parse_shift(shift, "t"), 9));
    INFO(shift << ": " << d.reasons[0] << "; " << d.reasons[2] << "; " << d.reasons[3]);
    CHECK(d.verdict != Verdict::kAttack);
  }
  for (const char* shift : {"rotate:10", "downscale:2"}) {  // strong enough to be seen
    const auto d = v.decide(apply_shift(window.images, parse_shift(shift, "t"), 9));
    INFO(shift << ": " << d.reasons[0] << "; " << d.reasons[2] << "; " << d.reasons[3]);
    CHECK(d.verdict == Verdict::kShift);
  }
}

TEST_CASE("a stream is attack only after K attack windows in a row", "[unit][detection]") {
  const auto& s = Scored::get();
  auto& net = test::small_trained_model();
  attacks::AttackConfig pgd;
  pgd.method = attacks::Method::kPgd;
  pgd.epsilon = 0.1;
  const auto part = s.data.slice(1000, 400);
  const auto adv = score_inputs(
      net, attacks::attack_all(net, part.images, part.labels, pgd, 200, 0, 0), 4, 200);
  const auto shifted =
      score_inputs(net, apply_shift(part.images, parse_shift("rotate:15", "t"), 0), 4, 200);
  // clean, shift, attack, attack (200 inputs each). The attack windows are PGD inputs whose
  // squeezing score (the adversarial evidence) is set to 2, the largest L1 distance between two
  // distributions: this tests the stream rule, not the statistic.
  Scores stream = s.held_out.slice(0, 200);
  for (int64_t i = 0; i < 200; ++i) stream.push_back(shifted, i);
  for (int64_t i = 0; i < 400; ++i) {
    stream.push_back(adv, i);
    stream.squeeze.back() = 2.0;
  }
  const auto k2 = decide_stream(s.calibration, stream, 0.01, 200, 2);
  REQUIRE(k2.windows.size() == 4);
  CHECK(k2.windows[0].verdict == Verdict::kClean);
  CHECK(k2.windows[1].verdict == Verdict::kShift);
  CHECK(k2.windows[2].verdict == Verdict::kAttack);
  CHECK(k2.attack_windows == 2);
  CHECK(k2.shift_windows == 1);
  CHECK(k2.verdict == Verdict::kAttack);
  CHECK(k2.attack_window == 3);
  // Three attack windows in a row are needed but only two come: degraded, a shift.
  const auto k3 = decide_stream(s.calibration, stream, 0.01, 200, 3);
  CHECK(k3.degraded);
  CHECK(k3.verdict == Verdict::kShift);
  // The clean part alone is clean.
  CHECK(decide_stream(s.calibration, stream.slice(0, 200), 0.01, 200, 1).verdict ==
        Verdict::kClean);
  CHECK(verdict_name(Verdict::kAttack) == "attack");
  CHECK(to_json(k2)["verdict"] == "attack");
  CHECK(to_json(k2.windows[1])["verdict"] == "shift");
}

// Found by review while writing fuzz/fuzz_calibration: the reason of an uncalibrated artifact was
// read with value<std::string>, so a reason of another type threw nlohmann::json's type_error.
TEST_CASE("an uncalibrated artifact is refused with its reason, whatever its type",
          "[unit][detection][fuzz]") {
  const nlohmann::json text = uncalibrated_json("mode labeled calibrates nothing");
  CHECK_THROWS_WITH(calibration_from_json(text, "calibration_in"),
                    Catch::Contains("holds no calibration (mode labeled calibrates nothing)"));
  nlohmann::json number = text;
  number["reason"] = 7;
  CHECK_THROWS_AS(calibration_from_json(number, "calibration_in"), Error);
  CHECK_THROWS_WITH(calibration_from_json(number, "calibration_in"),
                    Catch::StartsWith("calibration_in: holds no calibration (7)"));
}
