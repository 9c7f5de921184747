// Local driver: DAGs in dependency order, one task at a time, folders for storage. Executing one
// task is in launcher.cpp, the run summary in summary.cpp.
#include "kfp_local/runner.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <ctime>
#include <iomanip>
#include <optional>
#include <set>
#include <sstream>

#include "common/error.h"
#include "common/log.h"
#include "io/files.h"
#include "io/json.h"
#include "kfp_local/launcher.h"
#include "kfp_local/process.h"

namespace advkfp::kfp_local {
namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kSummaryFile = "run-summary.json";
constexpr const char* kLogsDir = "logs";
constexpr size_t kLogTailLines = 20;

struct Outcome {
  TaskState state = TaskState::kNotRun;
  Values outputs;
};

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string quoted(const fs::path& p) { return "'" + p.string() + "'"; }

std::string last_lines(const fs::path& file, size_t count) {
  std::string text;
  try {
    text = io::read_file(file, "log");
  } catch (const Error&) {
    return {};
  }
  while (!text.empty() && text.back() == '\n') text.pop_back();
  size_t pos = text.size();
  for (size_t n = 0; n < count && pos != std::string::npos && pos > 0; ++n) {
    pos = text.rfind('\n', pos - 1);
  }
  return pos == std::string::npos || pos == 0 ? text : text.substr(pos + 1);
}

std::string timestamp() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y%m%d-%H%M%S", &tm);
  return buf;
}

std::string folder_name(const std::string& pipeline_name) {
  std::string out = pipeline_name.empty() ? "pipeline" : pipeline_name;
  for (auto& c : out) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') c = '-';
  }
  return out;
}

// The pipeline root: absolute, existing, and either fresh or an earlier kfp-local run.
fs::path prepare_root(const Pipeline& pipeline, const fs::path& requested) {
  fs::path root = requested;
  if (root.empty()) {
    const fs::path base = fs::path("runs") / (folder_name(pipeline.name) + "-" + timestamp());
    root = base;
    for (int i = 2; fs::exists(root); ++i) root = base.string() + "-" + std::to_string(i);
  }
  root = fs::absolute(root).lexically_normal();
  std::error_code ec;
  if (fs::exists(root)) {
    if (!fs::is_directory(root)) {
      throw UsageError(describe("--pipeline-root", quoted(root) + " is not a folder"));
    }
    const bool empty = fs::is_empty(root, ec);
    const bool earlier_run = fs::exists(root / kSummaryFile) || fs::is_directory(root / kLogsDir);
    if (!empty && !earlier_run) {
      throw UsageError(
          describe("--pipeline-root", quoted(root) + " is not empty and holds no earlier kfp-local "
                                                     "run; choose a new or empty folder"));
    }
    fs::remove(root / kSummaryFile, ec);
  }
  fs::create_directories(root / kLogsDir, ec);
  if (ec) {
    throw UsageError(
        describe("--pipeline-root", "cannot create " + quoted(root) + ": " + ec.message()));
  }
  return root;
}

class Runner {
 public:
  Runner(const Pipeline& pipeline, fs::path root, std::map<std::string, fs::path> binaries,
         RunResult& result)
      : p_(pipeline), root_(std::move(root)), binaries_(std::move(binaries)), result_(result) {}

  Values run(const Values& inputs) { return run_dag(p_.root, inputs, ""); }

 private:
  Values run_dag(const Component& c, const Values& inputs, const std::string& prefix) {
    const Dag& dag = *c.dag;
    std::map<std::string, Outcome> done;
    for (const auto& name : dag.order) {
      const Task& task = dag.tasks.at(name);
      const std::string path = prefix + name;
      if (failed_) {
        mark(task, path, TaskState::kNotRun, "");
        continue;
      }
      if (const auto skipped = skipped_upstream(task, done)) {
        mark(task, path, TaskState::kSkipped, "upstream task '" + *skipped + "' was skipped");
        done[name].state = TaskState::kSkipped;
        continue;
      }
      done[name] = run_task(task, path, inputs, done);
    }
    return dag_outputs(dag, done);
  }

