// A real `serve` process on loopback for the tests: started with --port 0, its port read from
// --port-file, stderr in a log file, stopped with SIGTERM. Every wait is bounded.
#pragma once

#include <httplib.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace advkfp::test {

class ServerProcess {
 public:
  /// Starts serve with `args` (plus --host 127.0.0.1 --port 0 --port-file, --threads 1,
  /// --log-every 0, and --grpc-port-file when `args` hold --grpc-port) and waits up to
  /// `start_timeout` for it to listen. `env` ("NAME=value") is added to this process's environment.
  ServerProcess(const std::filesystem::path& work_dir, std::vector<std::string> args,
                std::chrono::seconds start_timeout = std::chrono::seconds(120),
                const std::vector<std::string>& env = {});
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  int port() const { return port_; }
  /// The gRPC port (0 when started without --grpc-port).
  int grpc_port() const { return grpc_port_; }
  httplib::Client client() const;
  /// Sends SIGTERM and waits up to `timeout` for the exit code (then SIGKILL, and -1).
  int terminate(std::chrono::seconds timeout = std::chrono::seconds(60));
  /// Sends SIGTERM without waiting.
  void signal_term();
  int wait(std::chrono::seconds timeout);
  std::string log() const;
  /// Counts the log lines holding `needle`.
  int64_t log_lines_with(const std::string& needle) const;
  /// The value of a sample in /metrics ("name{labels}" exactly as exposed), or -1 when absent.
  double metric(const std::string& sample) const;

 private:
  int pid_ = -1;
  int port_ = 0;
  int grpc_port_ = 0;
  std::filesystem::path log_;
};

}  // namespace advkfp::test
