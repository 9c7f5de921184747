// import-model through the real binaries: modules scripted and saved by Python's torch become
// model folders whose logits match Python's, the other tools run on them (BatchNorm and Dropout
// included), and modules that are not classifiers are refused with one line and no output.
#include <fstream>
#include <sstream>

#include "data/dataset.h"
#include "e2e/e2e.h"
#include "io/files.h"
#include "io/json.h"
#include "model/classifier.h"

using namespace advkfp;
using namespace advkfp::test;

namespace {

// Saves TorchScript modules for 3x8x8 inputs and 4 classes, the fixed input x (5 images) and
// the eval-mode logits of the good module on x, plain and on (x - mean) / std.
constexpr const char* kMakeModules = R"PY(
import sys, torch, torch.nn as nn, torch.nn.functional as F
out = sys.argv[1]
torch.manual_seed(0)

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.drop = nn.Dropout(0.5)
        self.fc = nn.Linear(8 * 4 * 4, 4)
    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn(self.conv(x))), 2)
        return self.fc(self.drop(torch.flatten(x, 1)))

class Flat(nn.Module):
    def __init__(self, k: int):
        super().__init__()
        self.fc = nn.Linear(3 * 8 * 8, k)

class NaNs(Flat):
    def forward(self, x):
        return self.fc(torch.flatten(x, 1)) * float('nan')

class Detached(Flat):
    def forward(self, x):
        return self.fc(torch.flatten(x.detach(), 1))

class AlwaysDropout(Flat):
    def forward(self, x):
        return self.fc(F.dropout(torch.flatten(x, 1), 0.5, True))

class OneOutput(Flat):
    def forward(self, x):
        return self.fc(torch.flatten(x, 1)).sum(1)

m = Net()
with torch.no_grad():
    m.bn.running_mean.uniform_(-0.1, 0.1)
    m.bn.running_var.uniform_(0.5, 2.0)
m.eval()
torch.jit.script(m).save(out + '/good.pt')
for name, cls in (('nan', NaNs), ('detached', Detached), ('dropout', AlwaysDropout),
                  ('one_output', OneOutput)):
    torch.jit.script(cls(4).eval()).save(out + '/' + name + '.pt')

x = torch.rand(5, 3, 8, 8)
mean = torch.tensor([0.5, 0.4, 0.3]).reshape(1, 3, 1, 1)
std = torch.tensor([0.2, 0.25, 0.3]).reshape(1, 3, 1, 1)
with torch.no_grad():
    plain, normalised = m(x), m((x - mean) / std)
for name, t in (('x', x), ('plain', plain), ('normalised', normalised)):
    with open(out + '/' + name + '.txt', 'w') as f:
        f.write(' '.join(repr(v) for v in t.flatten().tolist()))
)PY";

torch::Tensor read_values(const fs::path& path, std::vector<int64_t> shape) {
  std::istringstream in(read_text(path));
  std::vector<float> v;
  for (double d; in >> d;) v.push_back(static_cast<float>(d));
  return torch::tensor(v).reshape(shape);
}

struct Modules {
  TempDir dir;
  Modules() {
    write_text(dir / "make.py", kMakeModules);
    auto r = run_process("/usr/bin/python3", {(dir / "make.py").string(), dir.path().string()});
    INFO("python3 stderr:\n" << r.err);
    REQUIRE(r.exit_code == 0);
  }
};

// Python starts in seconds with torch: the modules are made once per process.
const Modules& modules() {
  static const Modules m;
  return m;
}

ProcessResult import_model(const fs::path& source, const fs::path& out,
                           std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {
      "--source-uri", source.string(), "--model", out.string(), "--class-names",
      "a,b,c,d",      "--input-shape", "3,8,8",   "--threads",  "1"};
  args.insert(args.end(), extra.begin(), extra.end());
  return run_process(ADVKFP_IMPORT_MODEL_EXE, args);
}

}  // namespace

