// Paper CNN as a TorchScript module, with save/load of model folders.
#include "model/classifier.h"
#include "model/sidecar.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "common/error.h"
#include "common/text.h"
#include "io/files.h"
#include "io/json.h"
#include "model/signature.h"

namespace advkfp::model {
namespace fs = std::filesystem;

Classifier::Classifier(torch::jit::Module module, ModelInfo info)
    : module_(std::move(module)), info_(std::move(info)) {}

torch::Tensor Classifier::forward(const torch::Tensor& images) {
  return module_.forward({images}).toTensor();
}

// A module without a `training` attribute is left alone, as jit::Module::train leaves it
// (its is_training() would call it training forever).
void Classifier::eval() {
  for (const auto& m : module_.modules()) {
    if (m.hasattr("training") && m.attr("training").toBool()) {
      module_.eval();
      return;
    }
  }
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
  for (const auto& b : module_.buffers()) out.push_back(b.detach().clone());
  return out;
}

void Classifier::restore(const std::vector<torch::Tensor>& values) {
  torch::NoGradGuard no_grad;
  size_t i = 0;
  auto put = [&](const torch::Tensor& t) {
    TORCH_CHECK(i < values.size(), "restore: too few values");
    t.detach().copy_(values[i++]);
  };
  for (const auto& p : module_.parameters()) put(p);
  for (const auto& b : module_.buffers()) put(b);
  TORCH_CHECK(i == values.size(), "restore: too many values");
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

namespace {

// Registers parameters and buffers on a module under construction, drawing PyTorch's default
// initialisation, U(-1/sqrt(fan_in), 1/sqrt(fan_in)), from one seeded generator in call order.
class Layers {
 public:
  Layers(torch::jit::Module& m, int64_t seed)
      : m_(m), gen_(at::detail::createCPUGenerator(static_cast<uint64_t>(seed))) {}
  void conv(const std::string& name, int64_t out, int64_t in, int64_t k) {
    uniform(name + "_weight", {out, in, k, k}, in * k * k);
  }
  void batch_norm(const std::string& name, int64_t channels) {
    m_.register_parameter(name + "_weight", torch::ones({channels}).requires_grad_(true), false);
    m_.register_parameter(name + "_bias", torch::zeros({channels}).requires_grad_(true), false);
    m_.register_buffer(name + "_running_mean", torch::zeros({channels}));
    m_.register_buffer(name + "_running_var", torch::ones({channels}));
  }
  void linear(const std::string& name, int64_t out, int64_t in) {
    uniform(name + "_weight", {out, in}, in);
    uniform(name + "_bias", {out}, in);
  }

 private:
  void uniform(const std::string& name, std::vector<int64_t> shape, int64_t fan_in) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
    m_.register_parameter(name, torch::empty(shape).uniform_(-bound, bound, gen_).requires_grad_(true),
                          false);
  }
  torch::jit::Module& m_;
  at::Generator gen_;
};

// TorchScript for conv (no bias) followed by batch norm, on the expression `in`.
std::string conv_bn(const std::string& in, const std::string& conv, const std::string& bn,
                    int stride, int pad) {
  const std::string s = std::to_string(stride), p = std::to_string(pad);
  return "self._bn(torch.conv2d(" + in + ", self." + conv + "_weight, None, [" + s + ", " + s +
         "], [" + p + ", " + p + "]), self." + bn + "_weight, self." + bn + "_bias, self." + bn +
         "_running_mean, self." + bn + "_running_var)";
}

std::string shape_csv(const std::vector<int64_t>& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) out += (i ? "x" : "") + std::to_string(s[i]);
  return out;
}

}  // namespace

