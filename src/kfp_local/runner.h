// Local execution of a validated pipeline: parameters, scheduling, tasks and the run summary.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "kfp_local/ir.h"
#include "kfp_local/placeholders.h"
#include "kfp_local/process.h"

namespace advkfp::kfp_local {

/// How a local run is set up. Only `parameters` and `bin_dir` change what runs.
struct RunOptions {
  /// `name=value` assignments of pipeline parameters, as given to --param.
  std::vector<std::string> parameters;
  /// Where artifacts, logs and run-summary.json go. Empty: runs/<pipeline-name>-<YYYYmmdd-HHMMSS>
  /// under the current folder. It must be new, empty, or hold an earlier kfp-local run (its task
  /// outputs are then replaced task by task).
  std::filesystem::path pipeline_root;
  /// Searched for each container's binary (basename of command[0]) before PATH. Empty: PATH only.
  std::filesystem::path bin_dir;
  /// An extra copy of the run summary JSON; empty for none.
  std::filesystem::path summary_json;
};

enum class TaskState { kSucceeded, kFailed, kSkipped, kNotRun };

/// "SUCCEEDED", "FAILED", "SKIPPED", "NOT_RUN".
const char* task_state_name(TaskState state);

/// What happened to one task of the run (DAG tasks included).
struct TaskRecord {
  std::string path;          ///< task names from the root, '/'-joined: "condition-1/pgd-train"
  std::string display_name;  ///< taskInfo.name, e.g. "evaluate-robust-pgd"
  std::string component;     ///< "comp-pgd-train"
  std::string kind;          ///< "container", "importer" or "dag"
  TaskState state = TaskState::kNotRun;
  double seconds = 0;
  std::filesystem::path log_file;  ///< containers only
  ResourceUsage usage;             ///< containers only: what the process used
  std::string message;             ///< why it failed or was skipped
  std::map<std::string, Json> output_parameters;
  std::map<std::string, RuntimeArtifact> output_artifacts;
  /// Lineage (container and importer tasks): the input artifacts a container task consumed, and
  /// the content digest (sha256_tree()) of each input as the task started and of each output as
  /// the task left it.
  std::map<std::string, RuntimeArtifact> input_artifacts;
  std::map<std::string, std::string> input_sha256;
  std::map<std::string, std::string> output_sha256;
};

/// The outcome of run_pipeline().
struct RunResult {
  std::string pipeline;
  std::filesystem::path pipeline_root;     ///< absolute
  std::filesystem::path summary_file;      ///< <pipeline_root>/run-summary.json
  std::map<std::string, Json> parameters;  ///< the bound pipeline parameters
  bool succeeded = false;
  std::string error;     ///< the failure, naming the task and its log, when !succeeded
  std::string log_tail;  ///< last lines of the failed task's log, when there is one
  double seconds = 0;
  std::vector<TaskRecord> tasks;  ///< in the order they ran, DAG tasks before their contents
  std::map<std::string, Json> output_parameters;  ///< the root DAG's outputs
  std::map<std::string, RuntimeArtifact> output_artifacts;
};

/// Binds `name=value` assignments to root.inputDefinitions.parameters: each value is parsed by the
/// declared type (parse_parameter_text(), so STRING verbatim, LIST/STRUCT as JSON); undeclared
/// parameters take their defaultValue, optional ones may stay absent. Throws advkfp::UsageError
/// naming the parameter for a malformed assignment, a name the pipeline does not declare, a value
/// of the wrong type, a repeated name, a missing required parameter, or a required pipeline input
/// artifact (which cannot be given locally).
std::map<std::string, Json> bind_pipeline_parameters(const Pipeline& pipeline,
                                                     const std::vector<std::string>& assignments);

/// Runs `pipeline` (from load_pipeline(), so already validated) on this machine. Before any task
/// starts it binds the parameters, resolves the binary of every container executor the pipeline
/// uses and prepares the pipeline root; problems there throw advkfp::UsageError (parameters,
/// pipeline root, --bin-dir) or advkfp::Error (a binary that cannot be found), and nothing runs.
///
/// Tasks then run one at a time in dependency order. A task whose triggerPolicy.condition is false
/// is SKIPPED with its contents and its dependents. Each container task runs its binary with the
/// placeholders substituted; output artifacts go to <root>/<task-path>/<key>, its log to
/// <root>/logs/<task-path>.log. The first failure (non-zero exit, missing output, unreadable
/// parameter, unmet condition input) stops the run: later tasks are NOT_RUN and the result names
/// the failed task and its log. The summary is written to <root>/run-summary.json (and
/// options.summary_json) whether the run succeeded or not.
RunResult run_pipeline(const Pipeline& pipeline, const RunOptions& options);

/// The run summary as JSON: pipeline, pipelineRoot, state, error, parameters, durationSeconds,
/// tasks [{path, component, kind, state, durationSeconds, log, message, inputs: {artifacts: {key:
/// {uri, path, sha256}}}, outputs: {parameters, artifacts: {key: {uri, path, type, metadata,
/// sha256}}}}], outputs. `inputs` and the sha256 fields (the lineage) are there for container and
/// importer tasks.
Json summary_json(const RunResult& result);

/// Reads a run summary back (print-results): the inverse of summary_json, so that
/// summary_json(read_summary(summary_json(r))) == summary_json(r). Throws advkfp::Error "<what>:
/// field '<path>' ..." for a missing or mistyped field.
RunResult read_summary(const Json& j, const std::string& what);

/// A fixed-width table of the tasks (path, state, duration, outputs one per line) for a terminal.
std::string summary_table(const RunResult& result);

}  // namespace advkfp::kfp_local
