// The front ends' shared model lookup and inference path (see frontend.h).
#include "frontend.h"

namespace advkfp::serve {

Frontend::Frontend(std::string name, const std::vector<int64_t>& shape, int64_t classes,
                   int64_t max_images, Clock::duration timeout, ModelSlot& slot, Batcher& batcher,
                   Telemetry& telemetry)
    : model_name(std::move(name)),
      input{v2::kInputName, "FP32", {-1, shape.at(0), shape.at(1), shape.at(2)}},
      outputs{{v2::kLogitsName, "FP32", {-1, classes}}, {v2::kClassName, "INT64", {-1}}},
      output_names{v2::kLogitsName, v2::kClassName},
      max_request_images(max_images),
      shape_(shape),
      timeout_(timeout),
      slot_(slot),
      batcher_(batcher),
      telemetry_(telemetry) {}

ModelPtr Frontend::find(const std::string& name, const std::string& version) const {
  auto m = slot_.get();
  if (name != model_name) throw v2::RequestError(404, "Model with name " + name + " does not exist.");
  if (!version.empty() && version != m->version) {
    throw v2::RequestError(404, "Model with name " + name + " has no version " + version +
                                    " (serving " + m->version + ").");
  }
  return m;
}

Frontend::Answer Frontend::infer(v2::InferRequest& r) const {
  auto images = torch::from_blob(r.data.data(), {r.batch, shape_[0], shape_[1], shape_[2]},
                                 torch::kFloat32)
                    .clone();
  auto future = batcher_.submit(std::move(images), Clock::now() + timeout_);
  if (!future) {
    throw v2::RequestError(503, "server busy: " + std::to_string(batcher_.capacity()) +
                                    " requests are queued; retry later");
  }
  telemetry_.queue_depth(batcher_.queued());
  if (future->wait_for(timeout_ + std::chrono::seconds(30)) != std::future_status::ready) {
    throw v2::RequestError(503, "inference did not finish in time");
  }
  auto result = future->get();
  if (result.status != 200) throw v2::RequestError(result.status, result.error);
  return {result.logits.contiguous(), result.model};
}

}  // namespace advkfp::serve
