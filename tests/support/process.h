// Spawning the real binaries in tests: no shell, captured stdout/stderr, exit code.
#pragma once

#include <sys/types.h>

#include <optional>
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

/// This process's environment with `env` ("NAME=VALUE") added to it (or replacing a variable of
/// the same name), as posix_spawn's envp holds it.
std::vector<std::string> environment_with(const std::vector<std::string>& env);

/// A process started without waiting for it (posix_spawn, no shell), stdout and stderr appended
/// to `log`. The destructor kills (SIGKILL) and reaps it if it still runs.
class Spawned {
 public:
  Spawned(const std::string& exe, const std::vector<std::string>& args, const std::string& log);
  ~Spawned();
  Spawned(const Spawned&) = delete;
  Spawned& operator=(const Spawned&) = delete;

  /// The exit code (128 + signal when killed) once it has ended; nothing while it runs.
  std::optional<int> poll();
  /// Waits for the end; returns the exit code.
  int wait();
  /// Sends `signal` when it still runs.
  void kill(int signal);

 private:
  pid_t pid_ = -1;
  std::optional<int> code_;
};

}  // namespace advkfp::test