TEST_CASE("a module saved by Python imports and gives Python's logits", "[e2e][import]") {
  const auto& py = modules();
  TempDir out;
  const auto x = read_values(py.dir / "x.txt", {5, 3, 8, 8});
  SECTION("without normalisation") {
    const auto r = import_model(py.dir / "good.pt", out / "m");
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    auto net = model::load_model(out / "m", "model");
    torch::NoGradGuard no_grad;
    CHECK(torch::allclose(net.forward(x), read_values(py.dir / "plain.txt", {5, 4}), 0, 1e-5));
    const auto sidecar = io::read_json(out / "m" / "model.json", "sidecar");
    CHECK(sidecar["architecture"] == "imported");
    CHECK(sidecar["input_shape"] == io::Json({3, 8, 8}));
    CHECK(sidecar["class_names"] == io::Json({"a", "b", "c", "d"}));
    CHECK(sidecar["training"]["source"]["sha256"] == io::sha256_file(py.dir / "good.pt", "pt"));
    CHECK(sidecar["training"]["normalization"].is_null());
  }
  SECTION("with per-channel mean and std applied inside the model folder's forward") {
    const auto r = import_model(py.dir / "good.pt", out / "m",
                                {"--mean", "0.5,0.4,0.3", "--std", "0.2,0.25,0.3"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    auto net = model::load_model(out / "m", "model");
    torch::NoGradGuard no_grad;
    CHECK(torch::allclose(net.forward(x), read_values(py.dir / "normalised.txt", {5, 4}), 0, 1e-5));
    const auto sidecar = io::read_json(out / "m" / "model.json", "sidecar");
    CHECK(sidecar["training"]["normalization"]["std"].size() == 3);
  }
}

TEST_CASE("modules that are not classifiers are refused with one line and no output",
          "[e2e][import][errors]") {
  const auto& py = modules();
  TempDir work;
  const fs::path out = work / "out" / "model";
  const auto refused = [&](const ProcessResult& r, int code, const std::string& needle) {
    require_failure(r, code, needle);
    CHECK_FALSE(fs::exists(out));
    CHECK(count_entries(work / "out") == 0);
  };
  SECTION("NaN outputs") { refused(import_model(py.dir / "nan.pt", out), 1, "NaN"); }
  SECTION("no gradient with respect to the input") {
    refused(import_model(py.dir / "detached.pt", out), 1, "no gradient");
  }
  SECTION("random in eval mode") {
    refused(import_model(py.dir / "dropout.pt", out), 1, "different logits");
  }
  SECTION("one output per image") {
    refused(import_model(py.dir / "one_output.pt", out), 1, "expected [2, 4]");
  }
  SECTION("wrong class-name count") {
    refused(run_process(ADVKFP_IMPORT_MODEL_EXE,
                        {"--source-uri", (py.dir / "good.pt").string(), "--model", out.string(),
                         "--class-names", "a,b,c", "--input-shape", "3,8,8"}),
            1, "expected [2, 3]");
  }
  SECTION("wrong input shape") {
    refused(run_process(ADVKFP_IMPORT_MODEL_EXE,
                        {"--source-uri", (py.dir / "good.pt").string(), "--model", out.string(),
                         "--class-names", "a,b,c,d", "--input-shape", "1,28,28"}),
            1, "forward() fails on inputs [2, 1, 28, 28]");
  }
  SECTION("not TorchScript") {
    write_text(work / "junk.pt", "PK\x03\x04 not a module");
    refused(import_model(work / "junk.pt", out), 1, "not a TorchScript");
  }
  SECTION("missing file") { refused(import_model(work / "none.pt", out), 1, "source_uri: "); }
  SECTION("mean without std, or the wrong number of values") {
    refused(import_model(py.dir / "good.pt", out, {"--mean", "0.5,0.5,0.5"}), 2, "std");
    refused(import_model(py.dir / "good.pt", out, {"--mean", "0.5", "--std", "0.2"}), 2, "mean");
  }
}

TEST_CASE("evaluate, fgsm-attack and pgd-train run on an imported model with BatchNorm and Dropout",
          "[e2e][import]") {
  const auto& py = modules();
  TempDir dir;
  auto p = [&](const std::string& name) { return (dir / name).string(); };
  const auto r = import_model(py.dir / "good.pt", dir / "model",
                              {"--mean", "0.5,0.4,0.3", "--std", "0.2,0.25,0.3"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  // A small labelled 3x8x8 set (uint8 pixels, seeded).
  torch::manual_seed(3);
  data::Dataset ds;
  ds.images = torch::randint(0, 256, {96, 3, 8, 8}).to(torch::kFloat) / 255;
  ds.labels = torch::randint(0, 4, {96}, torch::kInt64);
  ds.class_names = {"a", "b", "c", "d"};
  data::save_dataset(dir / "data", ds, data::ImageEncoding::kUint8, "test");

  run_ok(ADVKFP_EVALUATE_EXE, {"--model", p("model"), "--dataset", p("data"), "--metrics",
                               p("clean.json"), "--batch-size", "96"});
  // evaluate runs the model in eval mode (running statistics, no dropout): its loss is that of
  // the eval-mode forward here; train mode would give another.
  auto net = model::load_model(dir / "model", "model");
  const auto stored = data::load_dataset(dir / "data", "data");
  double expected = 0;
  {
    torch::NoGradGuard no_grad;
    expected = torch::nn::functional::cross_entropy(net.forward(stored.images), stored.labels)
                   .item<double>();
  }
  CHECK(io::read_json(dir / "clean.json", "m")["loss"].get<double>() ==
        Approx(expected).epsilon(1e-4));

  run_ok(ADVKFP_FGSM_ATTACK_EXE,
         {"--model", p("model"), "--dataset", p("data"), "--adversarial-dataset", p("adv"),
          "--metrics", p("fgsm.json"), "--epsilon", "0.1"});
  CHECK(data::load_dataset(dir / "adv", "adv").image_shape() == std::vector<int64_t>{3, 8, 8});
  run_ok(ADVKFP_PGD_TRAIN_EXE, {"--model",
                                p("model"),
                                "--dataset",
                                p("data"),
                                "--robust-model",
                                p("robust"),
                                "--metrics",
                                p("pgd.json"),
                                "--epochs",
                                "1",
                                "--steps",
                                "2",
                                "--validation-size",
                                "32",
                                "--validation-steps",
                                "2",
                                "--batch-size",
                                "16",
                                "--epsilon",
                                "0.1",
                                "--keep-best",
                                "false"});
  // Training ran in train mode: BatchNorm's running statistics moved.
  auto robust = model::load_model(dir / "robust", "robust");
  CHECK(robust.info().architecture == "imported");
  const auto before =
      net.module().attr("model").toModule().attr("bn").toModule().attr("running_mean").toTensor();
  const auto after = robust.module()
                         .attr("model")
                         .toModule()
                         .attr("bn")
                         .toModule()
                         .attr("running_mean")
                         .toTensor();
  CHECK_FALSE(torch::equal(before, after));
}
