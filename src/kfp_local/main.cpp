// kfp-local: runs a compiled KFP pipeline (IR YAML) of container components on this machine.
#include <CLI/CLI.hpp>
#include <filesystem>
#include <optional>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "cli/edge.h"
#include "common/error.h"
#include "common/log.h"
#include "kfp/backends.h"
#include "kfp_local/ir.h"
#include "kfp_local/runner.h"

namespace {

namespace fs = std::filesystem;
namespace kl = advkfp::kfp_local;

using advkfp::cli::kExitFailure;
using advkfp::cli::kExitOk;
constexpr const char* kTool = "kfp-local";

// The folder holding this executable: the components are built next to it.
fs::path own_folder() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path() : exe.parent_path();
}

void print_error(const std::string& message) { advkfp::cli::print_error(kTool, message); }

// Loads the IR and checks it against the backend profile: each construct the profile's backends
// cannot run is one error line; nothing runs then.
std::optional<kl::Pipeline> load(const fs::path& pipeline_file, const std::string& backend) {
  const advkfp::kfp::BackendProfile profile = advkfp::kfp::backend_profile(backend);
  kl::Pipeline pipeline = kl::load_pipeline(pipeline_file);
  const auto problems = kl::backend_problems(pipeline_file, profile);
  for (const auto& p : problems) print_error(p);
  if (!problems.empty()) return std::nullopt;
  return pipeline;
}

int run(const fs::path& pipeline_file, const std::string& backend,
        const kl::RunOptions& options) {
  const auto loaded = load(pipeline_file, backend);
  if (!loaded) return kExitFailure;
  const kl::Pipeline& pipeline = *loaded;
  const kl::RunResult result = kl::run_pipeline(pipeline, options);
  std::cout << kl::summary_table(result) << std::flush;
  if (result.succeeded) {
    // Documents a person opens next (the report's HTML and Markdown): where they are.
    for (const auto& task : result.tasks) {
      if (task.kind != "container" || task.state != kl::TaskState::kSucceeded) continue;
      for (const auto& [name, artifact] : task.output_artifacts) {
        const std::string& title = artifact.type.schema_title;
        if (title == "system.HTML" || title == "system.Markdown") {
          std::cout << (title == "system.HTML" ? "HTML" : "Markdown") << " " << task.path << "."
                    << name << ": " << artifact.path.string() << '\n';
        }
      }
    }
    std::cout << std::flush;
    advkfp::log::info("pipeline '", result.pipeline, "' succeeded; summary in ",
                      result.summary_file.string());
    return kExitOk;
  }
  print_error(result.error);
  if (!result.log_tail.empty()) {
    std::istringstream lines(result.log_tail);
    for (std::string line; std::getline(lines, line);) std::cerr << "  | " << line << '\n';
  }
  return kExitFailure;
}

int validate(const fs::path& pipeline_file, const std::string& backend) {
  const auto loaded = load(pipeline_file, backend);
  if (!loaded) return kExitFailure;
  const kl::Pipeline& pipeline = *loaded;
  for (const auto& w : pipeline.warnings) advkfp::log::warn(w);
  std::cout << pipeline_file.string() << ": pipeline '" << pipeline.name << "' is valid ("
            << pipeline.components.size() << " components, " << pipeline.executors.size()
            << " executors) and runs on KFP backend "
            << (backend == "all" ? "2.0-2.17" : backend == "spec" ? "spec (as written)" : backend)
            << "\n";
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Run a compiled Kubeflow Pipelines IR (schemaVersion 2.1.0) of container "
      "components on this machine, without Docker or Kubernetes.",
      kTool};
  app.require_subcommand(1);
  app.fallthrough();  // global flags such as --verbose may follow the subcommand
  bool verbose = false;
  app.add_flag("-v,--verbose", verbose, "Log debug lines (the command line of every task).");

  fs::path pipeline_file;
  std::string backend = "all";
  const auto add_backend = [&](CLI::App* cmd) {
    cmd->add_option("--kfp-backend", backend,
                    "Refuse what this KFP backend cannot run: a release (2.0 to 2.5, 2.14 to "
                    "2.17, patch optional), all (every one of them) or spec (the IR as written).")
        ->capture_default_str();
  };
  kl::RunOptions options;
  options.bin_dir = own_folder();
  auto* run_cmd = app.add_subcommand("run", "Validate, then run every task in dependency order.");
  run_cmd->add_option("pipeline", pipeline_file, "Compiled pipeline (IR YAML).")
      ->required()
      ->check(CLI::ExistingFile);
  run_cmd
      ->add_option("--param", options.parameters,
                   "Pipeline parameter NAME=VALUE, parsed by its declared type (repeatable).")
      ->type_name("NAME=VALUE")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  run_cmd->add_option("--pipeline-root", options.pipeline_root,
                      "Folder for artifacts, logs and run-summary.json "
                      "[default: runs/<pipeline>-<timestamp>].");
  run_cmd->add_option("--bin-dir", options.bin_dir,
                      "Folder searched for component binaries before PATH "
                      "[default: the folder holding kfp-local].");
  run_cmd->add_option("--summary-json", options.summary_json,
                      "Also write the run summary JSON to this file.");
  add_backend(run_cmd);

  auto* validate_cmd = app.add_subcommand("validate", "Only check the pipeline, run nothing.");
  validate_cmd->add_option("pipeline", pipeline_file, "Compiled pipeline (IR YAML).")
      ->required()
      ->check(CLI::ExistingFile);
  add_backend(validate_cmd);

  if (const auto rc = advkfp::cli::parse_command_line(app, argc, argv, kTool)) return *rc;
  advkfp::log::configure(kTool, verbose ? advkfp::log::Level::kDebug : advkfp::log::Level::kInfo);
  int rc = kExitOk;
  const int thrown = advkfp::cli::guarded_quiet(kTool, [&] {
    rc = *run_cmd ? run(pipeline_file, backend, options) : validate(pipeline_file, backend);
  });
  return thrown != kExitOk ? thrown : rc;
}
