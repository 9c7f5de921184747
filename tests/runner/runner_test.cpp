// Runs of the fixture pipelines, whose containers are fake-component processes.
#include "kfp_local/runner.h"

#include <sys/resource.h>

#include <catch2/catch.hpp>

#include "common/error.h"
#include "helpers.h"
#include "io/files.h"

namespace advkfp::kfp_local {
namespace {

namespace fs = std::filesystem;
using test::read_text;
using test::run_fixture;
using test::task;
using test::TempDir;

TEST_CASE("runner: a two-task chain passes parameters and an artifact", "[runner]") {
  TempDir tmp;
  const fs::path root = tmp / "run";
  const RunResult r = run_fixture("chain.yaml", root);
  INFO(r.error);
  REQUIRE(r.succeeded);
  CHECK(r.pipeline_root == root);
  REQUIRE(r.tasks.size() == 2);
  CHECK(r.tasks[0].path == "produce");
  CHECK(r.tasks[1].path == "consume");

  const TaskRecord& produce = task(r, "produce");
  CHECK(produce.state == TaskState::kSucceeded);
  CHECK(produce.output_parameters.at("message") == "hello x2\n");  // STRING: verbatim
  CHECK(produce.output_parameters.at("count") == 2);               // INTEGER: trimmed
  const RuntimeArtifact& data = produce.output_artifacts.at("data");
  CHECK(data.path == root / "produce" / "data");
  CHECK(data.uri == data.path.string());
  CHECK(read_text(data.path) == "flag=true tags=[\"a\",\"b\"]");
  CHECK(produce.log_file == root / "logs" / "produce.log");
  CHECK(read_text(produce.log_file).find("producing") != std::string::npos);

  const TaskRecord& consume = task(r, "consume");
  CHECK(consume.state == TaskState::kSucceeded);
  CHECK(consume.output_parameters.at("summary") == "hello x2\n|2|0.5");
  CHECK(consume.output_parameters.at("mode") == "chained");  // container env reaches the process
  CHECK(read_text(consume.output_artifacts.at("report").path) == "uri=" + data.uri);

  const Json summary = Json::parse(read_text(root / "run-summary.json"));
  CHECK(summary["state"] == "SUCCEEDED");
  CHECK(summary["parameters"]["repeat"] == 2);
  CHECK(summary["tasks"][1]["path"] == "consume");
  CHECK(summary["tasks"][1]["outputs"]["parameters"]["summary"] == "hello x2\n|2|0.5");

  // Lineage: the digest of what produce wrote is the digest of what consume read.
  const std::string data_sha = io::sha256_hex("flag=true tags=[\"a\",\"b\"]");
  CHECK(summary["tasks"][0]["outputs"]["artifacts"]["data"]["sha256"] == data_sha);
  CHECK(summary["tasks"][0]["inputs"]["artifacts"].empty());
  CHECK(summary["tasks"][1]["inputs"]["artifacts"]["data"]["sha256"] == data_sha);
  CHECK(summary["tasks"][1]["inputs"]["artifacts"]["data"]["path"] == data.path.string());
  CHECK(summary["tasks"][1]["outputs"]["artifacts"]["report"]["sha256"] ==
        io::sha256_hex("uri=" + data.uri));
  // What each process used, from wait4.
  for (const auto& t : summary["tasks"]) {
    CHECK(t["cpuUserSeconds"].get<double>() >= 0);
    CHECK(t["cpuSystemSeconds"].get<double>() >= 0);
    CHECK(t["peakRssKb"].get<int64_t>() > 0);
    CHECK(t["minorFaults"].get<int64_t>() > 0);
    CHECK(t["majorFaults"].get<int64_t>() >= 0);
  }
}

TEST_CASE("runner: a task's peak memory and page faults are its own process's", "[runner]") {
  TempDir tmp;
  const fs::path fake = fs::path(KFP_LOCAL_FAKE_BIN_DIR) / "fake-component";
  const auto touch = [&](const std::string& mb) {
    const ExitStatus s = run_process(fake, {"--touch", mb}, {}, tmp / "log");
    REQUIRE(s.ok());
    return s.usage;
  };
  // A spawned child's ru_maxrss starts at this process's own peak (fs/exec.c, exec_mmap), which
  // is ~100 MB here and ~460 MB under ASan: the large task touches 96 MiB more than that.
  rusage self{};
  REQUIRE(getrusage(RUSAGE_SELF, &self) == 0);
  const int64_t mb = self.ru_maxrss / 1024 + 96;
  const ResourceUsage large = touch(std::to_string(mb));
  const ResourceUsage small = touch("1");
  // Written page by page: 256 pages per MiB, each mapped on first write (a minor fault).
  CHECK(large.peak_rss_kb >= mb * 1024);
  CHECK(large.minor_faults >= mb * 256);
  // The small task's figure is its own, not the largest child's so far (RUSAGE_CHILDREN's).
  CHECK(small.peak_rss_kb < (mb - 64) * 1024);
  CHECK(large.minor_faults - small.minor_faults >= (mb - 1) * 256 * 9 / 10);
  CHECK(large.user_seconds + large.system_seconds > 0);
}

TEST_CASE("runner: --param values are parsed by type and reach the commands", "[runner]") {
  TempDir tmp;
  const RunResult r =
      run_fixture("chain.yaml", tmp / "run",
                  {"greeting=hi there", "repeat=3", "rate=0.25", "flag=false", "tags=[\"x\"]"});
  INFO(r.error);
  REQUIRE(r.succeeded);
  CHECK(task(r, "consume").output_parameters.at("summary") == "hi there x3\n|3|0.25");
  CHECK(read_text(task(r, "produce").output_artifacts.at("data").path) ==
        "flag=false tags=[\"x\"]");
}

TEST_CASE("runner: bad --param values stop the run before anything starts", "[runner]") {
  TempDir tmp;
  const fs::path root = tmp / "run";
  CHECK_THROWS_AS(run_fixture("chain.yaml", root, {"repeat=many"}), UsageError);
  CHECK_THROWS_WITH(run_fixture("chain.yaml", root, {"repeat=many"}),
                    Catch::Contains("--param repeat") && Catch::Contains("not an integer"));
  CHECK_THROWS_WITH(run_fixture("chain.yaml", root, {"speed=1"}),
                    Catch::Contains("has no parameter 'speed'"));
  CHECK_THROWS_WITH(run_fixture("chain.yaml", root, {"repeat"}), Catch::Contains("NAME=VALUE"));
  CHECK_THROWS_WITH(run_fixture("chain.yaml", root, {"repeat=1", "repeat=2"}),
                    Catch::Contains("given twice"));
  CHECK_THROWS_WITH(run_fixture("condition.yaml", root),
                    Catch::Contains("missing required pipeline parameter 'degrade'"));
  CHECK_FALSE(fs::exists(root));
}

TEST_CASE("runner: a condition branch runs when true", "[runner]") {
  TempDir tmp;
  const RunResult r = run_fixture("condition.yaml", tmp / "run", {"degrade=true"});
  INFO(r.error);
  REQUIRE(r.succeeded);
  CHECK(task(r, "check").output_parameters.at("degraded") == true);
  CHECK(task(r, "condition-1").state == TaskState::kSucceeded);
  CHECK(task(r, "condition-1").kind == "dag");
  const TaskRecord& retrain = task(r, "condition-1/retrain");
  CHECK(retrain.state == TaskState::kSucceeded);
  CHECK(retrain.output_artifacts.at("model").path ==
        tmp / "run" / "condition-1" / "retrain" / "model");
  CHECK(read_text(retrain.output_artifacts.at("model").path) == "retrained for 3 epochs");
  CHECK(retrain.log_file == tmp / "run" / "logs" / "condition-1" / "retrain.log");
  CHECK(task(r, "report").state == TaskState::kSucceeded);
  CHECK(task(r, "condition-2").state == TaskState::kSkipped);
  CHECK(task(r, "condition-2").message.find("condition is false") != std::string::npos);
  CHECK(task(r, "condition-2/keep").state == TaskState::kSkipped);
}

TEST_CASE("runner: a false condition skips the branch, its contents and its dependents",
          "[runner]") {
  TempDir tmp;
  const RunResult r = run_fixture("condition.yaml", tmp / "run", {"degrade=false", "epochs=5"});
  INFO(r.error);
  REQUIRE(r.succeeded);  // skipped branches are not failures
  CHECK(task(r, "check").state == TaskState::kSucceeded);
  CHECK(task(r, "condition-1").state == TaskState::kSkipped);
  CHECK(task(r, "condition-1/retrain").state == TaskState::kSkipped);
  CHECK(task(r, "report").state == TaskState::kSkipped);
  CHECK(task(r, "report").message == "upstream task 'condition-1' was skipped");
  CHECK(task(r, "condition-2").state == TaskState::kSucceeded);
  CHECK(task(r, "condition-2/keep").output_parameters.at("note") == "kept");
  CHECK_FALSE(fs::exists(tmp / "run" / "condition-1" / "retrain"));

  const Json summary = Json::parse(read_text(tmp / "run" / "run-summary.json"));
  CHECK(summary["state"] == "SUCCEEDED");
  const std::string table = summary_table(r);
  CHECK(table.find("condition-1/retrain") != std::string::npos);
  CHECK(table.find("SKIPPED") != std::string::npos);
}

TEST_CASE("runner: a failing task stops the run and names its log", "[runner]") {
  TempDir tmp;
  const fs::path root = tmp / "run";
  const RunResult r = run_fixture("failure.yaml", root);
  CHECK_FALSE(r.succeeded);
  const TaskRecord& failed = task(r, "fail-step");
  CHECK(failed.state == TaskState::kFailed);
  CHECK(failed.message == "exited with code 3");
  const fs::path log = root / "logs" / "fail-step.log";
  CHECK(failed.log_file == log);
  CHECK(r.error == "task 'fail-step' exited with code 3 (log: " + log.string() + ")");
  CHECK(r.log_tail.find("about to fail") != std::string::npos);
  CHECK(r.log_tail.find("failing with 3") != std::string::npos);
  CHECK(task(r, "after-fail").state == TaskState::kNotRun);
  CHECK(task(r, "zz-other").state == TaskState::kNotRun);
  const Json summary = Json::parse(read_text(root / "run-summary.json"));
  CHECK(summary["state"] == "FAILED");
  CHECK(summary["error"] == r.error);
  CHECK(summary["tasks"][2]["state"] == "NOT_RUN");
}

TEST_CASE("runner: a run summary reads back into the run it records", "[runner]") {
  // Runs with skipped, failed, not-run, importer and DAG tasks: read_summary is summary_json's
  // inverse on each, field for field.
  TempDir tmp;
  test::write_text(tmp / "data" / "train.csv", "a,b\n1,2\n");
  const std::vector<std::pair<std::string, std::vector<std::string>>> runs = {
      {"chain.yaml", {}},
      {"condition.yaml", {"degrade=false", "epochs=5"}},
      {"failure.yaml", {}},
      {"importer.yaml",
       {"dataset_uri=" + (tmp / "data" / "train.csv").string(), "expected=a,b\n1,2\n"}},
      {"subpipeline.yaml", {}}};
  int n = 0;
  for (const auto& [fixture, params] : runs) {
    INFO(fixture);
    const fs::path root = tmp / ("run" + std::to_string(n++));
    const RunResult r = run_fixture(fixture, root, params);
    const Json written = Json::parse(read_text(root / "run-summary.json"));
    const RunResult back = read_summary(written, "summary");
    CHECK(summary_json(back) == written);
    CHECK(back.succeeded == r.succeeded);
    CHECK(back.tasks.size() == r.tasks.size());
  }
  // A mistyped or missing field is named.
  const Json written = Json::parse(read_text(tmp / "run0" / "run-summary.json"));
  Json bad = written;
  bad["tasks"][1]["peakRssKb"] = "lots";
  CHECK_THROWS_WITH(read_summary(bad, "run summary"),
                    "run summary: field 'tasks[1].peakRssKb' is \"lots\", not an integer");
  bad = written;
  bad["tasks"][0]["outputs"]["artifacts"]["data"].erase("path");
  CHECK_THROWS_WITH(read_summary(bad, "run summary"),
                    "run summary: field 'tasks[0].outputs.artifacts.data.path' is missing");
  bad = written;
  bad["state"] = "DONE";
  CHECK_THROWS_WITH(read_summary(bad, "run summary"),
                    Catch::Contains("field 'state' is 'DONE', not SUCCEEDED"));
}

TEST_CASE("runner: an importer brings in a local path or file:// URI", "[runner]") {
  TempDir tmp;
  test::write_text(tmp / "data" / "train.csv", "a,b\n1,2\n");
  const std::string path = (tmp / "data" / "train.csv").string();
  for (const std::string& uri : {path, "file://" + path}) {
    INFO(uri);
    const fs::path root = tmp / ("run-" + std::to_string(uri.size()));
    const RunResult r =
        run_fixture("importer.yaml", root, {"dataset_uri=" + uri, "expected=a,b\n1,2\n"});
    INFO(r.error);
    REQUIRE(r.succeeded);
    const TaskRecord& importer = task(r, "importer");
    CHECK(importer.kind == "importer");
    const RuntimeArtifact& a = importer.output_artifacts.at("artifact");
    CHECK(a.path == path);
    CHECK(a.type.schema_title == "system.Dataset");
    CHECK(a.metadata == Json{{"source", "local"}});
    CHECK(task(r, "use").state == TaskState::kSucceeded);
  }
}

TEST_CASE("runner: importing a missing path or a remote URI fails clearly", "[runner]") {
  TempDir tmp;
  RunResult r = run_fixture("importer.yaml", tmp / "a",
                            {"dataset_uri=" + (tmp / "nope.csv").string(), "expected=x"});
  CHECK_FALSE(r.succeeded);
  CHECK(r.error.find("task 'importer' cannot import") != std::string::npos);
  CHECK(r.error.find("does not exist") != std::string::npos);
  CHECK(task(r, "use").state == TaskState::kNotRun);

  r = run_fixture("importer.yaml", tmp / "b", {"dataset_uri=gs://bucket/x.csv", "expected=x"});
  CHECK_FALSE(r.succeeded);
  CHECK(r.error.find("only local paths and file:// URIs") != std::string::npos);
}

TEST_CASE("runner: {{$}} is the ExecutorInput and ExecutorOutput is read back", "[runner]") {
  TempDir tmp;
  const fs::path root = tmp / "run";
  const RunResult r = run_fixture("executor_io.yaml", root, {"threshold=0.25"});
  INFO(r.error);
  REQUIRE(r.succeeded);
  const TaskRecord& t = task(r, "evaluate");
  const Json input = Json::parse(read_text(t.output_artifacts.at("executor_input").path));
  CHECK(input["inputs"]["parameterValues"]["threshold"] == 0.25);
  const fs::path metrics = root / "evaluate" / "metrics";
  CHECK(input["outputs"]["artifacts"]["metrics"]["artifacts"][0]["uri"] == metrics.string());
  CHECK(input["outputs"]["artifacts"]["metrics"]["artifacts"][0]["type"]["schemaTitle"] ==
        "system.Metrics");
  CHECK(input["outputs"]["parameters"]["passed"]["outputFile"].is_string());
  CHECK(input["outputs"]["outputFile"].is_string());

  CHECK(t.output_parameters.at("score") == 0.75);   // only in ExecutorOutput
  CHECK(t.output_parameters.at("passed") == true);  // ExecutorOutput overrides the file's false
  CHECK(t.output_artifacts.at("metrics").metadata == Json{{"accuracy", 0.91}});
  const Json summary = Json::parse(read_text(root / "run-summary.json"));
  CHECK(summary["tasks"][0]["outputs"]["artifacts"]["metrics"]["metadata"]["accuracy"] == 0.91);
}

TEST_CASE("runner: a sub-pipeline's DAG outputs feed later tasks", "[runner]") {
  TempDir tmp;
  const RunResult r = run_fixture("subpipeline.yaml", tmp / "run");
  INFO(r.error);
  REQUIRE(r.succeeded);
  CHECK(task(r, "inner").state == TaskState::kSucceeded);
  CHECK(task(r, "inner").output_parameters.at("message") == "from a constant");
  CHECK(task(r, "inner/produce").output_artifacts.at("data").path ==
        tmp / "run" / "inner" / "produce" / "data");
  CHECK(task(r, "consume").state == TaskState::kSucceeded);
}

TEST_CASE("runner: IfPresent follows whether an optional input was given", "[runner]") {
  TempDir tmp;
  const RunResult r = run_fixture("optional_input.yaml", tmp / "run");
  INFO(r.error);
  REQUIRE(r.succeeded);
  CHECK(task(r, "greet").output_parameters.at("text") == "note=hi");
  CHECK(task(r, "greet-2").output_parameters.at("text") == "no note");
}

TEST_CASE("runner: f-string constants read the task's pipeline channel inputs", "[runner]") {
  TempDir tmp;
  const RunResult r = run_fixture("fstring.yaml", tmp / "run");
  INFO(r.error);
  REQUIRE(r.succeeded);
  CHECK(task(r, "say").output_parameters.at("Output") == "counted 7 items");
}

TEST_CASE("runner: a container without a command cannot run locally", "[runner]") {
  TempDir tmp;
  std::string text = read_text(test::fixture("failure.yaml"));
  const std::string from = "        command:\n        - fake-component\n";
  text.replace(text.find(from), from.size(), "");
  const Pipeline p = parse_pipeline(text, "failure.yaml");  // valid IR
  RunOptions options;
  options.pipeline_root = tmp / "run";
  options.bin_dir = KFP_LOCAL_FAKE_BIN_DIR;
  CHECK_THROWS_WITH(run_pipeline(p, options),
                    Catch::Contains("executor exec-after-fail: the container has no command"));
  CHECK_FALSE(fs::exists(tmp / "run"));
}

TEST_CASE("runner: missing outputs fail the task", "[runner]") {
  TempDir tmp;
  std::string text = read_text(test::fixture("chain.yaml"));
  // produce no longer writes its dataset.
  const std::string write_data =
      "        - --write\n        - '{{$.outputs.artifacts[''data''].path}}'\n        - flag=";
  const auto pos = text.find(write_data);
  REQUIRE(pos != std::string::npos);
  text.replace(pos, write_data.size(),
               "        - --echo\n        - '{{$.outputs.artifacts[''data''].path}}'\n"
               "        - --echo\n        - flag=");
  const Pipeline p = parse_pipeline(text, "chain.yaml");
  RunOptions options;
  options.pipeline_root = tmp / "run";
  options.bin_dir = KFP_LOCAL_FAKE_BIN_DIR;
  const RunResult r = run_pipeline(p, options);
  CHECK_FALSE(r.succeeded);
  CHECK(r.error.find("task 'produce' did not write output artifact 'data'") != std::string::npos);
  CHECK(task(r, "consume").state == TaskState::kNotRun);
}

TEST_CASE("runner: a binary that cannot be found stops the run before it starts", "[runner]") {
  TempDir tmp;
  std::string text = read_text(test::fixture("failure.yaml"));
  const std::string from = "        - fake-component";
  text.replace(text.find(from), from.size(), "        - /opt/advkfp/bin/no-such-component-binary");
  const Pipeline p = parse_pipeline(text, "failure.yaml");
  RunOptions options;
  options.pipeline_root = tmp / "run";
  options.bin_dir = KFP_LOCAL_FAKE_BIN_DIR;
  CHECK_THROWS_WITH(
      run_pipeline(p, options),
      Catch::Contains("executor exec-after-fail: no program 'no-such-component-binary'"));
  CHECK_FALSE(fs::exists(tmp / "run"));
}

TEST_CASE("runner: the pipeline root must be new, empty or an earlier run", "[runner]") {
  TempDir tmp;
  test::write_text(tmp / "busy" / "notes.txt", "mine");
  CHECK_THROWS_AS(run_fixture("chain.yaml", tmp / "busy"), UsageError);
  CHECK(read_text(tmp / "busy" / "notes.txt") == "mine");

  // A second run into the same root replaces the first one's outputs.
  REQUIRE(run_fixture("chain.yaml", tmp / "again").succeeded);
  const RunResult r = run_fixture("chain.yaml", tmp / "again", {"greeting=bye"});
  REQUIRE(r.succeeded);
  CHECK(task(r, "consume").output_parameters.at("summary") == "bye x2\n|2|0.5");
}

}  // namespace
}  // namespace advkfp::kfp_local
