// Test helpers: Fashion-MNIST slices and a tiny trained model (plus support/files.h).
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "data/dataset.h"
#include "model/classifier.h"
#include "support/files.h"

namespace advkfp::test {

namespace fs = std::filesystem;

/// First `count` images of the Fashion-MNIST train or test split ("train" / "t10k").
data::Dataset fashion_slice(const std::string& split, int64_t count);

/// Paper CNN trained for `epochs` on the first `count` training images (seeded, one thread
/// agnostic); cached per process so tests share it.
model::Classifier& small_trained_model();

/// LibTorch on one thread for its lifetime (bit-exact comparisons of repeated computations).
struct OneThread {
  int before = torch::get_num_threads();
  OneThread() { torch::set_num_threads(1); }
  ~OneThread() { torch::set_num_threads(before); }
  OneThread(const OneThread&) = delete;
  OneThread& operator=(const OneThread&) = delete;
};

/// True when both models have the same parameter tensors, value for value.
bool same_parameters(const model::Classifier& a, const model::Classifier& b);
/// Same for parameters and buffers (Classifier::snapshot: BatchNorm statistics too), as a
/// checkpoint must restore them.
bool same_state(const model::Classifier& a, const model::Classifier& b);

/// Training results less what differs between any two runs (wall times and speeds), for
/// comparing a resumed run's metrics or history with an uninterrupted one's.
nlohmann::json without_times(nlohmann::json j);

/// Writes a dataset folder with the first `count` images of a split (uint8 encoding).
void write_fashion_dataset(const fs::path& dir, const std::string& split, int64_t count);

}  // namespace advkfp::test
