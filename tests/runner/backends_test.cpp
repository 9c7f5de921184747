// Backend profiles (--kfp-backend): one fixture per construct that the spec accepts but some
// released KFP backend cannot run. Under each release's profile the fixture is refused exactly
// where that release breaks (facts and sources in src/kfp/backends.cpp); under `spec` it runs as
// written; the compiled pipelines in kfp_specs/ pass every profile.
#include <algorithm>
#include <catch2/catch.hpp>

#include "common/error.h"
#include "helpers.h"
#include "kfp/backends.h"
#include "kfp_local/ir.h"

namespace advkfp::kfp_local {
namespace {

namespace fs = std::filesystem;
using test::fixture;
using test::run_cli;
using test::TempDir;

struct Construct {
  const char* fixture;
  int first, last;        ///< the backend releases 2.<first> to 2.<last> that break on it
  const char* task;       ///< the task the refusal names
  const char* issue;      ///< the upstream issue it cites
  std::vector<std::string> parameters;  ///< for the run under `spec`
};

const std::vector<Construct>& constructs() {
  static const std::vector<Construct> kAll = {
      // driver looks producers up by display name: 2.0.3-2.5.0 driver
      {"backend_display_name.yaml", 0, 5, "make", "#8171", {}},
      // no IfPresent handling in backend/src/v2 up to 2.16.0; 2.17.0 driver/util.go: parameters
      {"backend_if_present_artifact.yaml", 0, 17, "use", "#11009", {}},
      {"optional_input.yaml", 0, 16, "greet", "#11009", {}},
      // sub-DAG outputs resolved from 2.4.0; several selectors: the last one up to 2.16.0
      {"subpipeline.yaml", 0, 3, "consume", "#11196", {}},
      {"backend_oneof.yaml", 0, 16, "use", "#13436", {"flag=true"}},
      // 2.17.0 driver substitutes before defaults
      {"backend_unpassed_parameter.yaml", 17, 17, "greet", "#14175", {}},
      // importer_launcher.go reads the URI from the parent DAG's inputs: every release
      {"backend_importer_constant.yaml", 0, 17, "importer", "importer_launcher.go", {}},
      // 2.3.0 driver/driver.go reads only the numeric requests
      {"backend_string_resources.yaml", 0, 3, "greet", "#11501", {}},
  };
  return kAll;
}

std::vector<std::string> problems(const std::string& name, const std::string& profile) {
  return backend_problems(fixture(name), kfp::backend_profile(profile));
}

TEST_CASE("backend profiles: each construct is refused exactly on the releases it breaks",
          "[backends]") {
  for (const auto& c : constructs()) {
    INFO(c.fixture);
    REQUIRE_NOTHROW(load_pipeline(fixture(c.fixture)));  // valid IR, as the spec goes
    for (int minor : kfp::released_backend_minors()) {
      const std::string release = "2." + std::to_string(minor);
      INFO(release);
      const auto lines = problems(c.fixture, release);
      const bool breaks = minor >= c.first && minor <= c.last;
      CHECK(lines.empty() == !breaks);
      for (const auto& line : lines) {
        CHECK_THAT(line, Catch::StartsWith(fixture(c.fixture).string() + ": " + c.task));
        CHECK_THAT(line, Catch::Contains(": breaks on KFP backend 2." + std::to_string(c.first)));
        CHECK_THAT(line, Catch::Contains(c.issue));
        CHECK_THAT(line, Catch::Contains("); fix: "));
        CHECK(line.find('\n') == std::string::npos);
      }
    }
    CHECK_FALSE(problems(c.fixture, "all").empty());  // the default: any release that breaks
    CHECK(problems(c.fixture, "spec").empty());
  }
}

TEST_CASE("backend profiles: under spec every construct runs as the IR intends", "[backends]") {
  for (const auto& c : constructs()) {
    INFO(c.fixture);
    TempDir tmp;
    const RunResult r = test::run_fixture(c.fixture, tmp / "run", c.parameters);
    INFO(r.error);
    CHECK(r.succeeded);
  }
}

TEST_CASE("backend profiles: the compiled pipelines run on every released backend",
          "[backends]") {
  int checked = 0;
  for (const auto& entry : fs::directory_iterator(KFP_LOCAL_COMPILED_PIPELINES_DIR)) {
    if (entry.path().extension() != ".yaml") continue;
    INFO(entry.path());
    REQUIRE_NOTHROW(load_pipeline(entry.path()));
    for (int minor : kfp::released_backend_minors()) {
      const auto lines =
          backend_problems(entry.path(), kfp::backend_profile("2." + std::to_string(minor)));
      CAPTURE(minor, lines);
      CHECK(lines.empty());
    }
    CHECK(backend_problems(entry.path(), kfp::backend_profile("all")).empty());
    ++checked;
  }
  CHECK(checked >= 1);
}

TEST_CASE("backend profiles: releases, patch versions, all and spec", "[backends]") {
  CHECK(kfp::backend_profile("2.0.3").minors == std::vector<int>{0});
  CHECK(kfp::backend_profile("2.17").minors == std::vector<int>{17});
  CHECK(kfp::backend_profile("all").minors == kfp::released_backend_minors());
  CHECK(kfp::backend_profile("spec").minors.empty());
  for (const char* bad : {"2.7", "3.0", "latest", "2", ""}) {
    INFO(bad);
    CHECK_THROWS_AS(kfp::backend_profile(bad), UsageError);
  }
}

TEST_CASE("kfp-local --kfp-backend: refused constructs exit 1, one line each, nothing runs",
          "[backends][cli]") {
  TempDir tmp;
  const std::string display = fixture("backend_display_name.yaml").string();
  const auto v = run_cli({"validate", "--kfp-backend", "2.5", display});
  INFO(v.output);
  CHECK(v.exit_code == 1);
  CHECK(v.output.rfind("kfp-local: error: " + display + ": make: shown as 'make-data'", 0) == 0);
  CHECK(std::count(v.output.begin(), v.output.end(), '\n') == 1);
  const auto ok = run_cli({"validate", "--kfp-backend", "2.14", display});
  CHECK(ok.exit_code == 0);
  CHECK(ok.output.find("runs on KFP backend 2.14") != std::string::npos);

  const std::string oneof = fixture("backend_oneof.yaml").string();
  const auto r = run_cli({"run", oneof, "--pipeline-root", (tmp / "run").string(), "--bin-dir",
                          KFP_LOCAL_FAKE_BIN_DIR});  // default: all
  INFO(r.output);
  CHECK(r.exit_code == 1);
  CHECK(r.output.find("use: input 'data' reads the output") != std::string::npos);
  CHECK_FALSE(fs::exists(tmp / "run"));
  const auto fixed = run_cli({"run", oneof, "--kfp-backend", "2.17", "--pipeline-root",
                              (tmp / "run").string(), "--bin-dir", KFP_LOCAL_FAKE_BIN_DIR});
  INFO(fixed.output);
  CHECK(fixed.exit_code == 0);

  const auto bad = run_cli({"validate", "--kfp-backend", "2.9", display});
  CHECK(bad.exit_code == 2);
  CHECK(bad.output.find("kfp_backend: '2.9' is not a released KFP 2.x backend") !=
        std::string::npos);
}

}  // namespace
}  // namespace advkfp::kfp_local
