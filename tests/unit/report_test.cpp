// The report: what it says for a defended and a kept model, that it is self-contained, and that
// inputs which do not belong together are refused with the input named.
#include "report.h"

#include <catch2/catch.hpp>

#include "common/error.h"
#include "metrics/records.h"

using namespace advkfp;
using nlohmann::json;

namespace {

// An evaluate metrics document: accuracy, model identity, a diagonal-heavy confusion matrix.
json eval_metrics(const std::string& sha, double accuracy, const json& attack = nullptr) {
  json m = {{"tool", "evaluate"},
            {"accuracy", accuracy},
            {"count", 100},
            {"class_names", {"a", "b", "c"}},
            {"confusion_matrix", {{30, 2, 1}, {3, 28, 2}, {1, 1, 32}}},
            {"model", {{"sha256", sha}, {"training", {{"config", {{"seed", 7}}}}}}},
            {"dataset", {{"count", 100}, {"provenance", {{"split", "test"}}}}},
            {"attack", attack}};
  return m;
}

json curve(double scale) {
  json c = json::array();
  for (const std::string attack : {"fgsm", "pgd"}) {
    for (double eps : {0.0, 0.1, 0.3}) {
      c.push_back({{"attack", attack},
                   {"epsilon", eps},
                   {"accuracy", scale * (1.0 - eps) * (attack == "pgd" ? 0.9 : 1.0)}});
    }
  }
  return c;
}

report::Inputs run_inputs(const std::string& final_sha, bool degraded) {
  report::Inputs in;
  in.title = "Test <report>";
  in.clean = eval_metrics("aaaa", 0.9206);
  in.clean["robustness_curve"] = curve(0.9);
  in.clean["robustness_curve_count"] = 100;
  in.attacked = eval_metrics("aaaa", 0.0731);
  in.attacked["dataset"]["provenance"] = {{"attack", {{"method", "fgsm"}, {"epsilon", 0.15}}}};
  in.detection = {{"tool", "detect-degradation"},
                  {"mode", "unlabeled"},
                  {"degraded", degraded},
                  {"windows",
                   {{{"ks", {{"name", "ks_max_probability"}, {"p_value", 1e-9}}},
                     {"reasons", {"KS on max probability: p 1e-09 < alpha"}}}}}};
  in.final_clean = eval_metrics(final_sha, 0.8816);
  in.final_fgsm = eval_metrics(final_sha, 0.6541, {{"method", "fgsm"}, {"epsilon", 0.15}});
  in.final_transfer = eval_metrics(final_sha, 0.7446);
  in.final_pgd =
      eval_metrics(final_sha, 0.5509, {{"method", "pgd"}, {"epsilon", 0.15}, {"steps", 20}});
  (*in.final_pgd)["robustness_curve"] = curve(0.8);
  return in;
}

size_t count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("a defended run: evolution, curves, both confusion matrices, numbers and settings",
          "[unit][report]") {
  const auto r = report::render(run_inputs("bbbb", true));
  // Accuracy evolution (line + bars), robustness curve, two confusion matrices.
  CHECK(count(r.html, "<svg") == 5);
  CHECK_THAT(r.html, Catch::Contains("Degradation detected (unlabeled check)"));
  CHECK_THAT(r.html, Catch::Contains("trained from aaaa"));
  for (const char* v : {"92.06%", "7.31%", "88.16%", "65.41%", "74.46%", "55.09%"}) {
    CHECK_THAT(r.html, Catch::Contains(v));
  }
  CHECK_THAT(r.html, Catch::Contains("defended, PGD"));
  CHECK_THAT(r.html, Catch::Contains("Test &lt;report&gt;"));    // escaped
  CHECK_THAT(r.html, Catch::Contains("windows[0].ks.p_value"));  // detection details
  CHECK_THAT(r.html, Catch::Contains("<li>KS on max probability: p 1e-09 &lt; alpha</li>"));
  CHECK_THAT(r.html, Catch::Contains("original training.config.seed"));  // settings
  // Self-contained: nothing fetched, nothing run.
  for (const char* bad : {"<script", "src=", "href=", "url(", "@import"}) {
    CHECK(r.html.find(bad) == std::string::npos);
  }
  CHECK_THAT(r.markdown, Catch::Contains("| defended | white-box PGD-20 (eps 0.15) | 55.09% |"));
  CHECK_THAT(r.markdown, Catch::Contains("| 0.3 | 63.00% | 56.70% | 56.00% | 50.40% |"));
}

TEST_CASE("a kept model: the report says so and draws no second set of curves", "[unit][report]") {
  const auto r = report::render(run_inputs("aaaa", false));
  CHECK_THAT(r.html, Catch::Contains("No degradation detected (unlabeled check); the model aaaa "
                                     "was kept."));
  CHECK(r.html.find("defended") == std::string::npos);
  CHECK_THAT(r.markdown, Catch::Contains("| kept | clean | 88.16% |"));
  CHECK(count(r.markdown, "\n| 0.1 |") == 1);
  // Without the final evaluations (a standalone run), the first half still renders.
  auto partial = run_inputs("aaaa", false);
  partial.final_clean = partial.final_fgsm = partial.final_transfer = partial.final_pgd =
      std::nullopt;
  const auto p = report::render(partial);
  CHECK(count(p.html, "<svg") == 4);
  CHECK_THAT(p.html, Catch::Contains("n/a"));
}

TEST_CASE("a shift verdict: the report says what changed and that the model was not retrained",
          "[unit][report]") {
  auto in = run_inputs("aaaa", true);
  in.detection["verdict"] = "shift";
  in.detection["unlabeled"] = {
      {"windows",
       {{{"count", 500},
         {"verdict", "shift"},
         {"ks", {{"max_probability", {{"statistic", 0.31}}}, {"entropy", {{"statistic", 0.29}}}}},
         {"squeeze", {{"flagged_count", 120}}},
         {"adversarial", {{"flagged_count", 20}}}}}}};
  const auto r = report::render(in);
  CHECK_THAT(r.html, Catch::Contains("Degradation detected (unlabeled check), verdict shift"));
  CHECK_THAT(r.html, Catch::Contains("1 of 1 windows shifted; largest KS D on confidence 0.310; "
                                     "120 of 500 inputs flagged by feature squeezing, 20 with "
                                     "adversarial evidence"));
  CHECK_THAT(r.html, Catch::Contains("The final model was not retrained."));
  CHECK_THAT(r.markdown, Catch::Contains("verdict shift"));
  CHECK_THAT(r.html, Catch::Contains("verdict <b>shift</b>"));
  // An attack verdict and a report from before the verdict (degraded reads as an attack).
  in.detection["verdict"] = "attack";
  CHECK_THAT(report::render(in).html, Catch::Contains("verdict <b>attack</b>"));
  in.detection.erase("verdict");
  CHECK_THAT(report::render(in).html, Catch::Contains("verdict <b>attack</b>"));
  in.detection["verdict"] = "maybe";
  CHECK_THROWS_WITH(report::render(in),
                    Catch::Contains("detection_report: verdict 'maybe' is not clean, shift or"));
  in.detection["verdict"] = 2;
  CHECK_THROWS_WITH(report::render(in), Catch::Contains("detection_report: 'verdict' is not a"));
}

TEST_CASE("inputs that do not belong together are refused, naming the input", "[unit][report]") {
  auto in = run_inputs("bbbb", true);
  in.attacked["model"]["sha256"] = "cccc";
  CHECK_THROWS_WITH(report::render(in), Catch::Contains("attacked_metrics: evaluates model cccc"));

  in = run_inputs("bbbb", true);
  (*in.final_transfer)["model"]["sha256"] = "dddd";
  CHECK_THROWS_WITH(report::render(in), Catch::Contains("final_transfer_metrics"));

  in = run_inputs("bbbb", true);
  in.clean["confusion_matrix"] = {{1, 2, 3}, {4, 5, 6}};
  CHECK_THROWS_WITH(report::render(in),
                    Catch::Contains("clean_metrics: field 'confusion_matrix' is not 3 x 3"));

  in = run_inputs("bbbb", true);
  in.detection.erase("degraded");
  CHECK_THROWS_WITH(report::render(in), Catch::Contains("detection_report"));

  in = run_inputs("bbbb", true);
  (*in.final_pgd)["robustness_curve"][1].erase("accuracy");
  CHECK_THROWS_WITH(report::render(in),
                    Catch::Contains("final_pgd_metrics: robustness_curve point"));

  in = run_inputs("bbbb", true);
  in.final_fgsm->erase("accuracy");
  CHECK_THROWS_AS(report::render(in), Error);

  // Optional context (dataset provenance, training settings) may be missing: shown as absent.
  in = run_inputs("bbbb", true);
  in.attacked.erase("dataset");
  in.clean["model"].erase("training");
  CHECK_THAT(report::render(in).html, Catch::Contains("FGSM set crafted on it (no attack)"));
}

TEST_CASE("with APGD-CE given, the robust accuracy is the lowest under the attacks run",
          "[unit][report]") {
  auto in = run_inputs("bbbb", true);
  in.final_apgd =
      eval_metrics("bbbb", 0.5312, {{"method", "apgd"}, {"epsilon", 0.15}, {"steps", 20}});
  auto r = report::render(in);
  CHECK_THAT(r.markdown,
             Catch::Contains("| defended | white-box APGD-CE-20 (eps 0.15) | 53.12% |"));
  CHECK_THAT(r.markdown,
             Catch::Contains("| defended | robust (lowest under the attacks above) | 53.12% |"));
  CHECK_THAT(r.html, Catch::Contains("final APGD-CE evaluation.steps"));
  // PGD lower than APGD: PGD's figure is the robust one.
  (*in.final_apgd)["accuracy"] = 0.6;
  r = report::render(in);
  CHECK_THAT(r.markdown,
             Catch::Contains("| defended | robust (lowest under the attacks above) | 55.09% |"));
  // An APGD evaluation of another model is refused, naming the input.
  in.final_apgd = eval_metrics("cccc", 0.5, {{"method", "apgd"}, {"epsilon", 0.15}, {"steps", 20}});
  CHECK_THROWS_WITH(report::render(in), Catch::Contains("final_apgd_metrics"));
}

namespace {

// pgd-train's metrics with three held-out checks, the second kept, and a target.
json training_metrics(const json& target_seconds) {
  json curve = json::array();
  const double robust[] = {0.0, 0.552, 0.531};
  for (int i = 0; i < 3; ++i) {
    curve.push_back({{"epoch", i},
                     {"batches", 844 * i},
                     {"seconds", 1.9 + 75.0 * i},
                     {"epsilon", i ? 0.15 : 0.0},
                     {"clean_accuracy", 0.968 - 0.05 * i},
                     {"robust_accuracy", robust[i]},
                     {"train_seconds", 70.0 * i}});
  }
  return {{"tool", "pgd-train"},
          {"adversarial_method", {{"name", "madry"}}},
          {"validation_attack", {{"method", "pgd"}, {"steps", 20}, {"epsilon", 0.15}}},
          {"curve", curve},
          {"best_check", 1},
          {"target_robust_accuracy", 0.55},
          {"time_to_target_seconds", target_seconds},
          {"train_count", 54000},
          {"history", json::array({json::object(), json::object(), json::object()})}};
}

}  // namespace

TEST_CASE("the defence's held-out checks are drawn against wall time with the time to target",
          "[unit][report]") {
  auto in = run_inputs("bbbb", true);
  const size_t charts = count(report::render(in).html, "<svg");
  CHECK(report::render(in).html.find("Defence training") == std::string::npos);
  in.training = training_metrics(76.9);
  auto r = report::render(in);
  CHECK(count(r.html, "<svg") == charts + 1);
  CHECK_THAT(r.html, Catch::Contains("Held-out accuracy during adversarial training"));
  CHECK_THAT(r.html, Catch::Contains("<title>held-out robust, 77: 55.2%</title>"));
  CHECK_THAT(r.html, Catch::Contains("madry: 3 held-out checks under PGD-20 (eps 0.15); kept the "
                                     "check after 77 s (epoch 1): clean 91.80%, robust 55.20%; "
                                     "target 55.00% reached after 77 s."));
  // One table row per check, the kept one marked.
  CHECK(count(r.html, "<tr class=\"kept\">") == 1);
  CHECK_THAT(r.html, Catch::Contains("<tr class=\"kept\"><td class=\"num\">1</td>"));
  CHECK_THAT(r.markdown, Catch::Contains("Defence training: madry: 3 held-out checks"));
  // A target not reached says so.
  in.training = training_metrics(nullptr);
  CHECK_THAT(report::render(in).markdown, Catch::Contains("target 55.00% not reached."));
  // A kept model has no defence training to show, whatever is given.
  auto kept = run_inputs("aaaa", false);
  kept.training = training_metrics(76.9);
  CHECK(report::render(kept).html.find("Defence training") == std::string::npos);
  // Metrics of another tool, or a check out of range, are refused naming the input.
  in.training = training_metrics(76.9);
  (*in.training)["tool"] = "evaluate";
  CHECK_THROWS_WITH(report::render(in),
                    Catch::StartsWith("training_metrics:") && Catch::Contains("'evaluate'"));
  in.training = training_metrics(76.9);
  (*in.training)["curve"][2]["robust_accuracy"] = 1.5;
  CHECK_THROWS_WITH(report::render(in), Catch::StartsWith("training_metrics:") &&
                                            Catch::Contains("field 'curve[2].robust_accuracy' is "
                                                            "not a number in [0, 1]"));
  (*in.training)["curve"] = "none";
  CHECK_THROWS_WITH(report::render(in),
                    Catch::Contains("field 'curve' is not a list (no held-out checks)"));
  in.training = training_metrics(76.9);
  (*in.training)["validation_attack"]["method"] = "cw";
  CHECK_THROWS_WITH(report::render(in),
                    Catch::Contains("field 'validation_attack.method' is 'cw', not fgsm"));
}

TEST_CASE("a final model made by clean fine-tuning on a shift is reported as fine-tuned",
          "[unit][report]") {
  auto in = run_inputs("cccc", true);
  in.detection["verdict"] = "shift";
  for (auto* m : {&in.final_clean, &in.final_fgsm, &in.final_transfer, &in.final_pgd}) {
    (**m)["model"]["training"]["method"] = "clean-fine-tune";
  }
  const auto r = report::render(in);
  CHECK_THAT(r.markdown, Catch::Contains("verdict shift"));
  CHECK_THAT(r.markdown, Catch::Contains("Clean fine-tuning on the labelled canary set ran; the "
                                         "final model is cccc, fine-tuned from aaaa."));
  CHECK_THAT(r.markdown, Catch::Contains("| fine-tuned | clean | 88.16% |"));
  CHECK_THAT(r.html, Catch::Contains("Fine-tuned model, clean test set"));
  CHECK_THAT(r.html, Catch::Contains("after clean fine-tuning"));
  CHECK(r.html.find("PGD adversarial training ran") == std::string::npos);
  CHECK(r.markdown.find("defended") == std::string::npos);
  // The same final model made by the PGD defence reads as defended.
  for (auto* m : {&in.final_clean, &in.final_fgsm, &in.final_transfer, &in.final_pgd}) {
    (**m)["model"]["training"]["method"] = "pgd-adversarial";
  }
  CHECK_THAT(report::render(in).markdown, Catch::Contains("| defended | clean | 88.16% |"));
  // A method of the wrong type is refused naming the input and the field.
  (*in.final_fgsm)["model"]["training"]["method"] = 3;
  CHECK_THROWS_WITH(report::render(in),
                    Catch::StartsWith("final_fgsm_metrics") &&
                        Catch::Contains("field 'model.training.method' is 3, not a string"));
}

namespace {

// A 200-second episode: clean answers right 90% of the time, attacked ones 10% until the swap at
// 120.5 s, 70% after it; 10 requests a second, one of them failing at second 121.
metrics::TimelineRecord episode() {
  metrics::TimelineRecord t;
  t.attack_at_s = 30;
  t.alarm_at_s = 32.5;
  t.defence_started_at_s = 32.5;
  t.model_swapped_at_s = 120.5;
  t.events = {{32.5, "alarm", "detector alarm raised"},
              {32.5, "defence started", ""},
              {120.5, "model swapped", "1 -> 2"}};
  for (int64_t s = 0; s < 200; ++s) {
    metrics::TimelineSecond sec;
    sec.t = s;
    sec.attacked = s >= 30;
    sec.requests = 10;
    sec.failed = s == 121 ? 1 : 0;
    sec.accuracy = s < 30 ? 0.9 : s <= 120 ? 0.1 : 0.7;
    sec.p50_ms = 3;
    sec.p99_ms = 12;
    sec.model_versions = {s <= 120 ? "1" : "2"};
    t.seconds.push_back(sec);
    t.requests += sec.requests;
    t.failed += sec.failed;
  }
  return t;
}

}  // namespace

TEST_CASE("a live episode's timeline is shown with its timings and the accuracy around the swap",
          "[unit][report]") {
  auto in = run_inputs("bbbb", true);
  const size_t charts = count(report::render(in).html, "<svg");
  CHECK(report::render(in).html.find("Live episode") == std::string::npos);
  in.timeline = metrics::to_json(episode());
  const auto r = report::render(in);
  CHECK(count(r.html, "<svg") == charts + 1);
  CHECK_THAT(r.html, Catch::Contains("Accuracy of the served answers over time"));
  // Second 121 is after the swap; second 120 ends after it, so neither minute counts it.
  const std::string summary =
      "2000 requests, 1 failed. Accuracy of the answers before the attack: 90.00%. The attack "
      "began at 30.0 s; the alarm came 2.5 s later, the defence started at 32.5 s, and the new "
      "model answered from 120.5 s, 88.0 s after the alarm. Accuracy under attack in the minute "
      "before the swap: 10.00%; in the minute after: 70.00%.";
  CHECK_THAT(r.html, Catch::Contains(summary));
  CHECK_THAT(r.markdown, Catch::Contains("Live episode: " + summary));
  CHECK_THAT(r.html, Catch::Contains("<td>model swapped</td><td>1 -&gt; 2</td>"));
  // An episode without an alarm says so and stops there.
  auto quiet = episode();
  quiet.alarm_at_s.reset();
  quiet.model_swapped_at_s.reset();
  in.timeline = metrics::to_json(quiet);
  CHECK_THAT(report::render(in).markdown, Catch::Contains("began at 30.0 s; no alarm was raised."));
  // What traffic wrote, read back, is what it held.
  const auto back = metrics::read_timeline(metrics::to_json(episode()), "timeline");
  CHECK(metrics::to_json(back) == metrics::to_json(episode()));
  // A timeline that is not one, or a field out of range, is refused naming the input.
  in.timeline = json{{"tool", "evaluate"}};
  CHECK_THROWS_WITH(report::render(in), Catch::StartsWith("traffic_timeline:") &&
                                            Catch::Contains("not a traffic timeline"));
  in.timeline = metrics::to_json(episode());
  (*in.timeline)["seconds"][3]["accuracy"] = 1.5;
  CHECK_THROWS_WITH(report::render(in),
                    Catch::StartsWith("traffic_timeline:") &&
                        Catch::Contains("field 'seconds[3].accuracy' is not a number in [0, 1]"));
  in.timeline = metrics::to_json(episode());
  (*in.timeline)["seconds"][5]["failed"] = 11;
  CHECK_THROWS_WITH(report::render(in),
                    Catch::Contains("field 'seconds[5].failed' is more than its requests"));
  in.timeline = metrics::to_json(episode());
  (*in.timeline)["events"][0]["kind"] = 3;
  CHECK_THROWS_WITH(report::render(in), Catch::Contains("field 'events[0].kind' is not a string"));
}
