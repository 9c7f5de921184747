// Tests of the kfp-local executable: exit codes, output, --summary-json.
#include <algorithm>
#include <catch2/catch.hpp>

#include "helpers.h"

namespace advkfp::kfp_local {
namespace {

namespace fs = std::filesystem;
using test::fixture;
using test::run_cli;
using test::TempDir;

const std::string kBinDir = KFP_LOCAL_FAKE_BIN_DIR;

TEST_CASE("kfp-local run: success prints the table and writes the summaries, exit 0", "[cli]") {
  TempDir tmp;
  const auto r = run_cli({"run", fixture("condition.yaml").string(), "--param", "degrade=false",
                          "--pipeline-root", (tmp / "run").string(), "--bin-dir", kBinDir,
                          "--summary-json", (tmp / "out" / "summary.json").string()});
  INFO(r.output);
  CHECK(r.exit_code == 0);
  CHECK(r.output.find("TASK") != std::string::npos);
  CHECK(r.output.find("condition-1/retrain") != std::string::npos);
  CHECK(r.output.find("SKIPPED") != std::string::npos);
  CHECK(fs::exists(tmp / "run" / "run-summary.json"));
  CHECK(test::read_text(tmp / "out" / "summary.json") ==
        test::read_text(tmp / "run" / "run-summary.json"));
}

TEST_CASE("kfp-local run: a failed task exits 1 with its name, log and last lines", "[cli]") {
  TempDir tmp;
  const auto r = run_cli({"run", fixture("failure.yaml").string(), "--pipeline-root",
                          (tmp / "run").string(), "--bin-dir", kBinDir});
  INFO(r.output);
  CHECK(r.exit_code == 1);
  CHECK(r.output.find("kfp-local: error: task 'fail-step' exited with code 3 (log: " +
                      (tmp / "run" / "logs" / "fail-step.log").string() + ")") !=
        std::string::npos);
  CHECK(r.output.find("  | about to fail") != std::string::npos);
  CHECK(r.output.find("NOT_RUN") != std::string::npos);
}

TEST_CASE("kfp-local run: invalid IR exits 1 and runs nothing", "[cli]") {
  TempDir tmp;
  for (const char* name : {"invalid_placeholder.yaml", "invalid_component_ref.yaml"}) {
    const auto r = run_cli({"run", fixture(name).string(), "--pipeline-root",
                            (tmp / "run").string(), "--bin-dir", kBinDir});
    INFO(r.output);
    CHECK(r.exit_code == 1);
    CHECK(r.output.rfind("kfp-local: error: " + fixture(name).string() + ": ", 0) == 0);
    CHECK(std::count(r.output.begin(), r.output.end(), '\n') == 1);  // one clear line
    CHECK_FALSE(fs::exists(tmp / "run"));
  }
}

TEST_CASE("kfp-local: usage errors exit 2", "[cli]") {
  TempDir tmp;
  const std::string chain = fixture("chain.yaml").string();
  const std::string root = (tmp / "run").string();
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"run", chain, "--param", "speed=1", "--pipeline-root", root},
           {"run", chain, "--param", "repeat=1.5", "--pipeline-root", root},
           {"run", chain, "--no-such-flag"},
           {"run"},
           {"frobnicate", chain},
           {"run", (tmp / "missing.yaml").string()},
           {"run", chain, "--bin-dir", (tmp / "nope").string(), "--pipeline-root", root},
       }) {
    const auto r = run_cli(args);
    INFO(r.output);
    CHECK(r.exit_code == 2);
    CHECK(r.output.find("kfp-local: error: ") != std::string::npos);
  }
  CHECK_FALSE(fs::exists(tmp / "run"));
}

TEST_CASE("kfp-local validate and --help exit 0", "[cli]") {
  const auto v = run_cli({"validate", fixture("condition.yaml").string()});
  INFO(v.output);
  CHECK(v.exit_code == 0);
  CHECK(v.output.find("pipeline 'condition' is valid") != std::string::npos);
  const auto h = run_cli({"run", "--help"});
  CHECK(h.exit_code == 0);
  CHECK(h.output.find("--param") != std::string::npos);
}

}  // namespace
}  // namespace advkfp::kfp_local
