// Test helpers implementation.
#include "support/helpers.h"

#include <unistd.h>

#include <fstream>
#include <random>
#include <sstream>

#include "training/training.h"

namespace advkfp::test {

TempDir::TempDir() {
  std::random_device rd;
  std::ostringstream name;
  name << "advkfp-test-" << ::getpid() << '-' << std::hex << rd() << rd();
  path_ = fs::temp_directory_path() / name.str();
  fs::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

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

void write_fashion_dataset(const fs::path& dir, const std::string& split, int64_t count) {
  data::save_dataset(dir, fashion_slice(split, count), data::ImageEncoding::kUint8, "test");
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_text(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

size_t count_entries(const fs::path& dir) {
  if (!fs::is_directory(dir)) return 0;
  return static_cast<size_t>(std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

}  // namespace advkfp::test
