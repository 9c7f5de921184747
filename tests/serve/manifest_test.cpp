// deploy/kserve/inference-service.yaml against the server it deploys: its probes hit routes the
// server answers, on the port it listens on, as the image's user, and its arguments start a real
// server (paths mapped to temporary folders; host and port set by the test).
#include <yaml-cpp/yaml.h>

#include <catch2/catch.hpp>

#include "serve/server_process.h"
#include "support/helpers.h"

using namespace advkfp;
using namespace advkfp::test;

TEST_CASE("serve: the KServe InferenceService manifest starts a ready server", "[serve][e2e]") {
  const fs::path source = ADVKFP_SOURCE_DIR;
  const auto isvc = YAML::LoadFile((source / "deploy/kserve/inference-service.yaml").string());
  CHECK(isvc["apiVersion"].as<std::string>() == "serving.kserve.io/v1beta1");
  CHECK(isvc["kind"].as<std::string>() == "InferenceService");
  const auto predictor = isvc["spec"]["predictor"];
  REQUIRE(predictor["containers"].size() == 1);
  const auto c = predictor["containers"][0];
  CHECK(c["name"].as<std::string>() == "kserve-container");
  CHECK(predictor["securityContext"]["runAsNonRoot"].as<bool>());
  const auto uid = predictor["securityContext"]["runAsUser"].as<std::string>();
  CHECK_THAT(read_text(source / "containers/Dockerfile"), Catch::Contains("USER " + uid + ":" + uid));

  std::string port;
  std::vector<std::string> args;
  for (const auto& a : c["args"]) {
    const auto arg = a.as<std::string>();
    if (arg.rfind("--port=", 0) == 0) {
      port = arg.substr(7);
    } else if (arg.rfind("--host=", 0) != 0 && arg.rfind("--threads=", 0) != 0) {
      args.push_back(arg);
    }
  }
  CHECK(c["ports"][0]["containerPort"].as<std::string>() == port);
  CHECK(c["readinessProbe"]["httpGet"]["port"].as<std::string>() == port);
  CHECK(c["livenessProbe"]["httpGet"]["port"].as<std::string>() == port);

  // The same arguments, with the mounted folders replaced by local ones.
  TempDir work;
  fs::create_directories(work / "models");
  model::save_model(work / "models" / "fashion-cnn" / "1", small_trained_model(), "model");
  write_fashion_dataset(work / "models" / "reference", "t10k", 200);
  for (auto& a : args) {
    for (const std::string mount : {"/models", "/windows"}) {
      const auto at = a.find("=" + mount);
      if (at != std::string::npos) a = a.substr(0, at + 1) + (work.path().string() + mount) + a.substr(at + 1 + mount.size());
    }
  }
  ServerProcess server(work / "server", args);
  auto client = server.client();
  for (const char* probe : {"readinessProbe", "livenessProbe"}) {
    const auto path = c[probe]["httpGet"]["path"].as<std::string>();
    const auto r = client.Get(path);
    REQUIRE(r);
    INFO(probe << " " << path);
    CHECK(r->status == 200);
  }
  CHECK(server.terminate() == 0);
}
