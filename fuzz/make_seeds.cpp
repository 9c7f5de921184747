// fuzz-seeds OUT SOURCE_DIR FASHION_MNIST_DIR: writes the seed corpus of every fuzz target into
// OUT/<target>/, all of it made by the project: IDX slices of Fashion-MNIST written by the IDX
// writer, dataset manifests, model sidecar, metrics, detection reports and calibration written by
// the real tools run in-process on a small slice, PNG and JPEG files from libpng and libjpeg, the
// committed compiled pipelines and component YAMLs, and the conditions, placeholders and
// ExecutorInput that kfp-local derives from them. NumPy seeds come from make_numpy_seeds.py.
#include <png.h>
// clang-format off
#include <cstdio>  // jpeglib.h uses FILE without including <stdio.h>
#include <jpeglib.h>
// clang-format on
#include <torch/torch.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iostream>
#include <set>

#include "cli/run.h"
#include "data/idx.h"
#include "detect_degradation.h"
#include "detection/detection.h"
#include "evaluate.h"
#include "fixtures.h"
#include "fuzz.h"
#include "io/files.h"
#include "kfp_local/ir.h"
#include "kfp_local/placeholders.h"
#include "model/classifier.h"
#include "prepare_data.h"
#include "train.h"

namespace fs = std::filesystem;
using namespace advkfp;
using nlohmann::json;

