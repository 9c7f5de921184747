// The TorchScript paper CNN: shape, initialisation, save/load with sha256 sidecar.
#include <catch2/catch.hpp>

#include <fstream>

#include "common/error.h"
#include "data/dataset.h"
#include "io/files.h"
#include "io/json.h"
#include "model/classifier.h"
#include "model/sidecar.h"
#include "support/helpers.h"

using namespace advkfp;
using advkfp::test::TempDir;

using advkfp::test::same_parameters;

TEST_CASE("the paper CNN has 421,642 parameters and maps [N,1,28,28] to [N,10]", "[unit][model]") {
  auto net = model::make_paper_cnn(data::fashion_mnist_class_names(), 0);
  CHECK(net.parameter_count() == 421642);
  torch::NoGradGuard g;
  CHECK(net.forward(torch::rand({3, 1, 28, 28})).sizes() == torch::IntArrayRef({3, 10}));
}

TEST_CASE("initialisation is a function of the seed", "[unit][model]") {
  const auto& names = data::fashion_mnist_class_names();
  auto a = model::make_paper_cnn(names, 1), b = model::make_paper_cnn(names, 1);
  auto c = model::make_paper_cnn(names, 2);
  CHECK(same_parameters(a, b));
  CHECK_FALSE(same_parameters(a, c));
  // PyTorch default bound 1/sqrt(fan_in): fc1 has fan_in 3136.
  const auto fc1 = a.parameters()[4];
  CHECK(fc1.abs().max().item<double>() <= 1.0 / std::sqrt(3136.0) + 1e-7);
}

TEST_CASE("a saved model reloads with the same outputs and metadata", "[unit][model]") {
  TempDir dir;
  auto net = model::make_paper_cnn(data::fashion_mnist_class_names(), 5);
  net.info().training = {{"epochs", 3}};
  model::save_model(dir / "m", net, "model");
  CHECK(test::count_entries(dir / "m") == 2);
  auto back = model::load_model(dir / "m", "model");
  CHECK(same_parameters(net, back));
  CHECK(back.info().class_names == net.info().class_names);
  CHECK(back.info().training["epochs"] == 3);
  CHECK(back.info().seed == 5);
  for (const auto& p : back.parameters()) CHECK(p.requires_grad());
  auto x = torch::rand({4, 1, 28, 28});
  torch::NoGradGuard g;
  CHECK(torch::equal(net.forward(x), back.forward(x)));
  // The model.pt inside the folder can be named directly.
  CHECK_NOTHROW(model::load_model(dir / "m" / model::kModelFile, "model"));
}

TEST_CASE("tampered, truncated or foreign model files are rejected", "[unit][model]") {
  TempDir dir;
  auto net = model::make_paper_cnn(data::fashion_mnist_class_names(), 5);
  model::save_model(dir / "m", net, "model");
  const auto pt = dir / "m" / model::kModelFile;
  const auto sidecar = dir / "m" / model::kSidecarFile;
  const std::string bytes = test::read_text(pt);

  SECTION("truncated model.pt fails the sha256 check") {
    test::write_text(pt, bytes.substr(0, bytes.size() / 2));
    CHECK_THROWS_WITH(model::load_model(dir / "m", "model"),
                      Catch::StartsWith("model:") && Catch::Contains("sha256"));
  }
  SECTION("a file that is not TorchScript, even with a matching hash") {
    test::write_text(pt, "definitely not a zip archive");
    auto s = io::read_json(sidecar, "s");
    s["sha256"] = io::sha256_file(pt, "pt");
    io::write_json(sidecar, s, "s");
    CHECK_THROWS_WITH(model::load_model(dir / "m", "model"), Catch::Contains("not a TorchScript"));
  }
  SECTION("missing sidecar") {
    std::filesystem::remove(sidecar);
    CHECK_THROWS_WITH(model::load_model(dir / "m", "model"), Catch::Contains("model.json"));
  }
  SECTION("missing folder") {
    CHECK_THROWS_WITH(model::load_model(dir / "nope", "model"), Catch::Contains("does not exist"));
  }
}

