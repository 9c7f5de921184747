// report: one run's metrics -> a self-contained HTML page (KFP system.HTML) and a Markdown summary.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "cli/spec.h"

namespace advkfp::report {

struct Options : cli::CommonOptions {
  std::filesystem::path clean_metrics, attacked_metrics, detection_report;
  std::filesystem::path final_clean_metrics, final_fgsm_metrics, final_transfer_metrics,
      final_pgd_metrics, final_apgd_metrics;
  std::filesystem::path training_metrics;
  std::filesystem::path traffic_timeline;
  std::filesystem::path report, summary;
  std::string title = "Adversarial robustness report";
};

/// The tool's declaration (report_spec.cpp, torch-free).
const cli::Spec<Options>& spec();
/// spec() bound to the run code: what main() and in-process callers run.
const cli::Spec<Options>& tool();

/// What a report is made from, read from the inputs (final_* absent when not given).
struct Inputs {
  std::string title;
  nlohmann::json clean, attacked, detection;
  std::optional<nlohmann::json> final_clean, final_fgsm, final_transfer, final_pgd, final_apgd;
  std::optional<nlohmann::json> training;  ///< pgd-train's metrics: the held-out checks' curve
  std::optional<nlohmann::json> timeline;  ///< traffic's timeline of a live episode
};

struct Rendered {
  std::string html, markdown;
};

/// Builds both documents. Throws advkfp::Error naming the input whose content does not fit
/// (a missing accuracy, a confusion matrix of the wrong size, ...).
Rendered render(const Inputs& in);

}  // namespace advkfp::report
