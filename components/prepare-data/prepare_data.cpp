// prepare-data: a source folder (IDX files, NumPy arrays or image folders) -> dataset folders.
#include "prepare_data.h"

#include <chrono>

#include "common/error.h"
#include "common/log.h"
#include "common/text.h"
#include "data/dataset.h"
#include "data/image_folder.h"
#include "data/numpy.h"
#include "io/files.h"
#include "io/json.h"

namespace advkfp::prepare_data {
namespace {

namespace fs = std::filesystem;

// Empty: no names given (each format has its own default).
std::vector<std::string> parse_names(const std::string& csv) {
  if (csv.empty()) return {};
  const auto names = split_commas(csv);
  for (const auto& n : names) {
    if (n.empty()) throw UsageError(describe("class_names", "empty class name in '" + csv + "'"));
  }
  return names;
}

struct Split {
  data::Dataset all;
  nlohmann::json provenance;
  data::ImageEncoding encoding = data::ImageEncoding::kUint8;
  std::string source;  ///< for the log line
};

enum class Format { kIdx, kNpz, kNpy, kImageFolder };

const char* format_name(Format f) {
  switch (f) {
    case Format::kIdx: return "idx";
    case Format::kNpz: return "npz";
    case Format::kNpy: return "npy";
    case Format::kImageFolder: return "image-folder";
  }
  return "";
}

// The first layout whose training files are present.
Format detect_format(const fs::path& dir) {
  for (const char* stem : {"train-images-idx3-ubyte", "train-images-idx3-ubyte.gz"}) {
    if (fs::is_regular_file(dir / stem)) return Format::kIdx;
  }
  if (fs::is_regular_file(dir / "train.npz")) return Format::kNpz;
  if (fs::is_regular_file(dir / "train-images.npy")) return Format::kNpy;
  if (fs::is_directory(dir / "train")) return Format::kImageFolder;
  throw Error(describe("source_uri", "'" + dir.string() +
                                         "' holds none of train-images-idx3-ubyte[.gz], "
                                         "train.npz, train-images.npy or a train/ image folder"));
}

Split load_idx(const fs::path& dir, const std::string& split, const std::vector<std::string>& names) {
  const std::string prefix = split == "train" ? "train" : "t10k";
  const auto images = data::find_idx_file(dir, prefix + "-images-idx3-ubyte", "source_uri");
  const auto labels = data::find_idx_file(dir, prefix + "-labels-idx1-ubyte", "source_uri");
  return {data::load_idx_pair(images, labels,
                              names.empty() ? data::fashion_mnist_class_names() : names),
          {{"images", images.string()},
           {"images_sha256", io::sha256_file(images, "source_uri")},
           {"labels", labels.string()},
           {"labels_sha256", io::sha256_file(labels, "source_uri")}},
          data::ImageEncoding::kUint8,
          images.string()};
}

const data::NpyArray& npz_member(const std::map<std::string, data::NpyArray>& arrays,
                                 const fs::path& file, const char* name, const char* alias) {
  for (const char* key : {name, alias}) {
    if (auto it = arrays.find(key); it != arrays.end()) return it->second;
  }
  std::string have;
  for (const auto& [k, v] : arrays) have += (have.empty() ? "" : ", ") + k;
  throw Error(describe("source_uri", "'" + file.string() + "' has no '" + name + "' (or '" +
                                         alias + "') array; it has: " + have));
}

Split load_numpy(const fs::path& dir, const std::string& split, Format format) {
  Split s;
  data::NpyArray images, labels;
  if (format == Format::kNpz) {
    const auto file = dir / (split + ".npz");
    const auto arrays = data::read_npz(file, "source_uri");
    images = npz_member(arrays, file, "images", "x");
    labels = npz_member(arrays, file, "labels", "y");
    s.provenance = {{"npz", file.string()}, {"npz_sha256", io::sha256_file(file, "source_uri")}};
    s.source = file.string();
  } else {
    const auto ifile = dir / (split + "-images.npy"), lfile = dir / (split + "-labels.npy");
    images = data::read_npy(ifile, "source_uri");
    labels = data::read_npy(lfile, "source_uri");
    s.provenance = {{"images", ifile.string()},
                    {"images_sha256", io::sha256_file(ifile, "source_uri")},
                    {"labels", lfile.string()},
                    {"labels_sha256", io::sha256_file(lfile, "source_uri")}};
    s.source = ifile.string();
  }
  bool from_uint8 = true;
  s.all.images = data::npy_images(images, "source_uri: " + s.source, from_uint8);
  s.all.labels = data::npy_labels(labels, "source_uri: " + s.source);
  if (s.all.labels.size(0) != s.all.images.size(0)) {
    throw Error(describe("source_uri", "'" + s.source + "': " +
                                           std::to_string(s.all.labels.size(0)) + " labels for " +
                                           std::to_string(s.all.images.size(0)) + " images"));
  }
  s.encoding = from_uint8 ? data::ImageEncoding::kUint8 : data::ImageEncoding::kFloat32;
  return s;
}

Split load_split(const fs::path& dir, Format format, const std::string& split,
                 const std::vector<std::string>& names) {
  Split s;
  if (format == Format::kIdx) {
    s = load_idx(dir, split, names);
  } else if (format == Format::kImageFolder) {
    s.all = data::read_image_folder(dir / split, names, "source_uri");
    s.provenance = s.all.provenance;
    s.source = (dir / split).string();
  } else {
    s = load_numpy(dir, split, format);
  }
  s.provenance["format"] = format_name(format);
  s.provenance["split"] = split;
  return s;
}

// NumPy arrays carry no class names: the given ones, else "0".."K-1" for labels up to K-1.
void name_classes(std::vector<Split*> splits, const std::vector<std::string>& names) {
  int64_t k = 0;
  for (auto* s : splits) {
    if (s->all.labels.numel() > 0) k = std::max(k, s->all.labels.max().item<int64_t>() + 1);
  }
  std::vector<std::string> out = names;
  if (out.empty()) {
    for (int64_t i = 0; i < k; ++i) out.push_back(std::to_string(i));
  } else if (static_cast<int64_t>(out.size()) < k) {
    throw Error(describe("class_names", std::to_string(out.size()) + " names but labels go up to " +
                                            std::to_string(k - 1)));
  }
  for (auto* s : splits) s->all.class_names = out;
}

// Writes images [offset, offset + count) of the split, recording the range in the provenance.
// Returns the number of images written.
int64_t save_part(const Split& s, int64_t offset, int64_t count, const fs::path& out,
                  const std::string& what) {
  auto ds = s.all.slice(offset, count);
  ds.provenance = s.provenance;
  ds.provenance["offset"] = offset;
  ds.provenance["count"] = ds.size();
  data::save_dataset(out, ds, s.encoding, what);
  log::info(what, ": ", ds.size(), " images from ", s.source);
  return ds.size();
}

void run(const Options& o) {
  const auto start = std::chrono::steady_clock::now();
  const auto dir = resolve_source(o.source_uri);
  if (!std::filesystem::is_directory(dir)) {
    throw Error(describe("source_uri", "'" + dir.string() + "' is not a folder"));
  }
  const auto names = parse_names(o.class_names);
  const auto format = detect_format(dir);
  auto train = load_split(dir, format, "train", names);
  auto test = load_split(dir, format, "test", names);
  if (format == Format::kNpz || format == Format::kNpy) name_classes({&train, &test}, names);
  if (train.all.image_shape() != test.all.image_shape() ||
      train.all.class_names != test.all.class_names) {
    throw Error(describe("source_uri", "the train and test splits differ in image shape or classes"));
  }
  int64_t train_count = train.all.size();
  if (!o.reference_dataset.empty()) {
    // The reference set is the tail of the training split, never trained on: clean, held-out
    // inputs for label-free detection.
    if (o.reference_size < 1 || o.reference_size >= train_count) {
      throw UsageError(describe("reference_size", std::to_string(o.reference_size) +
                                                      " leaves no training or reference images (" +
                                                      std::to_string(train_count) + " in all)"));
    }
    train_count -= o.reference_size;
  }
  const int64_t reference_written = o.reference_dataset.empty()
                                        ? 0
                                        : save_part(train, train_count, o.reference_size,
                                                    o.reference_dataset, "reference_dataset");
  const int64_t train_written =
      save_part(train, 0, o.train_limit > 0 ? std::min(o.train_limit, train_count) : train_count,
                o.train_dataset, "train_dataset");
  const int64_t test_written = save_part(test, 0, o.test_limit, o.test_dataset, "test_dataset");
  if (o.metrics.empty()) return;
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const int64_t count = train_written + test_written + reference_written;
  io::write_json(o.metrics,
                 {{"tool", "prepare-data"},
                  {"format", format_name(format)},
                  {"image_shape", train.all.image_shape()},
                  {"class_names", train.all.class_names},
                  {"count", count},
                  {"train_count", train_written},
                  {"test_count", test_written},
                  {"reference_count", reference_written},
                  {"seconds", seconds},
                  {"images_per_second", seconds > 0 ? static_cast<double>(count) / seconds : 0.0}},
                 "metrics");
}

}  // namespace

std::filesystem::path resolve_source(const std::string& uri) {
  if (uri.empty()) return data::kFashionMnistDir;
  return io::resolve_uri(uri, "source_uri");
}

const cli::Spec<Options>& tool() {
  static const auto s = cli::Spec<Options>(spec()).run(&run);
  return s;
}

}  // namespace advkfp::prepare_data
