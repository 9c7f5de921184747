// Spawning the real binaries in tests: no shell, captured stdout/stderr, exit code.
#pragma once

#include <string>
#include <vector>

namespace advkfp::test {

struct ProcessResult {
  int exit_code = -1;  ///< exit status, or 128 + signal
  std::string out, err;
};

/// Runs `exe` with `args` (posix_spawn, no shell) and waits for it.
ProcessResult run_process(const std::string& exe, const std::vector<std::string>& args);
/// As above, with `env` ("NAME=VALUE") added to (or replacing in) this process's environment.
ProcessResult run_process(const std::string& exe, const std::vector<std::string>& args,
                          const std::vector<std::string>& env);

}  // namespace advkfp::test
