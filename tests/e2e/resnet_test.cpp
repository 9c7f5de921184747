// The small ResNet on generated 3x32x32 colour images, through the real binaries:
// prepare-data (PNG folders) -> train --architecture resnet-small -> evaluate -> fgsm-attack ->
// detect-degradation -> pgd-train -> evaluate; and the saved model loads in Python's torch.
#include <cstdio>
#include <sstream>

#include "data/dataset.h"
#include "e2e/e2e.h"
#include "e2e/images.h"
#include "io/json.h"
#include "model/classifier.h"

using namespace advkfp;
using namespace advkfp::test;

namespace {

ProcessResult ok(const std::string& exe, std::vector<std::string> args) {
  return run_ok(exe, std::move(args), "2");
}

double accuracy(const fs::path& metrics) { return io::read_json(metrics, "m")["accuracy"]; }

// Four classes told apart by a colour shift of 0.25 in one channel (or none), under uniform
// noise of +-0.3: learnable in a few batches, and a small eps moves an image's pixels further
// than the noise-fitting model tolerates. Numbered files keep the generated order.
void write_colour_split(const fs::path& dir, int64_t count, int64_t seed) {
  auto gen = at::detail::createCPUGenerator(static_cast<uint64_t>(seed));
  const auto labels = torch::randint(0, 4, {count}, gen, torch::kInt64);
  auto images = torch::empty({count, 3, 32, 32}).uniform_(0.2, 0.8, gen);
  for (int64_t i = 0; i < count; ++i) {
    const int64_t k = labels[i].item<int64_t>();
    if (k < 3) images[i][k].add_(0.25);
    auto u8 = images[i].clamp(0, 1).mul(255).round().to(torch::kUInt8);
    char name[16];
    std::snprintf(name, sizeof name, "%05lld.png", static_cast<long long>(i));
    write_png(dir / ("class" + std::to_string(k)) / name, u8);
  }
}

}  // namespace

TEST_CASE("resnet-small trains on colour images, is attacked, detected and defended",
          "[e2e][resnet]") {
  TempDir dir;
  auto p = [&](const std::string& name) { return (dir / name).string(); };
  write_colour_split(dir / "source" / "train", 640, 1);
  write_colour_split(dir / "source" / "test", 200, 2);
  ok(ADVKFP_PREPARE_DATA_EXE,
     {"--source-uri", p("source"), "--train-dataset", p("train"), "--test-dataset", p("test"),
      "--reference-dataset", p("reference"), "--reference-size", "128"});
  CHECK(data::load_dataset(dir / "train", "train").image_shape() ==
        std::vector<int64_t>{3, 32, 32});
  ok(ADVKFP_TRAIN_EXE,
     {"--architecture", "resnet-small", "--dataset", p("train"), "--model", p("model"), "--metrics",
      p("train.json"), "--epochs", "2", "--batch-size", "32", "--seed", "1"});
  const auto sidecar = io::read_json(dir / "model" / "model.json", "m");
  CHECK(sidecar["architecture"] == "resnet-small");
  ok(ADVKFP_EVALUATE_EXE,
     {"--model", p("model"), "--dataset", p("test"), "--metrics", p("clean.json")});
  ok(ADVKFP_FGSM_ATTACK_EXE,
     {"--model", p("model"), "--dataset", p("test"), "--adversarial-dataset", p("adv"), "--metrics",
      p("fgsm.json"), "--epsilon", "0.1"});
  ok(ADVKFP_EVALUATE_EXE,
     {"--model", p("model"), "--dataset", p("adv"), "--metrics", p("attacked.json")});
  const double clean = accuracy(dir / "clean.json"), attacked = accuracy(dir / "attacked.json");
  INFO("clean " << clean << ", under FGSM " << attacked);
  CHECK(clean > 0.8);
  CHECK(attacked < clean - 0.2);

  auto stream = data::load_dataset(dir / "adv", "adv");
  stream.labels = torch::Tensor();
  data::save_dataset(dir / "window", stream, data::ImageEncoding::kFloat32, "window");
  ok(ADVKFP_DETECT_DEGRADATION_EXE,
     {"--model", p("model"), "--reference", p("reference"), "--window", p("window"), "--degraded",
      p("degraded"), "--report", p("detection.json"), "--calibration", p("cal.json")});
  CHECK(read_text(dir / "degraded") == "true");

  ok(ADVKFP_PGD_TRAIN_EXE, {"--model",
                            p("model"),
                            "--dataset",
                            p("train"),
                            "--robust-model",
                            p("robust"),
                            "--metrics",
                            p("pgd.json"),
                            "--epochs",
                            "2",
                            "--steps",
                            "3",
                            "--epsilon",
                            "0.1",
                            "--validation-size",
                            "64",
                            "--validation-steps",
                            "3",
                            "--batch-size",
                            "32"});
  ok(ADVKFP_EVALUATE_EXE, {"--model", p("model"), "--dataset", p("test"), "--attack", "fgsm",
                           "--epsilon", "0.1", "--metrics", p("orig_fgsm.json")});
  ok(ADVKFP_EVALUATE_EXE, {"--model", p("robust"), "--dataset", p("test"), "--attack", "fgsm",
                           "--epsilon", "0.1", "--metrics", p("robust_fgsm.json")});
  const double orig_fgsm = accuracy(dir / "orig_fgsm.json");
  const double robust_fgsm = accuracy(dir / "robust_fgsm.json");
  INFO("white-box FGSM accuracy: original " << orig_fgsm << ", defended " << robust_fgsm);
  CHECK(robust_fgsm > orig_fgsm + 0.1);
}

TEST_CASE("a resnet-small model folder loads in Python's torch with the same logits",
          "[e2e][resnet]") {
  TempDir dir;
  auto net = model::make_resnet_small({"a", "b", "c"}, {3, 32, 32}, 4);
  // Move BatchNorm's running statistics away from their initial values, as training does.
  net.train();
  {
    torch::NoGradGuard no_grad;
    net.forward(torch::rand({8, 3, 32, 32}));
  }
  model::save_model(dir / "m", net, "model");
  const auto x = torch::linspace(0, 1, 2 * 3 * 32 * 32).reshape({2, 3, 32, 32});
  auto back = model::load_model(dir / "m", "model");
  torch::Tensor ours;
  {
    torch::NoGradGuard no_grad;
    ours = back.forward(x);
  }
  write_text(dir / "run.py", R"PY(
import sys, torch
m = torch.jit.load(sys.argv[1])
m.eval()
with torch.no_grad():
    y = m(torch.linspace(0, 1, 2 * 3 * 32 * 32).reshape(2, 3, 32, 32))
print(' '.join(repr(v) for v in y.flatten().tolist()))
)PY");
  const auto r = run_process("/usr/bin/python3",
                             {(dir / "run.py").string(), (dir / "m" / "model.pt").string()});
  INFO("python3 stderr:\n" << r.err);
  REQUIRE(r.exit_code == 0);
  std::istringstream in(r.out);
  std::vector<float> v;
  for (double d; in >> d;) v.push_back(static_cast<float>(d));
  REQUIRE(v.size() == 6);
  CHECK(torch::allclose(torch::tensor(v).reshape({2, 3}), ours, 1e-4, 1e-5));
}
