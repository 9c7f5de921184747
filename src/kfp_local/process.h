// Starting a task's program directly (posix_spawn, never a shell) with its output in a log file.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "kfp_local/ir.h"

namespace advkfp::kfp_local {

/// What a process used (wait4's rusage): CPU time in user and kernel mode, peak memory, and
/// page faults, minor (a page mapped without I/O: fresh or returned memory) and major (read from
/// disk). Minor faults that grow with the work rather than with start-up are memory handed back
/// to the system and faulted in again (README "Speed").
struct ResourceUsage {
  double user_seconds = 0;
  double system_seconds = 0;
  /// The process's maximum resident set size. Linux starts it at the spawning process's own
  /// peak (fs/exec.c, exec_mmap: setmax_mm_hiwater_rss of the memory the child had before exec,
  /// which a posix_spawn child shares with its parent), so it is at least kfp-local's peak (a few
  /// tens of MB), and a task's own figure only above that.
  int64_t peak_rss_kb = 0;
  int64_t minor_faults = 0;
  int64_t major_faults = 0;
};

/// How a process ended.
struct ExitStatus {
  int exit_code = 0;  ///< the exit code when it exited normally
  int signal = 0;     ///< the signal that killed it, else 0
  ResourceUsage usage;
  bool ok() const { return signal == 0 && exit_code == 0; }
  /// "exited with code 3" or "was killed by signal 9 (Killed)".
  std::string describe() const;
};

/// Finds an executable file named `name` (a bare file name, no '/') in `dirs`, in order. Returns
/// an empty path when none has it.
std::filesystem::path find_executable(const std::string& name,
                                      const std::vector<std::filesystem::path>& dirs);

/// The folders of the PATH environment variable, in order.
std::vector<std::filesystem::path> path_directories();

/// Runs `exe` with argv = {exe, args...} and the current environment plus `env` (replacing
/// variables of the same name), stdin from /dev/null, stdout and stderr both appended to
/// `log_file` (created when missing; its folder must exist). Waits for it to end. Throws
/// advkfp::Error when the process cannot be started.
ExitStatus run_process(const std::filesystem::path& exe, const std::vector<std::string>& args,
                       const std::vector<EnvVar>& env, const std::filesystem::path& log_file);

}  // namespace advkfp::kfp_local
