// evaluate: accuracy of a model on a dataset, optionally under a white-box attack.
#pragma once

#include <filesystem>
#include <string>

#include "attacks/settings.h"
#include "cli/spec.h"

namespace advkfp::evaluate {

struct Options : cli::CommonOptions {
  std::filesystem::path model, dataset, metrics, confusion_matrix;
  std::string attack = "none";
  double epsilon = attacks::kDefaultEpsilon;
  int64_t steps = 20;
  double step_size = 0.0;
  int64_t restarts = 1;
  bool random_start = true;
  std::string sweep_epsilons;
  std::string sweep_attacks = "fgsm,pgd";
  int64_t batch_size = 0;  ///< 0: model::batch_size_for()
  int64_t limit = 0;
  int64_t sweep_limit = 0;
};

/// The tool's declaration (evaluate_spec.cpp, torch-free).
const cli::Spec<Options>& spec();
/// spec() bound to the run code: what main() and in-process callers run.
const cli::Spec<Options>& tool();

/// Parses a comma-separated list of budgets in [0, 1] ("0,0.05,0.1"). Throws advkfp::UsageError
/// naming `what` for an empty item, a non-number or a value outside [0, 1].
std::vector<double> parse_epsilons(const std::string& csv, const std::string& what);

}  // namespace advkfp::evaluate
