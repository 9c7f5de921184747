// Paper CNN as a TorchScript module, with save/load of model folders.
#include "model/classifier.h"

#include <cmath>

#include "common/error.h"
#include "io/files.h"
#include "io/json.h"

namespace advkfp::model {
namespace fs = std::filesystem;

Classifier::Classifier(torch::jit::Module module, ModelInfo info)
    : module_(std::move(module)), info_(std::move(info)) {}

torch::Tensor Classifier::forward(const torch::Tensor& images) {
  return module_.forward({images}).toTensor();
}

std::vector<torch::Tensor> Classifier::parameters() const {
  std::vector<torch::Tensor> out;
  for (const auto& p : module_.parameters()) out.push_back(p);
  return out;
}

int64_t Classifier::parameter_count() const {
  int64_t n = 0;
  for (const auto& p : module_.parameters()) n += p.numel();
  return n;
}

std::vector<torch::Tensor> Classifier::snapshot() const {
  std::vector<torch::Tensor> out;
  for (const auto& p : module_.parameters()) out.push_back(p.detach().clone());
  return out;
}

void Classifier::restore(const std::vector<torch::Tensor>& values) {
  torch::NoGradGuard no_grad;
  size_t i = 0;
  for (const auto& p : module_.parameters()) {
    TORCH_CHECK(i < values.size(), "restore: too few values");
    p.copy_(values[i++]);
  }
}

FrozenParameters::FrozenParameters(const Classifier& net) : params_(net.parameters()) {
  for (auto& p : params_) {
    flags_.push_back(p.requires_grad());
    p.requires_grad_(false);
  }
}

FrozenParameters::~FrozenParameters() {
  for (size_t i = 0; i < params_.size(); ++i) params_[i].requires_grad_(flags_[i]);
}

namespace {

// Written against torch.* builtins (not nn.Module) so the script needs no Python classes.
constexpr const char* kPaperCnnForward = R"JIT(
def forward(self, x):
    x = torch.max_pool2d(torch.relu(torch.conv2d(x, self.conv1_weight, self.conv1_bias, [1, 1], [1, 1])), [2, 2])
    x = torch.max_pool2d(torch.relu(torch.conv2d(x, self.conv2_weight, self.conv2_bias, [1, 1], [1, 1])), [2, 2])
    x = torch.flatten(x, 1)
    x = torch.relu(torch.linear(x, self.fc1_weight, self.fc1_bias))
    return torch.linear(x, self.fc2_weight, self.fc2_bias)
)JIT";

std::string sidecar_what(const std::string& what) { return what + " sidecar"; }

}  // namespace

Classifier make_paper_cnn(std::vector<std::string> class_names, int64_t seed) {
  if (class_names.empty()) throw Error("model: no class names");
  const auto k = static_cast<int64_t>(class_names.size());
  torch::jit::Module m("PaperCNN");
  auto gen = at::detail::createCPUGenerator(static_cast<uint64_t>(seed));
  auto add = [&](const std::string& name, std::vector<int64_t> weight_shape, int64_t fan_in) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
    auto w = torch::empty(weight_shape).uniform_(-bound, bound, gen);
    auto b = torch::empty({weight_shape[0]}).uniform_(-bound, bound, gen);
    m.register_parameter(name + "_weight", w.requires_grad_(true), false);
    m.register_parameter(name + "_bias", b.requires_grad_(true), false);
  };
  add("conv1", {32, 1, 3, 3}, 1 * 9);
  add("conv2", {64, 32, 3, 3}, 32 * 9);
  add("fc1", {128, 3136}, 3136);
  add("fc2", {k, 128}, 128);
  m.define(kPaperCnnForward);
  ModelInfo info;
  info.class_names = std::move(class_names);
  info.seed = seed;
  return Classifier(std::move(m), std::move(info));
}

