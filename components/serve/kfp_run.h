// Starting the defence as a run of a pipeline version on a Kubeflow Pipelines endpoint, through
// its REST API (the alternative to a command on a workstation). Torch-free.
//
// Facts from kubeflow/pipelines at tag 2.17.0:
// - backend/api/v2beta1/run.proto: rpc CreateRun is `POST /apis/v2beta1/runs` with the Run as
//   the body; Run has display_name, experiment_id, pipeline_version_reference {pipeline_id,
//   pipeline_version_id (unset: the latest version)} and runtime_config {parameters: a map of
//   google.protobuf.Value, pipeline_root} (runtime_config.proto); the answer is the created Run,
//   with its run_id;
// - backend/src/apiserver/common/const.go: the token comes as `Authorization: Bearer <token>`,
//   reviewed for the audience "pipelines.kubeflow.org"; creating a run is authorized as verb
//   "create" on resource "runs" of API group "pipelines.kubeflow.org" (run_server.go, createRun);
// - backend/src/apiserver/common/utils.go (CustomMarshaler): JSON field names are the proto's
//   snake_case names, and unknown fields are refused;
// - sdk/python/kfp/client/__init__.py: in a pod, the SDK reads that token from
//   /var/run/secrets/kubeflow/pipelines/token (a projected ServiceAccount token).
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

namespace advkfp::serve {

struct KfpRunConfig {
  std::string endpoint;  ///< http://host:port, optionally with a path prefix
  std::string pipeline_id, pipeline_version_id, experiment_id;  ///< version, experiment: optional
  std::filesystem::path token_file;  ///< a bearer token, read at each run; empty: none sent
  nlohmann::json parameters = nlohmann::json::object();  ///< fixed runtime parameters
  std::string window_parameter = "window_uri";  ///< the parameter that gets the window's location
  double timeout_s = 30;
};

/// The body of POST /apis/v2beta1/runs: a run of the configured pipeline version named
/// `display_name`, with the fixed parameters and `window_parameter` = `window_uri`.
nlohmann::json create_run_body(const KfpRunConfig& config, const std::string& display_name,
                               const std::string& window_uri);

/// Creates the run and returns its run_id. Throws advkfp::Error naming the endpoint and the
/// problem (unreachable, token file unreadable, an HTTP error status with the server's message).
std::string create_run(const KfpRunConfig& config, const std::string& display_name,
                       const std::string& window_uri);

}  // namespace advkfp::serve
