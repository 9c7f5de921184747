// Dataset artifacts: a folder of IDX files plus a JSON manifest (dataset.json).
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace advkfp::data {

/// An in-memory labelled (or unlabelled) image set.
struct Dataset {
  torch::Tensor images;  ///< float32 [N,C,H,W], values in [0,1], contiguous, CPU
  torch::Tensor labels;  ///< int64 [N] in [0, class_names.size()), or undefined when unlabelled
  std::vector<std::string> class_names;
  nlohmann::json provenance = nlohmann::json::object();  ///< where the data came from

  int64_t size() const { return images.defined() ? images.size(0) : 0; }
  bool has_labels() const { return labels.defined(); }
  /// [C,H,W] of one image.
  std::vector<int64_t> image_shape() const;
  /// Rows [offset, offset+limit) (limit <= 0: to the end); views, no copy.
  Dataset slice(int64_t offset, int64_t limit) const;
};

/// How images are stored: uint8 for data that came from 8-bit files, float32 (lossless) otherwise.
enum class ImageEncoding { kUint8, kFloat32 };

inline constexpr const char* kManifestName = "dataset.json";
inline constexpr const char* kDatasetFormat = "advkfp.dataset/v1";

/// Loads a dataset folder written by save_dataset(). Validates the manifest against the files:
/// counts, shapes, label range, label count == image count. Throws advkfp::Error naming `what`.
Dataset load_dataset(const std::filesystem::path& dir, const std::string& what);

/// Writes a dataset folder atomically (temporary folder, then rename). Labels are written when
/// defined. Throws advkfp::Error naming `what` when the folder cannot be written.
void save_dataset(const std::filesystem::path& dir, const Dataset& ds, ImageEncoding encoding,
                  const std::string& what);

/// Loads a pair of IDX files (images, labels) into a Dataset, checking that counts match.
Dataset load_idx_pair(const std::filesystem::path& images, const std::filesystem::path& labels,
                      std::vector<std::string> class_names);

/// Fashion-MNIST's ten class names, in label order.
const std::vector<std::string>& fashion_mnist_class_names();
/// Where Debian's dataset-fashion-mnist package installs the IDX files.
inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

/// Finds `<dir>/<stem>` or `<dir>/<stem>.gz` (e.g. stem "train-images-idx3-ubyte").
std::filesystem::path find_idx_file(const std::filesystem::path& dir, const std::string& stem,
                                    const std::string& what);

/// Checks that `ds` fits a model taking [C,H,W] inputs and `num_classes` labels.
void check_compatible(const Dataset& ds, const std::vector<int64_t>& input_shape,
                      int64_t num_classes, const std::string& what);

}  // namespace advkfp::data
