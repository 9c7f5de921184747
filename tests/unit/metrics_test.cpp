// Metrics on known inputs and the degradation rule.
#include <catch2/catch.hpp>

#include <functional>

#include "common/error.h"
#include "metrics/metrics.h"
#include "metrics/records.h"
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

TEST_CASE("metrics records: evaluate's file reads into typed fields, and a bad field is named",
          "[unit][metrics]") {
  using nlohmann::json;
  json m = {{"tool", "evaluate"},
            {"count", 4},
            {"accuracy", 0.75},
            {"class_names", {"a", "b"}},
            {"confusion_matrix", {{2, 0}, {1, 1}}},
            {"model", {{"sha256", "abc"}}},
            {"attack", {{"method", "pgd"}, {"epsilon", 0.1}, {"steps", 20}}},
            {"dataset", {{"provenance", {{"attack", {{"method", "fgsm"}, {"epsilon", 0.15}}}}}}},
            {"robustness_curve", {{{"attack", "fgsm"}, {"epsilon", 0.1}, {"accuracy", 0.5}}}},
            {"robustness_curve_count", 4}};
  const auto r = metrics::read_evaluation(m, "clean_metrics");
  CHECK(r.model_sha256 == "abc");
  CHECK(r.count == 4);
  CHECK(r.labelled_accuracy("x") == 0.75);
  CHECK(r.confusion_matrix[1][0] == 1);
  REQUIRE(r.attack);
  CHECK(r.attack->label() == "PGD-20 (eps 0.1)");
  REQUIRE(r.dataset_attack);
  CHECK(r.dataset_attack->name() == "FGSM");
  REQUIRE(r.robustness_curve.size() == 1);
  CHECK(r.robustness_curve[0].accuracy == 0.5);
  CHECK(r.robustness_curve_count == 4);

  // An unlabelled set: accuracy null, no confusion matrix needed; asking for it names the input.
  json u = m;
  u["accuracy"] = nullptr;
  u.erase("confusion_matrix");
  CHECK_FALSE(metrics::read_evaluation(u, "w").accuracy);
  CHECK_THROWS_WITH(metrics::read_evaluation(u, "w").labelled_accuracy("window_metrics"),
                    "window_metrics: field 'accuracy' is null (the evaluated set was unlabelled)");

  const auto fails = [&](const std::function<void(json&)>& edit, const std::string& message) {
    json bad = m;
    edit(bad);
    CHECK_THROWS_WITH(metrics::read_evaluation(bad, "clean_metrics"), message);
  };
  fails([](json& j) { j["model"].erase("sha256"); },
        "clean_metrics: field 'model.sha256' is missing (not an evaluate metrics file)");
  fails([](json& j) { j["accuracy"] = "high"; },
        "clean_metrics: field 'accuracy' is \"high\", not a number");
  fails([](json& j) { j["accuracy"] = 1.5; }, "clean_metrics: field 'accuracy' is 1.5, not in [0, 1]");
  fails([](json& j) { j.erase("accuracy"); },
        "clean_metrics: field 'accuracy' is missing (not an evaluate metrics file)");
  fails([](json& j) { j["class_names"] = {1, 2}; },
        "clean_metrics: field 'class_names' is [1,2], not a list of strings");
  fails([](json& j) { j["confusion_matrix"] = {{1, 2}}; },
        "clean_metrics: field 'confusion_matrix' is not 2 x 2 (one row per class)");
  fails([](json& j) { j["attack"]["method"] = "cw"; },
        "clean_metrics: field 'attack.method' is 'cw', not fgsm, pgd or apgd");
  fails([](json& j) { j["attack"].erase("steps"); },
        "clean_metrics: field 'attack.steps' is missing");
  json curve = m;
  curve["robustness_curve"][0].erase("epsilon");
  CHECK_THROWS_WITH(metrics::read_evaluation(curve, "clean_metrics"),
                    Catch::StartsWith("clean_metrics: robustness_curve point") &&
                        Catch::EndsWith("lacks attack, epsilon or accuracy"));

  // The labelled rule reads only the accuracy, from a file, naming the file.
  advkfp::test::TempDir dir;
  advkfp::test::write_text(dir / "m.json", R"({"accuracy": "NaN"})");
  CHECK_THROWS_WITH(metrics::read_accuracy_file(dir / "m.json", "baseline_metrics"),
                    "baseline_metrics: '" + (dir / "m.json").string() +
                        "': field 'accuracy' is \"NaN\", not a number");
  advkfp::test::write_text(dir / "m.json", R"({"accuracy": 0.5})");
  CHECK(metrics::read_accuracy_file(dir / "m.json", "baseline_metrics") == 0.5);
}

TEST_CASE("metrics records: a detection report's verdict is checked", "[unit][metrics]") {
  using nlohmann::json;
  CHECK(metrics::read_detection({{"degraded", true}, {"mode", "unlabeled"}, {"verdict", "shift"}},
                                "d").verdict == "shift");
  CHECK(metrics::read_detection({{"degraded", true}}, "d").verdict == "attack");  // older reports
  CHECK(metrics::read_detection({{"degraded", false}}, "d").mode == "labeled");
  CHECK_THROWS_WITH(metrics::read_detection({{"degraded", "yes"}}, "detection_report"),
                    Catch::StartsWith("detection_report: has no boolean 'degraded'"));
  CHECK_THROWS_WITH(metrics::read_detection({{"degraded", true}, {"verdict", "maybe"}}, "d"),
                    "d: verdict 'maybe' is not clean, shift or attack");
}

TEST_CASE("metrics records: train's metrics give the images it trained on", "[unit][metrics]") {
  using nlohmann::json;
  const json m = {{"tool", "train"},
                  {"count", 55000},
                  {"history", json::array({json::object(), json::object()})},
                  {"images_per_second", 4506.5}};
  const auto t = metrics::read_clean_training(m, "train_metrics");
  CHECK(t.count == 55000);
  CHECK(t.epochs == 2);
  CHECK(t.images_per_second == 4506.5);
  auto other = m;
  other["tool"] = "pgd-train";
  CHECK_THROWS_WITH(metrics::read_clean_training(other, "train_metrics"),
                    "train_metrics: is not train's metrics (tool 'pgd-train')");
  auto no_history = m;
  no_history.erase("history");
  CHECK_THROWS_WITH(metrics::read_clean_training(no_history, "train_metrics"),
                    "train_metrics: field 'history' is missing");
  auto bad_count = m;
  bad_count["count"] = "many";
  CHECK_THROWS_WITH(metrics::read_clean_training(bad_count, "train_metrics"),
                    Catch::StartsWith("train_metrics: field 'count' is not a number"));
}