Classifier make_resnet_small(std::vector<std::string> class_names,
                             const std::vector<int64_t>& input_shape, int64_t seed) {
  if (class_names.empty()) throw Error("model: no class names");
  if (input_shape.size() != 3 || input_shape[0] < 1 || input_shape[1] < 4 || input_shape[2] < 4) {
    throw UsageError(describe("architecture", "resnet-small needs [C,H,W] inputs of at least 4x4, "
                                              "not " + shape_csv(input_shape)));
  }
  const auto k = static_cast<int64_t>(class_names.size());
  torch::jit::Module m("ResNetSmall");
  // forward reads self.training (BatchNorm's mode), so the attribute exists before define().
  m.register_attribute("training", c10::BoolType::get(), true);
  Layers layers(m, seed);
  layers.conv("stem_conv", 16, input_shape[0], 3);
  layers.batch_norm("stem_bn", 16);
  std::string script = R"JIT(
def _bn(self, x, weight, bias, running_mean, running_var):
    return torch.batch_norm(x, weight, bias, running_mean, running_var, self.training, 0.1, 1e-05, False)

def forward(self, x):
)JIT";
  script += "    x = torch.relu(" + conv_bn("x", "stem_conv", "stem_bn", 1, 1) + ")\n";
  struct Block {
    const char* name;
    int64_t in, out;
    int stride;
  };
  for (const Block& b : {Block{"block1", 16, 16, 1}, Block{"block2", 16, 32, 2},
                         Block{"block3", 32, 64, 2}}) {
    const std::string n = b.name;
    layers.conv(n + "_conv1", b.out, b.in, 3);
    layers.batch_norm(n + "_bn1", b.out);
    layers.conv(n + "_conv2", b.out, b.out, 3);
    layers.batch_norm(n + "_bn2", b.out);
    script += "    y = torch.relu(" + conv_bn("x", n + "_conv1", n + "_bn1", b.stride, 1) + ")\n";
    script += "    y = " + conv_bn("y", n + "_conv2", n + "_bn2", 1, 1) + "\n";
    if (b.stride != 1 || b.in != b.out) {
      layers.conv(n + "_down", b.out, b.in, 1);
      layers.batch_norm(n + "_down_bn", b.out);
      script += "    x = torch.relu(y + " + conv_bn("x", n + "_down", n + "_down_bn", b.stride, 0) +
                ")\n";
    } else {
      script += "    x = torch.relu(y + x)\n";
    }
  }
  layers.linear("fc", k, 64);
  script += "    x = torch.mean(x, [2, 3])\n";
  script += "    return torch.linear(x, self.fc_weight, self.fc_bias)\n";
  m.define(script);
  ModelInfo info;
  info.architecture = "resnet-small";
  info.input_shape = input_shape;
  info.class_names = std::move(class_names);
  info.seed = seed;
  return Classifier(std::move(m), std::move(info));
}

