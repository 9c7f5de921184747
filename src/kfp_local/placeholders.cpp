// Placeholder grammar shared by validation (check_placeholders) and substitution (expand_argument).
#include "kfp_local/placeholders.h"

#include <optional>
#include <utility>

#include "common/error.h"

namespace advkfp::kfp_local {
namespace {

struct Placeholder {
  enum class Kind {
    kExecutorInput,
    kInputParameter,
    kInputArtifactPath,
    kInputArtifactUri,
    kOutputArtifactPath,
    kOutputArtifactUri,
    kOutputParameterFile,
  };
  Kind kind = Kind::kExecutorInput;
  std::string name;  ///< the quoted input or output name
  std::string text;  ///< the whole placeholder, braces included, for messages
};

/// A piece of an argument: literal text, or a placeholder.
struct Segment {
  std::string text;
  std::optional<Placeholder> placeholder;
};

// Reads `$.<section>['name']<suffix>` bodies; returns false when the body does not start with
// `prefix`.
bool match_named(const std::string& body, const std::string& prefix, std::string& name,
                 std::string& suffix) {
  if (body.compare(0, prefix.size(), prefix) != 0) return false;
  size_t i = prefix.size();
  if (i >= body.size() || (body[i] != '\'' && body[i] != '"')) return false;
  const char quote = body[i++];
  const size_t close = body.find(quote, i);
  if (close == std::string::npos || close + 1 >= body.size() || body[close + 1] != ']') {
    return false;
  }
  name = body.substr(i, close - i);
  suffix = body.substr(close + 2);
  return !name.empty();
}

Placeholder parse_placeholder(const std::string& text) {
  const std::string body = text.substr(2, text.size() - 4);
  Placeholder p;
  p.text = text;
  if (body == "$") return p;
  std::string suffix;
  using Kind = Placeholder::Kind;
  if (match_named(body, "$.inputs.parameters[", p.name, suffix) && suffix.empty()) {
    p.kind = Kind::kInputParameter;
    return p;
  }
  if (match_named(body, "$.inputs.artifacts[", p.name, suffix) &&
      (suffix == ".path" || suffix == ".uri")) {
    p.kind = suffix == ".path" ? Kind::kInputArtifactPath : Kind::kInputArtifactUri;
    return p;
  }
  if (match_named(body, "$.outputs.artifacts[", p.name, suffix) &&
      (suffix == ".path" || suffix == ".uri")) {
    p.kind = suffix == ".path" ? Kind::kOutputArtifactPath : Kind::kOutputArtifactUri;
    return p;
  }
  if (match_named(body, "$.outputs.parameters[", p.name, suffix) && suffix == ".output_file") {
    p.kind = Kind::kOutputParameterFile;
    return p;
  }
  if (body == "$.outputs.output_file") {
    throw Error("placeholder '" + text +
                "' is not substituted by the KFP launcher; take {{$}} and write ExecutorOutput "
                "to its outputs.outputFile");
  }
  throw Error("unknown placeholder '" + text + "'");
}

std::vector<Segment> split(const std::string& arg) {
  std::vector<Segment> out;
  size_t pos = 0;
  while (pos < arg.size()) {
    const size_t open = arg.find("{{$", pos);
    if (open == std::string::npos) break;
    const size_t close = arg.find("}}", open + 3);
    if (close == std::string::npos) {
      throw Error("unterminated placeholder '" + arg.substr(open) + "'");
    }
    if (open > pos) out.push_back({arg.substr(pos, open - pos), std::nullopt});
    out.push_back({{}, parse_placeholder(arg.substr(open, close + 2 - open))});
    pos = close + 2;
  }
  if (pos < arg.size()) out.push_back({arg.substr(pos), std::nullopt});
  return out;
}

// The Concat/IfPresent JSON an argument may consist of, or nothing for a plain string.
std::optional<Json> structural(const std::string& arg) {
  if (arg.empty() || arg.front() != '{') return std::nullopt;
  const Json j = Json::parse(arg, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || j.size() != 1) return std::nullopt;
  if (!j.contains("Concat") && !j.contains("IfPresent")) return std::nullopt;
  return j;
}

// Then/Else: a single item or a list of items.
std::vector<Json> branch_items(const Json& branch) {
  if (branch.is_null()) return {};
  if (branch.is_array()) return branch.get<std::vector<Json>>();
  return {branch};
}

void check_name(const Placeholder& p, bool declared, const char* what) {
  if (!declared) {
    throw Error("placeholder '" + p.text + "' names no " + what + " '" + p.name + "'");
  }
}

void check_item(const Json& item, const Interface& interface);

void check_structural(const Json& j, const Interface& interface) {
  if (j.contains("Concat")) {
    const Json& items = j["Concat"];
    if (!items.is_array()) throw Error("Concat placeholder: expected a list of items");
    for (const auto& item : items) check_item(item, interface);
    return;
  }
  const Json& spec = j["IfPresent"];
  if (!spec.is_object() || !spec.contains("InputName") || !spec["InputName"].is_string()) {
    throw Error("IfPresent placeholder: expected {\"InputName\": ..., \"Then\": ...}");
  }
  for (const auto& [key, value] : spec.items()) {
    if (key != "InputName" && key != "Then" && key != "Else") {
      throw Error("IfPresent placeholder: unknown field '" + key + "'");
    }
  }
  const std::string input = spec["InputName"].get<std::string>();
  if (!interface.input_parameters.count(input) && !interface.input_artifacts.count(input)) {
    throw Error("IfPresent placeholder names no input '" + input + "'");
  }
  for (const char* branch : {"Then", "Else"}) {
    if (!spec.contains(branch)) continue;
    for (const auto& item : branch_items(spec[branch])) check_item(item, interface);
  }
}

void check_item(const Json& item, const Interface& interface) {
  if (item.is_string()) return check_placeholders(item.get<std::string>(), interface);
  if (item.is_object() && item.size() == 1 &&
      (item.contains("Concat") || item.contains("IfPresent"))) {
    return check_structural(item, interface);
  }
  throw Error("placeholder item " + item.dump() + " is neither a string nor Concat/IfPresent");
}

const RuntimeArtifact& find_artifact(const std::map<std::string, RuntimeArtifact>& artifacts,
                                     const Placeholder& p, const char* what) {
  const auto it = artifacts.find(p.name);
  if (it == artifacts.end()) {
    throw Error("placeholder '" + p.text + "': " + what + " '" + p.name + "' has no value");
  }
  return it->second;
}

std::string substitute(const std::string& arg, const ExecutorContext& context) {
  std::string out;
  for (const auto& segment : split(arg)) {
    if (!segment.placeholder) {
      out += segment.text;
      continue;
    }
    const Placeholder& p = *segment.placeholder;
    using Kind = Placeholder::Kind;
    switch (p.kind) {
      case Kind::kExecutorInput:
        out += executor_input(context).dump();
        break;
      case Kind::kInputParameter: {
        const auto it = context.parameters.find(p.name);
        if (it == context.parameters.end()) {
          throw Error("placeholder '" + p.text + "': input parameter '" + p.name +
                      "' has no value (an optional input that was not given; guard it with "
                      "IfPresent)");
        }
        out += format_parameter(it->second);
        break;
      }
      case Kind::kInputArtifactPath:
        out += find_artifact(context.input_artifacts, p, "input artifact").path.string();
        break;
      case Kind::kInputArtifactUri:
        out += find_artifact(context.input_artifacts, p, "input artifact").uri;
        break;
      case Kind::kOutputArtifactPath:
        out += find_artifact(context.output_artifacts, p, "output artifact").path.string();
        break;
      case Kind::kOutputArtifactUri:
        out += find_artifact(context.output_artifacts, p, "output artifact").uri;
        break;
      case Kind::kOutputParameterFile: {
        const auto it = context.output_parameter_files.find(p.name);
        if (it == context.output_parameter_files.end()) {
          throw Error("placeholder '" + p.text + "': output parameter '" + p.name +
                      "' is not declared");
        }
        out += it->second.string();
        break;
      }
    }
  }
  return out;
}

std::vector<std::string> expand_item(const Json& item, const ExecutorContext& context);

std::vector<std::string> expand_structural(const Json& j, const ExecutorContext& context) {
  if (j.contains("Concat")) {
    std::string joined;
    for (const auto& item : j["Concat"]) {
      for (const auto& word : expand_item(item, context)) joined += word;
    }
    return {joined};
  }
  const Json& spec = j["IfPresent"];
  const std::string input = spec.value("InputName", "");
  // A null value (an optional pipeline input left unset) counts as absent, as in the driver.
  const auto param = context.parameters.find(input);
  const bool present = (param != context.parameters.end() && !param->second.is_null()) ||
                       context.input_artifacts.count(input);
  const char* branch = present ? "Then" : "Else";
  std::vector<std::string> out;
  if (!spec.contains(branch)) return out;
  for (const auto& item : branch_items(spec[branch])) {
    for (auto& word : expand_item(item, context)) out.push_back(std::move(word));
  }
  return out;
}

std::vector<std::string> expand_item(const Json& item, const ExecutorContext& context) {
  if (item.is_string()) return expand_argument(item.get<std::string>(), context);
  return expand_structural(item, context);
}

// Calls on_reference(begin, end, name) for each `{{$.inputs.parameters['name']}}` in `text`.
template <class F>
void for_each_parameter_reference(const std::string& text, F on_reference) {
  const std::string prefix = "{{$.inputs.parameters[";
  size_t pos = 0;
  while ((pos = text.find(prefix, pos)) != std::string::npos) {
    const size_t close = text.find("}}", pos + prefix.size());
    if (close == std::string::npos) return;
    std::string name, suffix;
    const std::string body = text.substr(pos + 2, close - pos - 2);
    if (match_named(body, "$.inputs.parameters[", name, suffix) && suffix.empty()) {
      on_reference(pos, close + 2, name);
      pos = close + 2;
    } else {
      pos += prefix.size();
    }
  }
}

Json artifact_list(const RuntimeArtifact& a) {
  Json type = {{"schemaTitle", a.type.schema_title}};
  if (!a.type.schema_version.empty()) type["schemaVersion"] = a.type.schema_version;
  return {{"artifacts",
           Json::array(
               {{{"name", a.name}, {"uri", a.uri}, {"type", type}, {"metadata", a.metadata}}})}};
}

}  // namespace

void check_placeholders(const std::string& arg, const Interface& interface) {
  if (const auto j = structural(arg)) return check_structural(*j, interface);
  using Kind = Placeholder::Kind;
  for (const auto& segment : split(arg)) {
    if (!segment.placeholder) continue;
    const Placeholder& p = *segment.placeholder;
    switch (p.kind) {
      case Kind::kExecutorInput:
        break;
      case Kind::kInputParameter:
        check_name(p, interface.input_parameters.count(p.name), "input parameter");
        break;
      case Kind::kInputArtifactPath:
      case Kind::kInputArtifactUri:
        check_name(p, interface.input_artifacts.count(p.name), "input artifact");
        break;
      case Kind::kOutputArtifactPath:
      case Kind::kOutputArtifactUri:
        check_name(p, interface.output_artifacts.count(p.name), "output artifact");
        break;
      case Kind::kOutputParameterFile:
        check_name(p, interface.output_parameters.count(p.name), "output parameter");
        break;
    }
  }
}

std::vector<std::string> expand_argument(const std::string& arg, const ExecutorContext& context) {
  if (const auto j = structural(arg)) return expand_structural(*j, context);
  return {substitute(arg, context)};
}

std::string substitute_input_parameters(const std::string& text,
                                        const std::map<std::string, Json>& values) {
  std::string out;
  size_t done = 0;
  for_each_parameter_reference(text, [&](size_t begin, size_t end, const std::string& name) {
    const auto it = values.find(name);
    if (it == values.end()) {
      throw Error("'" + text.substr(begin, end - begin) + "' has no value to substitute");
    }
    out += text.substr(done, begin - done) + format_parameter(it->second);
    done = end;
  });
  return out + text.substr(done);
}

std::vector<std::string> input_parameter_references(const std::string& text) {
  std::vector<std::string> names;
  for_each_parameter_reference(
      text, [&](size_t, size_t, const std::string& name) { names.push_back(name); });
  return names;
}

Json executor_input(const ExecutorContext& context) {
  Json parameter_values = Json::object();
  for (const auto& [name, value] : context.parameters) parameter_values[name] = value;
  Json input_artifacts = Json::object();
  for (const auto& [name, a] : context.input_artifacts) input_artifacts[name] = artifact_list(a);
  Json output_artifacts = Json::object();
  for (const auto& [name, a] : context.output_artifacts) output_artifacts[name] = artifact_list(a);
  Json output_parameters = Json::object();
  for (const auto& [name, file] : context.output_parameter_files) {
    output_parameters[name] = {{"outputFile", file.string()}};
  }
  return {
      {"inputs", {{"parameterValues", parameter_values}, {"artifacts", input_artifacts}}},
      {"outputs",
       {{"artifacts", output_artifacts},
        {"parameters", output_parameters},
        {"outputFile", context.executor_output_file.string()}}},
  };
}

}  // namespace advkfp::kfp_local
