// print-results: the accuracy table and the per-task costs of a kfp-local run of the
// adversarial-defense pipeline. Every file is read through its typed reader: the run summary
// through kfp_local::read_summary, the components' metrics through metrics::read_evaluation and
// metrics::images_processed, so a field is looked up where the other readers look it up and a
// missing or mistyped one is named in one line.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <string>

#include "cli/edge.h"
#include "common/error.h"
#include "io/json.h"
#include "kfp_local/parameters.h"
#include "kfp_local/runner.h"
#include "metrics/records.h"

namespace advkfp {
namespace {

namespace fs = std::filesystem;
using kfp_local::TaskRecord;
using kfp_local::TaskState;

template <class... Values>
std::string printf_text(const char* format, Values... values) {
  char buf[256];
  std::snprintf(buf, sizeof buf, format, values...);
  return buf;
}

class Run {
 public:
  explicit Run(const fs::path& root)
      : summary_(kfp_local::read_summary(io::read_json(root / "run-summary.json", "run summary"),
                                         "run summary " + (root / "run-summary.json").string())) {
    for (const auto& t : summary_.tasks) {
      tasks_[t.display_name.empty() ? t.path : t.display_name] = &t;
    }
  }

  const kfp_local::RunResult& summary() const { return summary_; }

  const TaskRecord* task(const std::string& name) const {
    const auto it = tasks_.find(name);
    return it == tasks_.end() ? nullptr : it->second;
  }
  bool succeeded(const std::string& name) const {
    const auto* t = task(name);
    return t && t->state == TaskState::kSucceeded;
  }
  // The pipeline parameter as the IR's placeholders show it ("0.15", "madry"); `fallback` when
  // the run has none.
  std::string param(const std::string& name, const std::string& fallback = "?") const {
    const auto it = summary_.parameters.find(name);
    return it == summary_.parameters.end() ? fallback : kfp_local::format_parameter(it->second);
  }
  // The metrics file a succeeded task wrote (its `metrics` output), if any.
  std::optional<fs::path> metrics_file(const TaskRecord& t) const {
    if (t.state != TaskState::kSucceeded) return std::nullopt;
    const auto it = t.output_artifacts.find("metrics");
    if (it == t.output_artifacts.end()) return std::nullopt;
    return it->second.path;
  }
  std::optional<metrics::EvaluationRecord> evaluation(const std::string& name) const {
    const auto* t = task(name);
    const auto file = t ? metrics_file(*t) : std::nullopt;
    if (!file) return std::nullopt;
    return metrics::read_evaluation_file(*file, name + " metrics");
  }

