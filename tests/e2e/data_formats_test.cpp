// prepare-data on the formats users have: the same Fashion-MNIST images as Debian's IDX files,
// NumPy .npz archives (written by numpy.savez and savez_compressed), .npy files and a PNG folder
// give the same dataset artifacts; JPEG folders decode; bad inputs fail with one line.
// clang-format off
#include <cstdio>  // jpeglib.h uses FILE without including <stdio.h>
#include <jpeglib.h>
// clang-format on

#include <cstring>

#include "data/dataset.h"
#include "e2e/e2e.h"
#include "e2e/images.h"
#include "io/json.h"
#include "metrics/records.h"
#include "model/classifier.h"

using namespace advkfp;
using namespace advkfp::test;

namespace {

// Writes Fashion-MNIST's first images with numpy (a dependency of Debian's python3-torch):
// train.npz by numpy.savez (stored) with x as NHWC [N,28,28,1] uint8 and y int64; test.npz by
// numpy.savez_compressed (deflated) with images as NCHW [N,1,28,28] uint8 and labels uint8; .npy
// files of float32 [N,28,28] pixels in [0,1] and, with the wrong dtype, float64.
constexpr const char* kWriteNumpy = R"PY(
import gzip, sys
import numpy as np
src, out, counts = sys.argv[1], sys.argv[2], {'train': int(sys.argv[3]), 't10k': int(sys.argv[4])}

def idx(name, n):
    with gzip.open(src + '/' + name + '.gz') as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], 'big') for i in range(ndim)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)[:n]

n = counts['train']
x, y = idx('train-images-idx3-ubyte', n), idx('train-labels-idx1-ubyte', n)
np.savez(out + '/npz/train.npz', x=x[:, :, :, None], y=y.astype(np.int64))
np.save(out + '/npy/train-images.npy', (x / 255).astype(np.float32))
np.save(out + '/npy/train-labels.npy', y)
np.save(out + '/f64/train-images.npy', x / 255)
np.save(out + '/f64/train-labels.npy', y)

n = counts['t10k']
x, y = idx('t10k-images-idx3-ubyte', n), idx('t10k-labels-idx1-ubyte', n)
np.savez_compressed(out + '/npz/test.npz', images=x[:, None, :, :], labels=y)
for d in ('npy', 'f64'):
    np.save(out + '/' + d + '/test-images.npy', (x / 255).astype(np.float32))
    np.save(out + '/' + d + '/test-labels.npy', y)
)PY";

// uint8 [3,H,W] -> JPEG file at quality 95.
void write_jpeg(const fs::path& path, const torch::Tensor& chw) {
  const auto hwc = chw.permute({1, 2, 0}).contiguous();
  fs::create_directories(path.parent_path());
  FILE* f = std::fopen(path.c_str(), "wb");
  REQUIRE(f);
  jpeg_compress_struct c;
  jpeg_error_mgr err;
  c.err = jpeg_std_error(&err);
  jpeg_create_compress(&c);
  jpeg_stdio_dest(&c, f);
  c.image_width = static_cast<JDIMENSION>(chw.size(2));
  c.image_height = static_cast<JDIMENSION>(chw.size(1));
  c.input_components = 3;
  c.in_color_space = JCS_RGB;
  jpeg_set_defaults(&c);
  jpeg_set_quality(&c, 95, TRUE);
  jpeg_start_compress(&c, TRUE);
  for (JDIMENSION y = 0; y < c.image_height; ++y) {
    JSAMPROW row = hwc.data_ptr<uint8_t>() + y * c.image_width * 3;
    jpeg_write_scanlines(&c, &row, 1);
  }
  jpeg_finish_compress(&c);
  jpeg_destroy_compress(&c);
  std::fclose(f);
}

// A split as a PNG folder: <dir>/<label>/<index>.png, numbered in the original order.
void write_png_folder(const fs::path& dir, const data::Dataset& ds) {
  const auto u8 = ds.images.mul(255).round().to(torch::kUInt8);
  for (int64_t i = 0; i < ds.size(); ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "%05lld.png", static_cast<long long>(i));
    write_png(dir / std::to_string(ds.labels[i].item<int64_t>()) / name, u8[i]);
  }
}

std::string class_names_csv() {
  std::string csv;
  for (const auto& n : data::fashion_mnist_class_names()) csv += (csv.empty() ? "" : ",") + n;
  return csv;
}

ProcessResult prepare(const fs::path& source, const fs::path& out,
                      std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {
      "--source-uri",   source.string(),         "--train-dataset", (out / "train").string(),
      "--test-dataset", (out / "test").string(), "--log-every",     "0"};
  args.insert(args.end(), extra.begin(), extra.end());
  return run_process(ADVKFP_PREPARE_DATA_EXE, args);
}

void require_ok(const ProcessResult& r) {
  INFO("prepare-data stderr:\n" << r.err);
  REQUIRE(r.exit_code == 0);
}

