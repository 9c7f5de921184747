// The CLI layer: specs bind to flags without collisions, defaults and ranges, exit codes.
#include <catch2/catch.hpp>

#include <set>

#include "cli/run.h"
#include "detect_degradation.h"
#include "evaluate.h"
#include "fgsm_attack.h"
#include "io/json.h"
#include "metrics/records.h"
#include "pgd_train.h"
#include "prepare_data.h"
#include "support/helpers.h"
#include "train.h"

using namespace advkfp;
using advkfp::test::TempDir;

namespace {

template <class O>
int call(const cli::Spec<O>& spec, std::vector<std::string> args) {
  args.insert(args.begin(), spec.name());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return cli::run(static_cast<int>(argv.size()), argv.data(), spec);
}

template <class O>
void check_spec(const cli::Spec<O>& spec) {
  CLI::App app;
  O options;
  // CLI11 throws on a duplicate flag, so binding succeeds only without collisions.
  REQUIRE_NOTHROW(cli::bind(app, spec, options));
  std::set<std::string> names;
  for (const auto& f : spec.fields()) {
    CHECK(names.insert(f.name).second);
    CHECK(f.name.find('-') == std::string::npos);
    CHECK_FALSE(f.description.empty());
  }
  CHECK(names.count("threads") == 1);
}

}  // namespace

TEST_CASE("every tool's spec binds without flag collisions", "[unit][cli]") {
  check_spec(prepare_data::tool());
  check_spec(train::tool());
  check_spec(evaluate::tool());
  check_spec(fgsm_attack::tool());
  check_spec(detect_degradation::tool());
  check_spec(pgd_train::tool());
}

TEST_CASE("flags map snake_case names to kebab-case and fill defaults", "[unit][cli]") {
  CHECK(cli::flag_name("max_absolute_drop") == "max-absolute-drop");
  CLI::App app;
  pgd_train::Options o;
  cli::bind(app, pgd_train::spec(), o);
  app.parse(std::vector<std::string>{"false", "--random-start", "0.1", "--epsilon", "d", "--dataset",
                                     "o", "--metrics", "m", "--model", "r", "--robust-model"});
  CHECK(o.epsilon == 0.1);
  CHECK_FALSE(o.random_start);
  CHECK(o.steps == pgd_train::Options{}.steps);
  CHECK(o.robust_model == "r");
}

TEST_CASE("usage errors exit 2, runtime errors exit 1, help and version exit 0", "[unit][cli]") {
  TempDir dir;
  CHECK(call(evaluate::tool(), {"--help"}) == cli::kExitOk);
  CHECK(call(evaluate::tool(), {"--version"}) == cli::kExitOk);
  CHECK(call(evaluate::tool(), {"--no-such-flag"}) == cli::kExitUsage);
  CHECK(call(evaluate::tool(), {"--model", "m"}) == cli::kExitUsage);  // missing required flags
  CHECK(call(evaluate::tool(), {"--model", "m", "--dataset", "d", "--metrics",
                                (dir / "x.json").string(), "--attack", "cw"}) == cli::kExitUsage);
  CHECK(call(evaluate::tool(), {"--model", "m", "--dataset", "d", "--metrics",
                                (dir / "x.json").string(), "--epsilon", "0"}) == cli::kExitUsage);
  CHECK(call(evaluate::tool(), {"--model", (dir / "none").string(), "--dataset", "d", "--metrics",
                                (dir / "x.json").string()}) == cli::kExitFailure);
  CHECK_FALSE(std::filesystem::exists(dir / "x.json"));
}

TEST_CASE("detect-degradation runs in-process and writes true/false", "[unit][cli]") {
  TempDir dir;
  io::write_json(dir / "base.json", {{"accuracy", 0.9}}, "t");
  io::write_json(dir / "cur.json", {{"accuracy", 0.2}}, "t");
  detect_degradation::Options o;
  o.mode = "labeled";
  o.baseline_metrics = dir / "base.json";
  o.current_metrics = dir / "cur.json";
  o.degraded = dir / "out" / "degraded";
  o.report = dir / "out" / "report.json";
  detect_degradation::tool().invoke(o);
  CHECK(test::read_text(o.degraded) == "true");
  const auto report = io::read_json(o.report, "r");
  CHECK(report["degraded"] == true);
  CHECK(report["absolute_drop"].get<double>() == Approx(0.7));
  o.max_absolute_drop = 0.8;
  o.max_relative_drop = 0.9;
  detect_degradation::tool().invoke(o);
  CHECK(test::read_text(o.degraded) == "false");
}