 private:
  kfp_local::RunResult summary_;
  std::map<std::string, const TaskRecord*> tasks_;
};

void print_accuracy(const Run& run, std::ostream& out) {
  const std::string eps = run.param("epsilon");
  // The final model: defended when the PGD arm ran, else the kept original.
  const bool defended = run.succeeded("pgd-train");
  const std::string arm = defended ? "robust" : "kept";
  const std::string stage = defended ? "after defence" : "kept model";
  const std::vector<std::pair<std::string, std::string>> rows = {
      {"clean", "evaluate-clean"},
      {"under FGSM eps=" + eps + " (crafted on it)", "evaluate-under-attack"},
      {stage + ": clean", "evaluate-" + arm + "-clean"},
      {stage + ": white-box FGSM eps=" + eps, "evaluate-" + arm + "-fgsm"},
      {stage + ": transfer FGSM eps=" + eps, "evaluate-" + arm + "-transfer"},
      {stage + ": white-box PGD-" + run.param("eval_pgd_steps") + " eps=" + eps,
       "evaluate-" + arm + "-pgd"},
      {stage + ": white-box APGD-CE-" + run.param("eval_apgd_steps") + " eps=" + eps,
       "evaluate-" + arm + "-apgd"},
  };
  const auto clean = run.evaluation("evaluate-clean");
  out << "\nAccuracy on " << (clean ? std::to_string(clean->count) : "?")
      << " Fashion-MNIST test images (seed " << run.param("seed") << ", " << run.param("epochs")
      << " clean epochs; adversarial training " << run.param("pgd_method", "madry") << ", "
      << run.param("pgd_epochs") << " epochs, " << run.param("pgd_steps") << " steps):\n";
  out << printf_text("  %-46s %8s\n", "setting", "accuracy");
  for (const auto& [label, name] : rows) {
    const auto m = run.evaluation(name);
    const std::string value =
        m ? printf_text("%.4f", m->labelled_accuracy(name + " metrics")) : "skipped";
    out << printf_text("  %-46s %8s\n", label.c_str(), value.c_str());
  }
  std::string degraded = "null";
  if (const auto* t = run.task("detect-degradation")) {
    const auto it = t->output_parameters.find("degraded");
    if (it != t->output_parameters.end()) degraded = it->second.dump();
  }
  out << "  degradation detected (" << run.param("detection_mode") << "): " << degraded << "\n";
}

void print_tasks(const Run& run, std::ostream& out) {
  const auto& s = run.summary();
  out << "\nTasks (" << (s.succeeded ? "SUCCEEDED" : "FAILED") << ", "
      << printf_text("%.0f", s.seconds) << " s in all; threads=" << run.param("threads")
      << " (0: all cores)):\n";
  out << printf_text("  %-28s %-10s %8s %9s %7s %6s %12s %13s\n", "task", "state", "wall s",
                     "images/s", "CPU s", "sys %", "peak RSS MB", "minor faults");
  for (const auto& t : s.tasks) {
    if (t.kind == "dag") continue;
    const std::string name = t.display_name.empty() ? t.path : t.display_name;
    std::string rate = "-";
    if (const auto file = run.metrics_file(t); file && t.seconds > 0) {
      const auto n =
          metrics::images_processed(io::read_json(*file, name + " metrics"), name + " metrics");
      if (n && *n > 0) rate = printf_text("%.0f", static_cast<double>(*n) / t.seconds);
    }
    // A process ran (not skipped, not an importer): its resource use is in the summary.
    const bool ran = t.kind == "container" &&
                     (t.state == TaskState::kSucceeded || t.state == TaskState::kFailed);
    const double cpu = t.usage.user_seconds + t.usage.system_seconds;
    out << printf_text(
        "  %-28s %-10s %8.1f %9s %7s %6s %12s %13s\n", name.c_str(),
        kfp_local::task_state_name(t.state), t.seconds, rate.c_str(),
        ran ? printf_text("%.1f", cpu).c_str() : "-",
        ran && cpu > 0 ? printf_text("%.1f", 100 * t.usage.system_seconds / cpu).c_str() : "-",
        ran ? printf_text("%.0f", t.usage.peak_rss_kb / 1024.0).c_str() : "-",
        ran ? std::to_string(t.usage.minor_faults).c_str() : "-");
  }
}

}  // namespace
}  // namespace advkfp

int main(int argc, char** argv) {
  using namespace advkfp;
  CLI::App app{
      "Print the accuracy table and per-task costs of a kfp-local run of the "
      "adversarial-defense pipeline.",
      "print-results"};
  app.set_version_flag("--version", cli::version_line("print-results"));
  std::string root;
  app.add_option("RUN_ROOT", root, "The run's pipeline root (the folder of run-summary.json).")
      ->required();
  if (const auto rc = cli::parse_command_line(app, argc, argv, "print-results")) return *rc;
  return cli::guarded_quiet("print-results", [&] {
    // Printed once everything has been read: a bad file leaves one error line, no half table.
    const Run run(root);
    std::ostringstream out;
    print_accuracy(run, out);
    print_tasks(run, out);
    // The report of the arm that ran, copied there by scripts/main-job.
    for (const auto& [file, label] :
         {std::pair{"report.html", "Report"}, {"report.md", "Summary"}}) {
      if (fs::exists(fs::path(root) / file)) {
        out << "\n" << label << ": " << (fs::path(root) / file).string() << "\n";
      }
    }
    out << "\nRun folder: " << root << "\n";
    std::cout << out.str();
  });
}
