// detect-degradation: decide whether accuracy dropped more than allowed.
#pragma once

#include <filesystem>

#include "cli/spec.h"

namespace advkfp::detect_degradation {

struct Options : cli::CommonOptions {
  std::filesystem::path baseline_metrics, current_metrics, degraded, report;
  double max_absolute_drop = 0.05;
  double max_relative_drop = 0.10;
};

const cli::Spec<Options>& spec();

}  // namespace advkfp::detect_degradation
