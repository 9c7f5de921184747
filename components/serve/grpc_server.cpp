// serve's gRPC front end (see grpc_server.h).
#include "grpc_server.h"

#include <grpcpp/resource_quota.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>

#include <algorithm>
#include <climits>

#include "common/error.h"
#include "common/log.h"
#include "common/version.h"
#include "grpc_predict_v2.grpc.pb.h"
#include "grpc_v2.h"

namespace advkfp::serve {

namespace pb = inference;
using Clock = std::chrono::steady_clock;

class GrpcServer::Service final : public pb::GRPCInferenceService::Service {
 public:
  Service(Frontend& frontend, Telemetry& telemetry) : frontend_(frontend), telemetry_(telemetry) {}

  grpc::Status ServerLive(grpc::ServerContext*, const pb::ServerLiveRequest*,
                          pb::ServerLiveResponse* response) override {
    return answer("ServerLive", "grpc_live", [&] { response->set_live(true); });
  }

  grpc::Status ServerReady(grpc::ServerContext*, const pb::ServerReadyRequest*,
                           pb::ServerReadyResponse* response) override {
    return answer("ServerReady", "grpc_ready", [&] { response->set_ready(frontend_.ready); });
  }

  grpc::Status ModelReady(grpc::ServerContext*, const pb::ModelReadyRequest* request,
                          pb::ModelReadyResponse* response) override {
    return answer("ModelReady", "grpc_model_ready", [&] {
      frontend_.find(request->name(), request->version());
      response->set_ready(frontend_.ready);
    });
  }

  grpc::Status ServerMetadata(grpc::ServerContext*, const pb::ServerMetadataRequest*,
                              pb::ServerMetadataResponse* response) override {
    return answer("ServerMetadata", "grpc_server_metadata", [&] {
      response->set_name(v2::kServerName);
      response->set_version(kVersion);
    });
  }

  grpc::Status ModelMetadata(grpc::ServerContext*, const pb::ModelMetadataRequest* request,
                             pb::ModelMetadataResponse* response) override {
    return answer("ModelMetadata", "grpc_model_metadata", [&] {
      const auto m = frontend_.find(request->name(), request->version());
      grpc_v2::model_metadata(frontend_.model_name, {m->version}, frontend_.input,
                              frontend_.outputs, *response);
    });
  }

  grpc::Status ModelInfer(grpc::ServerContext*, const pb::ModelInferRequest* request,
                          pb::ModelInferResponse* response) override {
    return answer("ModelInfer", "grpc_infer", [&] {
      frontend_.find(request->model_name(), request->model_version());
      bool raw = false;
      auto r = grpc_v2::parse_infer_request(*request, frontend_.input, frontend_.output_names,
                                            frontend_.max_request_images, raw);
      const auto a = frontend_.infer(r);
      response->set_model_name(frontend_.model_name);
      response->set_model_version(a.model->version);
      if (r.id) response->set_id(*r.id);
      for (const auto& name : r.outputs) {
        if (name == v2::kLogitsName) {
          const float* p = a.logits.data_ptr<float>();
          grpc_v2::add_output(*response, name, {a.logits.size(0), a.logits.size(1)},
                              std::vector<float>(p, p + a.logits.numel()), raw);
        } else {
          const auto cls = a.logits.argmax(1).contiguous();
          const int64_t* p = cls.data_ptr<int64_t>();
          grpc_v2::add_output(*response, name, {cls.size(0)},
                              std::vector<int64_t>(p, p + cls.numel()), raw);
        }
      }
    });
  }

 private:
  // Runs one call: a refused request (v2::RequestError) becomes its status with the message,
  // logged in one line; every call is counted with its latency.
  template <class F>
  grpc::Status answer(const char* rpc, const char* endpoint, F&& body) {
    const auto t0 = Clock::now();
    grpc::Status status = grpc::Status::OK;
    try {
      body();
    } catch (const v2::RequestError& e) {
      status = grpc::Status(grpc_v2::status_code(e.status()), e.what());
    } catch (const std::exception& e) {
      log::error("gRPC ", rpc, " failed: ", e.what());
      status = grpc::Status(grpc::StatusCode::INTERNAL, "internal error");
    }
    const auto code = grpc_v2::code_name(status.error_code());
    telemetry_.request(endpoint, code, std::chrono::duration<double>(Clock::now() - t0).count());
    if (!status.ok()) log::warn("gRPC ", rpc, " ", code, ": ", status.error_message());
    return status;
  }

  Frontend& frontend_;
  Telemetry& telemetry_;
};

GrpcServer::GrpcServer(Frontend& frontend, Telemetry& telemetry, const std::string& host, int port,
                       int64_t max_message_bytes, int64_t threads)
    : service_(std::make_unique<Service>(frontend, telemetry)) {
  grpc::ServerBuilder builder;
  const std::string address = (host.find(':') != std::string::npos ? "[" + host + "]" : host) +
                              ":" + std::to_string(port);
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &port_);
  builder.RegisterService(service_.get());
  builder.SetMaxReceiveMessageSize(static_cast<int>(std::min<int64_t>(max_message_bytes, INT32_MAX)));
  // The synchronous server takes a thread per call in progress (and its pollers); the quota
  // bounds them as http_threads bounds the REST connections (a call beyond it is answered
  // RESOURCE_EXHAUSTED by gRPC itself).
  grpc::ResourceQuota quota("advkfp-serve-grpc");
  quota.SetMaxThreads(static_cast<int>(threads) + 2);
  builder.SetResourceQuota(quota);
  server_ = builder.BuildAndStart();
  if (!server_ || port_ == 0) {
    throw Error(describe("grpc_port", "cannot listen on " + address +
                                          " (in use, or not an address of this machine)"));
  }
}

GrpcServer::~GrpcServer() { shutdown(std::chrono::seconds(0)); }

void GrpcServer::shutdown(std::chrono::seconds grace) {
  if (!server_) return;
  server_->Shutdown(std::chrono::system_clock::now() + grace);
  server_->Wait();
  server_.reset();
}

}  // namespace advkfp::serve
