// The run summary: run-summary.json and the terminal table, from a finished run's records.
#include <algorithm>
#include <iomanip>
#include <sstream>

#include "kfp_local/runner.h"

namespace advkfp::kfp_local {
namespace {

std::string display_value(const Json& value) {
  std::string text = value.is_string() ? value.dump() : format_parameter(value);
  if (text.size() > 80) text = text.substr(0, 77) + "...";
  return text;
}

Json artifact_json(const RuntimeArtifact& a) {
  Json type = {{"schemaTitle", a.type.schema_title}};
  if (!a.type.schema_version.empty()) type["schemaVersion"] = a.type.schema_version;
  return {{"name", a.name},
          {"uri", a.uri},
          {"path", a.path.string()},
          {"type", type},
          {"metadata", a.metadata}};
}

Json outputs_json(const std::map<std::string, Json>& parameters,
                  const std::map<std::string, RuntimeArtifact>& artifacts,
                  const std::map<std::string, std::string>& sha256 = {}) {
  Json artifacts_json = Json::object();
  for (const auto& [key, a] : artifacts) {
    artifacts_json[key] = artifact_json(a);
    if (const auto d = sha256.find(key); d != sha256.end())
      artifacts_json[key]["sha256"] = d->second;
  }
  return {{"parameters", Json(parameters)}, {"artifacts", artifacts_json}};
}

Json inputs_json(const TaskRecord& t) {
  Json artifacts = Json::object();
  for (const auto& [key, a] : t.input_artifacts) {
    artifacts[key] = {{"uri", a.uri}, {"path", a.path.string()}};
    if (const auto d = t.input_sha256.find(key); d != t.input_sha256.end()) {
      artifacts[key]["sha256"] = d->second;
    }
  }
  return {{"artifacts", artifacts}};
}

}  // namespace

Json summary_json(const RunResult& result) {
  Json tasks = Json::array();
  for (const auto& t : result.tasks) {
    Json j = {{"path", t.path},
              {"name", t.display_name},
              {"component", t.component},
              {"kind", t.kind},
              {"state", task_state_name(t.state)},
              {"durationSeconds", t.seconds}};
    if (!t.log_file.empty()) j["log"] = t.log_file.string();
    if (t.kind == "container" &&
        (t.state == TaskState::kSucceeded || t.state == TaskState::kFailed)) {
      j["cpuUserSeconds"] = t.usage.user_seconds;
      j["cpuSystemSeconds"] = t.usage.system_seconds;
      j["peakRssKb"] = t.usage.peak_rss_kb;
      j["minorFaults"] = t.usage.minor_faults;
      j["majorFaults"] = t.usage.major_faults;
    }
    if (!t.message.empty()) j["message"] = t.message;
    if (t.kind == "container") j["inputs"] = inputs_json(t);
    j["outputs"] = outputs_json(t.output_parameters, t.output_artifacts, t.output_sha256);
    tasks.push_back(std::move(j));
  }
  Json j = {{"pipeline", result.pipeline},
            {"pipelineRoot", result.pipeline_root.string()},
            {"state", result.succeeded ? "SUCCEEDED" : "FAILED"},
            {"parameters", Json(result.parameters)},
            {"durationSeconds", result.seconds},
            {"tasks", tasks},
            {"outputs", outputs_json(result.output_parameters, result.output_artifacts)}};
  if (!result.error.empty()) j["error"] = result.error;
  return j;
}

std::string summary_table(const RunResult& result) {
  size_t width = 4;
  const auto label = [](const TaskRecord& t) {
    const auto slash = t.path.rfind('/');
    const std::string key = slash == std::string::npos ? t.path : t.path.substr(slash + 1);
    return t.display_name.empty() || t.display_name == key ? t.path
                                                           : t.path + " (" + t.display_name + ")";
  };
  for (const auto& t : result.tasks) width = std::max(width, label(t).size());
  std::ostringstream os;
  const auto row = [&](const std::string& task, const std::string& state, const std::string& time,
                       const std::string& detail) {
    std::ostringstream line;
    line << std::left << std::setw(static_cast<int>(width + 2)) << task << std::setw(11) << state
         << std::right << std::setw(8) << time << "  " << detail;
    std::string text = line.str();
    text.erase(text.find_last_not_of(' ') + 1);
    os << text << '\n';
  };
  row("TASK", "STATE", "TIME", "OUTPUTS");
  for (const auto& t : result.tasks) {
    std::vector<std::string> details;
    for (const auto& [key, value] : t.output_parameters) {
      details.push_back(key + " = " + display_value(value));
    }
    for (const auto& [key, a] : t.output_artifacts) details.push_back(key + ": " + a.path.string());
    if (!t.message.empty() && t.state != TaskState::kSucceeded) details.push_back(t.message);
    std::string time = "-";
    if (t.state == TaskState::kSucceeded || t.state == TaskState::kFailed) {
      std::ostringstream ts;
      ts << std::fixed << std::setprecision(2) << t.seconds << 's';
      time = ts.str();
    }
    row(label(t), task_state_name(t.state), time, details.empty() ? "" : details.front());
    for (size_t i = 1; i < details.size(); ++i) row("", "", "", details[i]);
  }
  return os.str();
}

}  // namespace advkfp::kfp_local
