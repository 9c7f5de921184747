// What the two front ends of serve (v2 REST and v2 gRPC) share: the served model's name and
// tensors, which model a request names, readiness, and the one path from a checked request to
// its logits, through the dynamic batcher. Live detection and hot swaps happen there (the
// batcher's hook and its one model per batch), so every request of either protocol goes through
// them.
#pragma once

#include <torch/torch.h>

#include <atomic>
#include <chrono>
#include <string>
#include <vector>

#include "batcher.h"
#include "models.h"
#include "telemetry.h"
#include "v2.h"

namespace advkfp::serve {

class Frontend {
 public:
  using Clock = std::chrono::steady_clock;

  /// `shape` is the model's input [C, H, W]; `classes` its number of logits.
  Frontend(std::string model_name, const std::vector<int64_t>& shape, int64_t classes,
           int64_t max_request_images, Clock::duration timeout, ModelSlot& slot, Batcher& batcher,
           Telemetry& telemetry);

  const std::string model_name;
  const v2::TensorSpec input;                ///< input FP32 [-1, C, H, W]
  const std::vector<v2::TensorSpec> outputs;  ///< logits FP32 [-1, K], class_index INT64 [-1]
  const std::vector<std::string> output_names;
  const int64_t max_request_images;
  std::atomic<bool> ready{true};  ///< false once the server is stopping

  /// The served model when `name` is the served model's and `version` is empty or the served
  /// version; else RequestError(404) with KServe's ModelNotFound message.
  ModelPtr find(const std::string& name, const std::string& version) const;

  struct Answer {
    torch::Tensor logits;  ///< [n, K], contiguous
    ModelPtr model;        ///< the model that computed them
  };
  /// Runs the request's images through the batcher. Throws RequestError: 503 when the queue is
  /// full or the request was not computed within the timeout, 500 when the batch failed.
  Answer infer(v2::InferRequest& request) const;

 private:
  std::vector<int64_t> shape_;
  Clock::duration timeout_;
  ModelSlot& slot_;
  Batcher& batcher_;
  Telemetry& telemetry_;
};

}  // namespace advkfp::serve
