// Helpers for the kfp-local tests: temporary folders, fixtures, runs of fixture pipelines.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "kfp_local/runner.h"
#include "support/files.h"

namespace advkfp::kfp_local::test {

namespace fs = std::filesystem;

using advkfp::test::read_text;
using advkfp::test::TempDir;
using advkfp::test::write_text;

/// tests/runner/fixtures/<name>.
fs::path fixture(const std::string& name);

/// Loads fixtures/<name> and runs it with fake-component's folder as bin dir and `root` as the
/// pipeline root. Quiets info logging.
RunResult run_fixture(const std::string& name, const fs::path& root,
                      const std::vector<std::string>& parameters = {});

/// The record of the task at `path`; fails the test when there is none.
const TaskRecord& task(const RunResult& result, const std::string& path);

/// Result of running the kfp-local executable.
struct CliResult {
  int exit_code = -1;
  std::string output;  ///< stdout and stderr together
};

/// Runs the kfp-local executable with `args` (no shell), from the current folder.
CliResult run_cli(const std::vector<std::string>& args);

}  // namespace advkfp::kfp_local::test