namespace {

fs::path out_dir;

void seed(const std::string& target, const std::string& name, const std::string& bytes) {
  fs::create_directories(out_dir / target);
  std::ofstream(out_dir / target / name, std::ios::binary) << bytes;
}

std::string slurp(const fs::path& p) { return io::read_file(p, "seed source"); }

template <class Tool>
void run_tool(const Tool& tool, std::vector<std::string> args) {
  args.insert(args.begin(), tool.name());
  args.push_back("--threads");
  args.push_back("1");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  if (cli::run(static_cast<int>(argv.size()), argv.data(), tool) != 0) {
    throw std::runtime_error("fuzz-seeds: " + tool.name() + " failed");
  }
}

void idx_seeds(const fs::path& fashion, const fs::path& tmp) {
  const auto images = data::read_idx_images(fashion / "t10k-images-idx3-ubyte.gz", "images");
  const auto labels = data::read_idx_labels(fashion / "t10k-labels-idx1-ubyte.gz", "labels");
  const auto two = images.slice(0, 0, 2).contiguous();
  auto write = [&](const std::string& name, auto&& writer) {
    writer(tmp / name);
    seed("idx", name, slurp(tmp / name));
  };
  using data::IdxType;
  write("images-u8", [&](auto p) { data::write_idx_images(p, two, IdxType::kUint8, false); });
  write("images-u8.gz", [&](auto p) { data::write_idx_images(p, two, IdxType::kUint8, true); });
  write("images-f32", [&](auto p) { data::write_idx_images(p, two, IdxType::kFloat32, false); });
  const auto colour = torch::rand({1, 3, 4, 4}, at::detail::createCPUGenerator(0));
  write("images-f32-nchw", [&](auto p) { data::write_idx_images(p, colour, IdxType::kFloat32, false); });
  write("labels", [&](auto p) { data::write_idx_labels(p, labels.slice(0, 0, 2), false); });
  write("labels.gz", [&](auto p) { data::write_idx_labels(p, labels.slice(0, 0, 2), true); });
}

void dataset_seeds(const fs::path& tmp) {
  auto ds = fuzz::fixture_dataset();
  data::save_dataset(tmp / "fixture", ds, data::ImageEncoding::kUint8, "fixture");
  seed("dataset", "fixture.json", slurp(tmp / "fixture" / data::kManifestName));
  ds.labels = torch::Tensor();
  data::save_dataset(tmp / "unlabelled", ds, data::ImageEncoding::kUint8, "fixture");
  seed("dataset", "unlabelled.json", slurp(tmp / "unlabelled" / data::kManifestName));
}

// prepare-data, train (no epochs: initial weights are enough), evaluate clean, under FGSM and as
// a sweep, detect-degradation labeled and unlabeled, on a slice of Fashion-MNIST.
void tool_seeds(const fs::path& t) {
  const std::string d = t.string() + "/";
  run_tool(prepare_data::tool(), {"--train-dataset", d + "train", "--test-dataset", d + "test",
                                  "--reference-dataset", d + "ref", "--reference-size", "100",
                                  "--train-limit", "200", "--test-limit", "100"});
  seed("dataset", "prepare-data.json", slurp(t / "test" / data::kManifestName));
  run_tool(train::tool(), {"--dataset", d + "train", "--model", d + "model", "--epochs", "0",
                           "--metrics", d + "train.json"});
  seed("sidecar", "model.json", slurp(t / "model" / model::kSidecarFile));
  run_tool(evaluate::tool(), {"--model", d + "model", "--dataset", d + "test", "--metrics",
                              d + "clean.json"});
  run_tool(evaluate::tool(), {"--model", d + "model", "--dataset", d + "test", "--attack", "fgsm",
                              "--epsilon", "0.1", "--metrics", d + "attacked.json"});
  run_tool(evaluate::tool(), {"--model", d + "model", "--dataset", d + "test", "--sweep-epsilons",
                              "0,0.1", "--sweep-attacks", "fgsm,pgd", "--steps", "2",
                              "--metrics", d + "curve.json"});
  run_tool(detect_degradation::tool(),
           {"--mode", "labeled", "--baseline-metrics", d + "clean.json", "--current-metrics",
            d + "attacked.json", "--degraded", d + "degraded1", "--report", d + "labeled.json"});
  run_tool(detect_degradation::tool(),
           {"--model", d + "model", "--reference", d + "ref", "--window", d + "test",
            "--degraded", d + "degraded2", "--verdict", d + "verdict", "--report",
            d + "unlabeled.json", "--calibration", d + "calibration.json"});
  seed("calibration", "calibration.json", slurp(t / "calibration.json"));
  seed("calibration", "uncalibrated.json",
       detection::uncalibrated_json("mode labeled calibrates nothing").dump(2));
  const auto clean = slurp(t / "clean.json"), attacked = slurp(t / "attacked.json");
  const auto curve = slurp(t / "curve.json"), train = slurp(t / "train.json");
  seed("metrics_report", "labeled", fuzz::join({clean, attacked, slurp(t / "labeled.json")}));
  seed("metrics_report", "unlabeled-finals",
       fuzz::join({clean, attacked, slurp(t / "unlabeled.json"), clean, attacked, attacked, curve,
                   curve}));
  seed("metrics_report", "train", fuzz::join({train, clean}));
}

std::string png(int channels) {
  const int w = 5, h = 3;
  std::vector<unsigned char> px(static_cast<size_t>(w * h * channels));
  for (size_t i = 0; i < px.size(); ++i) px[i] = static_cast<unsigned char>(i * 37);
  png_image img;
  std::memset(&img, 0, sizeof img);
  img.version = PNG_IMAGE_VERSION;
  img.width = w;
  img.height = h;
  img.format = channels == 1   ? PNG_FORMAT_GRAY
               : channels == 2 ? PNG_FORMAT_GA
               : channels == 3 ? PNG_FORMAT_RGB
                               : PNG_FORMAT_RGBA;
  png_alloc_size_t size = 0;
  png_image_write_to_memory(&img, nullptr, &size, 0, px.data(), 0, nullptr);
  std::string out(size, '\0');
  if (!png_image_write_to_memory(&img, out.data(), &size, 0, px.data(), 0, nullptr)) {
    throw std::runtime_error("fuzz-seeds: PNG encoding failed");
  }
  out.resize(size);
  return out;
}

std::string jpeg(int channels, bool progressive) {
  const int w = 9, h = 7;
  jpeg_compress_struct c;
  jpeg_error_mgr err;
  c.err = jpeg_std_error(&err);
  jpeg_create_compress(&c);
  unsigned char* mem = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&c, &mem, &size);
  c.image_width = w;
  c.image_height = h;
  c.input_components = channels;
  c.in_color_space = channels == 3 ? JCS_RGB : JCS_GRAYSCALE;
  jpeg_set_defaults(&c);
  jpeg_set_quality(&c, 90, TRUE);
  if (progressive) jpeg_simple_progression(&c);
  jpeg_start_compress(&c, TRUE);
  std::vector<unsigned char> row(static_cast<size_t>(w * channels));
  for (int y = 0; y < h; ++y) {
    for (size_t i = 0; i < row.size(); ++i) row[i] = static_cast<unsigned char>(i * 11 + y * 29);
    JSAMPROW r = row.data();
    jpeg_write_scanlines(&c, &r, 1);
  }
  jpeg_finish_compress(&c);
  jpeg_destroy_compress(&c);
  std::string out(reinterpret_cast<char*>(mem), size);
  std::free(mem);
  return out;
}

