// The defaults and ranges of attack settings, torch-free: AttackConfig, every tool's flags, the
// pipelines and the benchmarks read them from here.
#pragma once

#include "common/checks.h"

namespace advkfp::attacks {

/// The L-inf budget of attacks and of the defence, in [0,1] pixel units: the paper's eps = 0.15
/// on Fashion-MNIST.
inline constexpr double kDefaultEpsilon = 0.15;

/// 0 < eps <= 1: a budget of 0 is no attack, and above 1 every pixel can take any value.
inline checks::Check epsilon_range() { return checks::in_range(0, 1, true, false); }
/// PGD/APGD iterations and restarts: at least one.
inline checks::Check steps_range() { return checks::at_least(1); }
/// PGD step alpha in [0, 1]; 0 selects the rule 2.5 * eps / steps.
inline checks::Check step_size_range() { return checks::in_range(0, 1); }

}  // namespace advkfp::attacks
