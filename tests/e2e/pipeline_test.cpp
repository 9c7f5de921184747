// The compiled pipeline, run by kfp-local with the real binaries on a Fashion-MNIST slice: the
// PGD branch is skipped when the threshold cannot be met and runs when it is 0.
#include "e2e/e2e.h"
#include "io/json.h"

using namespace advkfp;
using namespace advkfp::test;

namespace {

io::Json run_pipeline(const fs::path& root, const std::string& max_drop) {
  std::vector<std::string> args = {"run", ADVKFP_PIPELINE_YAML, "--pipeline-root", root.string()};
  for (const std::string& p : std::vector<std::string>{
           "train_limit=1000", "test_limit=200", "epochs=1", "pgd_epochs=1", "pgd_steps=2",
        "pgd_validation_size=100", "eval_pgd_steps=2", "threads=1", "max_absolute_drop=" + max_drop,
        "max_relative_drop=" + max_drop, "dataset_uri=" ADVKFP_FASHION_MNIST_DIR}) {
    args.push_back("--param");
    args.push_back(p);
  }
  const auto r = run_process(ADVKFP_KFP_LOCAL_EXE, args);
  INFO("kfp-local stderr:\n" << r.err);
  REQUIRE(r.exit_code == 0);
  return io::read_json(root / "run-summary.json", "summary");
}

std::map<std::string, std::string> states(const io::Json& summary) {
  std::map<std::string, std::string> out;
  for (const auto& t : summary["tasks"]) out[t["name"]] = t["state"];
  return out;
}

}  // namespace

TEST_CASE("kfp-local skips the PGD branch when degradation cannot be detected",
          "[e2e][pipeline]") {
  TempDir dir;
  const auto summary = run_pipeline(dir / "run", "1");
  const auto s = states(summary);
  CHECK(s.at("detect-degradation") == "SUCCEEDED");
  CHECK(s.at("condition-1") == "SKIPPED");
  CHECK(s.at("pgd-train") == "SKIPPED");
  CHECK(s.at("evaluate-robust-pgd") == "SKIPPED");
  CHECK_FALSE(fs::exists(dir / "run" / "condition-1" / "pgd-train"));
  for (const auto& t : summary["tasks"]) {
    if (t["name"] == "detect-degradation") CHECK(t["outputs"]["parameters"]["degraded"] == false);
  }
}

TEST_CASE("kfp-local runs the PGD branch and evaluates the robust model when degraded",
          "[e2e][pipeline]") {
  TempDir dir;
  const auto summary = run_pipeline(dir / "run", "0");
  CHECK(summary["state"] == "SUCCEEDED");
  for (const auto& [name, state] : states(summary)) {
    INFO(name);
    CHECK(state == "SUCCEEDED");
  }
  // The robust model was evaluated four ways, and the metadata the KFP UI would show is there.
  for (const auto& t : summary["tasks"]) {
    const std::string name = t["name"];
    if (name.rfind("evaluate-robust", 0) != 0) continue;
    const auto& metrics = t["outputs"]["artifacts"]["metrics"];
    CHECK(metrics["metadata"]["accuracy"].is_number());
    CHECK(io::read_json(metrics["path"].get<std::string>(), "m")["model"]["parent"].is_object());
    if (name == "evaluate-robust-pgd") {
      CHECK(metrics["metadata"]["attack_success_rate"].is_number());
      CHECK(t["outputs"]["artifacts"]["confusion_matrix"]["metadata"]["confusionMatrix"]
               ["annotationSpecs"][0]["displayName"] == "T-shirt/top");
    }
  }
}
