// The compiled pipeline, run by kfp-local with the real binaries on a Fashion-MNIST slice: the
// label-free detection fires on the attacked stream and the PGD arm runs; with the labelled rule
// and an unreachable threshold the model is kept. The report is written either way, by the arm
// that ran (report-robust or report-kept), under the default, strictest --kfp-backend profile.
#include "e2e/e2e.h"
#include "io/files.h"
#include "io/json.h"

using namespace advkfp;
using namespace advkfp::test;

namespace {

// Where the report of the arm that ran is: <root>/<task path>.
fs::path report_dir(const fs::path& root, bool defended) {
  return root / "condition-branches-1" /
         (defended ? "condition-2/report-robust" : "condition-3/report-kept");
}

io::Json run_pipeline(const fs::path& root, bool defended, const std::vector<std::string>& extra) {
  std::vector<std::string> args = {"run", ADVKFP_PIPELINE_YAML, "--pipeline-root", root.string()};
  std::vector<std::string> params = {
      "train_limit=1000",  "test_limit=200",        "epochs=1",          "pgd_epochs=1",
      "pgd_steps=2",       "pgd_validation_size=100", "eval_pgd_steps=2", "sweep_limit=50",
      "eval_apgd_steps=2", "reference_size=500", "threads=1",            "dataset_uri=" ADVKFP_FASHION_MNIST_DIR};
  params.insert(params.end(), extra.begin(), extra.end());
  for (const auto& p : params) {
    args.push_back("--param");
    args.push_back(p);
  }
  const auto r = run_process(ADVKFP_KFP_LOCAL_EXE, args);
  INFO("kfp-local stderr:\n" << r.err);
  REQUIRE(r.exit_code == 0);
  // The runner says where the report is.
  const fs::path report = report_dir(root, defended);
  CHECK_THAT(r.out, Catch::Contains("HTML " + fs::relative(report, root).string() +
                                    ".report: " + (report / "report").string()));
  return io::read_json(root / "run-summary.json", "summary");
}

std::map<std::string, std::string> states(const io::Json& summary) {
  std::map<std::string, std::string> out;
  for (const auto& t : summary["tasks"]) out[t["name"]] = t["state"];
  return out;
}

}  // namespace

TEST_CASE("labelled rule with an unreachable threshold: the model is kept, evaluated and reported",
          "[e2e][pipeline]") {
  TempDir dir;
  const auto summary =
      run_pipeline(dir / "run", false, {"detection_mode=labeled", "max_absolute_drop=1",
                                        "max_relative_drop=1"});
  const auto s = states(summary);
  CHECK(s.at("detect-degradation") == "SUCCEEDED");
  CHECK(s.at("condition-2") == "SKIPPED");
  CHECK(s.at("pgd-train") == "SKIPPED");
  CHECK(s.at("evaluate-robust-pgd") == "SKIPPED");
  CHECK(s.at("condition-3") == "SUCCEEDED");
  CHECK(s.at("evaluate-kept-pgd") == "SUCCEEDED");
  CHECK(s.at("report-robust") == "SKIPPED");
  CHECK(s.at("report-kept") == "SUCCEEDED");
  CHECK_FALSE(fs::exists(dir / "run" / "condition-branches-1" / "condition-2"));
  for (const auto& t : summary["tasks"]) {
    if (t["name"] != "detect-degradation") continue;
    CHECK(t["outputs"]["parameters"]["degraded"] == false);
    CHECK(t["outputs"]["parameters"]["verdict"] == "clean");
  }
  CHECK_THAT(read_text(report_dir(dir / "run", false) / "summary"), Catch::Contains("was kept"));
}

