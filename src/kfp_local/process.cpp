// posix_spawn-based process runner and executable lookup.
#include "kfp_local/process.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "common/error.h"

extern char** environ;

namespace advkfp::kfp_local {
namespace fs = std::filesystem;

namespace {

// Owns posix_spawn_file_actions_t so every exit path destroys it.
class FileActions {
 public:
  FileActions() { posix_spawn_file_actions_init(&actions_); }
  ~FileActions() { posix_spawn_file_actions_destroy(&actions_); }
  FileActions(const FileActions&) = delete;
  FileActions& operator=(const FileActions&) = delete;
  posix_spawn_file_actions_t* get() { return &actions_; }

 private:
  posix_spawn_file_actions_t actions_;
};

// The current environment with `overrides` replacing or adding variables.
std::vector<std::string> merged_environment(const std::vector<EnvVar>& overrides) {
  std::vector<std::string> out;
  for (char** e = environ; e && *e; ++e) {
    const std::string entry = *e;
    const std::string name = entry.substr(0, entry.find('='));
    bool replaced = false;
    for (const auto& o : overrides) replaced = replaced || o.name == name;
    if (!replaced) out.push_back(entry);
  }
  for (const auto& o : overrides) out.push_back(o.name + "=" + o.value);
  return out;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

}  // namespace

std::string ExitStatus::describe() const {
  if (signal != 0) {
    return "was killed by signal " + std::to_string(signal) + " (" + strsignal(signal) + ")";
  }
  return "exited with code " + std::to_string(exit_code);
}

fs::path find_executable(const std::string& name, const std::vector<fs::path>& dirs) {
  for (const auto& dir : dirs) {
    if (dir.empty()) continue;
    const fs::path candidate = dir / name;
    std::error_code ec;
    if (fs::is_regular_file(candidate, ec) && ::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
  }
  return {};
}

std::vector<fs::path> path_directories() {
  std::vector<fs::path> out;
  const char* path = std::getenv("PATH");
  if (!path) return out;
  const std::string value = path;
  size_t start = 0;
  while (start <= value.size()) {
    const size_t end = std::min(value.find(':', start), value.size());
    // An empty PATH entry means the current folder.
    out.emplace_back(end == start ? fs::path(".") : fs::path(value.substr(start, end - start)));
    start = end + 1;
  }
  return out;
}

ExitStatus run_process(const fs::path& exe, const std::vector<std::string>& args,
                       const std::vector<EnvVar>& env, const fs::path& log_file) {
  std::vector<std::string> argv_strings{exe.string()};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<std::string> env_strings = merged_environment(env);
  std::vector<char*> argv = c_strings(argv_strings);
  std::vector<char*> envp = c_strings(env_strings);

  FileActions actions;
  posix_spawn_file_actions_addopen(actions.get(), STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(actions.get(), STDOUT_FILENO, log_file.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(actions.get(), STDOUT_FILENO, STDERR_FILENO);

  pid_t pid = 0;
  const int rc = posix_spawn(&pid, exe.c_str(), actions.get(), nullptr, argv.data(), envp.data());
  if (rc != 0) {
    throw Error("cannot start '" + exe.string() + "': " + std::strerror(rc));
  }
  int status = 0;
  struct rusage usage {};
  while (::wait4(pid, &status, 0, &usage) < 0) {
    if (errno != EINTR) {
      throw Error("cannot wait for '" + exe.string() + "': " + std::strerror(errno));
    }
  }
  ExitStatus result;
  const auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) * 1e-6;
  };
  result.usage.user_seconds = seconds(usage.ru_utime);
  result.usage.system_seconds = seconds(usage.ru_stime);
  result.usage.peak_rss_kb = usage.ru_maxrss;
  result.usage.minor_faults = usage.ru_minflt;
  result.usage.major_faults = usage.ru_majflt;
  if (WIFSIGNALED(status)) {
    result.signal = WTERMSIG(status);
  } else {
    result.exit_code = WEXITSTATUS(status);
  }
  return result;
}

}  // namespace advkfp::kfp_local