  static std::optional<std::string> skipped_upstream(const Task& task,
                                                     const std::map<std::string, Outcome>& done) {
    for (const auto& up : task.upstream) {
      const auto it = done.find(up);
      if (it != done.end() && it->second.state == TaskState::kSkipped) return up;
    }
    return std::nullopt;
  }

  // Records `task` (and everything inside it when it is a DAG) as not started.
  void mark(const Task& task, const std::string& path, TaskState state,
            const std::string& message) {
    const Component& c = p_.component_of(task);
    TaskRecord& r = add_record(task, path, c);
    r.state = state;
    r.message = message;
    if (state == TaskState::kSkipped) log::info(path, ": SKIPPED (", message, ")");
    mark_contents(c, path, state);
  }

  void mark_contents(const Component& c, const std::string& path, TaskState state) {
    if (!c.dag) return;
    for (const auto& name : c.dag->order) {
      const Task& inner = c.dag->tasks.at(name);
      const Component& inner_component = p_.component_of(inner);
      add_record(inner, path + "/" + name, inner_component).state = state;
      mark_contents(inner_component, path + "/" + name, state);
    }
  }

  TaskRecord& add_record(const Task& task, const std::string& path, const Component& c) {
    TaskRecord r;
    r.path = path;
    r.display_name = task.display_name;
    r.component = task.component;
    if (c.dag) {
      r.kind = "dag";
    } else {
      r.kind = std::holds_alternative<ContainerExecutor>(p_.executors.at(c.executor_label))
                   ? "container"
                   : "importer";
    }
    result_.tasks.push_back(std::move(r));
    return result_.tasks.back();
  }

  Outcome run_task(const Task& task, const std::string& path, const Values& scope,
                   const std::map<std::string, Outcome>& done) {
    const Component& c = p_.component_of(task);
    const size_t record = result_.tasks.size();
    add_record(task, path, c);
    const auto start = Clock::now();
    Outcome out;
    bool entered_dag = false;
    try {
      const Values inputs = resolve_inputs(task, c, scope, done);
      if (task.condition && !evaluate_condition(*task.condition, inputs)) {
        TaskRecord& r = result_.tasks[record];
        r.state = TaskState::kSkipped;
        r.message = "condition is false: " + task.condition->text();
        log::info(path, ": SKIPPED (", r.message, ")");
        mark_contents(c, path, TaskState::kSkipped);
        out.state = TaskState::kSkipped;
        return out;
      }
      if (c.dag) {
        entered_dag = true;
        out.outputs = run_dag(c, inputs, path + "/");
        out.state = failed_ ? TaskState::kFailed : TaskState::kSucceeded;
      } else {
        const Executor& exec = p_.executors.at(c.executor_label);
        if (const auto* container = std::get_if<ContainerExecutor>(&exec)) {
          ContainerLaunch launch;
          launch.binary = binaries_.at(c.executor_label);
          launch.task_dir = root_ / path;
          launch.log_file = root_ / kLogsDir / (path + ".log");
          launch.task_path = path;
          result_.tasks[record].log_file = launch.log_file;
          result_.tasks[record].input_artifacts = inputs.artifacts;
          result_.tasks[record].input_sha256 = digests(inputs.artifacts, "input");
          out.outputs = run_container(c, *container, launch, inputs, result_.tasks[record].usage);
        } else {
          out.outputs = run_importer(c, std::get<ImporterExecutor>(exec), inputs);
          log::info(path, ": imported ", out.outputs.artifacts.at("artifact").path.string());
        }
        result_.tasks[record].output_sha256 = digests(out.outputs.artifacts, "output");
        out.state = TaskState::kSucceeded;
      }
    } catch (const Error& e) {
      out.state = TaskState::kFailed;
      fail(record, e.what());
      if (!entered_dag) mark_contents(c, path, TaskState::kNotRun);
    }
    TaskRecord& r = result_.tasks[record];
    r.seconds = seconds_since(start);
    r.state = out.state;
    if (out.state == TaskState::kSucceeded) {
      r.output_parameters = out.outputs.parameters;
      r.output_artifacts = out.outputs.artifacts;
      if (!c.dag) {
        log::info(path, ": SUCCEEDED in ", std::fixed, std::setprecision(2), r.seconds, " s");
      }
    } else if (c.dag && r.message.empty()) {
      r.message = "a task inside failed";
    }
    return out;
  }