TEST_CASE("under KFP, tools write ExecutorOutput with metadata and typed parameters",
          "[unit][cli][kfp]") {
  TempDir dir;
  io::write_json(dir / "base.json", {{"accuracy", 0.9}}, "t");
  io::write_json(dir / "cur.json", {{"accuracy", 0.3}}, "t");
  const auto degraded = dir / "outputs" / "degraded";
  const auto report = dir / "minio" / "report";
  const auto out_file = dir / "executor_output.json";
  const io::Json executor_input = {
      {"inputs", {{"parameterValues", {{"max_absolute_drop", 0.05}}}}},
      {"outputs",
       {{"artifacts",
         {{"report",
           {{"artifacts",
             {{{"name", "report"},
               {"uri", "minio://bucket/run/report"},
               {"type", {{"schemaTitle", "system.Metrics"}}},
               {"metadata", io::Json::object()}}}}}}}},
        {"parameters", {{"degraded", {{"outputFile", degraded.string()}}}}},
        {"outputFile", out_file.string()}}}};
  REQUIRE(call(detect_degradation::tool(),
               {"--mode", "labeled", "--baseline-metrics", (dir / "base.json").string(),
                "--current-metrics", (dir / "cur.json").string(), "--degraded", degraded.string(),
                "--report", report.string(), "--executor-input", executor_input.dump()}) ==
          cli::kExitOk);
  const auto eo = io::read_json(out_file, "executor output");
  CHECK(eo["parameterValues"]["degraded"] == true);
  const auto& art = eo["artifacts"]["report"]["artifacts"][0];
  CHECK(art["uri"] == "minio://bucket/run/report");
  CHECK(art["metadata"]["absolute_drop"].get<double>() == Approx(0.6));
  CHECK(art["metadata"]["current_accuracy"].get<double>() == Approx(0.3));
  // A malformed executor input is a usage error, before any work.
  CHECK(call(detect_degradation::tool(),
             {"--mode", "labeled", "--baseline-metrics", (dir / "base.json").string(),
              "--current-metrics", (dir / "cur.json").string(), "--degraded", degraded.string(),
              "--report", report.string(), "--executor-input", "{not json"}) == cli::kExitUsage);
}

TEST_CASE("under KFP, optional input artifacts come from the executor input", "[unit][cli][kfp]") {
  // The component YAML passes no argument for an optional artifact (no IfPresent, which released
  // backends do not resolve for artifacts); inputs.artifacts lists only those provided.
  TempDir dir;
  io::write_json(dir / "base.json", {{"accuracy", 0.9}}, "t");
  io::write_json(dir / "cur.json", {{"accuracy", 0.3}}, "t");
  const auto artifact = [](const std::string& uri) {
    return io::Json{{"artifacts", {{{"name", "x"}, {"uri", uri}, {"metadata", io::Json::object()}}}}};
  };
  const io::Json executor_input = {
      {"inputs",
       {{"artifacts",
         {{"baseline_metrics", artifact("file://" + (dir / "base.json").string())},
          {"current_metrics", artifact((dir / "cur.json").string())}}}}},
      {"outputs", io::Json::object()}};
  CHECK(cli::input_artifact_path(executor_input, "current_metrics") == dir / "cur.json");
  CHECK(cli::input_artifact_path(executor_input, "model").empty());
  CHECK(cli::input_artifact_path({{"inputs", {{"artifacts", {{"m", artifact("gs://b/m")}}}}}}, "m") ==
        "/gcs/b/m");
  const auto degraded = dir / "out" / "degraded";
  REQUIRE(call(detect_degradation::tool(),
               {"--mode", "labeled", "--degraded", degraded.string(), "--report",
                (dir / "out" / "report.json").string(), "--executor-input",
                executor_input.dump()}) == cli::kExitOk);
  CHECK(test::read_text(degraded) == "true");
  const auto c = cli::to_component(detect_degradation::spec(), "reg/detect-degradation:1");
  CHECK(kfp::to_v1(c).dump().find("baseline_metrics\"}") == std::string::npos);  // no inputPath
  CHECK(c.args.back().kind == kfp::Arg::Kind::kExecutorInput);
}

TEST_CASE("component specs follow the tool's flags", "[unit][cli][kfp]") {
  const auto c = cli::to_component(pgd_train::spec(), "reg/pgd-train:1");
  CHECK(c.command == std::vector<std::string>{"pgd-train"});
  const auto* eps = c.find_input("epsilon");
  REQUIRE(eps != nullptr);
  CHECK(eps->type == "Float");
  CHECK(*eps->default_value == pgd_train::Options{}.epsilon);
  CHECK(c.find_input("verbose") == nullptr);  // workstation-only flag
  CHECK(c.find_output("robust_model")->type == "Model");
  // Every input and output appears in the args behind its own flag.
  for (size_t i = 0; i + 1 < c.args.size(); ++i) {
    if (c.args[i + 1].kind == kfp::Arg::Kind::kInputValue) {
      CHECK(c.args[i].value == "--" + cli::flag_name(c.args[i + 1].value));
    }
  }
  CHECK(c.args.back().kind == kfp::Arg::Kind::kExecutorInput);
  CHECK(call(pgd_train::tool(), {"--print-component-spec", "--image", "x/y:1"}) == cli::kExitOk);
  CHECK(call(pgd_train::tool(), {"--print-component-spec"}) == cli::kExitUsage);
}

