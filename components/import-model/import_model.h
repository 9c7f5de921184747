// import-model: a TorchScript image classifier saved elsewhere -> a checked model folder.
#pragma once

#include <filesystem>
#include <string>

#include "cli/spec.h"

namespace advkfp::import_model {

struct Options : cli::CommonOptions, cli::SigningOptions {
  std::filesystem::path model;
  std::string source_uri, class_names, input_shape, mean;
  std::string std_dev;  ///< the `std` parameter
};

/// The tool's declaration (import_model_spec.cpp, torch-free).
const cli::Spec<Options>& spec();
/// spec() bound to the run code: what main() and in-process callers run.
const cli::Spec<Options>& tool();

}  // namespace advkfp::import_model