  // The lineage digests of a task's artifacts, by key. Lineage records; it does not judge: an
  // artifact that cannot be hashed (an imported folder with unreadable files) is logged and left
  // out, and the task goes on, as a KFP backend would run it.
  static std::map<std::string, std::string> digests(
      const std::map<std::string, RuntimeArtifact>& artifacts, const std::string& direction) {
    std::map<std::string, std::string> out;
    for (const auto& [key, a] : artifacts) {
      try {
        out[key] = io::sha256_tree(a.path, direction + " artifact '" + key + "'");
      } catch (const Error& e) {
        log::warn("lineage: no sha256 for ", e.what());
      }
    }
    return out;
  }

  // Records the first failure of the run; later tasks will not start.
  void fail(size_t record, const std::string& problem) {
    TaskRecord& r = result_.tasks[record];
    r.message = problem;
    std::string error = "task '" + r.path + "' " + problem;
    if (!r.log_file.empty()) {
      error += " (log: " + r.log_file.string() + ")";
      result_.log_tail = last_lines(r.log_file, kLogTailLines);
    }
    result_.error = error;
    failed_ = true;
  }

  static bool evaluate_condition(const CelExpression& condition, const Values& inputs) {
    try {
      return condition.evaluate_condition(Json(inputs.parameters));
    } catch (const Error& e) {
      throw Error("failed to evaluate its condition '" + condition.text() + "': " + e.what());
    }
  }

  static const Outcome& producer(const std::map<std::string, Outcome>& done,
                                 const std::string& name) {
    return done.at(name);  // upstream of the task, so it ran (validated and scheduled before)
  }

  // The value a task input parameter is bound to, or nothing for an absent optional input.
  static std::optional<Json> bound_value(const std::string& key, const ParameterSource& src,
                                         const Values& scope,
                                         const std::map<std::string, Outcome>& done) {
    switch (src.kind) {
      case ParameterSource::Kind::kConstant:
        return src.constant;
      case ParameterSource::Kind::kComponentInput:
        if (const auto s = scope.parameters.find(src.name); s != scope.parameters.end()) {
          return s->second;
        }
        return std::nullopt;
      case ParameterSource::Kind::kTaskOutput: {
        const Values& outputs = producer(done, src.producer_task).outputs;
        const auto o = outputs.parameters.find(src.output_key);
        if (o == outputs.parameters.end()) {
          throw Error("input parameter '" + key + "': task '" + src.producer_task +
                      "' produced no output parameter '" + src.output_key + "'");
        }
        return o->second;
      }
    }
    return std::nullopt;
  }

