// The serve process of the tests (see server_process.h).
#include "server_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "support/process.h"

namespace advkfp::test {
namespace fs = std::filesystem;

namespace {
std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}
}  // namespace

ServerProcess::ServerProcess(const fs::path& work_dir, std::vector<std::string> args,
                             std::chrono::seconds start_timeout,
                             const std::vector<std::string>& env) {
  fs::create_directories(work_dir);
  log_ = work_dir / "serve.log";
  const fs::path port_file = work_dir / "port";
  fs::remove(port_file);
  std::vector<std::string> all = {ADVKFP_SERVE_EXE, "--host", "127.0.0.1", "--port", "0",
                                  "--port-file", port_file.string(), "--log-every", "0"};
  const fs::path grpc_port_file = work_dir / "grpc-port";
  fs::remove(grpc_port_file);
  const bool grpc = std::find(args.begin(), args.end(), "--grpc-port") != args.end();
  if (grpc) args.insert(args.end(), {"--grpc-port-file", grpc_port_file.string()});
  if (std::find(args.begin(), args.end(), "--threads") == args.end()) {
    args.insert(args.end(), {"--threads", "1"});
  }
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  auto vars = environment_with(env);
  std::vector<char*> envp;
  for (auto& v : vars) envp.push_back(v.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 2, log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, ADVKFP_SERVE_EXE, &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot start serve");
  pid_ = pid;
  const auto until = std::chrono::steady_clock::now() + start_timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (fs::exists(port_file)) {  // written after the gRPC port's file
      port_ = std::stoi(read_all(port_file));
      if (grpc) grpc_port_ = std::stoi(read_all(grpc_port_file));
      return;
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("serve exited before listening:\n" + log());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  terminate();
  throw std::runtime_error("serve did not listen in time:\n" + log());
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) terminate();
}

httplib::Client ServerProcess::client() const {
  httplib::Client c("127.0.0.1", port_);
  c.set_tcp_nodelay(true);
  c.set_read_timeout(60, 0);
  c.set_write_timeout(60, 0);
  c.set_connection_timeout(10, 0);
  return c;
}

void ServerProcess::signal_term() {
  if (pid_ > 0) ::kill(pid_, SIGTERM);
}

int ServerProcess::wait(std::chrono::seconds timeout) {
  if (pid_ <= 0) return -1;
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return -1;
}

int ServerProcess::terminate(std::chrono::seconds timeout) {
  signal_term();
  return wait(timeout);
}

std::string ServerProcess::log() const { return read_all(log_); }

int64_t ServerProcess::log_lines_with(const std::string& needle) const {
  std::istringstream in(log());
  int64_t n = 0;
  for (std::string line; std::getline(in, line);) n += line.find(needle) != std::string::npos;
  return n;
}

double ServerProcess::metric(const std::string& sample) const {
  auto c = client();
  const auto r = c.Get("/metrics");
  if (!r || r->status != 200) return -1;
  std::istringstream in(r->body);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(sample + " ", 0) == 0) return std::stod(line.substr(sample.size() + 1));
  }
  return -1;
}

}  // namespace advkfp::test
