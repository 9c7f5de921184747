// serve's v2 gRPC service end to end: a real server process on loopback, a client stub generated
// from the same grpc_predict_v2.proto (the wire form of KServe's and Triton's clients: same
// package, service, messages and field numbers). Facts on the protocol: see grpc_v2.h.
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <thread>

#include "client.h"
#include "data/dataset.h"
#include "grpc_predict_v2.grpc.pb.h"
#include "serve/serve_fixture.h"
#include "serve/server_process.h"
#include "support/helpers.h"

using namespace advkfp;
using namespace advkfp::test;
using Json = nlohmann::json;
using namespace std::chrono_literals;
namespace pb = inference;

namespace {

constexpr const char* kName = "fashion-cnn";

std::unique_ptr<pb::GRPCInferenceService::Stub> stub_of(const ServerProcess& server) {
  REQUIRE(server.grpc_port() > 0);
  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(server.grpc_port()),
                                     grpc::InsecureChannelCredentials());
  return pb::GRPCInferenceService::NewStub(channel);
}

// One call with a 60 s deadline (every wait of the tests is bounded).
template <class Request, class Response, class Method>
grpc::Status call(pb::GRPCInferenceService::Stub& stub, Method method, const Request& request,
                  Response& response) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + 60s);
  return (stub.*method)(&context, request, &response);
}

grpc::Status infer(pb::GRPCInferenceService::Stub& stub, const pb::ModelInferRequest& request,
                   pb::ModelInferResponse& response) {
  return call(stub, &pb::GRPCInferenceService::Stub::ModelInfer, request, response);
}

// A request for images [n,1,28,28] in [0,1]: FP32 or UINT8 (round(v*255), exact for images read
// from 8-bit files), typed in `contents` or little-endian in raw_input_contents.
pb::ModelInferRequest infer_request(const torch::Tensor& images, bool uint8, bool raw,
                                    const std::string& model = kName) {
  pb::ModelInferRequest r;
  r.set_model_name(model);
  auto& in = *r.add_inputs();
  in.set_name("input");
  in.set_datatype(uint8 ? "UINT8" : "FP32");
  for (const auto d : images.sizes()) in.add_shape(d);
  const auto flat = images.contiguous();
  const float* p = flat.data_ptr<float>();
  const int64_t n = flat.numel();
  if (raw) {
    std::string& bytes = *r.add_raw_input_contents();
    for (int64_t i = 0; i < n; ++i) {
      if (uint8) {
        bytes.push_back(static_cast<char>(std::lround(p[i] * 255.0f)));
      } else {
        uint32_t bits;
        std::memcpy(&bits, &p[i], 4);
        for (int b = 0; b < 4; ++b) bytes.push_back(static_cast<char>((bits >> (8 * b)) & 0xff));
      }
    }
  } else {
    for (int64_t i = 0; i < n; ++i) {
      if (uint8) {
        in.mutable_contents()->add_uint_contents(static_cast<uint32_t>(std::lround(p[i] * 255.0f)));
      } else {
        in.mutable_contents()->add_fp32_contents(p[i]);
      }
    }
  }
  return r;
}

// The logits output [n, K] of a response, typed or raw (little-endian); undefined when the
// response has none or a malformed one. No assertions: client threads call it.
torch::Tensor logits_of(const pb::ModelInferResponse& r) {
  for (int i = 0; i < r.outputs_size(); ++i) {
    const auto& o = r.outputs(i);
    if (o.name() != "logits") continue;
    if (o.datatype() != "FP32" || o.shape_size() != 2) return {};
    const auto n = static_cast<size_t>(o.shape(0) * o.shape(1));
    std::vector<float> v;
    if (r.raw_output_contents_size() > 0) {
      const std::string& bytes = r.raw_output_contents(i);
      if (bytes.size() != 4 * n) return {};
      for (size_t k = 0; k < bytes.size(); k += 4) {
        uint32_t bits = 0;
        for (size_t b = 0; b < 4; ++b) {
          bits |= static_cast<uint32_t>(static_cast<unsigned char>(bytes[k + b])) << (8 * b);
        }
        float f;
        std::memcpy(&f, &bits, 4);
        v.push_back(f);
      }
    } else {
      v.assign(o.contents().fp32_contents().begin(), o.contents().fp32_contents().end());
      if (v.size() != n) return {};
    }
    return torch::tensor(v).view({o.shape(0), o.shape(1)});
  }
  return {};
}

