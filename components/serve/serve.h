// serve: a model folder (or a models/<version>/ tree) over KServe's Open Inference Protocol v2
// (REST, and gRPC with --grpc-port), with dynamic batching, Prometheus metrics, label-free
// detection on the served traffic that starts a defence command, and hot model swaps. A long-running server, so a CLI with its own
// image rather than a pipeline step.
#pragma once

#include <filesystem>
#include <string>

#include "attacks/settings.h"
#include "cli/spec.h"
#include "detection/shifts.h"

namespace advkfp::serve {

struct Options : cli::CommonOptions {
  std::filesystem::path model;
  std::string model_name = "fashion-cnn";
  std::string host = "127.0.0.1";
  int64_t port = 8080;
  std::filesystem::path port_file;
  int64_t grpc_port = -1;  ///< -1: no gRPC
  std::filesystem::path grpc_port_file;
  int64_t http_threads = 16;
  int64_t max_batch_size = 32;
  double max_batch_delay_ms = 2;
  int64_t queue_size = 256;
  int64_t max_request_images = 256;
  int64_t max_body_bytes = 8 << 20;
  double request_timeout_s = 10;
  double read_timeout_s = 5;
  double watch_interval_s = 2;
  std::filesystem::path gate_dataset;
  double gate_epsilon = attacks::kDefaultEpsilon;
  // live detection
  std::filesystem::path calibration, reference;
  double fpr = detection::DetectorDefaults{}.fpr;
  int64_t squeeze_bits = detection::DetectorDefaults{}.squeeze_bits;
  std::string calibration_shifts = detection::kDefaultCalibrationShifts;
  double alpha = detection::DetectorDefaults{}.alpha;
  int64_t window_size = 500;
  int64_t consecutive = 2;
  std::string alarm_on = "attack";
  std::filesystem::path windows_dir;
  std::string on_alarm;
  double cooldown_s = 300;
  // or a run on a KFP endpoint
  std::string kfp_endpoint, kfp_pipeline_id, kfp_pipeline_version_id, kfp_experiment_id;
  std::filesystem::path kfp_token_file;
  std::string kfp_parameters = "{}";
  std::string kfp_window_parameter = "window_uri";
  std::string kfp_windows_uri;
  double kfp_poll_s = 30;
  int64_t batch_size = 256;
};

/// The tool's declaration (serve_spec.cpp).
const cli::Spec<Options>& spec();
/// spec() bound to the run code.
const cli::Spec<Options>& tool();

}  // namespace advkfp::serve
