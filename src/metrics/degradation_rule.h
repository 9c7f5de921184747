// The labelled degradation rule's thresholds, torch-free: metrics::decide_degradation() and the
// flags of detect-degradation read them from here.
#pragma once

namespace advkfp::metrics {

/// Thresholds of the accuracy-drop rule.
struct DegradationRule {
  double max_absolute_drop = 0.05;  ///< degraded when baseline - current > this
  double max_relative_drop = 0.10;  ///< or when (baseline - current) / baseline > this
};

}  // namespace advkfp::metrics
