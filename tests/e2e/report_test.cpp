// The report binary: writes both documents from metrics files; bad inputs fail with one line and
// leave nothing behind.
#include "e2e/e2e.h"
#include "io/json.h"

using namespace advkfp;
using namespace advkfp::test;

namespace {

io::Json metrics(const std::string& sha, double accuracy) {
  return {{"accuracy", accuracy},
          {"class_names", {"x", "y"}},
          {"confusion_matrix", {{5, 1}, {2, 4}}},
          {"model", {{"sha256", sha}}},
          {"dataset", {{"provenance", io::Json::object()}}}};
}

}  // namespace

TEST_CASE("report writes HTML and Markdown, and fails cleanly on inputs that do not fit",
          "[e2e][report]") {
  TempDir dir;
  io::write_json(dir / "clean.json", metrics("s1", 0.9), "t");
  io::write_json(dir / "attacked.json", metrics("s1", 0.1), "t");
  io::write_json(dir / "other.json", metrics("s2", 0.5), "t");
  io::write_json(dir / "detect.json", {{"degraded", true}, {"mode", "labeled"}}, "t");
  const auto html = dir / "out" / "report.html", md = dir / "out" / "summary.md";
  const std::vector<std::string> base = {
      "--clean-metrics", (dir / "clean.json").string(), "--detection-report",
      (dir / "detect.json").string(),  "--report",      html.string(),
      "--summary",       md.string()};
  const auto with = [&](std::vector<std::string> extra) {
    auto args = base;
    args.insert(args.end(), extra.begin(), extra.end());
    return run_process(ADVKFP_REPORT_EXE, args);
  };

  SECTION("a run with only the first half writes both documents") {
    const auto r = with({"--attacked-metrics", (dir / "attacked.json").string()});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK_THAT(read_text(html), Catch::Contains("<svg"));
    CHECK_THAT(read_text(md), Catch::Contains("| original | clean | 90.00% |"));
  }
  SECTION("attacked metrics of another model") {
    require_failure(with({"--attacked-metrics", (dir / "other.json").string()}), 1,
                    "attacked_metrics: evaluates model s2");
    CHECK_FALSE(fs::exists(html));
    CHECK_FALSE(fs::exists(md));
  }
  SECTION("a missing input file") {
    require_failure(with({"--attacked-metrics", (dir / "nope.json").string()}), 1,
                    "attacked_metrics");
    CHECK_FALSE(fs::exists(html));
  }
  SECTION("a missing required flag is a usage error") {
    require_failure(run_process(ADVKFP_REPORT_EXE, base), 2, "attacked-metrics");
    CHECK_FALSE(fs::exists(html));
  }
}
