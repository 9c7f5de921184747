// The defend-model pipeline, run by kfp-local with the real binaries: it starts from a deployed
// model folder and a window of unlabelled traffic (brought in by an importer), tells the attacked
// window apart, fine-tunes the deployed model and reports; a run without its required inputs is
// refused before any task starts.
#include "data/dataset.h"
#include "e2e/e2e.h"
#include "io/json.h"

using namespace advkfp;
using namespace advkfp::test;

namespace {

std::vector<std::string> run_args(const fs::path& root, const std::vector<std::string>& params) {
  std::vector<std::string> args = {"run", ADVKFP_DEFEND_MODEL_YAML, "--pipeline-root",
                                   root.string()};
  for (const auto& p : params) args.insert(args.end(), {"--param", p});
  return args;
}

}  // namespace

TEST_CASE("defend-model: an attacked traffic window gets the deployed model fine-tuned and reported",
          "[e2e][defend-model]") {
  TempDir dir;
  auto p = [&](const std::string& name) { return (dir / name).string(); };
  // The deployed model, and the traffic it saw: FGSM inputs crafted on it, without labels.
  run_ok(ADVKFP_PREPARE_DATA_EXE, {"--train-dataset", p("train"), "--test-dataset", p("test"),
                                   "--train-limit", "1000", "--test-limit", "500",
                                   "--source-uri", ADVKFP_FASHION_MNIST_DIR});
  run_ok(ADVKFP_TRAIN_EXE, {"--dataset", p("train"), "--model", p("deployed"), "--metrics",
                            p("train.json"), "--epochs", "2", "--seed", "3"});
  run_ok(ADVKFP_FGSM_ATTACK_EXE, {"--model", p("deployed"), "--dataset", p("test"),
                                  "--adversarial-dataset", p("adv"), "--metrics", p("fgsm.json"),
                                  "--epsilon", "0.15"});
  auto traffic = data::load_dataset(dir / "adv", "adv");
  traffic.labels = torch::Tensor();
  data::save_dataset(dir / "window", traffic, data::ImageEncoding::kFloat32, "window");

  const auto r = run_process(
      ADVKFP_KFP_LOCAL_EXE,
      run_args(dir / "run",
               {"model_uri=" + p("deployed"), "window_uri=file://" + p("window"),
                "data_uri=" ADVKFP_FASHION_MNIST_DIR, "train_limit=1000", "test_limit=200",
                "reference_size=500", "pgd_epochs=1", "pgd_steps=2", "pgd_validation_size=100",
                "eval_pgd_steps=2", "sweep_limit=50", "threads=1"}));
  INFO("kfp-local stderr:\n" << r.err);
  REQUIRE(r.exit_code == 0);
  const auto summary = io::read_json(dir / "run" / "run-summary.json", "summary");
  CHECK(summary["state"] == "SUCCEEDED");
  std::map<std::string, io::Json> tasks;
  for (const auto& t : summary["tasks"]) tasks[t["name"]] = t;
  CHECK(tasks.at("import-window")["state"] == "SUCCEEDED");
  // The importer hands on the window where it is: no copy.
  CHECK(fs::equivalent(tasks.at("import-window")["outputs"]["artifacts"]["artifact"]["path"]
                           .get<std::string>(),
                       dir / "window"));
  CHECK(tasks.at("detect-degradation")["outputs"]["parameters"]["verdict"] == "attack");
  CHECK(tasks.at("pgd-train")["state"] == "SUCCEEDED");
  CHECK(tasks.at("report-robust")["state"] == "SUCCEEDED");
  CHECK(tasks.at("report-kept")["state"] == "SKIPPED");
  // The defence fine-tuned the deployed model, as import-model passed it on.
  const auto imported = io::read_json(
      tasks.at("import-model")["outputs"]["artifacts"]["model"]["path"].get<std::string>() +
          "/model.json",
      "imported");
  const auto deployed = io::read_json(dir / "deployed" / "model.json", "deployed");
  CHECK(imported["class_names"] == deployed["class_names"]);
  CHECK(imported["training"] == deployed["training"]);
  const auto robust = io::read_json(
      tasks.at("evaluate-robust-clean")["outputs"]["artifacts"]["metrics"]["path"]
          .get<std::string>(),
      "robust metrics");
  CHECK(robust["model"]["parent"].is_object());
  CHECK_THAT(read_text(dir / "run" / "condition-branches-1" / "condition-2" / "report-robust" /
                       "summary"),
             Catch::Contains("| defended | clean |"));
}

TEST_CASE("defend-model: a run without the deployed model or the traffic window is refused",
          "[e2e][defend-model]") {
  TempDir dir;
  const auto r = run_process(ADVKFP_KFP_LOCAL_EXE, run_args(dir / "run", {"window_uri=/tmp"}));
  require_failure(r, 2, "missing required pipeline parameter 'model_uri'");
  CHECK_FALSE(fs::exists(dir / "run" / "run-summary.json"));
}