TEST_CASE("resnet-small: shapes, BatchNorm modes and snapshots that include running statistics",
          "[unit][model]") {
  auto net = model::make_resnet_small({"a", "b", "c", "d"}, {3, 32, 32}, 1);
  CHECK(net.info().architecture == "resnet-small");
  CHECK(net.info().input_shape == std::vector<int64_t>{3, 32, 32});
  auto same = model::make_resnet_small({"a", "b", "c", "d"}, {3, 32, 32}, 1);
  CHECK(same_parameters(net, same));
  const auto x = torch::rand({5, 3, 32, 32});
  torch::NoGradGuard g;
  net.eval();
  const auto before = net.forward(x);
  CHECK(before.sizes() == torch::IntArrayRef({5, 4}));
  const auto saved = net.snapshot();
  // Train mode normalises with batch statistics and moves the running ones.
  net.train();
  CHECK_FALSE(torch::allclose(net.forward(x), before));
  net.eval();
  CHECK_FALSE(torch::equal(net.forward(x), before));
  // Restoring the snapshot brings the running statistics back with the weights.
  net.restore(saved);
  CHECK(torch::equal(net.forward(x), before));
  // Any image size from 4x4 and any channel count; the checks of a loaded model pass.
  auto grey = model::make_resnet_small({"a", "b"}, {1, 28, 28}, 0);
  CHECK_NOTHROW(model::check_classifier(grey, "model"));
  CHECK_THROWS_WITH(model::make_architecture("resnet-small", {"a"}, {3, 2, 2}, 0),
                    Catch::Contains("at least 4x4"));
  CHECK_THROWS_WITH(model::make_architecture("vgg", {"a"}, {3, 32, 32}, 0),
                    Catch::Contains("unknown architecture"));
}

// Found by review while writing fuzz/fuzz_sidecar: a sidecar field of the wrong type escaped as a
// JSON library error that named neither the file nor the field.
TEST_CASE("a sidecar with a field of the wrong type is refused naming the sidecar and the field",
          "[unit][model][fuzz]") {
  TempDir dir;
  model::ModelInfo info;
  info.class_names = {"a", "b"};
  info.sha256 = std::string(64, '0');
  io::Json s = model::describe_model(info);
  io::write_json(dir / "model.json", s, "test");
  CHECK(model::read_sidecar(dir / "model.json", "model").class_names == info.class_names);
  s["seed"] = "seven";
  io::write_json(dir / "model.json", s, "test");
  CHECK_THROWS_AS(model::read_sidecar(dir / "model.json", "model"), Error);
  CHECK_THROWS_WITH(model::read_sidecar(dir / "model.json", "model"),
                    Catch::StartsWith("model sidecar:") && Catch::Contains("'seed'"));
  s["seed"] = 7;
  // Sizes outside import-model's bounds are the sidecar's error, before LibTorch sees them.
  for (const auto& bad : {std::vector<int64_t>{0, 28, 28}, std::vector<int64_t>{1, -28, 28},
                          std::vector<int64_t>{3, model::kMaxInputSize + 1, 4}}) {
    s["input_shape"] = bad;
    io::write_json(dir / "model.json", s, "test");
    CHECK_THROWS_WITH(model::read_sidecar(dir / "model.json", "model"),
                      Catch::StartsWith("model sidecar:") && Catch::Contains("'input_shape'"));
  }
  s["input_shape"] = std::vector<int64_t>{1, model::kMaxInputSize, 1};
  io::write_json(dir / "model.json", s, "test");
  CHECK(model::read_sidecar(dir / "model.json", "model").input_shape[1] == model::kMaxInputSize);
}

TEST_CASE("attack and evaluation batches default to about 100,000 input values a pass",
          "[unit][model]") {
  CHECK(model::batch_size_for(0, {1, 28, 28}) == 128);
  CHECK(model::batch_size_for(0, {3, 32, 32}) == 32);
  CHECK(model::batch_size_for(0, {3, 224, 224}) == 1);
  CHECK(model::batch_size_for(0, {3, 1024, 1024}) == 1);
  // A batch size the user asked for is kept, however large the images.
  CHECK(model::batch_size_for(64, {3, 224, 224}) == 64);
  CHECK(model::batch_size_for(1000, {1, 28, 28}) == 1000);
}