TEST_CASE("evaluate sweeps eps and attacks into a robustness curve", "[unit][cli]") {
  TempDir dir;
  test::write_fashion_dataset(dir / "data", "t10k", 128);
  auto& net = test::small_trained_model();
  model::save_model(dir / "model", net, "model");
  evaluate::Options o;
  o.model = dir / "model";
  o.dataset = dir / "data";
  o.metrics = dir / "m.json";
  o.sweep_epsilons = "0,0.05,0.15";
  o.steps = 5;
  evaluate::tool().invoke(o);
  const auto m = io::read_json(o.metrics, "m");
  const auto& curve = m["robustness_curve"];
  REQUIRE(curve.size() == 6);  // fgsm and pgd at three budgets
  CHECK(curve[0]["attack"] == "fgsm");
  CHECK(curve[0]["accuracy"] == m["accuracy"]);  // eps 0 is the clean accuracy
  CHECK(curve[3]["attack"] == "pgd");
  for (size_t i = 1; i < 3; ++i) {
    CHECK(curve[i]["accuracy"].get<double>() < m["accuracy"].get<double>());
    // PGD is at least as strong as FGSM at the same budget.
    CHECK(curve[i + 3]["accuracy"].get<double>() <= curve[i]["accuracy"].get<double>());
  }
  CHECK(curve[2]["accuracy"].get<double>() <= curve[1]["accuracy"].get<double>());
  // What evaluate writes is what the readers (report, detect-degradation) take: the typed record.
  const auto record = metrics::read_evaluation_file(o.metrics, "clean_metrics");
  CHECK(record.model_sha256 == net.info().sha256);
  CHECK(record.count == 128);
  CHECK(record.labelled_accuracy("clean_metrics") == m["accuracy"].get<double>());
  CHECK(record.confusion_matrix.size() == record.class_names.size());
  CHECK_FALSE(record.attack);
  CHECK(record.robustness_curve.size() == 6);
  CHECK(record.robustness_curve[3].attack == "pgd");
  CHECK(metrics::read_accuracy_file(o.metrics, "baseline_metrics") ==
        record.labelled_accuracy("clean_metrics"));
  CHECK_THROWS_WITH(evaluate::parse_epsilons("0.1,,0.2", "sweep_epsilons"),
                    Catch::StartsWith("sweep_epsilons:"));
  CHECK_THROWS_AS(evaluate::parse_epsilons("0.1,1.5", "sweep_epsilons"), UsageError);
  CHECK(evaluate::parse_epsilons("0,0.3", "x") == std::vector<double>{0.0, 0.3});
  o.sweep_attacks = "fgsm,cw";
  CHECK_THROWS_AS(evaluate::tool().invoke(o), UsageError);
}

// Found by fuzz/fuzz_executor_input: an output artifact entry without "artifacts" was read with
// nlohmann::json's const operator[] (heap-use-after-free under ASan), and entries of the wrong
// type threw its type_error. Wrong shapes now count as absent, as missing ones did.
TEST_CASE("ExecutorInput entries of the wrong shape are ignored, not dereferenced",
          "[unit][cli][fuzz]") {
  test::TempDir dir;
  const auto out = (dir / "executor_output.json").string();
  const io::Json bad = {
      {"inputs", {{"artifacts", {{"model", {{"artifacts", {{{"uri", 7}}}}}}, {"m", "text"}}}}},
      {"outputs",
       {{"outputFile", out},
        {"parameters", {{"degraded", {{"outputFile", 3}}}, {"verdict", "x"}}},
        {"artifacts", {{"report", {{"artbfacts", io::Json::array()}}}, {"other", 1}}}}}};
  CHECK(cli::input_artifact_path(bad, "model").empty());
  CHECK(cli::input_artifact_path(bad, "m").empty());
  cli::write_executor_output(bad, {{"degraded", true, cli::types::kBoolean},
                                   {"verdict", true, cli::types::kString},
                                   {"report", false, cli::types::kMetrics},
                                   {"other", false, cli::types::kMetrics}});
  CHECK(io::read_json(out, "t") == io::Json::object());
}
