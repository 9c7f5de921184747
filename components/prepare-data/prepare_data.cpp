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

struct Split {
  data::Dataset all;
  nlohmann::json provenance;
};

Split load_split(const std::filesystem::path& dir, const std::string& prefix,
                 const std::vector<std::string>& names) {
  const auto images = data::find_idx_file(dir, prefix + "-images-idx3-ubyte", "source_uri");
  const auto labels = data::find_idx_file(dir, prefix + "-labels-idx1-ubyte", "source_uri");
  Split s{data::load_idx_pair(images, labels, names),
          {{"images", images.string()},
           {"images_sha256", io::sha256_file(images, "source_uri")},
           {"labels", labels.string()},
           {"labels_sha256", io::sha256_file(labels, "source_uri")},
           {"split", prefix == "train" ? "train" : "test"}}};
  return s;
}

// Writes images [offset, offset + count) of the split, recording the range in the provenance.
void save_part(const Split& s, int64_t offset, int64_t count, const std::filesystem::path& out,
               const std::string& what) {
  auto ds = s.all.slice(offset, count);
  ds.provenance = s.provenance;
  ds.provenance["offset"] = offset;
  ds.provenance["count"] = ds.size();
  data::save_dataset(out, ds, data::ImageEncoding::kUint8, what);
  log::info(what, ": ", ds.size(), " images from ", s.provenance["images"].get<std::string>());
}

void run(const Options& o) {
  const auto dir = resolve_source(o.source_uri);
  if (!std::filesystem::is_directory(dir)) {
    throw Error(describe("source_uri", "'" + dir.string() + "' is not a folder"));
  }
  const auto names = parse_names(o.class_names);
  const auto train = load_split(dir, "train", names);
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
    save_part(train, train_count, o.reference_size, o.reference_dataset, "reference_dataset");
  }
  save_part(train, 0, o.train_limit > 0 ? std::min(o.train_limit, train_count) : train_count,
            o.train_dataset, "train_dataset");
  const auto test = load_split(dir, "t10k", names);
  save_part(test, 0, o.test_limit, o.test_dataset, "test_dataset");
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

const cli::Spec<Options>& tool() {
  static const auto s = cli::Spec<Options>(spec()).run(&run);
  return s;
}

}  // namespace advkfp::prepare_data
