// Test helpers: temporary folders, Fashion-MNIST slices, tiny trained models.
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <string>

#include "data/dataset.h"
#include "model/classifier.h"

namespace advkfp::test {

namespace fs = std::filesystem;

/// A fresh folder under the system temp dir, removed on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }
  fs::path operator/(const std::string& name) const { return path_ / name; }

 private:
  fs::path path_;
};

/// First `count` images of the Fashion-MNIST train or test split ("train" / "t10k").
data::Dataset fashion_slice(const std::string& split, int64_t count);

/// Paper CNN trained for `epochs` on the first `count` training images (seeded, one thread
/// agnostic); cached per process so tests share it.
model::Classifier& small_trained_model();

/// Writes a dataset folder with the first `count` images of a split (uint8 encoding).
void write_fashion_dataset(const fs::path& dir, const std::string& split, int64_t count);

std::string read_text(const fs::path& path);
void write_text(const fs::path& path, const std::string& text);
/// Number of entries in a folder (0 when missing).
size_t count_entries(const fs::path& dir);

}  // namespace advkfp::test
