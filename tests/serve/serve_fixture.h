// What the serve tests share: the trained test model saved once per process, its version as the
// server names it, the test images, and the in-process logits to compare served ones with.
#pragma once

#include <torch/torch.h>

#include <string>

#include "data/dataset.h"
#include "support/helpers.h"

namespace advkfp::test {

struct ServeFixture {
  TempDir dir;
  fs::path model_dir = dir / "model";
  data::Dataset test = fashion_slice("t10k", 2000);
  std::string version;
  ServeFixture() {
    model::save_model(model_dir, small_trained_model(), "model");
    version = small_trained_model().info().sha256.substr(0, 12);
  }
};

inline ServeFixture& fixture() {
  static ServeFixture f;
  return f;
}

/// The test model's logits for `images`, in eval mode, in one pass.
inline torch::Tensor reference_logits(const torch::Tensor& images) {
  torch::NoGradGuard no_grad;
  auto& net = small_trained_model();
  net.eval();
  return net.forward(images);
}

}  // namespace advkfp::test
