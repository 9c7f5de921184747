// prepare-data: <source>/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz] -> two dataset folders.
#include "prepare_data.h"

#include "common/error.h"
#include "common/log.h"
#include "data/dataset.h"
#include "io/files.h"

namespace advkfp::prepare_data {
namespace {

std::vector<std::string> parse_names(const std::string& csv) {
  if (csv.empty()) return data::fashion_mnist_class_names();
  std::vector<std::string> names;
  std::string cur;
  for (char c : csv) {
    if (c == ',') {
      names.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  names.push_back(cur);
  for (const auto& n : names) {
    if (n.empty()) throw UsageError(describe("class_names", "empty class name in '" + csv + "'"));
  }
  return names;
}

void convert(const std::filesystem::path& dir, const std::string& prefix, int64_t limit,
             const std::vector<std::string>& names, const std::filesystem::path& out,
             const std::string& what) {
  const auto images = data::find_idx_file(dir, prefix + "-images-idx3-ubyte", "source_uri");
  const auto labels = data::find_idx_file(dir, prefix + "-labels-idx1-ubyte", "source_uri");
  auto ds = data::load_idx_pair(images, labels, names).slice(0, limit);
  ds.provenance = {{"images", images.string()},
                   {"images_sha256", io::sha256_file(images, "source_uri")},
                   {"labels", labels.string()},
                   {"labels_sha256", io::sha256_file(labels, "source_uri")},
                   {"split", prefix == "train" ? "train" : "test"},
                   {"count", ds.size()}};
  data::save_dataset(out, ds, data::ImageEncoding::kUint8, what);
  log::info(what, ": ", ds.size(), " images from ", images.string());
}

void run(const Options& o) {
  const auto dir = resolve_source(o.source_uri);
  if (!std::filesystem::is_directory(dir)) {
    throw Error(describe("source_uri", "'" + dir.string() + "' is not a folder"));
  }
  const auto names = parse_names(o.class_names);
  convert(dir, "train", o.train_limit, names, o.train_dataset, "train_dataset");
  convert(dir, "t10k", o.test_limit, names, o.test_dataset, "test_dataset");
}

}  // namespace

std::filesystem::path resolve_source(const std::string& uri) {
  if (uri.empty()) return data::kFashionMnistDir;
  const auto scheme_end = uri.find("://");
  if (scheme_end == std::string::npos) return uri;
  const std::string scheme = uri.substr(0, scheme_end), rest = uri.substr(scheme_end + 3);
  if (scheme == "file") return rest;
  if (scheme == "gs") return "/gcs/" + rest;
  if (scheme == "s3") return "/s3/" + rest;
  if (scheme == "minio") return "/minio/" + rest;
  throw UsageError(describe("source_uri", "unsupported scheme '" + scheme + "'"));
}

const cli::Spec<Options>& spec() {
  static const auto s =
      cli::Spec<Options>("prepare-data",
                         "Convert MNIST-style IDX files (default: Debian's Fashion-MNIST) into "
                         "train and test dataset folders.")
          .param("source_uri", &Options::source_uri,
                 "Folder (path, file://, or gs://, s3://, minio:// as mounted by the KFP "
                 "launcher) holding train-/t10k-{images-idx3,labels-idx1}-ubyte[.gz]; empty: "
                 "Fashion-MNIST from Debian's dataset-fashion-mnist.")
          .output("train_dataset", &Options::train_dataset, cli::types::kDataset,
                  "Training set folder.")
          .output("test_dataset", &Options::test_dataset, cli::types::kDataset,
                  "Test set folder.")
          .param("class_names", &Options::class_names,
                 "Comma-separated class names in label order (empty: Fashion-MNIST's).")
          .param("train_limit", &Options::train_limit, "Keep the first N training images (0: all).",
                 cli::at_least(0))
          .param("test_limit", &Options::test_limit, "Keep the first N test images (0: all).",
                 cli::at_least(0))
          .common(false)
          .run(&run);
  return s;
}

}  // namespace advkfp::prepare_data
