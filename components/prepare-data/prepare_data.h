// prepare-data: turn IDX files (by default Debian's Fashion-MNIST) into train/test dataset folders.
#pragma once

#include <filesystem>
#include <string>

#include "cli/spec.h"

namespace advkfp::prepare_data {

struct Options : cli::CommonOptions {
  std::string source_uri;
  std::filesystem::path train_dataset, test_dataset, reference_dataset, metrics;
  std::string class_names;
  int64_t train_limit = 0;
  int64_t test_limit = 0;
  int64_t reference_size = 5000;
};

/// The tool's declaration (prepare_data_spec.cpp, torch-free).
const cli::Spec<Options>& spec();
/// spec() bound to the run code: what main() and in-process callers run.
const cli::Spec<Options>& tool();

/// Where the IDX files of `uri` are on this machine: "" is Debian's Fashion-MNIST; a plain path or
/// file:// URI is taken as is; gs://, s3:// and minio:// map to /gcs/, /s3/ and /minio/ as the
/// KFP launcher mounts them. Throws advkfp::UsageError for other schemes.
std::filesystem::path resolve_source(const std::string& uri);

}  // namespace advkfp::prepare_data