// The manifest without its provenance (which names the source files).
io::Json manifest(const fs::path& dir) {
  auto m = io::read_json(dir / data::kManifestName, "manifest");
  m.erase("provenance");
  return m;
}

struct NumpyFiles {
  TempDir dir;
  NumpyFiles(int64_t train, int64_t test) {
    for (const char* d : {"npz", "npy", "f64"}) fs::create_directories(dir / d);
    write_text(dir / "write.py", kWriteNumpy);
    auto r = run_process("/usr/bin/python3",
                         {(dir / "write.py").string(), ADVKFP_FASHION_MNIST_DIR,
                          dir.path().string(), std::to_string(train), std::to_string(test)});
    INFO("python3 stderr:\n" << r.err);
    REQUIRE(r.exit_code == 0);
  }
};

}  // namespace

TEST_CASE("the same Fashion-MNIST images from IDX, .npz and a PNG folder give identical artifacts",
          "[e2e][data]") {
  const int64_t n_train = 120, n_test = 60;
  NumpyFiles py(n_train, n_test);
  write_png_folder(py.dir / "png" / "train", fashion_slice("train", n_train));
  write_png_folder(py.dir / "png" / "test", fashion_slice("t10k", n_test));
  const auto names = class_names_csv();
  const auto limits = std::vector<std::string>{"--train-limit", std::to_string(n_train),
                                               "--test-limit", std::to_string(n_test)};
  require_ok(prepare(ADVKFP_FASHION_MNIST_DIR, py.dir / "from-idx", limits));
  require_ok(prepare(py.dir / "npz", py.dir / "from-npz", {"--class-names", names}));
  require_ok(prepare("file://" + (py.dir / "png").string(), py.dir / "from-png",
                     {"--class-names", names}));
  for (const char* split : {"train", "test"}) {
    INFO(split);
    const auto idx = py.dir / "from-idx" / split;
    for (const char* other : {"from-npz", "from-png"}) {
      INFO(other);
      const auto o = py.dir / other / split;
      CHECK(read_text(o / "images-idx-ubyte.gz") == read_text(idx / "images-idx-ubyte.gz"));
      CHECK(read_text(o / "labels-idx1-ubyte.gz") == read_text(idx / "labels-idx1-ubyte.gz"));
      CHECK(manifest(o) == manifest(idx));
    }
  }
  CHECK(io::read_json(py.dir / "from-npz" / "train" / "dataset.json",
                      "m")["provenance"]["format"] == "npz");

  SECTION("the metrics count the images written per output, and the run's rate") {
    const auto out = py.dir / "with-metrics";
    require_ok(prepare(py.dir / "npz", out,
                       {"--reference-dataset", (out / "reference").string(), "--reference-size",
                        "20", "--test-limit", "50", "--metrics", (out / "metrics.json").string()}));
    const auto m = io::read_json(out / "metrics.json", "metrics");
    CHECK(m["format"] == "npz");
    CHECK(m["image_shape"] == io::Json({1, 28, 28}));
    CHECK(m["train_count"] == n_train - 20);
    CHECK(m["reference_count"] == 20);
    CHECK(m["test_count"] == 50);
    CHECK(m["count"] == n_train + 50);
    CHECK(m["images_per_second"].get<double>() > 0);
    CHECK(metrics::images_processed(m, "metrics") == n_train + 50);
  }

  SECTION("float32 .npy files keep the exact floats, with numbered class names by default") {
    require_ok(prepare(py.dir / "npy", py.dir / "from-npy"));
    const auto ds = data::load_dataset(py.dir / "from-npy" / "train", "npy");
    const auto ref = data::load_dataset(py.dir / "from-idx" / "train", "idx");
    CHECK(io::read_json(py.dir / "from-npy" / "train" / "dataset.json", "m")["pixel_encoding"] ==
          "float32");
    CHECK(torch::allclose(ds.images, ref.images, 0, 1e-7));
    CHECK(torch::equal(ds.labels, ref.labels));
    CHECK(ds.class_names ==
          std::vector<std::string>{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"});
  }
}

TEST_CASE("colour JPEG and PNG folders decode to [3,H,W] images", "[e2e][data]") {
  TempDir dir;
  torch::manual_seed(5);
  const auto pixels = torch::randint(0, 256, {8, 3, 16, 12}).to(torch::kUInt8);
  // Flat 4x4 blocks survive JPEG (and its 2x2 chroma subsampling) nearly unchanged; noise would
  // not.
  const auto smooth = torch::randint(0, 256, {8, 3, 4, 3})
                          .to(torch::kUInt8)
                          .repeat_interleave(4, 2)
                          .repeat_interleave(4, 3)
                          .contiguous();
  for (int64_t i = 0; i < 8; ++i) {
    const auto cls = std::string(i % 2 ? "dog" : "cat");
    write_jpeg(dir / "jpg" / "train" / cls / ("img" + std::to_string(i) + ".jpg"), smooth[i]);
    write_jpeg(dir / "jpg" / "test" / cls / ("img" + std::to_string(i) + ".jpeg"), smooth[i]);
    write_png(dir / "png" / "train" / cls / ("img" + std::to_string(i) + ".png"), pixels[i]);
    write_png(dir / "png" / "test" / cls / ("img" + std::to_string(i) + ".png"), pixels[i]);
  }
  require_ok(prepare(dir / "jpg", dir / "from-jpg"));
  require_ok(prepare(dir / "png", dir / "from-png"));
  const auto jpg = data::load_dataset(dir / "from-jpg" / "train", "jpg");
  const auto png = data::load_dataset(dir / "from-png" / "train", "png");
  CHECK(jpg.class_names == std::vector<std::string>{"cat", "dog"});
  CHECK(jpg.image_shape() == std::vector<int64_t>{3, 16, 12});
  CHECK(torch::allclose(png.images, pixels.to(torch::kFloat) / 255, 0, 1e-7));
  CHECK(torch::equal(png.labels, torch::tensor({0, 1, 0, 1, 0, 1, 0, 1}, torch::kInt64)));
  const double err = (jpg.images - smooth.to(torch::kFloat) / 255).abs().mean().item<double>();
  CHECK(err < 0.08);  // JPEG loss here is ~0.05; a channel mix-up or transposition gives ~0.2
}

TEST_CASE("bad NumPy arrays and image folders fail with one line and no output",
          "[e2e][data][errors]") {
  NumpyFiles py(20, 10);
  const fs::path out = py.dir / "out";
  const auto refused = [&](const fs::path& source, const std::string& needle) {
    require_failure(prepare(source, out), 1, needle);
    CHECK(count_entries(out) == 0);
  };
  SECTION("an .npy with the wrong dtype") { refused(py.dir / "f64", "dtype '<f8'"); }
  SECTION("a truncated .npz") {
    const auto b = read_text(py.dir / "npz" / "train.npz");
    write_text(py.dir / "cut" / "train.npz", b.substr(0, b.size() / 2));
    refused(py.dir / "cut", "not a readable .npz");
  }
  SECTION("float32 pixels outside [0, 1]") {
    auto b = read_text(py.dir / "npy" / "train-images.npy");
    const float big = 7.5f;
    std::memcpy(b.data() + b.size() - 4, &big, 4);
    fs::create_directories(py.dir / "range");
    for (const char* f : {"test-images.npy", "test-labels.npy", "train-labels.npy"}) {
      fs::copy_file(py.dir / "npy" / f, py.dir / "range" / f);
    }
    write_text(py.dir / "range" / "train-images.npy", b);
    refused(py.dir / "range", "[0, 1]");
  }
  const auto images = fashion_slice("t10k", 4);
  const auto u8 = images.images.mul(255).round().to(torch::kUInt8);
  SECTION("an image folder with mixed sizes") {
    write_png(py.dir / "mixed" / "train" / "a" / "0.png", u8[0]);
    write_png(py.dir / "mixed" / "train" / "b" / "1.png", u8[1].slice(1, 0, 20));
    write_png(py.dir / "mixed" / "test" / "a" / "0.png", u8[2]);
    refused(py.dir / "mixed", "is 1x20x28 but");
  }
  SECTION("a corrupt PNG") {
    write_png(py.dir / "corrupt" / "train" / "a" / "0.png", u8[0]);
    write_png(py.dir / "corrupt" / "train" / "b" / "1.png", u8[1]);
    write_png(py.dir / "corrupt" / "test" / "a" / "0.png", u8[2]);
    const auto png = py.dir / "corrupt" / "train" / "b" / "1.png";
    const auto b = read_text(png);
    write_text(png, b.substr(0, b.size() - 40));
    refused(py.dir / "corrupt", "1.png' is not a readable PNG");
  }
  SECTION("a file that is no image") {
    write_png(py.dir / "text" / "train" / "a" / "0.png", u8[0]);
    write_text(py.dir / "text" / "train" / "a" / "notes.txt", "hello");
    write_png(py.dir / "text" / "test" / "a" / "0.png", u8[2]);
    refused(py.dir / "text", "neither a PNG nor a JPEG");
  }
}

TEST_CASE("a dataset whose shape does not fit the model gets one line naming both shapes",
          "[e2e][data][errors]") {
  TempDir dir;
  data::Dataset ds;
  ds.images = torch::rand({8, 3, 32, 32});
  ds.labels = torch::zeros({8}, torch::kInt64);
  ds.class_names = data::fashion_mnist_class_names();
  data::save_dataset(dir / "data", ds, data::ImageEncoding::kFloat32, "test");
  auto net = model::make_paper_cnn(data::fashion_mnist_class_names(), 0);
  model::save_model(dir / "model", net, "model");
  require_failure(run_process(ADVKFP_EVALUATE_EXE,
                              {"--model", (dir / "model").string(), "--dataset",
                               (dir / "data").string(), "--metrics", (dir / "m.json").string()}),
                  1, "images are 3x32x32 but the model expects 1x28x28");
  CHECK_FALSE(fs::exists(dir / "m.json"));
}
