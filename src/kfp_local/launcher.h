// Executing one task of a local run, as KFP's launcher does in a task's pod: the container's
// command with its placeholders substituted, its outputs collected and checked; and the importer.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

#include "kfp_local/ir.h"
#include "kfp_local/placeholders.h"
#include "kfp_local/process.h"

namespace advkfp::kfp_local {

/// Inputs of a component instance, or outputs of a task.
struct Values {
  std::map<std::string, Json> parameters;
  std::map<std::string, RuntimeArtifact> artifacts;
};

/// Where one container task runs and what it runs.
struct ContainerLaunch {
  std::filesystem::path binary;    ///< the program command[0] names, resolved before the run
  std::filesystem::path task_dir;  ///< <pipeline root>/<task path>: output artifacts go here
  std::filesystem::path log_file;  ///< the command line, then the program's stdout and stderr
  std::string task_path;           ///< for log lines
};

/// Runs the container task of component `c` with `inputs` (resolved by the scheduler): output
/// artifacts at <task_dir>/<key> (earlier ones removed first), launcher files (ExecutorInput,
/// ExecutorOutput, output parameter files) under <task_dir>/.kfp-local, then the program. Returns
/// its outputs: every declared output parameter (from its file, or parameterValues in the
/// ExecutorOutput) and artifact must exist. Throws advkfp::Error for a non-zero exit or a missing
/// or malformed output. `usage` receives what the process used (CPU time, peak memory, page
/// faults) when it ran, failed or not.
Values run_container(const Component& c, const ContainerExecutor& exec,
                     const ContainerLaunch& launch, const Values& inputs, ResourceUsage& usage);

/// The importer task of `c`: its URI (constant or from `inputs`), a local path or file:// URI that
/// must exist, as output artifact 'artifact'. Throws advkfp::Error otherwise.
Values run_importer(const Component& c, const ImporterExecutor& exec, const Values& inputs);

/// `word` quoted the way a POSIX shell reads it back (for command lines in logs).
std::string shell_word(const std::string& word);

}  // namespace advkfp::kfp_local