void image_seeds() {
  for (int c : {1, 2, 3, 4}) seed("image", "png-" + std::to_string(c), png(c));
  seed("image", "jpeg-grey", jpeg(1, false));
  seed("image", "jpeg-rgb", jpeg(3, false));
  seed("image", "jpeg-progressive", jpeg(3, true));
}

void collect(const kfp_local::Pipeline& p, const kfp_local::Component& c,
             std::set<std::string>& conditions) {
  if (!c.dag) return;
  for (const auto& [name, task] : c.dag->tasks) {
    if (task.condition) conditions.insert(task.condition->text());
    collect(p, p.component_of(task), conditions);
  }
}

void kfp_seeds(const fs::path& source) {
  std::vector<fs::path> pipelines;
  for (const auto& dir : {source / "kfp_specs", source / "tests/runner/fixtures"}) {
    for (const auto& e : fs::directory_iterator(dir)) {
      if (e.path().extension() == ".yaml") pipelines.push_back(e.path());
    }
  }
  std::sort(pipelines.begin(), pipelines.end());
  std::set<std::string> conditions, arguments;
  for (const auto& file : pipelines) {
    const std::string name = file.parent_path().filename().string() + "-" + file.filename().string();
    seed("kfp_ir", name, slurp(file));
    try {
      const auto p = kfp_local::load_pipeline(file);
      collect(p, p.root, conditions);
      for (const auto& [label, exec] : p.executors) {
        if (const auto* c = std::get_if<kfp_local::ContainerExecutor>(&exec)) {
          arguments.insert(c->command.begin(), c->command.end());
          arguments.insert(c->args.begin(), c->args.end());
        }
      }
    } catch (const Error&) {
      // fixtures of invalid pipelines: still seeds for kfp_ir
    }
  }
  for (const auto& e : fs::directory_iterator(source / "components")) {
    if (fs::exists(e.path() / "component.yaml")) {
      seed("kfp_yaml", e.path().filename().string() + ".yaml", slurp(e.path() / "component.yaml"));
    }
  }
  seed("kfp_yaml", "adversarial-defense.yaml", slurp(source / "kfp_specs/adversarial-defense.yaml"));
  const std::string values = json{{"a", 1}, {"b", 0.5}, {"s", "text"}, {"t", true}}.dump();
  conditions.insert({"inputs.parameter_values['a'] == 1 && inputs.parameter_values['s'] != 'x'",
                     "int(inputs.parameter_values['b']) < 2 || !(inputs.parameter_values['t'])",
                     "double(\"1e-3\") >= -.5 && string(inputs.parameter_values['a']) == \"1\""});
  int i = 0;
  for (const auto& c : conditions) seed("cel", "condition-" + std::to_string(i++), fuzz::join({c, values}));
  arguments.insert({"{{$.inputs.parameters['p']}}", "--n={{$.inputs.parameters['n']}}",
                    "{{$.inputs.artifacts['a'].path}}", "{{$.outputs.artifacts['out'].uri}}",
                    "{{$.outputs.parameters['o'].output_file}}", "{{$}}",
                    R"({"Concat": ["--x=", "{{$.inputs.parameters['x']}}"]})",
                    R"({"IfPresent": {"InputName": "opt", "Then": ["--opt", "{{$.inputs.parameters['opt']}}"], "Else": ["--none"]}})"});
  i = 0;
  for (const auto& a : arguments) seed("placeholders", "argument-" + std::to_string(i++), a);

  // ExecutorInput as kfp-local writes it ({{$}}), for a task with every kind of input and output.
  kfp_local::ExecutorContext ctx;
  ctx.parameters = {{"epsilon", 0.15}, {"steps", 7}, {"mode", "labeled"}};
  ctx.input_artifacts["model"] = {"model", "/runs/x/train/model", "/runs/x/train/model",
                                  {"system.Model", "0.0.1"}, {{"accuracy", 0.9}}};
  ctx.input_artifacts["reference"] = {"reference", "gs://bucket/ref", "/gcs/bucket/ref",
                                      {"system.Dataset", "0.0.1"}};
  ctx.output_artifacts["report"] = {"report", "/runs/x/d/report", "/runs/x/d/report",
                                    {"system.Metrics", "0.0.1"}};
  ctx.output_parameter_files["degraded"] = "/runs/x/d/.kfp-local/degraded";
  ctx.output_parameter_files["verdict"] = "/runs/x/d/.kfp-local/verdict";
  ctx.executor_output_file = "/runs/x/d/.kfp-local/executor_output.json";
  seed("executor_input", "detect-degradation.json", kfp_local::executor_input(ctx).dump());
  i = 0;
  for (const char* v : {"0.15", "42", "-7", "true", "False", "[1, 2.5, \"a\"]", "{\"k\": {\"v\": null}}",
                        "text with spaces", "1e-3", "9223372036854775807"}) {
    seed("parameters", "value-" + std::to_string(i++), v);
  }
}

