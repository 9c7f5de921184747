// Container placeholders of the KFP v2 launcher: validation, substitution, ExecutorInput JSON.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "kfp_local/ir.h"

namespace advkfp::kfp_local {

/// An artifact as one execution sees it. Locally the URI is the absolute path.
struct RuntimeArtifact {
  std::string name;
  std::string uri;
  std::filesystem::path path;
  ArtifactType type;
  Json metadata = Json::object();
};

/// Everything the placeholders of one execution can refer to.
struct ExecutorContext {
  std::map<std::string, Json> parameters;  ///< input parameters with a value (absent: no entry)
  std::map<std::string, RuntimeArtifact> input_artifacts;
  std::map<std::string, RuntimeArtifact> output_artifacts;
  std::map<std::string, std::filesystem::path> output_parameter_files;
  std::filesystem::path executor_output_file;  ///< ExecutorInput outputs.outputFile
};

/// Checks one IR command or argument string against `interface`, without substituting. Accepted:
/// `{{$}}`, `{{$.inputs.parameters['p']}}`, `{{$.inputs.artifacts['a'].path}}` / `.uri`,
/// `{{$.outputs.artifacts['a'].path}}` / `.uri`, `{{$.outputs.parameters['p'].output_file}}`,
/// embedded anywhere in the string, and whole-argument `{"Concat": [...]}` and
/// `{"IfPresent": {"InputName": ..., "Then": ..., "Else": ...}}` JSON (what the SDK compiles v1
/// `concat` and `if isPresent` into). Throws advkfp::Error "unknown placeholder '{{...}}'" or
/// "placeholder '{{...}}' names no input parameter 'p'" (and alike); `{{` not followed by `$` is
/// plain text.
void check_placeholders(const std::string& arg, const Interface& interface);

/// Expands one IR command or argument string into command-line words: usually one, zero or more
/// for IfPresent. Parameters are formatted by format_parameter(). Throws advkfp::Error when a
/// placeholder refers to an input that has no value in `context` (an absent optional input used
/// outside IfPresent) or is unknown.
std::vector<std::string> expand_argument(const std::string& arg, const ExecutorContext& context);

/// Replaces each `{{$.inputs.parameters['name']}}` in `text` with format_parameter(values[name])
/// and keeps everything else. This is how the driver resolves a task input constant the SDK wrote
/// for an f-string over pipeline channels (f"heads and {task.output}"), whose channels are other
/// inputs of the same task. Throws advkfp::Error when `name` has no value.
std::string substitute_input_parameters(const std::string& text,
                                        const std::map<std::string, Json>& values);

/// The names `text` reads through `{{$.inputs.parameters['name']}}`.
std::vector<std::string> input_parameter_references(const std::string& text);

/// The ExecutorInput JSON that {{$}} stands for:
/// {"inputs": {"parameterValues": {...}, "artifacts": {"a": {"artifacts": [{"name", "uri",
/// "type": {"schemaTitle", "schemaVersion"}, "metadata"}]}}}, "outputs": {"artifacts": {...},
/// "parameters": {"p": {"outputFile": "..."}}, "outputFile": "..."}}.
Json executor_input(const ExecutorContext& context);

}  // namespace advkfp::kfp_local