  Values resolve_inputs(const Task& task, const Component& c, const Values& scope,
                        const std::map<std::string, Outcome>& done) const {
    std::map<std::string, Json> bound;
    for (const auto& [key, src] : task.parameters) {
      if (auto value = bound_value(key, src, scope, done)) bound[key] = std::move(*value);
    }
    // f-string constants read the task's other inputs (pipeline channels), as the driver does.
    const std::map<std::string, Json> channels = bound;
    for (auto& [key, value] : bound) {
      if (task.parameters.at(key).kind != ParameterSource::Kind::kConstant || !value.is_string()) {
        continue;
      }
      try {
        value = substitute_input_parameters(value.get<std::string>(), channels);
      } catch (const Error& e) {
        throw Error("input parameter '" + key + "': " + e.what());
      }
    }
    Values v;
    for (const auto& [key, def] : c.interface.input_parameters) {
      std::optional<Json> value;
      if (const auto it = bound.find(key); it != bound.end()) value = it->second;
      if (!value) value = def.default_value;
      if (!value) {
        if (def.optional) continue;
        throw Error("input parameter '" + key + "' has no value");
      }
      try {
        v.parameters[key] = coerce_parameter(*value, def.type);
      } catch (const Error& e) {
        throw Error("input parameter '" + key + "': " + e.what());
      }
    }
    for (const auto& [key, value] : bound) v.parameters.emplace(key, value);  // undeclared channels
    for (const auto& [key, def] : c.interface.input_artifacts) {
      const auto it = task.artifacts.find(key);
      if (it == task.artifacts.end()) continue;  // optional (validated)
      const ArtifactSource& src = it->second;
      if (src.kind == ArtifactSource::Kind::kComponentInput) {
        if (const auto s = scope.artifacts.find(src.name); s != scope.artifacts.end()) {
          v.artifacts[key] = s->second;
        } else if (!def.optional) {
          throw Error("input artifact '" + key + "' has no value");
        }
        continue;
      }
      const Values& outputs = producer(done, src.producer_task).outputs;
      const auto o = outputs.artifacts.find(src.output_key);
      if (o == outputs.artifacts.end()) {
        throw Error("input artifact '" + key + "': task '" + src.producer_task +
                    "' produced no output artifact '" + src.output_key + "'");
      }
      v.artifacts[key] = o->second;
    }
    return v;
  }

  // dag.outputs: the first selector whose producer succeeded and produced the key. Outputs whose
  // producers were all skipped stay absent; a consumer of one fails with a clear message.
  static Values dag_outputs(const Dag& dag, const std::map<std::string, Outcome>& done) {
    Values out;
    for (const auto& [key, selectors] : dag.output_parameters) {
      for (const auto& s : selectors) {
        const auto it = done.find(s.producer_task);
        if (it == done.end() || it->second.state != TaskState::kSucceeded) continue;
        const auto o = it->second.outputs.parameters.find(s.output_key);
        if (o == it->second.outputs.parameters.end()) continue;
        out.parameters[key] = o->second;
        break;
      }
    }
    for (const auto& [key, selectors] : dag.output_artifacts) {
      for (const auto& s : selectors) {
        const auto it = done.find(s.producer_task);
        if (it == done.end() || it->second.state != TaskState::kSucceeded) continue;
        const auto o = it->second.outputs.artifacts.find(s.output_key);
        if (o == it->second.outputs.artifacts.end()) continue;
        out.artifacts[key] = o->second;
        break;
      }
    }
    return out;
  }

  const Pipeline& p_;
  const fs::path root_;
  const std::map<std::string, fs::path> binaries_;  // executor label -> program
  RunResult& result_;
  bool failed_ = false;
};

// The executor labels of every container a run of `c` can reach.
void collect_container_labels(const Pipeline& p, const Component& c,
                              std::set<std::string>& labels) {
  if (!c.dag) {
    if (std::holds_alternative<ContainerExecutor>(p.executors.at(c.executor_label))) {
      labels.insert(c.executor_label);
    }
    return;
  }
  for (const auto& [name, task] : c.dag->tasks) {
    collect_container_labels(p, p.component_of(task), labels);
  }
}

std::map<std::string, fs::path> resolve_binaries(const Pipeline& p, const fs::path& bin_dir) {
  std::vector<fs::path> dirs;
  if (!bin_dir.empty()) dirs.push_back(bin_dir);
  for (auto& d : path_directories()) dirs.push_back(std::move(d));
  std::set<std::string> labels;
  collect_container_labels(p, p.root, labels);
  std::map<std::string, fs::path> out;
  for (const auto& label : labels) {
    const auto& exec = std::get<ContainerExecutor>(p.executors.at(label));
    if (exec.command.empty()) {
      throw Error("executor " + label +
                  ": the container has no command (it relies on the image's entrypoint); "
                  "kfp-local needs command[0] to name the program to run");
    }
    const std::string name = fs::path(exec.command.front()).filename().string();
    fs::path found = name.empty() ? fs::path() : find_executable(name, dirs);
    if (found.empty()) {
      throw Error("executor " + label + ": no program '" + name + "' (from command[0] '" +
                  exec.command.front() + "') in " +
                  (bin_dir.empty() ? std::string() : "--bin-dir " + quoted(bin_dir) + " or ") +
                  "PATH");
    }
    out[label] = fs::absolute(found);
  }
  return out;
}

}  // namespace

