// The run summary: run-summary.json and the terminal table, from a finished run's records.
#include <algorithm>
#include <iomanip>
#include <sstream>

#include "common/error.h"
#include "io/json.h"
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

// Typed access to the fields of a summary being read back; a problem names `what` and the field.
class Reader {
 public:
  explicit Reader(std::string what) : what_(std::move(what)) {}

  const Json& at(const Json& j, const std::string& key, const std::string& field,
                 Json::value_t type) const {
    if (!j.is_object() || !j.contains(key)) fail(field, "is missing");
    const Json& v = j.at(key);
    const bool ok = type == Json::value_t::number_float     ? v.is_number()
                    : type == Json::value_t::number_integer ? v.is_number_integer()
                                                            : v.type() == type;
    if (!ok) fail(field, "is " + v.dump().substr(0, 40) + ", not " + name(type));
    return v;
  }
  std::string text(const Json& j, const std::string& key, const std::string& field) const {
    return at(j, key, field, Json::value_t::string).get<std::string>();
  }
  double number(const Json& j, const std::string& key, const std::string& field) const {
    return at(j, key, field, Json::value_t::number_float).get<double>();
  }
  int64_t integer(const Json& j, const std::string& key, const std::string& field) const {
    return at(j, key, field, Json::value_t::number_integer).get<int64_t>();
  }
  const Json& object(const Json& j, const std::string& key, const std::string& field) const {
    return at(j, key, field, Json::value_t::object);
  }
  std::string optional_text(const Json& j, const std::string& key, const std::string& field) const {
    return j.contains(key) ? text(j, key, field) : std::string();
  }
  [[noreturn]] void fail(const std::string& field, const std::string& problem) const {
    io::bad_field(what_, field, problem);
  }

 private:
  static std::string name(Json::value_t type) {
    switch (type) {
      case Json::value_t::string:
        return "a string";
      case Json::value_t::object:
        return "an object";
      case Json::value_t::number_integer:
        return "an integer";
      default:
        return "a number";
    }
  }
  std::string what_;
};

TaskState parse_state(const std::string& name, const Reader& r, const std::string& field) {
  for (auto s :
       {TaskState::kSucceeded, TaskState::kFailed, TaskState::kSkipped, TaskState::kNotRun}) {
    if (name == task_state_name(s)) return s;
  }
  r.fail(field, "is '" + name + "', not SUCCEEDED, FAILED, SKIPPED or NOT_RUN");
}

// {key: artifact} as outputs_json or inputs_json wrote it, with the sha256 of each where given.
void read_artifacts(const Json& j, const Reader& r, const std::string& field,
                    std::map<std::string, RuntimeArtifact>& artifacts,
                    std::map<std::string, std::string>& sha256, bool outputs) {
  for (const auto& [key, a] : r.object(j, "artifacts", field + ".artifacts").items()) {
    const std::string at = field + ".artifacts." + key;
    RuntimeArtifact ra;
    ra.uri = r.text(a, "uri", at + ".uri");
    ra.path = r.text(a, "path", at + ".path");
    if (outputs) {
      ra.name = r.text(a, "name", at + ".name");
      const Json& type = r.object(a, "type", at + ".type");
      ra.type.schema_title = r.text(type, "schemaTitle", at + ".type.schemaTitle");
      ra.type.schema_version = r.optional_text(type, "schemaVersion", at + ".type.schemaVersion");
      ra.metadata = r.object(a, "metadata", at + ".metadata");
    }
    if (a.contains("sha256")) sha256[key] = r.text(a, "sha256", at + ".sha256");
    artifacts[key] = std::move(ra);
  }
}

std::map<std::string, Json> read_parameters(const Json& j, const Reader& r,
                                            const std::string& field) {
  std::map<std::string, Json> out;
  for (const auto& [key, v] : r.object(j, "parameters", field).items()) out[key] = v;
  return out;
}

}  // namespace

RunResult read_summary(const Json& j, const std::string& what) {
  const Reader r(what);
  RunResult result;
  result.pipeline = r.text(j, "pipeline", "pipeline");
  result.pipeline_root = r.text(j, "pipelineRoot", "pipelineRoot");
  result.summary_file = result.pipeline_root / "run-summary.json";
  result.succeeded = parse_state(r.text(j, "state", "state"), r, "state") == TaskState::kSucceeded;
  result.error = r.optional_text(j, "error", "error");
  result.parameters = read_parameters(j, r, "parameters");
  result.seconds = r.number(j, "durationSeconds", "durationSeconds");
  const Json& tasks = r.at(j, "tasks", "tasks", Json::value_t::array);
  for (size_t i = 0; i < tasks.size(); ++i) {
    const Json& t = tasks[i];
    const std::string at = "tasks[" + std::to_string(i) + "]";
    TaskRecord task;
    task.path = r.text(t, "path", at + ".path");
    task.display_name = r.text(t, "name", at + ".name");
    task.component = r.text(t, "component", at + ".component");
    task.kind = r.text(t, "kind", at + ".kind");
    task.state = parse_state(r.text(t, "state", at + ".state"), r, at + ".state");
    task.seconds = r.number(t, "durationSeconds", at + ".durationSeconds");
    task.log_file = r.optional_text(t, "log", at + ".log");
    task.message = r.optional_text(t, "message", at + ".message");
    if (t.contains("cpuUserSeconds")) {
      task.usage.user_seconds = r.number(t, "cpuUserSeconds", at + ".cpuUserSeconds");
      task.usage.system_seconds = r.number(t, "cpuSystemSeconds", at + ".cpuSystemSeconds");
      task.usage.peak_rss_kb = r.integer(t, "peakRssKb", at + ".peakRssKb");
      task.usage.minor_faults = r.integer(t, "minorFaults", at + ".minorFaults");
      task.usage.major_faults = r.integer(t, "majorFaults", at + ".majorFaults");
    }
    if (t.contains("inputs")) {
      read_artifacts(r.object(t, "inputs", at + ".inputs"), r, at + ".inputs", task.input_artifacts,
                     task.input_sha256, false);
    }
    const Json& outputs = r.object(t, "outputs", at + ".outputs");
    task.output_parameters = read_parameters(outputs, r, at + ".outputs.parameters");
    read_artifacts(outputs, r, at + ".outputs", task.output_artifacts, task.output_sha256, true);
    result.tasks.push_back(std::move(task));
  }
  const Json& outputs = r.object(j, "outputs", "outputs");
  result.output_parameters = read_parameters(outputs, r, "outputs.parameters");
  std::map<std::string, std::string> no_sha256;
  read_artifacts(outputs, r, "outputs", result.output_artifacts, no_sha256, true);
  return result;
}

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
