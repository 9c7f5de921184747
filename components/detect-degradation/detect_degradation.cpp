// detect-degradation: baseline metrics + current metrics -> degraded (true/false) + report JSON.
// "Degraded" is a result, not an error: the tool exits 0 either way.
#include "detect_degradation.h"

#include "cli/component.h"
#include "common/error.h"
#include "common/log.h"
#include "io/files.h"
#include "io/json.h"
#include "metrics/metrics.h"

namespace advkfp::detect_degradation {
namespace {

double read_accuracy(const std::filesystem::path& path, const std::string& what) {
  const auto j = io::read_json(path, what);
  if (!j.is_object() || !j.contains("accuracy")) {
    throw Error(describe(what, "'" + path.string() + "' has no 'accuracy' field"));
  }
  if (!j["accuracy"].is_number()) {
    throw Error(describe(what, "'accuracy' in '" + path.string() +
                                   "' is not a number (was the set unlabelled?)"));
  }
  return j["accuracy"].get<double>();
}

void run(const Options& o) {
  metrics::DegradationRule rule;
  rule.max_absolute_drop = o.max_absolute_drop;
  rule.max_relative_drop = o.max_relative_drop;
  const double baseline = read_accuracy(o.baseline_metrics, "baseline_metrics");
  const double current = read_accuracy(o.current_metrics, "current_metrics");
  const auto d = metrics::decide_degradation(baseline, current, rule);
  io::Json report = metrics::to_json(d, rule);
  report["tool"] = "detect-degradation";
  report["mode"] = "labeled";
  io::write_json(o.report, report, "report");
  io::write_output_parameter(o.degraded, d.degraded ? "true" : "false", "degraded");
  cli::publish_metadata("report", {{"baseline_accuracy", d.baseline_accuracy},
                                   {"current_accuracy", d.current_accuracy},
                                   {"absolute_drop", d.absolute_drop},
                                   {"relative_drop", d.relative_drop},
                                   {"degraded", d.degraded ? 1 : 0}});
  log::info(d.degraded ? "DEGRADED: " : "not degraded: ", d.reasons[0], "; ", d.reasons[1]);
}

}  // namespace

const cli::Spec<Options>& spec() {
  static const auto s =
      cli::Spec<Options>("detect-degradation",
                         "Compare current accuracy with a baseline and decide whether the model "
                         "is degraded; exits 0 either way.")
          .input("baseline_metrics", &Options::baseline_metrics, cli::types::kMetrics,
                 "Metrics JSON of the reference run (evaluate on clean data).")
          .input("current_metrics", &Options::current_metrics, cli::types::kMetrics,
                 "Metrics JSON of the run to judge (evaluate on attacked data).")
          .output_parameter("degraded", &Options::degraded, cli::types::kBoolean,
                            "true when a drop exceeds its threshold (file holds true or false).")
          .output("report", &Options::report, cli::types::kMetrics,
                  "JSON report: accuracies, drops, thresholds and which rule fired.")
          .param("max_absolute_drop", &Options::max_absolute_drop,
                 "Degraded when baseline - current accuracy exceeds this (0: any drop).",
                 cli::in_range(0, 1))
          .param("max_relative_drop", &Options::max_relative_drop,
                 "Degraded when (baseline - current) / baseline exceeds this.",
                 cli::in_range(0, 1))
          .common(false)
          .run(&run);
  return s;
}

}  // namespace advkfp::detect_degradation
