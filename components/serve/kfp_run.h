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
//   /var/run/secrets/kubeflow/pipelines/token (a projected ServiceAccount token);
// - run.proto: rpc GetRun is `GET /apis/v2beta1/runs/{run_id}`, authorized as verb "get" on
//   "runs" (run_server.go, getRun); the Run's `state` (field 13) is a RuntimeState, written by
//   name (protojson's default; CustomMarshaler sets EmitUnpopulated false, so an unset state is
//   absent): PENDING, RUNNING, SUCCEEDED, SKIPPED, FAILED, CANCELING, CANCELED, PAUSED; `error`
//   (field 14) is a google.rpc.Status {code, message}. SUCCEEDED, SKIPPED, FAILED and CANCELED
//   are final (CANCELING "may only change its state to SUCCEEDED, FAILED or CANCELED"; PAUSED
//   "can be resumed").
#pragma once

#include <filesystem>
#include <functional>
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
  double poll_s = 30;               ///< between two GETs of a run being followed
  double follow_timeout_s = 86400;  ///< a run not final by then is no longer followed
};

/// What GET /apis/v2beta1/runs/{run_id} says of a run.
struct RunStatus {
  std::string state;  ///< the RuntimeState's name; empty when the answer has none
  std::string error;  ///< error.message, when the answer has one
};

/// SUCCEEDED, SKIPPED, FAILED, CANCELED.
bool is_final_state(const std::string& state);

/// The body of POST /apis/v2beta1/runs: a run of the configured pipeline version named
/// `display_name`, with the fixed parameters and `window_parameter` = `window_uri`.
nlohmann::json create_run_body(const KfpRunConfig& config, const std::string& display_name,
                               const std::string& window_uri);

/// Creates the run and returns its run_id. Throws advkfp::Error naming the endpoint and the
/// problem (unreachable, token file unreadable, an HTTP error status with the server's message).
std::string create_run(const KfpRunConfig& config, const std::string& display_name,
                       const std::string& window_uri);

/// One GET of the run. Throws advkfp::Error as create_run does.
RunStatus get_run(const KfpRunConfig& config, const std::string& run_id);

/// Follows a run until it is final: GETs it every config.poll_s (sleeping through `wait`, which
/// returns false to stop following), calling `on_change` with each new state and with each
/// failed GET (state empty, error the failure; the next poll tries again). Returns the final
/// status, or an empty state when stopped or when config.follow_timeout_s passed first.
RunStatus follow_run(const KfpRunConfig& config, const std::string& run_id,
                     const std::function<bool(double seconds)>& wait,
                     const std::function<void(const RunStatus&)>& on_change);

}  // namespace advkfp::serve
