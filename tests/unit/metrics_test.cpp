// Metrics on known inputs and the degradation rule.
#include <catch2/catch.hpp>

#include "common/error.h"
#include "metrics/metrics.h"
#include "support/helpers.h"

using namespace advkfp;

TEST_CASE("evaluate fills a consistent confusion matrix", "[unit][metrics]") {
  auto& net = test::small_trained_model();
  auto ds = test::fashion_slice("t10k", 300);
  const auto e = metrics::evaluate(net, ds.images, ds.labels, 64);
  int64_t total = 0, diag = 0;
  for (size_t t = 0; t < e.confusion.size(); ++t) {
    int64_t row = 0;
    for (size_t p = 0; p < e.confusion.size(); ++p) {
      total += e.confusion[t][p];
      row += e.confusion[t][p];
    }
    diag += e.confusion[t][t];
    CHECK(row == e.per_class_count[t]);
  }
  CHECK(total == 300);
  CHECK(e.accuracy == Approx(static_cast<double>(diag) / 300));
  CHECK(e.accuracy > 0.5);
  CHECK(e.mean_confidence > 0.1);
  CHECK(e.mean_confidence <= 1.0);
  // Batch size does not change the result.
  CHECK(metrics::evaluate(net, ds.images, ds.labels, 300).accuracy == e.accuracy);
  const auto j = metrics::to_json(e, ds.class_names);
  CHECK(j["per_class"][0]["class"] == "T-shirt/top");
}

TEST_CASE("attack success rate counts correct -> wrong over correct", "[unit][metrics]") {
  auto labels = torch::tensor({0, 1, 2, 1}, torch::kInt64);
  auto clean_pred = torch::tensor({0, 1, 2, 3}, torch::kInt64);  // 3 of 4 correct
  auto adv_pred = torch::tensor({0, 2, 2, 1}, torch::kInt64);    // sample 1 flipped, 3 fixed
  auto x = torch::zeros({4, 1, 2, 2});
  auto xa = x.clone();
  xa[0][0][0][0] = 0.1f;
  xa[1][0][1][1] = 0.3f;
  xa[1][0][0][0] = 0.4f;
  const auto s = metrics::attack_stats(clean_pred, adv_pred, labels, x, xa);
  CHECK(s.clean_accuracy == Approx(0.75));
  CHECK(s.adversarial_accuracy == Approx(0.75));
  CHECK(s.success_rate == Approx(1.0 / 3));
  CHECK(s.linf_max == Approx(0.4));
  CHECK(s.linf_mean == Approx((0.1 + 0.4) / 4));
  CHECK(s.l2_max == Approx(0.5));
}

TEST_CASE("the degradation rule fires on drops beyond either threshold", "[unit][metrics]") {
  metrics::DegradationRule paper{0.0, 1.0};  // the paper: any drop at all
  CHECK(metrics::decide_degradation(0.90, 0.899, paper).degraded);
  CHECK_FALSE(metrics::decide_degradation(0.90, 0.90, paper).degraded);
  metrics::DegradationRule rule{0.05, 0.10};
  CHECK_FALSE(metrics::decide_degradation(0.90, 0.86, rule).degraded);
  CHECK(metrics::decide_degradation(0.90, 0.84, rule).degraded);
  metrics::DegradationRule relative{1.0, 0.10};
  CHECK(metrics::decide_degradation(0.30, 0.26, relative).degraded);  // 13% relative
  const auto d = metrics::decide_degradation(0.9, 0.2, rule);
  CHECK(d.absolute_drop == Approx(0.7));
  CHECK(d.reasons.size() == 2);
  CHECK_THROWS_WITH(metrics::decide_degradation(std::nan(""), 0.5, rule),
                    Catch::StartsWith("baseline accuracy:"));
  CHECK_THROWS(metrics::decide_degradation(0.5, 1.5, rule));
}