void serve_seeds() {
  std::vector<float> flat(16);
  for (size_t i = 0; i < flat.size(); ++i) flat[i] = static_cast<float>(i) / 16;
  const json fp32 = {{"inputs", {{{"name", "input"}, {"shape", {1, 1, 4, 4}}, {"datatype", "FP32"},
                                  {"data", flat}}}}};
  seed("serve_v2", "fp32-flat.json", fp32.dump());
  json nested = json::array();
  for (int n = 0; n < 2; ++n) {
    json image = json::array({json::array()});
    for (int y = 0; y < 4; ++y) image[0].push_back(json::array({0, 64 * n, 128, 255}));
    nested.push_back(image);
  }
  const json u8 = {{"id", "r-1"},
                   {"parameters", json::object()},
                   {"inputs", {{{"name", "input"}, {"shape", {2, 1, 4, 4}}, {"datatype", "UINT8"},
                                {"data", nested}}}},
                   {"outputs", {{{"name", "class_index"}}, {{"name", "logits"}}}}};
  seed("serve_v2", "uint8-nested.json", u8.dump());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: fuzz-seeds OUT SOURCE_DIR FASHION_MNIST_DIR\n";
    return 2;
  }
  out_dir = argv[1];
  torch::set_num_threads(1);
  const fs::path tmp = fuzz::work_dir();
  try {
    idx_seeds(argv[3], tmp);
    dataset_seeds(tmp);
    tool_seeds(tmp / "tools");
    image_seeds();
    kfp_seeds(argv[2]);
    serve_seeds();
  } catch (const std::exception& e) {
    std::cerr << "fuzz-seeds: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
