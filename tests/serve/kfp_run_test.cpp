// The defence as a KFP run: create_run against a small HTTP server on loopback standing in for
// the KFP API server (facts in kfp_run.h), and the Role the deployment grants for it.
#include <httplib.h>
#include <yaml-cpp/yaml.h>

#include <catch2/catch.hpp>
#include <mutex>
#include <thread>

#include "common/error.h"
#include "kfp_run.h"
#include "support/files.h"

using namespace advkfp;
using namespace advkfp::test;
using Json = nlohmann::json;

namespace {

// An HTTP server on 127.0.0.1 (any free port) answering POST /apis/v2beta1/runs with `status`
// and `body`, and keeping what it was sent.
class FakeKfp {
 public:
  FakeKfp(int status, std::string body) {
    server_.Post(R"(.*)", [this, status, body](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(mutex_);
      requests_.push_back(req);
      res.status = status;
      res.set_content(body, "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    REQUIRE(port_ > 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // Bounded wait for the listener (the port is bound already: connections queue meanwhile).
    for (int i = 0; i < 500 && !server_.is_running(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  ~FakeKfp() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::vector<httplib::Request> requests() {
    std::lock_guard<std::mutex> lock(mutex_);
    return requests_;
  }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mutex_;
  std::vector<httplib::Request> requests_;
};

}  // namespace

TEST_CASE("serve: an alarm's KFP run is POST /apis/v2beta1/runs with the bearer token and the "
          "pipeline version's parameters",
          "[serve][kfp]") {
  TempDir dir;
  write_text(dir / "token", "secret-token\n");
  FakeKfp kfp(200, R"({"run_id": "run-42", "display_name": "x", "state": "PENDING"})");
  serve::KfpRunConfig c;
  c.endpoint = kfp.url() + "/pipeline/";  // a path prefix, as behind a gateway
  c.pipeline_id = "p-1";
  c.pipeline_version_id = "v-2";
  c.experiment_id = "e-3";
  c.token_file = dir / "token";
  c.parameters = {{"epsilon", 0.15}, {"model_uri", "minio://models/fashion-cnn/1"}};
  CHECK(serve::create_run(c, "advkfp defence w", "minio://windows/alarm-1") == "run-42");

  const auto requests = kfp.requests();
  REQUIRE(requests.size() == 1);
  const auto& r = requests[0];
  CHECK(r.method == "POST");
  CHECK(r.path == "/pipeline/apis/v2beta1/runs");
  CHECK(r.get_header_value("Authorization") == "Bearer secret-token");
  CHECK(r.get_header_value("Content-Type") == "application/json");
  CHECK(Json::parse(r.body) == Json::parse(R"({
    "display_name": "advkfp defence w",
    "experiment_id": "e-3",
    "pipeline_version_reference": {"pipeline_id": "p-1", "pipeline_version_id": "v-2"},
    "runtime_config": {"parameters": {"epsilon": 0.15, "model_uri": "minio://models/fashion-cnn/1",
                                      "window_uri": "minio://windows/alarm-1"}}})"));

  // No token file, no version, no experiment: none sent (the latest version, the default
  // experiment).
  serve::KfpRunConfig bare;
  bare.endpoint = kfp.url();
  bare.pipeline_id = "p-1";
  bare.window_parameter = "window";
  CHECK(serve::create_run(bare, "d", "/w") == "run-42");
  const auto second = kfp.requests().at(1);
  CHECK(second.path == "/apis/v2beta1/runs");
  CHECK_FALSE(second.has_header("Authorization"));
  CHECK(Json::parse(second.body) == Json::parse(R"({"display_name": "d",
    "pipeline_version_reference": {"pipeline_id": "p-1"},
    "runtime_config": {"parameters": {"window": "/w"}}})"));
}

TEST_CASE("serve: a refused or unreachable KFP run is an error naming the endpoint and the answer",
          "[serve][kfp]") {
  TempDir dir;
  serve::KfpRunConfig c;
  c.pipeline_id = "p";
  c.timeout_s = 5;
  {
    FakeKfp kfp(403, R"({"error": "not allowed to create runs"})");
    c.endpoint = kfp.url();
    CHECK_THROWS_WITH(serve::create_run(c, "d", "/w"),
                      Catch::Contains("answered 403") && Catch::Contains("not allowed to create runs"));
  }
  {
    FakeKfp kfp(200, R"({"state": "PENDING"})");
    c.endpoint = kfp.url();
    CHECK_THROWS_WITH(serve::create_run(c, "d", "/w"), Catch::Contains("without a run_id"));
    c.token_file = dir / "missing-token";
    CHECK_THROWS_WITH(serve::create_run(c, "d", "/w"), Catch::Contains("kfp_token_file"));
    CHECK(kfp.requests().size() == 1);  // nothing sent without its token
  }
  c.token_file.clear();
  c.endpoint = "http://127.0.0.1:1";  // nothing listens on port 1
  CHECK_THROWS_WITH(serve::create_run(c, "d", "/w"), Catch::Contains("kfp_endpoint"));
}

TEST_CASE("serve: the deployment's Role lets the server create KFP runs and nothing more",
          "[serve][kfp]") {
  const fs::path source = ADVKFP_SOURCE_DIR;
  const auto docs = YAML::LoadAllFromFile((source / "deploy/kserve/kfp-run-rbac.yaml").string());
  std::map<std::string, YAML::Node> by_kind;
  for (const auto& d : docs) by_kind[d["kind"].as<std::string>()] = d;
  REQUIRE(by_kind.count("ServiceAccount"));
  REQUIRE(by_kind.count("Role"));
  REQUIRE(by_kind.count("RoleBinding"));
  const auto rules = by_kind["Role"]["rules"];
  REQUIRE(rules.size() == 1);
  // kubeflow/pipelines 2.17.0: createRun asks for verb create on runs of pipelines.kubeflow.org.
  CHECK(rules[0]["apiGroups"].as<std::vector<std::string>>() == std::vector<std::string>{"pipelines.kubeflow.org"});
  CHECK(rules[0]["resources"].as<std::vector<std::string>>() == std::vector<std::string>{"runs"});
  CHECK(rules[0]["verbs"].as<std::vector<std::string>>() == std::vector<std::string>{"create"});
  const auto binding = by_kind["RoleBinding"];
  CHECK(binding["roleRef"]["kind"].as<std::string>() == "Role");
  CHECK(binding["roleRef"]["name"].as<std::string>() == by_kind["Role"]["metadata"]["name"].as<std::string>());
  CHECK(binding["subjects"][0]["kind"].as<std::string>() == "ServiceAccount");
  CHECK(binding["subjects"][0]["name"].as<std::string>() ==
        by_kind["ServiceAccount"]["metadata"]["name"].as<std::string>());
  // The predictor runs as that ServiceAccount.
  const auto isvc = YAML::LoadFile((source / "deploy/kserve/inference-service.yaml").string());
  CHECK(isvc["spec"]["predictor"]["serviceAccountName"].as<std::string>() ==
        by_kind["ServiceAccount"]["metadata"]["name"].as<std::string>());
}
