// From a cli::Spec to a kfp::ComponentSpec, and the executor-output side of the KFP contract:
// metadata a tool publishes for its output artifacts (what the KFP UI shows as metrics).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <type_traits>

#include "cli/spec.h"
#include "common/error.h"
#include "kfp/component.h"
#include "kfp/types.h"

namespace advkfp::cli {

/// Records metadata for output artifact `output` (e.g. {"accuracy": 0.91} for a Metrics artifact,
/// {"confusionMatrix": {...}} for ClassificationMetrics). Written into ExecutorOutput when the tool
/// runs under KFP (--executor-input); ignored otherwise. Later calls merge into earlier ones.
void publish_metadata(const std::string& output, const nlohmann::json& metadata);
/// Everything published so far in this process, by output name.
const nlohmann::json& published_metadata();
void clear_published_metadata();

/// Does the component pass the executor input ({{$}}) to the tool? True when it has metrics-like
/// outputs or output parameters, whose values KFP reads from ExecutorOutput, or optional input
/// artifacts, which the tool finds there.
template <class O>
bool wants_executor_input(const Spec<O>& spec) {
  for (const auto& f : spec.fields()) {
    if (f.role == Role::kOutputParameter) return true;
    if (f.role == Role::kInputArtifact && f.optional && f.in_component) return true;
    if (f.role == Role::kOutputArtifact &&
        (f.type == types::kMetrics || f.type == types::kClassificationMetrics)) {
      return true;
    }
  }
  return false;
}

/// Builds the KFP component of a tool: one input per input artifact and component parameter (with
/// the default of a default-constructed O), one output per output, and args `--flag placeholder`.
template <class O>
kfp::ComponentSpec to_component(const Spec<O>& spec, const std::string& image) {
  using kfp::Arg;
  kfp::ComponentSpec c;
  c.name = spec.name();
  c.description = spec.description();
  c.image = image;
  c.command = {spec.name()};
  const O defaults{};
  for (const auto& f : spec.fields()) {
    if (!f.in_component) continue;
    const Arg flag{Arg::Kind::kLiteral, "--" + flag_name(f.name), {}};
    if (f.role == Role::kInputArtifact && f.optional) {
      // An optional input artifact: a plain inputPath where a pipeline binds it, else read from
      // the executor input (kfp::Arg::Kind::kIfBound).
      c.inputs.push_back({f.name, f.type, f.description, std::nullopt, true});
      c.args.push_back({Arg::Kind::kIfBound, f.name, {flag, {Arg::Kind::kInputPath, f.name, {}}}});
      continue;
    }
    c.args.push_back(flag);
    switch (f.role) {
      case Role::kInputArtifact: {
        c.inputs.push_back({f.name, f.type, f.description, std::nullopt, false});
        c.args.push_back({Arg::Kind::kInputPath, f.name});
        break;
      }
      case Role::kParameter: {
        kfp::InputSpec in{f.name, f.type, f.description, std::nullopt, true};
        std::visit(
            [&](auto member) {
              using T = std::decay_t<decltype(defaults.*member)>;
              if constexpr (std::is_same_v<T, std::filesystem::path>) {
                in.default_value = (defaults.*member).string();
              } else {
                in.default_value = defaults.*member;
              }
            },
            f.member);
        c.inputs.push_back(std::move(in));
        c.args.push_back({Arg::Kind::kInputValue, f.name});
        break;
      }
      case Role::kOutputArtifact:
      case Role::kOutputParameter:
        c.outputs.push_back({f.name, f.type, f.description});
        c.args.push_back({Arg::Kind::kOutputPath, f.name});
        break;
    }
  }
  if (wants_executor_input(spec)) {
    c.args.push_back({Arg::Kind::kLiteral, "--executor-input"});
    c.args.push_back({Arg::Kind::kExecutorInput, ""});
  }
  return c;
}

/// Writes KFP's ExecutorOutput for a finished run: artifact metadata from publish_metadata() (name
/// and uri taken from the executor input) and each output parameter's value, typed, read from the
/// file the tool wrote. `outputs` lists (name, is_parameter, kfp type). Throws advkfp::Error.
struct OutputDecl {
  std::string name;
  bool parameter = false;
  std::string type;
};
void write_executor_output(const nlohmann::json& executor_input,
                           const std::vector<OutputDecl>& outputs);

/// Where optional input artifact `name` is on this machine according to the executor input: its
/// uri, with gs://, s3:// and minio:// mapped to /gcs/, /s3/ and /minio/ as the KFP launcher mounts
/// them (file:// stripped). Empty when the executor input does not list it (not provided).
std::filesystem::path input_artifact_path(const nlohmann::json& executor_input,
                                          const std::string& name);

/// Parses the --executor-input value. Throws advkfp::UsageError when it is not ExecutorInput JSON.
nlohmann::json parse_executor_input(const std::string& text);

}  // namespace advkfp::cli