// The logits REST answers for `images` (sent as FP32); undefined on any failure. No assertions:
// client threads call it.
torch::Tensor rest_logits(const ServerProcess& server, const torch::Tensor& images) {
  const auto flat = images.contiguous();
  auto c = server.client();
  const auto r = c.Post("/v2/models/fashion-cnn/infer",
                        serve::client::infer_request_body(flat.data_ptr<float>(), flat.sizes().vec(), false),
                        "application/json");
  if (!r || r->status != 200) return {};
  const auto j = Json::parse(r->body);
  const auto& o = j["outputs"][0];
  if (o["name"] != "logits") return {};
  return torch::tensor(o["data"].get<std::vector<float>>())
      .view({o["shape"][0].get<int64_t>(), o["shape"][1].get<int64_t>()});
}


}  // namespace

TEST_CASE("serve: v2 gRPC health and metadata as grpc_predict_v2.proto defines them, as REST says",
          "[serve][grpc][e2e]") {
  auto& f = fixture();
  TempDir work;
  ServerProcess server(work.path(), {"--model", f.model_dir.string(), "--watch-interval-s", "0",
                                     "--grpc-port", "0"});
  auto stub = stub_of(server);
  using S = pb::GRPCInferenceService::Stub;

  pb::ServerLiveResponse live;
  REQUIRE(call(*stub, &S::ServerLive, pb::ServerLiveRequest(), live).ok());
  CHECK(live.live());
  pb::ServerReadyResponse ready;
  REQUIRE(call(*stub, &S::ServerReady, pb::ServerReadyRequest(), ready).ok());
  CHECK(ready.ready());
  for (const std::string version : {std::string(), f.version}) {
    pb::ModelReadyRequest req;
    req.set_name(kName);
    req.set_version(version);
    pb::ModelReadyResponse res;
    INFO("version '" << version << "'");
    REQUIRE(call(*stub, &S::ModelReady, req, res).ok());
    CHECK(res.ready());
  }
  // An unknown model is NOT_FOUND, with KServe's message (its ModelNotFound).
  pb::ModelReadyRequest unknown;
  unknown.set_name("no-such-model");
  pb::ModelReadyResponse unknown_res;
  const auto s = call(*stub, &S::ModelReady, unknown, unknown_res);
  CHECK(s.error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(s.error_message() == "Model with name no-such-model does not exist.");

  auto c = server.client();
  const auto rest_server = Json::parse(c.Get("/v2")->body);
  pb::ServerMetadataResponse sm;
  REQUIRE(call(*stub, &S::ServerMetadata, pb::ServerMetadataRequest(), sm).ok());
  CHECK(sm.name() == rest_server["name"].get<std::string>());
  CHECK(sm.version() == rest_server["version"].get<std::string>());
  CHECK(sm.extensions_size() == 0);

  const auto rest_model = Json::parse(c.Get("/v2/models/fashion-cnn")->body);
  pb::ModelMetadataRequest mreq;
  mreq.set_name(kName);
  pb::ModelMetadataResponse m;
  REQUIRE(call(*stub, &S::ModelMetadata, mreq, m).ok());
  CHECK(m.name() == kName);
  REQUIRE(m.versions_size() == 1);
  CHECK(m.versions(0) == f.version);
  CHECK(m.platform() == "pytorch_torchscript");
  const auto as_json = [](const google::protobuf::RepeatedPtrField<
                          pb::ModelMetadataResponse::TensorMetadata>& tensors) {
    Json out = Json::array();
    for (const auto& t : tensors) {
      out.push_back({{"name", t.name()},
                     {"datatype", t.datatype()},
                     {"shape", std::vector<int64_t>(t.shape().begin(), t.shape().end())}});
    }
    return out;
  };
  CHECK(as_json(m.inputs()) == rest_model["inputs"]);
  CHECK(as_json(m.outputs()) == rest_model["outputs"]);
  CHECK(server.metric(R"(advkfp_serve_requests_total{endpoint="grpc_model_ready",status="NOT_FOUND"})") == 1);
  CHECK(server.metric(R"(advkfp_serve_requests_total{endpoint="grpc_model_metadata",status="OK"})") == 1);
  CHECK(server.terminate() == 0);
}

TEST_CASE("serve: gRPC inference, typed and raw, FP32 and UINT8, gives REST's logits through the "
          "same batcher",
          "[serve][grpc][e2e]") {
  auto& f = fixture();
  TempDir work;
  ServerProcess server(work.path(), {"--model", f.model_dir.string(), "--watch-interval-s", "0",
                                     "--grpc-port", "0"});
  auto stub = stub_of(server);
  const auto images = f.test.images.narrow(0, 0, 5);
  const auto rest = rest_logits(server, images);
  REQUIRE(rest.defined());
  // REST's and the in-process pass: another batch composition, equal up to rounding.
  CHECK(torch::allclose(rest, reference_logits(images), 1e-4, 1e-4));
  const auto cls = rest.argmax(1).contiguous();
  const std::vector<int64_t> want(cls.data_ptr<int64_t>(), cls.data_ptr<int64_t>() + 5);

  for (const bool uint8 : {false, true}) {
    for (const bool raw : {false, true}) {
      INFO((uint8 ? "UINT8" : "FP32") << (raw ? " raw" : " typed"));
      auto req = infer_request(images, uint8, raw);
      req.set_id("req-" + std::to_string(uint8) + std::to_string(raw));
      pb::ModelInferResponse res;
      const auto s = infer(*stub, req, res);
      INFO(s.error_message());
      REQUIRE(s.ok());
      CHECK(res.model_name() == kName);
      CHECK(res.model_version() == f.version);
      CHECK(res.id() == req.id());
      REQUIRE(res.outputs_size() == 2);
      CHECK(res.outputs(1).name() == "class_index");
      CHECK(res.outputs(1).datatype() == "INT64");
      CHECK(std::vector<int64_t>(res.outputs(1).shape().begin(), res.outputs(1).shape().end()) ==
            std::vector<int64_t>{5});
      // Raw inputs get raw outputs (KServe's rule; what tritonclient reads), typed get typed.
      CHECK(res.raw_output_contents_size() == (raw ? 2 : 0));
      std::vector<int64_t> got;
      if (raw) {
        CHECK_FALSE(res.outputs(0).has_contents());
        const std::string& bytes = res.raw_output_contents(1);
        REQUIRE(bytes.size() == 5 * 8);
        for (size_t k = 0; k < bytes.size(); k += 8) {
          uint64_t v = 0;
          for (int b = 0; b < 8; ++b) v |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[k + b])) << (8 * b);
          got.push_back(static_cast<int64_t>(v));
        }
      } else {
        got.assign(res.outputs(1).contents().int64_contents().begin(),
                   res.outputs(1).contents().int64_contents().end());
      }
      CHECK(got == want);
      const auto logits = logits_of(res);
      REQUIRE(logits.defined());
      CHECK(torch::allclose(logits, rest, 1e-5, 1e-5));
    }
  }
  // Only the outputs asked for.
  auto only = infer_request(images, true, true);
  only.add_outputs()->set_name("class_index");
  pb::ModelInferResponse only_res;
  REQUIRE(infer(*stub, only, only_res).ok());
  REQUIRE(only_res.outputs_size() == 1);
  CHECK(only_res.outputs(0).name() == "class_index");
  CHECK(only_res.raw_output_contents_size() == 1);

  // One batcher: the forward passes counted 5 images per request of either protocol.
  CHECK(server.metric(R"(advkfp_serve_requests_total{endpoint="grpc_infer",status="OK"})") == 5);
  CHECK(server.metric(R"(advkfp_serve_requests_total{endpoint="infer",status="200"})") == 1);
  CHECK(server.metric("advkfp_serve_batch_size_sum") == 6 * 5);
  CHECK(server.terminate() == 0);
}