nlohmann::json describe_model(const ModelInfo& info) {
  return {{"format", kModelFormat},
          {"file", kModelFile},
          {"sha256", info.sha256},
          {"architecture", info.architecture},
          {"input_shape", info.input_shape},
          {"num_classes", info.num_classes()},
          {"class_names", info.class_names},
          {"seed", info.seed},
          {"training", info.training},
          {"parent", info.parent}};
}

void save_model(const fs::path& dir, Classifier& net, const std::string& what) {
  io::write_dir_atomically(dir, what, [&](const fs::path& tmp) {
    try {
      net.module().save((tmp / kModelFile).string());
    } catch (const c10::Error& e) {
      throw Error(describe(what, std::string("cannot save TorchScript: ") +
                                     e.what_without_backtrace()));
    }
    net.info().sha256 = io::sha256_file(tmp / kModelFile, what);
    io::write_json(tmp / kSidecarFile, describe_model(net.info()), what);
  });
}

Classifier load_model(const fs::path& path, const std::string& what) {
  if (!fs::exists(path)) throw Error(describe(what, "'" + path.string() + "' does not exist"));
  const fs::path dir = fs::is_directory(path) ? path : path.parent_path();
  const fs::path model_file = dir / kModelFile;
  const fs::path sidecar = dir / kSidecarFile;
  if (!fs::exists(sidecar)) {
    throw Error(describe(what, "'" + dir.string() + "' has no " + kSidecarFile +
                                   " (is it a model folder written by train?)"));
  }
  if (!fs::exists(model_file)) {
    throw Error(describe(what, "'" + dir.string() + "' has no " + kModelFile));
  }
  const io::Json s = io::read_json(sidecar, sidecar_what(what));
  if (io::require<std::string>(s, "format", sidecar_what(what)) != kModelFormat) {
    throw Error(describe(sidecar_what(what), "unknown format"));
  }
  const auto want_sha = io::require<std::string>(s, "sha256", sidecar_what(what));
  const auto got_sha = io::sha256_file(model_file, what);
  if (want_sha != got_sha) {
    throw Error(describe(what, "sha256 of '" + model_file.string() +
                                   "' does not match model.json (the file was changed or truncated)"));
  }
  ModelInfo info;
  info.architecture = io::require<std::string>(s, "architecture", sidecar_what(what));
  info.input_shape = io::require<std::vector<int64_t>>(s, "input_shape", sidecar_what(what));
  info.class_names = io::require<std::vector<std::string>>(s, "class_names", sidecar_what(what));
  info.seed = s.value("seed", int64_t{0});
  info.training = s.value("training", io::Json::object());
  info.parent = s.value("parent", io::Json(nullptr));
  info.sha256 = got_sha;
  if (info.input_shape.size() != 3 || info.class_names.empty()) {
    throw Error(describe(sidecar_what(what), "input_shape must be [C,H,W] and class_names non-empty"));
  }
  torch::jit::Module m;
  try {
    m = torch::jit::load(model_file.string());
  } catch (const c10::Error& e) {
    throw Error(describe(what, "'" + model_file.string() + "' is not a TorchScript archive"));
  }
  Classifier net(std::move(m), std::move(info));
  net.eval();
  // One dry run catches a module whose forward does not fit the recorded shapes.
  try {
    torch::NoGradGuard no_grad;
    std::vector<int64_t> shape = {1};
    shape.insert(shape.end(), net.info().input_shape.begin(), net.info().input_shape.end());
    const auto out = net.forward(torch::zeros(shape));
    if (out.dim() != 2 || out.size(1) != net.info().num_classes()) {
      throw Error(describe(what, "forward() returns shape " + c10::str(out.sizes()) +
                                     ", expected [1, " +
                                     std::to_string(net.info().num_classes()) + "]"));
    }
  } catch (const c10::Error& e) {
    throw Error(describe(what, std::string("forward() fails on the recorded input shape: ") +
                                   e.what_without_backtrace()));
  }
  return net;
}

}  // namespace advkfp::model
