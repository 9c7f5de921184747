// The defence as a KFP run: create_run against a small HTTP server on loopback standing in for
// the KFP API server (facts in kfp_run.h), and the Role the deployment grants for it.
#include "kfp_run.h"

#include <httplib.h>
#include <yaml-cpp/yaml.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <mutex>
#include <thread>

#include "attacks/attacks.h"
#include "client.h"
#include "common/error.h"
#include "data/dataset.h"
#include "serve/serve_fixture.h"
#include "serve/server_process.h"
#include "support/files.h"
#include "support/helpers.h"

using namespace advkfp;
using namespace advkfp::test;
using Json = nlohmann::json;

namespace {

// An HTTP server on 127.0.0.1 (any free port) answering POST /apis/v2beta1/runs with `status`
// and `body`, and each GET with the next of `gets` (status, body; the last one repeated), and
// keeping what it was sent.
class FakeKfp {
 public:
  FakeKfp(int status, std::string body, std::vector<std::pair<int, std::string>> gets = {}) {
    server_.Post(R"(.*)", [this, status, body](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(mutex_);
      requests_.push_back(req);
      res.status = status;
      res.set_content(body, "application/json");
    });
    get_answers_ = std::move(gets);
    server_.Get(R"(.*)", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(mutex_);
      requests_.push_back(req);
      const auto& [code, answer] = get_answers_.at(std::min(gets_++, get_answers_.size() - 1));
      res.status = code;
      res.set_content(answer, "application/json");
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
  /// From now on every GET gets this answer.
  void answer_gets_with(int status, std::string body) {
    std::lock_guard<std::mutex> lock(mutex_);
    gets_ = 0;
    get_answers_ = {{status, std::move(body)}};
  }
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
  std::vector<std::pair<int, std::string>> get_answers_;
  size_t gets_ = 0;
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

// kubeflow/pipelines 2.17.0 run.proto: GetRun is GET /apis/v2beta1/runs/{run_id}; the state is
// a RuntimeState name, absent while unset; SUCCEEDED, SKIPPED, FAILED, CANCELED are final.
TEST_CASE(
    "serve: a KFP run is followed by GET /apis/v2beta1/runs/{run_id} until its state is final",
    "[serve][kfp]") {
  TempDir dir;
  write_text(dir / "token", "secret-token\n");
  FakeKfp kfp(200, "{}",
              {{503, R"({"error": "upstream connect error"})"},
               {200, R"({"run_id": "run/42"})"},
               {200, R"({"run_id": "run/42", "state": "PENDING"})"},
               {200, R"({"run_id": "run/42", "state": "RUNNING"})"},
               {200, R"({"run_id": "run/42", "state": "RUNNING"})"},
               {200, R"({"run_id": "run/42", "state": "CANCELING"})"},
               {200, R"({"run_id": "run/42", "state": "FAILED",
                        "error": {"code": 2, "message": "pgd-train: exit code 1"}})"}});
  serve::KfpRunConfig c;
  c.endpoint = kfp.url() + "/pipeline";
  c.pipeline_id = "p";
  c.token_file = dir / "token";
  c.poll_s = 0.01;
  std::vector<std::string> changes;
  std::vector<double> waits;
  const auto end = serve::follow_run(
      c, "run/42",
      [&](double s) {
        waits.push_back(s);
        return true;
      },
      [&](const serve::RunStatus& s) { changes.push_back(s.state + "|" + s.error); });
  CHECK(end.state == "FAILED");
  CHECK(end.error == "pgd-train: exit code 1");
  REQUIRE(changes.size() == 6);  // the second RUNNING is no change
  CHECK_THAT(changes[0], Catch::StartsWith("|") && Catch::Contains("answered 503") &&
                             Catch::Contains("upstream connect error"));
  CHECK(changes[1] == "|");
  CHECK(changes[2] == "PENDING|");
  CHECK(changes[3] == "RUNNING|");
  CHECK(changes[4] == "CANCELING|");
  CHECK(changes[5] == "FAILED|pgd-train: exit code 1");
  CHECK(waits.size() == 7);
  for (double w : waits) CHECK(w == Approx(0.01).margin(1e-9));
  const auto requests = kfp.requests();
  REQUIRE(requests.size() == 7);
  for (const auto& r : requests) {
    CHECK(r.method == "GET");
    CHECK(r.target == "/pipeline/apis/v2beta1/runs/run%2F42");  // the id is one path segment
    CHECK(r.get_header_value("Authorization") == "Bearer secret-token");
  }
  for (const char* state : {"SUCCEEDED", "SKIPPED", "FAILED", "CANCELED"})
    CHECK(serve::is_final_state(state));
  for (const char* state :
       {"", "PENDING", "RUNNING", "CANCELING", "PAUSED", "RUNTIME_STATE_UNSPECIFIED"}) {
    CHECK_FALSE(serve::is_final_state(state));
  }
}

TEST_CASE("serve: following a KFP run stops when told to and after the follow time",
          "[serve][kfp]") {
  FakeKfp kfp(200, "{}", {{200, R"({"run_id": "r", "state": "RUNNING"})"}});
  serve::KfpRunConfig c;
  c.endpoint = kfp.url();
  c.pipeline_id = "p";
  c.poll_s = 0.01;
  int polls = 0;
  const auto stopped = serve::follow_run(
      c, "r", [&](double) { return ++polls <= 3; }, [](const serve::RunStatus&) {});
  CHECK(stopped.state.empty());
  CHECK(kfp.requests().size() == 3);
  c.follow_timeout_s = 0.2;
  const auto t0 = std::chrono::steady_clock::now();
  const auto timed_out = serve::follow_run(
      c, "r",
      [](double s) {
        std::this_thread::sleep_for(std::chrono::duration<double>(s));
        return true;
      },
      [](const serve::RunStatus&) {});
  CHECK(timed_out.state.empty());
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));
  CHECK(kfp.requests().size() > 3);
  // A state that is not a name is a bad answer, not a state.
  FakeKfp numeric(200, "{}", {{200, R"({"run_id": "r", "state": 3})"}});
  c.endpoint = numeric.url();
  CHECK_THROWS_WITH(serve::get_run(c, "r"), Catch::Contains("not a name"));
}

TEST_CASE(
    "serve: an attacked stream starts a KFP run with its window and the defence runs until "
    "the run is final",
    "[serve][kfp][e2e]") {
  auto& f = fixture();
  TempDir work;
  data::save_dataset(work / "reference", f.test.slice(0, 500), data::ImageEncoding::kUint8, "ref");
  const fs::path windows = work / "windows";
  const int64_t window = 200;
  FakeKfp kfp(200, R"({"run_id": "run-7", "state": "PENDING"})",
              {{200, R"({"run_id": "run-7", "state": "RUNNING"})"}});
  ServerProcess server(work / "server", {"--model",
                                         f.model_dir.string(),
                                         "--watch-interval-s",
                                         "0",
                                         "--reference",
                                         (work / "reference").string(),
                                         "--window-size",
                                         std::to_string(window),
                                         "--consecutive",
                                         "1",
                                         "--windows-dir",
                                         windows.string(),
                                         "--cooldown-s",
                                         "0",
                                         "--kfp-endpoint",
                                         kfp.url(),
                                         "--kfp-pipeline-id",
                                         "defend-model",
                                         "--kfp-windows-uri",
                                         "minio://mlpipeline/windows",
                                         "--kfp-poll-s",
                                         "0.05"});
  auto c = server.client();
  // FGSM eps 0.15 against the served model: two windows, both judged `attack`.
  attacks::AttackConfig cfg;
  cfg.epsilon = 0.15;
  const auto clean = f.test.slice(500, 2 * window);
  const auto adv =
      attacks::attack_all(small_trained_model(), clean.images, clean.labels, cfg, 256, 0, 0);
  for (int64_t i = 0; i < adv.size(0); i += 50) {
    const auto flat = adv.narrow(0, i, 50).contiguous();
    const auto r = c.Post("/v2/models/fashion-cnn/infer",
                          serve::client::infer_request_body(
                              flat.data_ptr<float>(), flat.sizes().vec(), false, std::nullopt),
                          "application/json");
    REQUIRE(r);
    REQUIRE(r->status == 200);
  }
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  const auto judged = [&] {
    return server.metric(R"(advkfp_detect_windows_total{verdict="attack"})");
  };
  while (judged() < 2 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  INFO(server.log());
  REQUIRE(judged() == 2);
  // One run for the episode; while it runs, the second bad window starts nothing.
  CHECK(server.metric(R"(advkfp_defence_triggers_total{result="started"})") == 1);
  CHECK(server.metric(R"(advkfp_defence_running)") == 1);
  auto requests = kfp.requests();
  REQUIRE(requests.size() >= 1);
  CHECK(requests[0].method == "POST");
  const auto body = Json::parse(requests[0].body);
  const std::string uri = body["runtime_config"]["parameters"]["window_uri"];
  CHECK_THAT(uri, Catch::StartsWith("minio://mlpipeline/windows/"));
  REQUIRE(count_entries(windows) == 1);
  CHECK(fs::exists(windows / fs::path(uri).filename()));
  // The run is followed until it is final; then the defence is over.
  kfp.answer_gets_with(200, R"({"run_id": "run-7", "state": "SUCCEEDED"})");
  const auto ended = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (server.metric("advkfp_defence_running") != 0 && std::chrono::steady_clock::now() < ended) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CHECK(server.metric("advkfp_defence_running") == 0);
  CHECK(server.metric(R"(advkfp_defence_outcomes_total{result="succeeded"})") == 1);
  CHECK(server.log_lines_with("KFP run run-7: RUNNING") == 1);
  CHECK(server.log_lines_with("KFP run run-7 SUCCEEDED") == 1);
  requests = kfp.requests();
  CHECK(requests.back().method == "GET");
  CHECK(requests.back().path == "/apis/v2beta1/runs/run-7");
  CHECK(server.terminate() == 0);
}

TEST_CASE("serve: the deployment's Role lets the server create and read KFP runs and nothing more",
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
  // kubeflow/pipelines 2.17.0: createRun asks for verb create on runs of pipelines.kubeflow.org,
  // getRun (followed runs) for verb get.
  CHECK(rules[0]["apiGroups"].as<std::vector<std::string>>() == std::vector<std::string>{"pipelines.kubeflow.org"});
  CHECK(rules[0]["resources"].as<std::vector<std::string>>() == std::vector<std::string>{"runs"});
  CHECK(rules[0]["verbs"].as<std::vector<std::string>>() ==
        std::vector<std::string>({"create", "get"}));
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