TEST_CASE("serve: bad gRPC requests get their status code and a message, one log line each, and "
          "serving goes on",
          "[serve][grpc][e2e]") {
  auto& f = fixture();
  TempDir work;
  ServerProcess server(work.path(), {"--model", f.model_dir.string(), "--watch-interval-s", "0",
                                     "--grpc-port", "0", "--max-request-images", "16"});
  auto stub = stub_of(server);
  const auto one = f.test.images.narrow(0, 0, 1);
  const auto good = infer_request(one, true, false);

  struct Case {
    std::string what;
    pb::ModelInferRequest request;
    grpc::StatusCode code;
    std::string message;  // a part of the status message
  };
  std::vector<Case> cases;
  const auto add = [&](std::string what, pb::ModelInferRequest r, grpc::StatusCode code,
                       std::string message) {
    cases.push_back({std::move(what), std::move(r), code, std::move(message)});
  };
  using C = grpc::StatusCode;
  {
    auto r = good;
    r.mutable_inputs(0)->clear_shape();
    for (const int64_t d : {1, 28, 28}) r.mutable_inputs(0)->add_shape(d);
    add("wrong shape", r, C::INVALID_ARGUMENT, "has shape [1, 28, 28]; the model takes [-1, 1, 28, 28]");
  }
  {
    auto r = good;
    r.mutable_inputs(0)->set_datatype("INT32");
    add("wrong datatype", r, C::INVALID_ARGUMENT, "datatype 'INT32'");
  }
  {
    auto r = good;
    r.mutable_inputs(0)->set_name("x");
    add("wrong input name", r, C::INVALID_ARGUMENT, "unknown input 'x'");
  }
  add("unknown model", infer_request(one, true, false, "no-such-model"), C::NOT_FOUND,
      "Model with name no-such-model does not exist.");
  {
    auto r = good;
    r.set_model_version("nope");
    add("unknown version", r, C::NOT_FOUND, "has no version nope");
  }
  add("too many images", infer_request(f.test.images.narrow(0, 0, 17), true, false),
      C::INVALID_ARGUMENT, "1 to 16 per request");
  {
    auto r = infer_request(one, false, false);
    r.mutable_inputs(0)->mutable_contents()->set_fp32_contents(3, 1.5f);
    add("FP32 value out of range", r, C::INVALID_ARGUMENT, "outside [0, 1]");
  }
  {
    auto r = good;
    r.mutable_inputs(0)->mutable_contents()->set_uint_contents(0, 256);
    add("UINT8 value out of range", r, C::INVALID_ARGUMENT, "outside 0..255");
  }
  {
    auto r = good;
    r.mutable_inputs(0)->mutable_contents()->mutable_uint_contents()->RemoveLast();
    add("too few typed elements", r, C::INVALID_ARGUMENT, "has 783 uint_contents (UINT8)");
  }
  {
    auto r = infer_request(one, false, false);  // FP32 declared, UINT8 field used
    r.mutable_inputs(0)->mutable_contents()->clear_fp32_contents();
    r.mutable_inputs(0)->mutable_contents()->add_uint_contents(0);
    add("data in the wrong typed field", r, C::INVALID_ARGUMENT, "has 0 fp32_contents");
  }
  {
    auto r = infer_request(one, false, true);
    r.mutable_raw_input_contents(0)->pop_back();
    add("raw contents of the wrong size", r, C::INVALID_ARGUMENT, "has 3135 bytes of raw_input_contents");
  }
  {
    auto r = infer_request(one, true, true);
    r.mutable_inputs(0)->mutable_contents()->add_uint_contents(0);
    add("raw and typed contents", r, C::INVALID_ARGUMENT, "has 'contents' although");
  }
  {
    auto r = infer_request(one, true, true);
    r.add_raw_input_contents("x");
    add("two raw contents for one input", r, C::INVALID_ARGUMENT, "2 entries for 1 input");
  }
  {
    auto r = good;
    r.add_outputs()->set_name("probabilities");
    add("unknown output", r, C::INVALID_ARGUMENT, "unknown output 'probabilities'");
  }

  int64_t invalid = 0, not_found = 0;
  for (const auto& c : cases) {
    INFO(c.what);
    pb::ModelInferResponse res;
    const auto s = infer(*stub, c.request, res);
    CHECK(s.error_code() == c.code);
    CHECK_THAT(s.error_message(), Catch::Contains(c.message));
    (c.code == C::NOT_FOUND ? not_found : invalid)++;
    pb::ModelInferResponse ok;
    CHECK(infer(*stub, good, ok).ok());
  }
  INFO(server.log());
  CHECK(server.log_lines_with("gRPC ModelInfer INVALID_ARGUMENT: ") == invalid);
  CHECK(server.log_lines_with("gRPC ModelInfer NOT_FOUND: ") == not_found);
  CHECK(server.metric(R"(advkfp_serve_requests_total{endpoint="grpc_infer",status="OK"})") ==
        static_cast<double>(cases.size()));
  CHECK(server.metric(R"(advkfp_serve_requests_total{endpoint="grpc_infer",status="INVALID_ARGUMENT"})") ==
        static_cast<double>(invalid));
  CHECK(server.terminate() == 0);
}

