// Executing one task: the launcher's part of a KFP run (see launcher.h).
#include "kfp_local/launcher.h"

#include <system_error>
#include <vector>

#include "common/error.h"
#include "common/log.h"
#include "io/files.h"
#include "io/json.h"
#include "kfp_local/process.h"

namespace advkfp::kfp_local {
namespace fs = std::filesystem;

namespace {

// Per-task launcher files (ExecutorInput, ExecutorOutput, output parameter files). A leading dot
// cannot clash with an output key, which is always an identifier.
constexpr const char* kTaskMetaDir = ".kfp-local";

std::string quoted(const fs::path& p) { return "'" + p.string() + "'"; }

// Reads the JSON an ExecutorOutput file holds into `outputs`, checking names and types.
void apply_executor_output(const fs::path& file, const Interface& iface, Values& outputs) {
  const Json out = io::read_json(file, "executor output");
  if (!out.is_object()) throw Error("executor output " + quoted(file) + " is not a JSON object");
  if (const auto it = out.find("parameterValues"); it != out.end()) {
    if (!it->is_object()) throw Error("executor output: parameterValues is not an object");
    for (const auto& [name, value] : it->items()) {
      const auto def = iface.output_parameters.find(name);
      if (def == iface.output_parameters.end()) {
        throw Error("executor output sets parameter '" + name +
                    "', which is not a declared output");
      }
      try {
        outputs.parameters[name] = coerce_parameter(value, def->second);
      } catch (const Error& e) {
        throw Error("executor output: parameter '" + name + "': " + e.what());
      }
    }
  }
  if (const auto it = out.find("artifacts"); it != out.end()) {
    if (!it->is_object()) throw Error("executor output: artifacts is not an object");
    for (const auto& [name, list] : it->items()) {
      const auto artifact = outputs.artifacts.find(name);
      if (artifact == outputs.artifacts.end()) {
        throw Error("executor output names artifact '" + name +
                    "', which is not a declared output");
      }
      const Json entries = list.is_object() ? list.value("artifacts", Json::array()) : Json();
      if (!entries.is_array() || entries.size() != 1 || !entries[0].is_object()) {
        throw Error("executor output: artifacts." + name +
                    " must be {\"artifacts\": [{\"name\", \"uri\", \"metadata\"}]}");
      }
      const Json metadata = entries[0].value("metadata", Json::object());
      if (!metadata.is_object()) {
        throw Error("executor output: artifacts." + name + " metadata is not an object");
      }
      artifact->second.metadata.update(metadata);
    }
  }
}

// The outputs of a finished container task, checked against its declaration.
Values collect_outputs(const Component& c, const ExecutorContext& ctx) {
  Values out;
  out.artifacts = ctx.output_artifacts;
  for (const auto& [key, type] : c.interface.output_parameters) {
    const fs::path& file = ctx.output_parameter_files.at(key);
    if (!fs::exists(file)) continue;
    try {
      out.parameters[key] = parse_parameter_text(io::read_file(file, key), type);
    } catch (const Error& e) {
      throw Error("output parameter '" + key + "' (" + file.string() + "): " + e.what());
    }
  }
  if (fs::exists(ctx.executor_output_file)) {
    apply_executor_output(ctx.executor_output_file, c.interface, out);
  }
  for (const auto& [key, type] : c.interface.output_parameters) {
    if (!out.parameters.count(key)) {
      throw Error("did not write output parameter '" + key + "' (neither " +
                  quoted(ctx.output_parameter_files.at(key)) + " nor parameterValues in " +
                  quoted(ctx.executor_output_file) + ")");
    }
  }
  for (const auto& [key, a] : out.artifacts) {
    if (!fs::exists(a.path)) {
      throw Error("did not write output artifact '" + key + "' at " + quoted(a.path));
    }
  }
  return out;
}

}  // namespace

std::string shell_word(const std::string& word) {
  if (!word.empty() && word.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                              "0123456789-_./=:,+@%") == std::string::npos) {
    return word;
  }
  std::string out = "'";
  for (char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

Values run_container(const Component& c, const ContainerExecutor& exec,
                     const ContainerLaunch& launch, const Values& inputs, ResourceUsage& usage) {
  const fs::path& task_dir = launch.task_dir;
  const fs::path meta_dir = task_dir / kTaskMetaDir;
  std::error_code ec;
  fs::remove_all(meta_dir, ec);  // a stale ExecutorOutput would be read as this run's

  ExecutorContext ctx;
  ctx.parameters = inputs.parameters;
  ctx.input_artifacts = inputs.artifacts;
  for (const auto& [key, def] : c.interface.output_artifacts) {
    const fs::path artifact_path = task_dir / key;
    fs::remove_all(artifact_path, ec);  // an earlier run's output must not pass the check below
    RuntimeArtifact a;
    a.name = key;
    a.uri = artifact_path.string();
    a.path = artifact_path;
    a.type = def.type;
    a.metadata = def.metadata;
    ctx.output_artifacts[key] = a;
  }
  for (const auto& [key, type] : c.interface.output_parameters) {
    ctx.output_parameter_files[key] = meta_dir / "parameters" / key;
  }
  ctx.executor_output_file = meta_dir / "executor_output.json";

  std::vector<std::string> words;
  for (const auto* list : {&exec.command, &exec.args}) {
    for (const auto& arg : *list) {
      for (auto& w : expand_argument(arg, ctx)) words.push_back(std::move(w));
    }
  }
  if (words.empty()) throw Error("its command expands to nothing");
  const fs::path& binary = launch.binary;
  const std::vector<std::string> args(words.begin() + 1, words.end());

  // The launcher creates the folders output paths live in, never the outputs themselves.
  for (const fs::path& dir : {task_dir, meta_dir}) {
    fs::create_directories(dir, ec);
    if (ec) throw Error("cannot create " + quoted(dir) + ": " + ec.message());
  }
  if (!ctx.output_parameter_files.empty()) fs::create_directories(meta_dir / "parameters", ec);
  io::write_json(meta_dir / "executor_input.json", executor_input(ctx), "executor input");

  std::string command_line = shell_word(binary.string());
  for (const auto& a : args) command_line += " " + shell_word(a);
  io::write_atomically(launch.log_file, "$ " + command_line + "\n", "task log");
  log::info(launch.task_path, ": running ", binary.filename().string(),
            " (log: ", launch.log_file.string(), ")");
  log::debug(launch.task_path, ": $ ", command_line);

  const ExitStatus status = run_process(binary, args, exec.env, launch.log_file);
  usage = status.usage;
  if (!status.ok()) throw Error(status.describe());
  return collect_outputs(c, ctx);
}

Values run_importer(const Component& c, const ImporterExecutor& exec, const Values& inputs) {
  std::string uri;
  if (exec.constant_uri) {
    uri = *exec.constant_uri;
  } else {
    const auto it = inputs.parameters.find(exec.runtime_parameter);
    if (it == inputs.parameters.end() || !it->second.is_string()) {
      throw Error("importer input parameter '" + exec.runtime_parameter + "' holds no URI");
    }
    uri = it->second.get<std::string>();
  }
  fs::path path;
  if (uri.rfind("file://", 0) == 0) {
    path = uri.substr(7);
  } else if (uri.find("://") != std::string::npos) {
    throw Error("cannot import '" + uri + "': only local paths and file:// URIs work locally");
  } else {
    path = uri;
  }
  if (path.empty()) throw Error("cannot import an empty path");
  path = fs::absolute(path).lexically_normal();
  if (!fs::exists(path)) {
    throw Error("cannot import '" + uri + "': " + quoted(path) + " does not exist");
  }
  RuntimeArtifact a;
  a.name = "artifact";
  a.uri = path.string();
  a.path = path;
  a.type = c.interface.output_artifacts.at("artifact").type;
  a.metadata = exec.metadata;
  Values out;
  out.artifacts["artifact"] = a;
  return out;
}

}  // namespace advkfp::kfp_local
