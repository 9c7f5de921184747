// fgsm-attack: craft an adversarial copy of a dataset against a model.
#pragma once

#include <filesystem>

#include "attacks/settings.h"
#include "cli/spec.h"

namespace advkfp::fgsm_attack {

struct Options : cli::CommonOptions {
  std::filesystem::path model, dataset, adversarial_dataset, metrics;
  double epsilon = attacks::kDefaultEpsilon;
  bool use_predictions = false;
  int64_t batch_size = 0;  ///< 0: model::batch_size_for()
  int64_t limit = 0;
};

/// The tool's declaration (fgsm_attack_spec.cpp, torch-free).
const cli::Spec<Options>& spec();
/// spec() bound to the run code: what main() and in-process callers run.
const cli::Spec<Options>& tool();

}  // namespace advkfp::fgsm_attack