TEST_CASE("label-free detection fires on the attacked stream, and the defended model is reported",
          "[e2e][pipeline]") {
  TempDir dir;
  const auto summary = run_pipeline(dir / "run", true, {});
  CHECK(summary["state"] == "SUCCEEDED");
  for (const auto& [name, state] : states(summary)) {
    INFO(name);
    // Only the Else arm (keep the model) is skipped.
    const bool kept_arm = name == "condition-3" || name.rfind("evaluate-kept", 0) == 0 ||
                          name == "report-kept";
    CHECK(state == (kept_arm ? "SKIPPED" : "SUCCEEDED"));
  }
  // The robust model was evaluated four ways, and the metadata the KFP UI would show is there.
  for (const auto& t : summary["tasks"]) {
    const std::string name = t["name"];
    if (name == "detect-degradation") {
      const auto report = io::read_json(t["outputs"]["artifacts"]["report"]["path"].get<std::string>(), "r");
      CHECK(report["mode"] == "unlabeled");
      // The PGD arm runs on the attack verdict, not on any change of the inputs.
      CHECK(t["outputs"]["parameters"]["degraded"] == true);
      CHECK(t["outputs"]["parameters"]["verdict"] == "attack");
      CHECK(report["verdict"] == "attack");
    }
    if (name.rfind("evaluate-robust", 0) != 0) continue;
    const auto& metrics = t["outputs"]["artifacts"]["metrics"];
    CHECK(metrics["metadata"]["accuracy"].is_number());
    const auto m = io::read_json(metrics["path"].get<std::string>(), "m");
    CHECK(m["model"]["parent"].is_object());
    if (name == "evaluate-robust-apgd") CHECK(m["attack"]["method"] == "apgd");
    if (name == "evaluate-robust-pgd") {
      CHECK(metrics["metadata"]["attack_success_rate"].is_number());
      CHECK(m["robustness_curve"].size() == 14);  // 7 budgets x FGSM, PGD
      CHECK(t["outputs"]["artifacts"]["confusion_matrix"]["metadata"]["confusionMatrix"]
               ["annotationSpecs"][0]["displayName"] == "T-shirt/top");
    }
  }
  const std::string html = read_text(report_dir(dir / "run", true) / "report");
  CHECK_THAT(html, Catch::Contains("Degradation detected (unlabeled check), verdict attack"));
  CHECK_THAT(html, Catch::Contains("defended, PGD"));
  CHECK_THAT(html, Catch::Contains("robust accuracy: the lowest under the attacks above"));
  // pgd-train's held-out checks (before training and after its one epoch) reach the report.
  CHECK_THAT(html, Catch::Contains("Held-out accuracy during adversarial training"));
  CHECK_THAT(html, Catch::Contains("madry: 2 held-out checks under PGD-20"));
  const std::string md = read_text(report_dir(dir / "run", true) / "summary");
  CHECK_THAT(md, Catch::Contains("| defended | clean |"));
  CHECK_THAT(md, Catch::Contains("Defence training: madry: 2 held-out checks"));

  // print-results: each row is the accuracy in the task's metrics, each task's costs are there.
  const auto printed = run_process(ADVKFP_PRINT_RESULTS_EXE, {(dir / "run").string()});
  INFO(printed.out << printed.err);
  REQUIRE(printed.exit_code == 0);
  for (const auto& t : summary["tasks"]) {
    const std::string name = t["name"];
    if (t["state"] == "SUCCEEDED" && name.rfind("evaluate-", 0) == 0) {
      const double accuracy =
          io::read_json(t["outputs"]["artifacts"]["metrics"]["path"].get<std::string>(), "m")
              .at("accuracy");
      char row[64];
      std::snprintf(row, sizeof row, "%.4f\n", accuracy);
      CHECK_THAT(printed.out, Catch::Contains(row));
    }
    if (t["kind"] == "container") CHECK_THAT(printed.out, Catch::Contains("  " + name + " "));
  }
  CHECK_THAT(printed.out, Catch::Contains("after defence: white-box PGD-2 eps=0.15"));
  CHECK_THAT(printed.out, Catch::Contains("degradation detected (unlabeled): true"));
  // A run folder without a summary, or a metrics file that lost its accuracy: one line each.
  const auto missing = run_process(ADVKFP_PRINT_RESULTS_EXE, {(dir / "nowhere").string()});
  require_failure(missing, 1, "run-summary.json");
  for (const auto& t : summary["tasks"]) {
    if (t["name"] != "evaluate-robust-pgd") continue;
    const fs::path file = t["outputs"]["artifacts"]["metrics"]["path"].get<std::string>();
    auto m = io::read_json(file, "m");
    m["accuracy"] = "high";
    io::write_atomically(file, m.dump(), "m");
  }
  require_failure(run_process(ADVKFP_PRINT_RESULTS_EXE, {(dir / "run").string()}), 1,
                  "evaluate-robust-pgd metrics");
}
