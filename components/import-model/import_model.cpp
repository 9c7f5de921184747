// import-model: TorchScript file -> model folder (checked classifier + model.json sidecar).
#include "import_model.h"

#include <cmath>

#include "common/error.h"
#include "common/log.h"
#include "common/text.h"
#include "io/files.h"
#include "io/json.h"
#include "model/classifier.h"
#include "model/signature.h"

namespace advkfp::import_model {
namespace {

std::vector<std::string> required_list(const std::string& text, const std::string& what) {
  if (trim_space(text).empty()) throw UsageError(describe(what, "is required"));
  auto items = split_commas(text);
  for (auto& item : items) {
    item = trim_space(item);
    if (item.empty()) throw UsageError(describe(what, "empty item in '" + text + "'"));
  }
  return items;
}

std::vector<double> numbers(const std::string& text, const std::string& what) {
  std::vector<double> out;
  if (trim_space(text).empty()) return out;
  for (const auto& item : required_list(text, what)) {
    size_t used = 0;
    double v = 0;
    try {
      v = std::stod(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != item.size() || !std::isfinite(v)) {
      throw UsageError(describe(what, "'" + item + "' is not a number"));
    }
    out.push_back(v);
  }
  return out;
}

std::vector<int64_t> shape(const std::string& text) {
  std::vector<int64_t> out;
  for (double v : numbers(text, "input_shape")) {
    if (v < 1 || v != std::floor(v) || v > static_cast<double>(model::kMaxInputSize)) {
      throw UsageError(describe("input_shape", "'" + text + "' must be three integers from 1 to " +
                                                   std::to_string(model::kMaxInputSize)));
    }
    out.push_back(static_cast<int64_t>(v));
  }
  if (out.size() != 3) {
    throw UsageError(describe("input_shape", "'" + text + "' must be C,H,W (three sizes)"));
  }
  return out;
}

// A model folder (made by train, pgd-train or an earlier import): loaded with every check a
// tool applies to a model it loads, and written out again. Flags that describe a TorchScript
// file must agree with the folder's sidecar when given.
void import_folder(const Options& o, const std::filesystem::path& dir,
                   const std::filesystem::path& signing_key) {
  auto net = model::load_model(dir, "source_uri");
  const auto& info = net.info();
  if (!trim_space(o.class_names).empty() &&
      required_list(o.class_names, "class_names") != info.class_names) {
    throw UsageError(describe("class_names", "'" + o.class_names + "' differs from the model "
                                             "folder's " + join_commas(info.class_names)));
  }
  if (!trim_space(o.input_shape).empty() && shape(o.input_shape) != info.input_shape) {
    throw UsageError(describe("input_shape", "'" + o.input_shape + "' differs from the model "
                                             "folder's " + join_commas(info.input_shape)));
  }
  if (!trim_space(o.mean).empty() || !trim_space(o.std_dev).empty()) {
    throw UsageError(describe("mean", "applies to a TorchScript file; a model folder keeps its "
                                      "own normalisation"));
  }
  log::info("imported model folder ", dir.string(), " (", info.architecture, ", ",
            net.parameter_count(), " parameters, ", info.class_names.size(), " classes)");
  model::save_model(o.model, net, "model", signing_key);
}

void run(const Options& o) {
  if (o.source_uri.empty()) throw UsageError(describe("source_uri", "is required"));
  const auto signing_key = model::signing_key(o.signing_key);
  const auto source = io::resolve_uri(o.source_uri, "source_uri");
  if (std::filesystem::is_directory(source)) return import_folder(o, source, signing_key);
  model::ModelInfo info;
  info.architecture = "imported";
  info.class_names = required_list(o.class_names, "class_names");
  info.input_shape = shape(o.input_shape);
  const auto mean = numbers(o.mean, "mean"), stdev = numbers(o.std_dev, "std");
  const auto& file = source;
  if (!std::filesystem::is_regular_file(file)) {
    throw Error(describe("source_uri", "'" + file.string() + "' is not a file"));
  }
  const auto source_sha = io::sha256_file(file, "source_uri");
  auto net = model::import_torchscript(file, info, mean, stdev, "source_uri");
  io::Json normalization = nullptr;
  if (!mean.empty()) normalization = {{"mean", mean}, {"std", stdev}};
  net.info().training = {{"method", "imported"},
                         {"source", {{"uri", o.source_uri}, {"sha256", source_sha}}},
                         {"normalization", normalization}};
  log::info("imported ", file.string(), " (", net.parameter_count(), " parameters, sha256 ",
            source_sha.substr(0, 12), ") for inputs ", o.input_shape, " and ",
            info.class_names.size(), " classes", mean.empty() ? "" : ", normalising inside");
  model::save_model(o.model, net, "model", signing_key);
}

}  // namespace

const cli::Spec<Options>& tool() {
  static const auto s = cli::Spec<Options>(spec()).run(&run);
  return s;
}

}  // namespace advkfp::import_model
