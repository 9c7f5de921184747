// The torch-free edge of every advkfp command line: exit codes, the one-line error, argument
// parsing with CLI11 and the exception-to-exit-code mapping. The component tools (cli/run.h),
// compile-pipeline and kfp-local all end here, so they report errors the same way.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <optional>
#include <string>

#include "kfp/component.h"

namespace advkfp::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

/// "<tool> (advkfp) <version>"
std::string version_line(const std::string& tool);
/// Prints "<tool>: error: <message>" (first line only) to stderr.
void print_error(const std::string& tool, const std::string& message);
/// Parses argv into `app`. Returns nothing when the command should go on, else its exit code:
/// kExitOk after --help/--version, kExitUsage after printing one error line for bad arguments.
std::optional<int> parse_command_line(CLI::App& app, int argc, char** argv,
                                      const std::string& tool);
/// Runs `body`, mapping exceptions to exit codes (advkfp::UsageError: 2, anything else: 1) and
/// printing one error line.
int guarded_quiet(const std::string& tool, const std::function<void()>& body);

/// Handles `--print-component-spec [--image REF | --images-config FILE]`: prints the component
/// YAML built by `make(image)` to stdout. Returns the exit code.
int print_component_spec(const std::string& tool, int argc, char** argv,
                         const std::function<kfp::ComponentSpec(const std::string&)>& make);
/// True when argv asks for the component spec.
bool wants_component_spec(int argc, char** argv);

}  // namespace advkfp::cli
