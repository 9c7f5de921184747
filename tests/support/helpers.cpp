// Test helpers implementation.
#include "support/helpers.h"

#include <fstream>
#include <random>
#include <sstream>

#include "training/training.h"

namespace advkfp::test {

data::Dataset fashion_slice(const std::string& split, int64_t count) {
  const fs::path dir = ADVKFP_FASHION_MNIST_DIR;
  auto ds = data::load_idx_pair(data::find_idx_file(dir, split + "-images-idx3-ubyte", "test"),
                                data::find_idx_file(dir, split + "-labels-idx1-ubyte", "test"),
                                data::fashion_mnist_class_names());
  return ds.slice(0, count);
}

model::Classifier& small_trained_model() {
  static model::Classifier net = [] {
    auto ds = fashion_slice("train", 2000);
    auto n = model::make_paper_cnn(ds.class_names, 7);
    training::TrainConfig cfg;
    cfg.epochs = 2;
    cfg.seed = 7;
    cfg.log_every = 0;
    training::train_clean(n, ds, cfg);
    return n;
  }();
  return net;
}

bool same_parameters(const model::Classifier& a, const model::Classifier& b) {
  auto pa = a.parameters(), pb = b.parameters();
  if (pa.size() != pb.size()) return false;
  for (size_t i = 0; i < pa.size(); ++i) {
    if (!torch::equal(pa[i], pb[i])) return false;
  }
  return true;
}

bool same_state(const model::Classifier& a, const model::Classifier& b) {
  const auto sa = a.snapshot(), sb = b.snapshot();
  if (sa.size() != sb.size()) return false;
  for (size_t i = 0; i < sa.size(); ++i) {
    if (!torch::equal(sa[i], sb[i])) return false;
  }
  return true;
}

nlohmann::json without_times(nlohmann::json j) {
  if (j.is_object()) {
    for (const char* k : {"seconds", "wall_seconds", "train_seconds", "images_per_second",
                          "time_to_target_seconds"}) {
      j.erase(k);
    }
    for (auto& [k, v] : j.items()) v = without_times(v);
  } else if (j.is_array()) {
    for (auto& v : j) v = without_times(v);
  }
  return j;
}

void write_fashion_dataset(const fs::path& dir, const std::string& split, int64_t count) {
  data::save_dataset(dir, fashion_slice(split, count), data::ImageEncoding::kUint8, "test");
}

}  // namespace advkfp::test