Classifier make_architecture(const std::string& name, std::vector<std::string> class_names,
                             const std::vector<int64_t>& input_shape, int64_t seed) {
  if (name == "paper-cnn") return make_paper_cnn(std::move(class_names), seed);  // 1x28x28 only
  if (name == "resnet-small") return make_resnet_small(std::move(class_names), input_shape, seed);
  throw UsageError(describe("architecture", "unknown architecture '" + name + "'"));
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

void save_model(const fs::path& dir, Classifier& net, const std::string& what,
                const fs::path& signing_key) {
  io::write_dir_atomically(dir, what, [&](const fs::path& tmp) {
    try {
      net.module().save((tmp / kModelFile).string());
    } catch (const c10::Error& e) {
      throw Error(describe(what, std::string("cannot save TorchScript: ") +
                                     e.what_without_backtrace()));
    }
    net.info().sha256 = io::sha256_file(tmp / kModelFile, what);
    io::write_json(tmp / kSidecarFile, describe_model(net.info()), what);
    if (!signing_key.empty()) {
      write_signature(tmp, io::read_file(tmp / kSidecarFile, what), signing_key, what);
    }
  });
}

ModelInfo parse_sidecar(const std::string& text, const fs::path& sidecar, const std::string& what) {
  const std::string swhat = sidecar_what(what);
  const io::Json s = io::parse_json(text, sidecar, swhat);
  if (io::require<std::string>(s, "format", swhat) != kModelFormat) {
    throw Error(describe(swhat, "unknown format"));
  }
  ModelInfo info;
  info.sha256 = io::require<std::string>(s, "sha256", swhat);
  info.architecture = io::require<std::string>(s, "architecture", swhat);
  info.input_shape = io::require<std::vector<int64_t>>(s, "input_shape", swhat);
  info.class_names = io::require<std::vector<std::string>>(s, "class_names", swhat);
  // require<>, not value(): a field of the wrong type is the sidecar's error, not the library's.
  info.seed = s.contains("seed") ? io::require<int64_t>(s, "seed", swhat) : 0;
  info.training = s.value("training", io::Json::object());
  info.parent = s.value("parent", io::Json(nullptr));
  if (info.input_shape.size() != 3 || info.class_names.empty()) {
    throw Error(describe(swhat, "input_shape must be [C,H,W] and class_names non-empty"));
  }
  for (const auto d : info.input_shape) {
    if (d < 1 || d > kMaxInputSize) {
      io::bad_field(swhat, "input_shape",
                    "has size " + std::to_string(d) + "; C, H and W must be 1 to " +
                        std::to_string(kMaxInputSize));
    }
  }
  return info;
}

ModelInfo read_sidecar(const fs::path& sidecar, const std::string& what) {
  return parse_sidecar(io::read_file(sidecar, sidecar_what(what)), sidecar, what);
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
  // Both files must be the folder's own: a link could point the loader at any file on the
  // machine, and a folder or device is no model.
  for (const auto& f : {model_file, sidecar}) {
    if (fs::is_symlink(f)) {
      throw Error(describe(what, "'" + f.string() + "' is a symbolic link; a model folder holds "
                                 "regular files"));
    }
    if (!fs::is_regular_file(f)) {
      throw Error(describe(what, "'" + f.string() + "' is not a regular file"));
    }
  }
  // The bytes that are verified are the bytes that are parsed.
  const std::string sidecar_text = io::read_file(sidecar, sidecar_what(what));
  if (const auto key = trusted_key()) verify_signature(dir, sidecar_text, *key, what);
  ModelInfo info = parse_sidecar(sidecar_text, sidecar, what);
  const auto got_sha = io::sha256_file(model_file, what);
  if (info.sha256 != got_sha) {
    throw Error(describe(what, "sha256 of '" + model_file.string() +
                                   "' does not match model.json (the file was changed or truncated)"));
  }
  torch::jit::Module m;
  try {
    m = torch::jit::load(model_file.string());
  } catch (const c10::Error& e) {
    throw Error(describe(what, "'" + model_file.string() + "' is not a TorchScript archive"));
  }
  Classifier net(std::move(m), std::move(info));
  check_classifier(net, what);
  return net;
}

namespace {

// torch_error_line for any exception: besides c10::Error, the TorchScript interpreter throws its
// own runtime errors and the script compiler torch::jit::ErrorReport, all with a traceback first.
std::string error_line(const std::exception& e) {
  const auto* c10_error = dynamic_cast<const c10::Error*>(&e);
  const std::string text = c10_error ? c10_error->what_without_backtrace() : e.what();
  std::string last, line;
  std::istringstream in(text);
  while (std::getline(in, line)) {
    if (!trim_space(line).empty()) last = trim_space(line);
  }
  return last.empty() ? text : last;
}

std::string shape_text(c10::IntArrayRef sizes) {
  std::string out = "[";
  for (size_t i = 0; i < sizes.size(); ++i) out += (i ? ", " : "") + std::to_string(sizes[i]);
  return out + "]";
}

// The checks of check_classifier on the eval-mode module; LibTorch errors propagate.
void check_eval_forward(Classifier& net, const std::string& what) {
  torch::AutoGradMode grad_mode(true);  // callers may hold a NoGradGuard
  const auto& info = net.info();
  std::vector<int64_t> shape = {2};
  shape.insert(shape.end(), info.input_shape.begin(), info.input_shape.end());
  auto gen = at::detail::createCPUGenerator(0);
  const auto x = torch::rand(shape, gen);
  auto xg = x.clone().requires_grad_(true);
  const auto out = net.forward(xg);
  const std::string on = " on inputs " + shape_text(shape);
  if (out.dim() != 2 || out.size(0) != 2 || out.size(1) != info.num_classes()) {
    throw Error(describe(what, "forward()" + on + " returns " + shape_text(out.sizes()) +
                                   ", expected [2, " + std::to_string(info.num_classes()) +
                                   "] (one logit per class name)"));
  }
  if (out.scalar_type() != torch::kFloat) {
    throw Error(describe(what, "forward() returns " + std::string(c10::toString(out.scalar_type())) +
                                   " logits, expected Float (float32)"));
  }
  if (!torch::isfinite(out).all().item<bool>()) {
    throw Error(describe(what, "forward()" + on + " in [0, 1] returns NaN or infinite logits"));
  }
  torch::Tensor grad;
  if (out.requires_grad()) {
    const auto loss = torch::nn::functional::cross_entropy(out, torch::zeros({2}, torch::kLong));
    grad = torch::autograd::grad({loss}, {xg}, {}, false, false, /*allow_unused=*/true)[0];
  }
  if (!grad.defined() || !grad.ne(0).any().item<bool>()) {
    throw Error(describe(what, "the loss has no gradient with respect to the input (forward() "
                               "detaches or quantises it), so gradient attacks cannot run"));
  }
  if (!torch::isfinite(grad).all().item<bool>()) {
    throw Error(describe(what, "the gradient with respect to the input is NaN or infinite"));
  }
  // The same computation again (an input that requires grad, as above): bit for bit the same
  // logits unless something random runs in eval mode.
  const auto again = net.forward(x.clone().requires_grad_(true));
  if (!torch::equal(out.detach(), again.detach())) {
    throw Error(describe(what, "forward() in eval mode gives different logits for the same input "
                               "(dropout or another random operation ignores eval mode)"));
  }
}

}  // namespace

std::string torch_error_line(const c10::Error& e) { return error_line(e); }

void check_classifier(Classifier& net, const std::string& what) {
  net.eval();
  try {
    check_eval_forward(net, what);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {  // c10::Error, and the interpreter's own runtime errors
    std::vector<int64_t> shape = {2};
    shape.insert(shape.end(), net.info().input_shape.begin(), net.info().input_shape.end());
    throw Error(describe(what, "forward() fails on inputs " + shape_text(shape) + ": " +
                                   error_line(e)));
  }
}

Classifier import_torchscript(const fs::path& file, ModelInfo info, const std::vector<double>& mean,
                              const std::vector<double>& stdev, const std::string& what) {
  if (!fs::is_regular_file(file)) {
    throw Error(describe(what, "'" + file.string() + "' is not a file"));
  }
  if (info.input_shape.size() != 3 ||
      std::any_of(info.input_shape.begin(), info.input_shape.end(), [](int64_t d) { return d < 1; })) {
    throw UsageError(describe("input_shape", "must be three positive sizes C,H,W"));
  }
  if (info.class_names.size() < 2) {
    throw UsageError(describe("class_names", "a classifier needs at least two class names"));
  }
  if (mean.size() != stdev.size()) {
    throw UsageError(describe("std", "give mean and std together"));
  }
  const int64_t channels = info.input_shape[0];
  if (!mean.empty() && static_cast<int64_t>(mean.size()) != channels) {
    throw UsageError(describe("mean", std::to_string(mean.size()) + " values for " +
                                          std::to_string(channels) + " input channels"));
  }
  for (double s : stdev) {
    if (!(s > 0) || !std::isfinite(s)) throw UsageError(describe("std", "values must be > 0"));
  }
  for (double m : mean) {
    if (!std::isfinite(m)) throw UsageError(describe("mean", "values must be finite"));
  }
  torch::jit::Module loaded;
  try {
    loaded = torch::jit::load(file.string());
  } catch (const std::exception& e) {
    throw Error(describe(what, "'" + file.string() + "' is not a TorchScript archive (save it with "
                               "torch.jit.save of a scripted or traced module)"));
  }
  if (mean.empty()) {
    Classifier net(std::move(loaded), std::move(info));
    check_classifier(net, what);
    return net;
  }
  // The wrapper keeps the user's module as a submodule and normalises in its own forward, so the
  // saved file still loads anywhere TorchScript does and attacks see [0,1] pixels.
  torch::jit::Module wrapper("NormalizedClassifier");
  // Every module Python's torch.jit makes has `training`; jit::Module::train skips one without it.
  wrapper.register_attribute("training", c10::BoolType::get(), false);
  wrapper.register_module("model", loaded);
  auto column = [&](const std::vector<double>& v) {
    return torch::tensor(std::vector<float>(v.begin(), v.end())).reshape({1, channels, 1, 1});
  };
  wrapper.register_buffer("mean", column(mean));
  wrapper.register_buffer("std", column(stdev));
  try {
    wrapper.define(R"JIT(
def forward(self, x):
    return self.model.forward((x - self.mean) / self.std)
)JIT");
  } catch (const std::exception& e) {  // the script compiler throws torch::jit::ErrorReport
    throw Error(describe(what, "cannot wrap the module with normalisation (does its forward take "
                               "one tensor?): " + error_line(e)));
  }
  Classifier net(std::move(wrapper), std::move(info));
  check_classifier(net, what);
  return net;
}

int64_t batch_size_for(int64_t requested, const std::vector<int64_t>& input_shape) {
  if (requested > 0) return requested;
  int64_t values = 1;
  for (const auto d : input_shape) values *= std::max<int64_t>(d, 1);
  return std::max<int64_t>(1, kDefaultBatchValues / values);
}

}  // namespace advkfp::model