TEST_CASE("serve: gRPC under load: a full queue is UNAVAILABLE, concurrent gRPC and REST requests "
          "share batches, SIGTERM finishes the calls in flight",
          "[serve][grpc][e2e]") {
  auto& f = fixture();
  const auto one = f.test.images.narrow(0, 0, 1);
  {
    // The batcher holds its first request up to 1 s for more to join; the queue takes one.
    TempDir work;
    ServerProcess server(work.path(), {"--model", f.model_dir.string(), "--watch-interval-s", "0",
                                       "--grpc-port", "0", "--queue-size", "1",
                                       "--max-batch-delay-ms", "1000", "--max-batch-size", "64"});
    auto stub = stub_of(server);
    std::atomic<int> ok{0}, busy{0}, other{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 6; ++t) {
      threads.emplace_back([&] {
        pb::ModelInferResponse res;
        const auto s = infer(*stub, infer_request(one, true, false), res);
        if (s.ok()) {
          ++ok;
        } else if (s.error_code() == grpc::StatusCode::UNAVAILABLE &&
                   s.error_message().find("busy") != std::string::npos) {
          ++busy;
        } else {
          ++other;
        }
      });
    }
    for (auto& t : threads) t.join();
    CHECK(other == 0);
    CHECK(ok >= 1);
    CHECK(busy >= 1);
    CHECK(server.terminate() == 0);
  }
  {
    // 6 gRPC and 2 REST clients, 10 requests of 4 images each; a request waits up to 50 ms for
    // others to join its batch.
    TempDir work;
    ServerProcess server(work.path(), {"--model", f.model_dir.string(), "--watch-interval-s", "0",
                                       "--grpc-port", "0", "--max-batch-size", "32",
                                       "--max-batch-delay-ms", "50", "--http-threads", "8"});
    auto stub = stub_of(server);
    const int64_t per_request = 4, per_client = 10, grpc_clients = 6, rest_clients = 2;
    const int64_t clients = grpc_clients + rest_clients;
    const auto images = f.test.images.narrow(0, 0, clients * per_client * per_request);
    std::vector<torch::Tensor> logits(static_cast<size_t>(clients * per_client));
    std::atomic<int64_t> failed{0};
    std::vector<std::thread> threads;
    for (int64_t t = 0; t < clients; ++t) {
      threads.emplace_back([&, t] {
        for (int64_t k = 0; k < per_client; ++k) {
          const int64_t i = t * per_client + k;
          const auto part = images.narrow(0, i * per_request, per_request);
          if (t < grpc_clients) {
            pb::ModelInferResponse res;
            if (!infer(*stub, infer_request(part, true, (k % 2) == 1), res).ok()) {
              ++failed;
              continue;
            }
            logits[static_cast<size_t>(i)] = logits_of(res);
          } else {
            logits[static_cast<size_t>(i)] = rest_logits(server, part);
          }
          if (!logits[static_cast<size_t>(i)].defined()) ++failed;
        }
      });
    }
    for (auto& t : threads) t.join();
    REQUIRE(failed == 0);
    CHECK(torch::allclose(torch::cat(logits, 0), reference_logits(images), 1e-4, 1e-4));
    const double requests = static_cast<double>(clients * per_client);
    CHECK(server.metric("advkfp_serve_batch_size_sum") == requests * per_request);
    CHECK(server.metric("advkfp_serve_batch_size_count") < requests);  // requests shared batches
    CHECK(server.terminate() == 0);
  }
  {
    TempDir work;
    ServerProcess server(work.path(), {"--model", f.model_dir.string(), "--watch-interval-s", "0",
                                       "--grpc-port", "0", "--max-batch-delay-ms", "1000",
                                       "--max-batch-size", "64"});
    auto stub = stub_of(server);
    std::atomic<int> ok{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&] {
        pb::ModelInferResponse res;
        if (infer(*stub, infer_request(one, true, true), res).ok()) ++ok;
      });
    }
    // All four are queued (the batcher holds them for 1 s) when the signal arrives.
    const auto until = std::chrono::steady_clock::now() + 10s;
    while (server.metric("advkfp_serve_queue_depth") < 4 && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(20ms);
    }
    server.signal_term();
    for (auto& t : threads) t.join();
    CHECK(ok == 4);
    CHECK(server.wait(60s) == 0);
  }
}
