// A container component as KFP sees it: typed inputs and outputs and a command line with
// placeholders. Built from a cli::Spec (see cli/component.h); emitted as v1 component YAML or
// compiled into pipeline IR.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace advkfp::kfp {

using OrderedJson = nlohmann::ordered_json;

struct InputSpec {
  std::string name, type, description;
  std::optional<OrderedJson> default_value;  ///< typed (number, bool, string); absent: required
  bool optional = false;
};

struct OutputSpec {
  std::string name, type, description;
};

/// One element of the container's args.
struct Arg {
  /// kIfBound: `then` (e.g. `--flag {inputPath: X}`) for the optional input `value`, passed only
  /// by a task that binds it. The pipeline builder resolves it when compiling: a bound input is a
  /// plain inputPath, an unbound one passes nothing. The v1 component YAML leaves it out, because
  /// no released backend resolves `{if: {cond: {isPresent: X}}}` for artifacts (kubeflow/pipelines
  /// #11009, #14175): the tool finds such an artifact in its --executor-input, whose
  /// inputs.artifacts lists only the inputs provided.
  enum class Kind { kLiteral, kInputValue, kInputPath, kOutputPath, kExecutorInput, kIfBound };
  Kind kind = Kind::kLiteral;
  std::string value;  ///< literal text, or the input/output name
  std::vector<Arg> then;
};

struct ComponentSpec {
  std::string name;  ///< the CLI name, e.g. "fgsm-attack"
  std::string description;
  std::string image;
  std::vector<std::string> command;
  std::vector<Arg> args;
  std::vector<InputSpec> inputs;
  std::vector<OutputSpec> outputs;

  const InputSpec* find_input(const std::string& name) const;
  const OutputSpec* find_output(const std::string& name) const;
};

/// The v1 component YAML document (name, description, inputs, outputs, implementation.container).
/// v1 defaults are strings ('0.15', 'true').
OrderedJson to_v1(const ComponentSpec& spec);

/// to_v1() rendered as YAML, with a header comment saying the file is generated.
std::string to_v1_yaml(const ComponentSpec& spec);

/// v1 default string of a typed value: 0.15 -> "0.15", true -> "true", "x" -> "x".
std::string default_string(const OrderedJson& value);

}  // namespace advkfp::kfp
