// cli::run: owns main() for every tool. Binds a Spec to CLI11, validates, sets threads and seed,
// runs, and maps errors to exit codes (cli/edge.h: 0 ok, 1 runtime failure, 2 usage error).
#pragma once

#include <CLI/CLI.hpp>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <type_traits>

#include "cli/component.h"
#include "cli/edge.h"
#include "cli/spec.h"
#include "common/error.h"
#include "common/log.h"

namespace advkfp::cli {

/// Sets glibc malloc so that memory freed between batches stays in the process (no mmap'd blocks,
/// no trimming, one arena): the steady state of every loop then takes no page faults, whatever
/// MALLOC_*_ variables the environment sets. Called first thing by run(); see run.cpp for why.
void configure_allocator();

/// Applies CommonOptions: logging, thread count (0 = available cores), global seed. Returns the
/// thread count in use.
int64_t apply_common(const std::string& tool, const CommonOptions& common);
/// Checks before any work that an output path's folder can be created and written, so a long run
/// does not fail at the end. Throws advkfp::Error naming `what`.
void check_writable(const std::filesystem::path& path, const std::string& what);
/// guarded_quiet() with LibTorch's errors as one line and a closing "done in" line.
int guarded(const std::string& tool, const std::function<void()>& body);

/// Adds one CLI11 option per field of `spec`, bound to `options`.
template <class O>
void bind(CLI::App& app, const Spec<O>& spec, O& options) {
  for (const auto& f : spec.fields()) {
    const std::string flag = "--" + flag_name(f.name);
    std::visit(
        [&](auto member) {
          auto* opt = app.add_option(flag, options.*member, f.description);
          using T = std::decay_t<decltype(options.*member)>;
          if constexpr (std::is_same_v<T, std::filesystem::path>) {
            const bool required = (f.role != Role::kParameter) && !f.optional;
            if (required) opt->required();
            opt->type_name(f.role == Role::kInputArtifact ? "PATH" : "OUT");
          } else if constexpr (std::is_same_v<T, bool>) {
            opt->default_str(options.*member ? "true" : "false");
            opt->type_name("BOOL");
          } else {
            opt->capture_default_str();
            if constexpr (std::is_same_v<T, std::string>) {
              if (!f.choices.empty()) opt->check(CLI::IsMember(f.choices));
            }
          }
        },
        f.member);
  }
}

/// The tool's parameters (name -> value) without the flags that do not change its result
/// (threads, logging, checkpointing, keys): what identifies a run, e.g. for resuming it.
template <class O>
nlohmann::json result_parameters(const Spec<O>& spec, const O& options) {
  static const std::vector<std::string> kNotResult = {
      "threads", "log_every", "verbose", "checkpoint_dir", "resume", "signing_key", "trusted_key"};
  nlohmann::json out = nlohmann::json::object();
  for (const auto& f : spec.fields()) {
    if (f.role != Role::kParameter ||
        std::find(kNotResult.begin(), kNotResult.end(), f.name) != kNotResult.end()) {
      continue;
    }
    std::visit(
        [&](auto member) {
          using T = std::decay_t<decltype(options.*member)>;
          if constexpr (std::is_same_v<T, std::filesystem::path>) {
            out[f.name] = (options.*member).string();
          } else {
            out[f.name] = options.*member;
          }
        },
        f.member);
  }
  return out;
}

/// Validates numeric ranges declared in the spec. Throws advkfp::UsageError naming the field.
template <class O>
void validate(const Spec<O>& spec, const O& options) {
  for (const auto& f : spec.fields()) {
    if (!f.check) continue;
    std::visit(
        [&](auto member) {
          using T = std::decay_t<decltype(options.*member)>;
          if constexpr (std::is_same_v<T, double> || std::is_same_v<T, int64_t>) {
            const double v = static_cast<double>(options.*member);
            if (auto err = f.check(v)) throw UsageError(describe(f.name, *err));
          }
        },
        f.member);
  }
}

template <class O>
int run(int argc, char** argv, const Spec<O>& spec) {
  configure_allocator();
  if (wants_component_spec(argc, argv)) {
    return print_component_spec(spec.name(), argc, argv,
                                [&](const std::string& image) { return to_component(spec, image); });
  }
  CLI::App app{spec.description(), spec.name()};
  app.set_version_flag("--version", version_line(spec.name()));
  app.get_formatter()->column_width(34);
  O options;
  bind(app, spec, options);
  std::string executor_input;
  app.add_option("--executor-input", executor_input,
                 "KFP ExecutorInput JSON ({{$}}); when given, metadata and output parameters are "
                 "also written as ExecutorOutput for the KFP UI.");
  app.add_flag("--print-component-spec",
               "Print this tool's KFP component YAML (with --image REF or --images-config FILE) "
               "and exit.");
  if (const auto rc = parse_command_line(app, argc, argv, spec.name())) return *rc;
  return guarded(spec.name(), [&] {
    validate(spec, options);
    for (const auto& f : spec.fields()) {
      if (f.role != Role::kOutputArtifact && f.role != Role::kOutputParameter) continue;
      const auto& path = options.*std::get<std::filesystem::path O::*>(f.member);
      if (!path.empty()) check_writable(path, f.name);
    }
    nlohmann::json executor;
    if (!executor_input.empty()) executor = parse_executor_input(executor_input);
    for (const auto& f : spec.fields()) {  // optional inputs a KFP task provided (kIfBound)
      if (executor.is_null() || f.role != Role::kInputArtifact || !f.optional) continue;
      auto& path = options.*std::get<std::filesystem::path O::*>(f.member);
      if (path.empty()) path = input_artifact_path(executor, f.name);
    }
    const auto& common = static_cast<const CommonOptions&>(options);
    const int64_t threads = apply_common(spec.name(), common);
    log::info(version_line(spec.name()), ", ", threads, " threads, seed ", common.seed);
    clear_published_metadata();
    spec.invoke(options);
    if (!executor.is_null()) {
      std::vector<OutputDecl> outputs;
      for (const auto& f : spec.fields()) {
        if (f.role == Role::kOutputArtifact || f.role == Role::kOutputParameter) {
          outputs.push_back({f.name, f.role == Role::kOutputParameter, f.type});
        }
      }
      write_executor_output(executor, outputs);
    }
  });
}

}  // namespace advkfp::cli
