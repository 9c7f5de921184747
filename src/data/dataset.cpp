// Dataset folder format: dataset.json + images.idx[.gz] (+ labels.idx[.gz]).
#include "data/dataset.h"

#include "common/error.h"
#include "data/idx.h"
#include "io/files.h"
#include "io/json.h"

namespace advkfp::data {
namespace fs = std::filesystem;

std::vector<int64_t> Dataset::image_shape() const {
  if (!images.defined()) return {};
  return {images.size(1), images.size(2), images.size(3)};
}

Dataset Dataset::slice(int64_t offset, int64_t limit) const {
  const int64_t n = size();
  const int64_t begin = std::clamp<int64_t>(offset, 0, n);
  const int64_t end = limit > 0 ? std::min(n, begin + limit) : n;
  Dataset out = *this;
  out.images = images.slice(0, begin, end);
  if (has_labels()) out.labels = labels.slice(0, begin, end);
  if (begin != 0 || end != n) {
    out.provenance["slice"] = {{"offset", begin}, {"count", end - begin}};
  }
  return out;
}

const std::vector<std::string>& fashion_mnist_class_names() {
  static const std::vector<std::string> kNames = {"T-shirt/top", "Trouser", "Pullover", "Dress",
                                                  "Coat",        "Sandal",  "Shirt",    "Sneaker",
                                                  "Bag",         "Ankle boot"};
  return kNames;
}

fs::path find_idx_file(const fs::path& dir, const std::string& stem, const std::string& what) {
  for (const auto& candidate : {dir / stem, dir / (stem + ".gz")}) {
    if (fs::is_regular_file(candidate)) return candidate;
  }
  throw Error(describe(what, "no '" + stem + "' or '" + stem + ".gz' in '" + dir.string() + "'"));
}

namespace {

void check_labels(const torch::Tensor& labels, size_t num_classes, const std::string& what) {
  if (labels.numel() == 0 || num_classes == 0) return;
  const int64_t max_label = labels.max().item<int64_t>();
  if (max_label >= static_cast<int64_t>(num_classes)) {
    throw Error(describe(what, "label " + std::to_string(max_label) + " is out of range for " +
                                   std::to_string(num_classes) + " classes"));
  }
}

}  // namespace

Dataset load_idx_pair(const fs::path& images, const fs::path& labels,
                      std::vector<std::string> class_names) {
  Dataset ds;
  ds.images = read_idx_images(images, "images");
  ds.labels = read_idx_labels(labels, "labels");
  if (ds.labels.size(0) != ds.images.size(0)) {
    throw Error(describe("labels", "'" + labels.string() + "' has " +
                                       std::to_string(ds.labels.size(0)) + " labels but '" +
                                       images.string() + "' has " +
                                       std::to_string(ds.images.size(0)) + " images"));
  }
  check_labels(ds.labels, class_names.size(), "labels");
  ds.class_names = std::move(class_names);
  ds.provenance = {{"images", images.string()}, {"labels", labels.string()}};
  return ds;
}

Dataset load_dataset(const fs::path& dir, const std::string& what) {
  if (!fs::exists(dir)) throw Error(describe(what, "'" + dir.string() + "' does not exist"));
  if (!fs::is_directory(dir)) {
    throw Error(describe(what, "'" + dir.string() + "' is not a dataset folder"));
  }
  const fs::path manifest_path = dir / kManifestName;
  if (!fs::exists(manifest_path)) {
    throw Error(describe(what, "'" + dir.string() + "' has no " + kManifestName +
                                   " (write dataset folders with prepare-data)"));
  }
  const io::Json m = io::read_json(manifest_path, what);
  const std::string mwhat = what + " manifest";
  if (io::require<std::string>(m, "format", mwhat) != kDatasetFormat) {
    throw Error(describe(mwhat, "unknown format '" + m.at("format").get<std::string>() + "'"));
  }
  Dataset ds;
  ds.class_names = io::require<std::vector<std::string>>(m, "class_names", mwhat);
  const auto count = io::require<int64_t>(m, "count", mwhat);
  const auto shape = io::require<std::vector<int64_t>>(m, "image_shape", mwhat);
  const auto images_file = io::require<std::string>(m, "images", mwhat);
  if (images_file.find('/') != std::string::npos) {
    throw Error(describe(mwhat, "file names must not contain '/'"));
  }
  ds.images = read_idx_images(dir / images_file, what + " images");
  if (ds.images.size(0) != count) {
    throw Error(describe(what, "manifest says " + std::to_string(count) + " images but '" +
                                   images_file + "' has " + std::to_string(ds.images.size(0))));
  }
  if (ds.image_shape() != shape) {
    throw Error(describe(what, "image shape in '" + images_file + "' differs from the manifest"));
  }
  if (m.contains("labels") && !m["labels"].is_null()) {
    const auto labels_file = io::require<std::string>(m, "labels", mwhat);
    if (labels_file.find('/') != std::string::npos) {
      throw Error(describe(mwhat, "file names must not contain '/'"));
    }
    ds.labels = read_idx_labels(dir / labels_file, what + " labels");
    if (ds.labels.size(0) != count) {
      throw Error(describe(what, "'" + labels_file + "' has " + std::to_string(ds.labels.size(0)) +
                                     " labels but the set has " + std::to_string(count) +
                                     " images"));
    }
    check_labels(ds.labels, ds.class_names.size(), what + " labels");
  }
  ds.provenance = m.value("provenance", io::Json::object());
  return ds;
}

void save_dataset(const fs::path& dir, const Dataset& ds, ImageEncoding encoding,
                  const std::string& what) {
  TORCH_CHECK(ds.images.defined() && ds.images.dim() == 4, "save_dataset: images must be [N,C,H,W]");
  const bool u8 = encoding == ImageEncoding::kUint8;
  // uint8 data compresses ~6x; float32 adversarial pixels barely do, so they are stored raw.
  const std::string images_file = u8 ? "images-idx-ubyte.gz" : "images-idx-float";
  const std::string labels_file = "labels-idx1-ubyte.gz";
  io::write_dir_atomically(dir, what, [&](const fs::path& tmp) {
    write_idx_images(tmp / images_file, ds.images, u8 ? IdxType::kUint8 : IdxType::kFloat32, u8);
    if (ds.has_labels()) write_idx_labels(tmp / labels_file, ds.labels, true);
    io::Json m = {{"format", kDatasetFormat},
                  {"count", ds.size()},
                  {"image_shape", ds.image_shape()},
                  {"images", images_file},
                  {"pixel_encoding", u8 ? "uint8/255" : "float32"},
                  {"labels", ds.has_labels() ? io::Json(labels_file) : io::Json(nullptr)},
                  {"class_names", ds.class_names},
                  {"provenance", ds.provenance}};
    io::write_json(tmp / kManifestName, m, what);
  });
}

void check_compatible(const Dataset& ds, const std::vector<int64_t>& input_shape,
                      int64_t num_classes, const std::string& what) {
  if (ds.size() == 0) throw Error(describe(what, "the dataset is empty"));
  if (ds.image_shape() != input_shape) {
    auto fmt = [](const std::vector<int64_t>& s) {
      std::string out;
      for (size_t i = 0; i < s.size(); ++i) out += (i ? "x" : "") + std::to_string(s[i]);
      return out;
    };
    throw Error(describe(what, "images are " + fmt(ds.image_shape()) + " but the model expects " +
                                   fmt(input_shape)));
  }
  if (ds.has_labels() && ds.labels.numel() > 0 &&
      ds.labels.max().item<int64_t>() >= num_classes) {
    throw Error(describe(what, "labels exceed the model's " + std::to_string(num_classes) +
                                   " classes"));
  }
}

}  // namespace advkfp::data
