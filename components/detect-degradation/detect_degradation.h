// detect-degradation: decide whether the model is degraded, from labelled metrics (accuracy drop)
// or label-free from the model's outputs on incoming inputs (KS tests and feature squeezing), and
// whether a label-free alarm looks like an attack or like a benign shift.
#pragma once

#include <filesystem>
#include <string>

#include "cli/spec.h"
#include "detection/shifts.h"
#include "metrics/degradation_rule.h"

namespace advkfp::detect_degradation {

struct Options : cli::CommonOptions {
  std::string mode = "unlabeled";
  // labeled
  std::filesystem::path baseline_metrics, current_metrics;
  // unlabeled
  std::filesystem::path model, reference, window, calibration_in;
  // outputs
  std::filesystem::path degraded, verdict, report, calibration;
  double max_absolute_drop = metrics::DegradationRule{}.max_absolute_drop;
  double max_relative_drop = metrics::DegradationRule{}.max_relative_drop;
  double alpha = detection::DetectorDefaults{}.alpha;
  double fpr = detection::DetectorDefaults{}.fpr;
  int64_t squeeze_bits = detection::DetectorDefaults{}.squeeze_bits;
  int64_t window_size = 0;
  int64_t consecutive = 1;
  std::string calibration_shifts = detection::kDefaultCalibrationShifts;
  int64_t batch_size = 256;
};

/// The tool's declaration (detect_degradation_spec.cpp, torch-free).
const cli::Spec<Options>& spec();
/// spec() bound to the run code: what main() and in-process callers run.
const cli::Spec<Options>& tool();


}  // namespace advkfp::detect_degradation
