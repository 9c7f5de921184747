// Typed model of a compiled KFP pipeline (PipelineSpec IR 2.1.0), loaded and fully validated.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "kfp/backends.h"
#include "kfp_local/cel.h"
#include "kfp_local/parameters.h"

namespace advkfp::kfp_local {

/// `artifactType` / `typeSchema`: e.g. {"system.Model", "0.0.1"}.
struct ArtifactType {
  std::string schema_title;
  std::string schema_version;
};

struct InputParameter {
  ParameterType type = ParameterType::kString;
  std::optional<Json> default_value;  ///< already coerced to `type`
  bool optional = false;
};

struct InputArtifact {
  ArtifactType type;
  bool optional = false;
};

struct OutputArtifact {
  ArtifactType type;
  Json metadata = Json::object();  ///< outputDefinitions metadata, the starting point at run time
};

/// inputDefinitions and outputDefinitions of a ComponentSpec.
struct Interface {
  std::map<std::string, InputParameter> input_parameters;
  std::map<std::string, InputArtifact> input_artifacts;
  std::map<std::string, ParameterType> output_parameters;
  std::map<std::string, OutputArtifact> output_artifacts;
};

/// Where a task input parameter gets its value from.
struct ParameterSource {
  enum class Kind { kConstant, kComponentInput, kTaskOutput };
  Kind kind = Kind::kConstant;
  Json constant;              ///< kConstant: runtimeValue.constant
  std::string name;           ///< kComponentInput: the enclosing component's input
  std::string producer_task;  ///< kTaskOutput: a sibling task ...
  std::string output_key;     ///< ... and its output parameter
};

/// Where a task input artifact comes from.
struct ArtifactSource {
  enum class Kind { kComponentInput, kTaskOutput };
  Kind kind = Kind::kComponentInput;
  std::string name;           ///< kComponentInput: the enclosing component's input artifact
  std::string producer_task;  ///< kTaskOutput: a sibling task ...
  std::string output_key;     ///< ... and its output artifact
};

/// One PipelineTaskSpec of a DAG.
struct Task {
  std::string name;          ///< key in dag.tasks
  std::string display_name;  ///< taskInfo.name (what the KFP UI shows); defaults to name
  std::string component;  ///< componentRef.name, a key of Pipeline::components
  /// Input parameters by name. Besides the component's inputs this may hold pipeline channels the
  /// component does not declare, which the SDK adds for f-string constants
  /// ("{{$.inputs.parameters['pipelinechannel--x']}}") and resource fields.
  std::map<std::string, ParameterSource> parameters;
  std::map<std::string, ArtifactSource> artifacts;
  /// dependentTasks plus every producer of a taskOutputParameter/taskOutputArtifact, sorted.
  std::vector<std::string> upstream;
  std::optional<CelExpression> condition;  ///< triggerPolicy.condition
};

/// A DAG output: the first selector whose producer ran and produced the key supplies the value
/// (one selector for a plain output, several for dsl.OneOf).
struct OutputSelector {
  std::string producer_task;
  std::string output_key;
};

struct Dag {
  std::map<std::string, Task> tasks;
  std::vector<std::string> order;  ///< a topological order of `tasks` (ties broken by name)
  std::map<std::string, std::vector<OutputSelector>> output_parameters;
  std::map<std::string, std::vector<OutputSelector>> output_artifacts;
};

struct EnvVar {
  std::string name;
  std::string value;
};

/// deploymentSpec.executors[label].container. `resources` and `image` do not matter locally.
struct ContainerExecutor {
  std::string image;
  /// command[0] names the local binary (by its basename); empty when the image's entrypoint is
  /// meant, which cannot run locally.
  std::vector<std::string> command;
  std::vector<std::string> args;
  std::vector<EnvVar> env;
};

/// deploymentSpec.executors[label].importer: exactly one of constant_uri / runtime_parameter.
struct ImporterExecutor {
  std::optional<std::string> constant_uri;
  std::string runtime_parameter;  ///< name of the task input parameter holding the URI
  ArtifactType type;
  Json metadata = Json::object();
};

using Executor = std::variant<ContainerExecutor, ImporterExecutor>;

/// A ComponentSpec: either a DAG (sub-pipeline or dsl.If branch) or a leaf run by an executor.
struct Component {
  std::string name;  ///< key in components ("comp-train"), or "root"
  Interface interface;
  std::optional<Dag> dag;
  std::string executor_label;  ///< set when `dag` is empty
};

/// A whole compiled pipeline.
struct Pipeline {
  std::string name;  ///< pipelineInfo.name
  std::string display_name;
  std::string description;
  std::string sdk_version;
  std::string default_pipeline_root;
  std::map<std::string, Component> components;
  std::map<std::string, Executor> executors;
  Component root;
  /// Settings the local runner accepts but ignores (retry policies, Kubernetes platform specs),
  /// one line each, for the caller to log.
  std::vector<std::string> warnings;

  /// The component `task` refers to. The reference is validated at load time.
  const Component& component_of(const Task& task) const { return components.at(task.component); }
};

/// Parses and validates IR text (YAML or JSON). Throws advkfp::Error "<source>: <field path>:
/// <problem>", e.g. "p.yaml: root.dag.tasks.train.componentRef.name: names no component
/// 'comp-trian'", for the first problem found. Checked here: unknown fields anywhere in the known
/// structure; fields kfp-local cannot honour (iterators, exit handlers, resolvers); schemaVersion
/// 2.1.0; parameter types and the types of defaults and constants; componentRef, executorLabel,
/// dependentTasks, producerTask, output keys, componentInput* names and task input names; cycles in
/// a DAG and components that contain themselves; every placeholder of every container command and
/// argument; every trigger condition (syntax, and names it reads).
Pipeline parse_pipeline(const std::string& text, const std::string& source);

/// parse_pipeline() on a file; the error prefix is the file's path.
Pipeline load_pipeline(const std::filesystem::path& file);

/// What a backend of `profile` cannot run in the IR of `file` (kfp::backend_problems()), one line
/// each, prefixed by the file's path. Load the pipeline first: this assumes a valid IR.
std::vector<std::string> backend_problems(const std::filesystem::path& file,
                                          const kfp::BackendProfile& profile);

}  // namespace advkfp::kfp_local