const char* task_state_name(TaskState state) {
  switch (state) {
    case TaskState::kSucceeded:
      return "SUCCEEDED";
    case TaskState::kFailed:
      return "FAILED";
    case TaskState::kSkipped:
      return "SKIPPED";
    case TaskState::kNotRun:
      return "NOT_RUN";
  }
  return "?";
}

std::map<std::string, Json> bind_pipeline_parameters(const Pipeline& pipeline,
                                                     const std::vector<std::string>& assignments) {
  const auto& declared = pipeline.root.interface.input_parameters;
  std::map<std::string, Json> values;
  for (const auto& assignment : assignments) {
    const auto eq = assignment.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw UsageError(describe("--param", "expected NAME=VALUE, got '" + assignment + "'"));
    }
    const std::string name = assignment.substr(0, eq);
    const auto def = declared.find(name);
    if (def == declared.end()) {
      std::string known;
      for (const auto& [n, d] : declared) known += (known.empty() ? "" : ", ") + n;
      throw UsageError(
          describe("--param", "pipeline '" + pipeline.name + "' has no parameter '" + name +
                                  "' (it has: " + (known.empty() ? "none" : known) + ")"));
    }
    if (values.count(name)) throw UsageError(describe("--param", "'" + name + "' given twice"));
    try {
      values[name] = parse_parameter_text(assignment.substr(eq + 1), def->second.type);
    } catch (const Error& e) {
      throw UsageError(
          describe("--param " + name,
                   std::string(e.what()) + " (" + parameter_type_name(def->second.type) + ")"));
    }
  }
  for (const auto& [name, def] : declared) {
    if (values.count(name)) continue;
    if (def.default_value) {
      values[name] = *def.default_value;
    } else if (!def.optional) {
      throw UsageError(describe("--param", "missing required pipeline parameter '" + name + "' (" +
                                               parameter_type_name(def.type) + "); pass --param " +
                                               name + "=VALUE"));
    }
  }
  for (const auto& [name, def] : pipeline.root.interface.input_artifacts) {
    if (!def.optional) {
      throw UsageError("pipeline input artifact '" + name + "' cannot be given locally");
    }
  }
  return values;
}

RunResult run_pipeline(const Pipeline& pipeline, const RunOptions& options) {
  RunResult result;
  result.pipeline = pipeline.name;
  result.parameters = bind_pipeline_parameters(pipeline, options.parameters);
  if (!options.bin_dir.empty() && !fs::is_directory(options.bin_dir)) {
    throw UsageError(describe("--bin-dir", quoted(options.bin_dir) + " is not a folder"));
  }
  auto binaries = resolve_binaries(pipeline, options.bin_dir);
  result.pipeline_root = prepare_root(pipeline, options.pipeline_root);
  for (const auto& w : pipeline.warnings) log::warn(w);
  log::info("running pipeline '", pipeline.name, "' in ", result.pipeline_root.string());

  const auto start = Clock::now();
  Runner runner(pipeline, result.pipeline_root, std::move(binaries), result);
  const Values outputs = runner.run(Values{result.parameters, {}});
  result.seconds = seconds_since(start);
  result.succeeded = result.error.empty();
  if (result.succeeded) {
    result.output_parameters = outputs.parameters;
    result.output_artifacts = outputs.artifacts;
  }
  result.summary_file = result.pipeline_root / kSummaryFile;
  const Json summary = summary_json(result);
  io::write_json(result.summary_file, summary, "run summary");
  if (!options.summary_json.empty()) {
    io::write_json(options.summary_json, summary, "--summary-json");
  }
  return result;
}

}  // namespace advkfp::kfp_local
