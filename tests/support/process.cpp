// posix_spawn wrapper capturing output through temporary files (no pipe deadlocks on large logs).
#include "support/process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <stdexcept>

#include "support/helpers.h"

extern char** environ;

namespace advkfp::test {

ProcessResult run_process(const std::string& exe, const std::vector<std::string>& args) {
  return run_process(exe, args, {});
}

namespace {

int exit_code(int status) {
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

Spawned::Spawned(const std::string& exe, const std::vector<std::string>& args,
                 const std::string& log) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(exe.c_str()));
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const int rc = posix_spawn(&pid_, exe.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot spawn " + exe);
}

Spawned::~Spawned() {
  if (!code_) {
    kill(SIGKILL);
    wait();
  }
}

std::optional<int> Spawned::poll() {
  if (code_) return code_;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) == pid_) code_ = exit_code(status);
  return code_;
}

int Spawned::wait() {
  if (code_) return *code_;
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0) {
  }
  code_ = exit_code(status);
  return *code_;
}

void Spawned::kill(int signal) {
  if (!poll()) ::kill(pid_, signal);
}

std::vector<std::string> environment_with(const std::vector<std::string>& env) {
  std::vector<std::string> vars = env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string var(*e);
    const auto name = var.substr(0, var.find('=') + 1);
    bool replaced = false;
    for (const auto& v : env) replaced = replaced || v.rfind(name, 0) == 0;
    if (!replaced) vars.push_back(var);
  }
  return vars;
}

ProcessResult run_process(const std::string& exe, const std::vector<std::string>& args,
                          const std::vector<std::string>& env) {
  auto vars = environment_with(env);
  std::vector<char*> envp;
  for (auto& v : vars) envp.push_back(v.data());
  envp.push_back(nullptr);
  TempDir tmp;
  const auto out_path = tmp / "stdout", err_path = tmp / "stderr";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(exe.c_str()));
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, exe.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot spawn " + exe);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
  }
  ProcessResult r;
  r.exit_code = exit_code(status);
  r.out = read_text(out_path);
  r.err = read_text(err_path);
  return r;
}

}  // namespace advkfp::test
