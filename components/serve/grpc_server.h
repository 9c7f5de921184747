// serve's gRPC front end: inference.GRPCInferenceService (KServe's v2 protocol over gRPC, see
// grpc_predict_v2.proto and grpc_v2.h) on gRPC's synchronous server. Every call goes through the
// same Frontend as the REST routes: one model lookup, one batcher, so live detection and hot
// swaps see gRPC traffic too. Each call is counted in /metrics (endpoint grpc_<rpc>, status the
// code's name) and a refused one is logged in one line.
#pragma once

#include <grpcpp/server.h>

#include <chrono>
#include <memory>
#include <string>

#include "frontend.h"
#include "telemetry.h"

namespace advkfp::serve {

class GrpcServer {
 public:
  /// Listens on host:port (0: any free port); `max_message_bytes` bounds a request, `threads`
  /// the calls served at once. Throws advkfp::Error when it cannot listen.
  GrpcServer(Frontend& frontend, Telemetry& telemetry, const std::string& host, int port,
             int64_t max_message_bytes, int64_t threads);
  ~GrpcServer();
  GrpcServer(const GrpcServer&) = delete;
  GrpcServer& operator=(const GrpcServer&) = delete;

  int port() const { return port_; }
  /// Stops accepting calls and waits for those in flight (cancelled after `grace`).
  void shutdown(std::chrono::seconds grace);

 private:
  class Service;
  std::unique_ptr<Service> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

}  // namespace advkfp::serve
