// The defend-model pipeline, run by kfp-local with the real binaries: it starts from a deployed
// model folder and a window of unlabelled traffic (brought in by an importer), tells the attacked
// window apart, fine-tunes the deployed model and reports; a benign shift with a labelled canary
// set gets clean fine-tuning instead; a run without its required inputs is refused before any task
// starts.
#include "data/dataset.h"
#include "detection/shifts.h"
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

TEST_CASE(
    "defend-model: an attacked traffic window gets the deployed model fine-tuned and reported",
    "[e2e][defend-model]") {
  TempDir dir;
  auto p = [&](const std::string& name) { return (dir / name).string(); };
  // The deployed model, and the traffic it saw: FGSM inputs crafted on it, without labels.
  run_ok(ADVKFP_PREPARE_DATA_EXE,
         {"--train-dataset", p("train"), "--test-dataset", p("test"), "--train-limit", "1000",
          "--test-limit", "500", "--source-uri", ADVKFP_FASHION_MNIST_DIR});
  run_ok(ADVKFP_TRAIN_EXE, {"--dataset", p("train"), "--model", p("deployed"), "--metrics",
                            p("train.json"), "--epochs", "2", "--seed", "3"});
  run_ok(ADVKFP_FGSM_ATTACK_EXE,
         {"--model", p("deployed"), "--dataset", p("test"), "--adversarial-dataset", p("adv"),
          "--metrics", p("fgsm.json"), "--epsilon", "0.15"});
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
  CHECK(fs::equivalent(
      tasks.at("import-window")["outputs"]["artifacts"]["artifact"]["path"].get<std::string>(),
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
  const auto robust =
      io::read_json(tasks.at("evaluate-robust-clean")["outputs"]["artifacts"]["metrics"]["path"]
                        .get<std::string>(),
                    "robust metrics");
  CHECK(robust["model"]["parent"].is_object());
  CHECK_THAT(
      read_text(dir / "run" / "condition-branches-1" / "condition-2" / "report-robust" / "summary"),
      Catch::Contains("| defended | clean |"));
}

TEST_CASE("defend-model: a rotated traffic window is a shift and only the canary set fine-tunes it",
          "[e2e][defend-model]") {
  TempDir dir;
  auto p = [&](const std::string& name) { return (dir / name).string(); };
  run_ok(ADVKFP_PREPARE_DATA_EXE,
         {"--train-dataset", p("train"), "--test-dataset", p("test"), "--train-limit", "1000",
          "--test-limit", "1500", "--source-uri", ADVKFP_FASHION_MNIST_DIR});
  run_ok(ADVKFP_TRAIN_EXE, {"--dataset", p("train"), "--model", p("deployed"), "--metrics",
                            p("train.json"), "--epochs", "2", "--seed", "3"});
  // The camera turned: the traffic is test images rotated by 10 degrees (a shift family the
  // detector does not calibrate on), without labels; the canary is 500 other rotated test images
  // with their labels, and 500 more are held out to judge the fine-tuning.
  const auto test = data::load_dataset(dir / "test", "test");
  const auto rotate = detection::parse_shift("rotate:10", "shift");
  const auto rotated = [&](int64_t from, bool labels) {
    auto part = test.slice(from, 500);
    part.images = detection::apply_shift(part.images, rotate, 0);
    if (!labels) part.labels = torch::Tensor();
    return part;
  };
  data::save_dataset(dir / "window", rotated(0, false), data::ImageEncoding::kFloat32, "window");
  data::save_dataset(dir / "canary", rotated(500, true), data::ImageEncoding::kFloat32, "canary");
  data::save_dataset(dir / "held-out", rotated(1000, true), data::ImageEncoding::kFloat32, "h");

  const std::vector<std::string> params = {"model_uri=" + p("deployed"),
                                           "window_uri=" + p("window"),
                                           "data_uri=" ADVKFP_FASHION_MNIST_DIR,
                                           "train_limit=1000",
                                           "test_limit=200",
                                           "reference_size=500",
                                           "eval_pgd_steps=2",
                                           "eval_apgd_steps=2",
                                           "sweep_limit=50",
                                           "threads=1"};
  auto with_canary = params;
  with_canary.insert(with_canary.end(), {"canary_uri=file://" + p("canary"), "canary_epochs=3",
                                         "canary_learning_rate=0.001"});
  const auto r = run_process(ADVKFP_KFP_LOCAL_EXE, run_args(dir / "run", with_canary));
  INFO("kfp-local stderr:\n" << r.err);
  REQUIRE(r.exit_code == 0);
  const auto summary_of = [&](const std::string& run) {
    std::map<std::string, io::Json> by_name;
    const auto run_summary = io::read_json(dir / run / "run-summary.json", "summary");
    for (const auto& t : run_summary["tasks"]) by_name[t["name"]] = t;
    return by_name;
  };
  auto tasks = summary_of("run");
  CHECK(tasks.at("detect-degradation")["outputs"]["parameters"]["verdict"] == "shift");
  CHECK(tasks.at("pgd-train")["state"] == "SKIPPED");
  CHECK(tasks.at("report-kept")["state"] == "SUCCEEDED");
  CHECK(tasks.at("import-canary")["state"] == "SUCCEEDED");
  CHECK(tasks.at("fine-tune")["state"] == "SUCCEEDED");
  CHECK(tasks.at("report-tuned")["state"] == "SUCCEEDED");
  // The fine-tuned model descends from the deployed one (as import-model passed it on).
  const auto path = [&](const std::string& task, const std::string& artifact) {
    return fs::path(tasks.at(task)["outputs"]["artifacts"][artifact]["path"].get<std::string>());
  };
  const auto imported = io::read_json(path("import-model", "model") / "model.json", "imported");
  const auto tuned = io::read_json(path("fine-tune", "model") / "model.json", "tuned");
  CHECK(tuned["parent"]["sha256"] == imported["sha256"]);
  CHECK(tuned["training"]["method"] == "clean-fine-tune");
  CHECK(tuned["training"]["dataset"]["count"] == 500);
  const auto summary = read_text(path("report-tuned", "summary"));
  CHECK_THAT(summary, Catch::Contains("verdict shift"));
  CHECK_THAT(summary, Catch::Contains("Clean fine-tuning on the labelled canary set ran"));
  CHECK_THAT(summary, Catch::Contains("| fine-tuned | clean |"));
  CHECK_THAT(read_text(path("report-kept", "summary")),
             Catch::Contains("The final model was not retrained."));
  // On rotated images it has not seen, the fine-tuned model beats the deployed one.
  for (const auto& [name, model] : {std::pair{"deployed", p("deployed")},
                                    std::pair{"tuned", path("fine-tune", "model").string()}}) {
    run_ok(ADVKFP_EVALUATE_EXE, {"--model", model, "--dataset", p("held-out"), "--metrics",
                                 p(std::string(name) + "-rotated.json")});
  }
  const auto accuracy = [&](const std::string& f) {
    return io::read_json(dir / f, "m")["accuracy"].get<double>();
  };
  CHECK(accuracy("tuned-rotated.json") > accuracy("deployed-rotated.json") + 0.02);

  // Without a canary set the same shift keeps the model: the nested branch does not run.
  const auto k = run_process(ADVKFP_KFP_LOCAL_EXE, run_args(dir / "run-2", params));
  INFO("kfp-local stderr:\n" << k.err);
  REQUIRE(k.exit_code == 0);
  tasks = summary_of("run-2");
  CHECK(tasks.at("detect-degradation")["outputs"]["parameters"]["verdict"] == "shift");
  CHECK(tasks.at("report-kept")["state"] == "SUCCEEDED");
  CHECK(tasks.at("fine-tune")["state"] == "SKIPPED");
  CHECK(tasks.at("import-canary")["state"] == "SKIPPED");
}

TEST_CASE("defend-model: a run without the deployed model or the traffic window is refused",
          "[e2e][defend-model]") {
  TempDir dir;
  const auto r = run_process(ADVKFP_KFP_LOCAL_EXE, run_args(dir / "run", {"window_uri=/tmp"}));
  require_failure(r, 2, "missing required pipeline parameter 'model_uri'");
  CHECK_FALSE(fs::exists(dir / "run" / "run-summary.json"));
}
