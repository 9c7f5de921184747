// ExecutorOutput writing and the process-wide metadata sink.
#include "cli/component.h"

#include <cmath>

#include "common/text.h"
#include "io/files.h"
#include "io/json.h"

namespace advkfp::cli {
namespace {
nlohmann::json& sink() {
  static nlohmann::json metadata = nlohmann::json::object();
  return metadata;
}


// j[key] when j is an object holding key, else null: the ExecutorInput is read, not trusted (a
// const operator[] on a missing key is undefined behaviour in nlohmann::json).
const nlohmann::json& member(const nlohmann::json& j, const std::string& key) {
  static const nlohmann::json kNull;
  if (!j.is_object()) return kNull;
  const auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

// j[key] when it is a string, else "".
std::string string_member(const nlohmann::json& j, const std::string& key) {
  const auto& v = member(j, key);
  return v.is_string() ? v.get<std::string>() : std::string();
}

// Parses a parameter file the way the KFP launcher does (strconv after trimming; STRING verbatim).
nlohmann::json typed_value(const std::string& text, const std::string& type,
                           const std::string& what) {
  if (type == types::kString) return text;
  const std::string t = trim_space(text);
  try {
    if (type == types::kBoolean) {
      if (t == "true" || t == "True" || t == "1") return true;
      if (t == "false" || t == "False" || t == "0") return false;
    } else if (type == types::kInteger) {
      size_t used = 0;
      const long long v = std::stoll(t, &used);
      if (used == t.size()) return v;
    } else if (type == types::kFloat) {
      size_t used = 0;
      const double v = std::stod(t, &used);
      if (used == t.size() && std::isfinite(v)) return v;
    } else {
      return nlohmann::json::parse(t);
    }
  } catch (const std::exception&) {
  }
  throw Error(describe(what, "'" + t + "' is not a valid " + type));
}
}  // namespace

void publish_metadata(const std::string& output, const nlohmann::json& metadata) {
  sink()[output].update(metadata);
}

const nlohmann::json& published_metadata() { return sink(); }

void clear_published_metadata() { sink() = nlohmann::json::object(); }

std::filesystem::path input_artifact_path(const nlohmann::json& executor_input,
                                          const std::string& name) {
  const auto& list = member(member(member(member(executor_input, "inputs"), "artifacts"), name),
                            "artifacts");
  if (!list.is_array() || list.empty()) return {};
  const std::string uri = string_member(list[0], "uri");
  for (const auto& [scheme, mount] : {std::pair{"gs://", "/gcs/"}, {"s3://", "/s3/"},
                                      {"minio://", "/minio/"}, {"file://", ""}}) {
    const std::string s = scheme;
    if (uri.rfind(s, 0) == 0) return std::string(mount) + uri.substr(s.size());
  }
  return uri;
}

nlohmann::json parse_executor_input(const std::string& text) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception&) {  // parse_error, or out_of_range 406 for 1e999
    throw UsageError(describe("executor_input", "not valid JSON"));
  }
  if (!j.is_object() || !j.contains("outputs") || !j["outputs"].is_object()) {
    throw UsageError(describe("executor_input", "has no 'outputs' object"));
  }
  return j;
}

void write_executor_output(const nlohmann::json& executor_input,
                           const std::vector<OutputDecl>& outputs) {
  const auto& out = member(executor_input, "outputs");
  const std::string output_file = string_member(out, "outputFile");
  if (output_file.empty()) return;  // nothing asks for it
  nlohmann::json result = nlohmann::json::object();
  for (const auto& decl : outputs) {
    if (decl.parameter) {
      const std::string file = string_member(member(member(out, "parameters"), decl.name),
                                             "outputFile");
      if (file.empty()) continue;
      result["parameterValues"][decl.name] =
          typed_value(io::read_file(file, decl.name), decl.type, decl.name);
      continue;
    }
    const auto& list = member(member(member(out, "artifacts"), decl.name), "artifacts");
    if (!list.is_array() || list.empty()) continue;
    nlohmann::json art = {{"name", string_member(list[0], "name")},
                          {"uri", string_member(list[0], "uri")},
                          {"metadata", nlohmann::json::object()}};
    if (member(list[0], "metadata").is_object()) art["metadata"] = list[0]["metadata"];
    if (sink().contains(decl.name)) art["metadata"].update(sink()[decl.name]);
    result["artifacts"][decl.name]["artifacts"] = nlohmann::json::array({art});
  }
  io::write_json(output_file, result, "executor_output");
}

}  // namespace advkfp::cli
