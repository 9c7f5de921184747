// The image classifier: a TorchScript module (loadable by Python's torch.jit.load and Triton's
// pytorch_libtorch backend) that is trained directly with the C++ optimizers.
#pragma once

#include <torch/script.h>
#include <torch/torch.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace advkfp::model {

/// The largest C, H or W a model may declare (import-model's flags, every sidecar read): a size of
/// 0 or one whose product overflows would reach LibTorch's shape arithmetic and batch sizing
/// instead of a line naming the input.
inline constexpr int64_t kMaxInputSize = 65536;

/// What the JSON sidecar (model.json) records beside model.pt.
struct ModelInfo {
  std::string architecture = "paper-cnn";
  std::vector<int64_t> input_shape = {1, 28, 28};  ///< [C,H,W]
  std::vector<std::string> class_names;
  int64_t seed = 0;
  nlohmann::json training = nlohmann::json::object();  ///< settings and history of how it was made
  nlohmann::json parent = nullptr;                     ///< the model it was fine-tuned from, if any
  std::string sha256;  ///< of model.pt as last saved or loaded; empty for an unsaved model
  int64_t num_classes() const { return static_cast<int64_t>(class_names.size()); }
};

/// A classifier: TorchScript module + metadata. forward() maps float32 [N,C,H,W] in [0,1] to
/// logits [N,num_classes]. Copying shares the module (like torch::jit::Module itself).
class Classifier {
 public:
  Classifier(torch::jit::Module module, ModelInfo info);

  torch::Tensor forward(const torch::Tensor& images);
  std::vector<torch::Tensor> parameters() const;
  int64_t parameter_count() const;
  void train(bool on = true) { module_.train(on); }
  /// Eval mode. Writes the modules' `training` flags only where one is still set: a served model
  /// is put in eval mode when loaded, and serve's monitor thread then scores windows with it while
  /// the batcher's forward passes read those flags, so an eval() that rewrote them would race.
  void eval();

  /// Deep copies of the parameter and buffer values (for keeping the best epoch; buffers hold
  /// BatchNorm's running statistics, which belong to the weights they were gathered with).
  std::vector<torch::Tensor> snapshot() const;
  /// Writes values taken by snapshot() back into the parameters and buffers.
  void restore(const std::vector<torch::Tensor>& values);

  const ModelInfo& info() const { return info_; }
  ModelInfo& info() { return info_; }
  torch::jit::Module& module() { return module_; }

 private:
  torch::jit::Module module_;
  ModelInfo info_;
};

/// Disables requires_grad on every parameter for its lifetime (attacks need only input gradients),
/// restoring the previous flags afterwards.
class FrozenParameters {
 public:
  explicit FrozenParameters(const Classifier& net);
  ~FrozenParameters();
  FrozenParameters(const FrozenParameters&) = delete;
  FrozenParameters& operator=(const FrozenParameters&) = delete;

 private:
  std::vector<torch::Tensor> params_;
  std::vector<bool> flags_;
};

/// The paper's CNN (~421k parameters): Conv(1->32,3x3,pad 1) ReLU MaxPool2, Conv(32->64,3x3,pad 1)
/// ReLU MaxPool2, Flatten(3136), Linear(3136->128) ReLU, Linear(128->num_classes). Weights use
/// PyTorch's default initialisation, U(-1/sqrt(fan_in), 1/sqrt(fan_in)), drawn from a generator
/// seeded with `seed`, so the same seed gives the same initial model.
Classifier make_paper_cnn(std::vector<std::string> class_names, int64_t seed);

/// A small ResNet for colour images such as 3x32x32 (ResNet-8 style, ~78k parameters): stem
/// Conv(C->16,3x3) BN ReLU; three basic blocks (Conv3x3 BN ReLU Conv3x3 BN + shortcut, ReLU) of
/// 16, 32 and 64 channels, the last two at stride 2 with a 1x1 Conv+BN projection shortcut;
/// global average pooling; Linear(64->num_classes). Convolutions have no bias (BatchNorm follows);
/// BatchNorm (momentum 0.1, eps 1e-5) uses batch statistics and updates its running buffers in
/// train mode, the running statistics in eval mode. Built like the paper CNN: registered
/// parameters and buffers and a forward written against torch.* builtins, so the saved file loads
/// in Python and in Triton's pytorch_libtorch backend. `input_shape` is [C,H,W] (H, W >= 4).
Classifier make_resnet_small(std::vector<std::string> class_names,
                             const std::vector<int64_t>& input_shape, int64_t seed);

/// Builds architecture `name` for images of `input_shape` ([C,H,W]; the paper CNN is always built
/// for 1x28x28, which callers check the data against). Throws advkfp::UsageError for an unknown
/// name or an input shape resnet-small cannot take.
Classifier make_architecture(const std::string& name, std::vector<std::string> class_names,
                             const std::vector<int64_t>& input_shape, int64_t seed);

inline constexpr const char* kModelFile = "model.pt";
inline constexpr const char* kSidecarFile = "model.json";
inline constexpr const char* kModelFormat = "advkfp.model/v1";

/// Saves a model folder atomically: model.pt (TorchScript) and model.json (ModelInfo + sha256 of
/// model.pt), and records that sha256 in net.info(). With a `signing_key` (Ed25519 private key
/// PEM) the folder also holds model.sig, the signature of model.json (model/signature.h), written
/// in the same atomic step. Throws advkfp::Error naming `what`.
void save_model(const std::filesystem::path& dir, Classifier& net, const std::string& what,
                const std::filesystem::path& signing_key = {});

/// Loads a model folder (or the model.pt inside one). When a trusted key is configured
/// (model::trusted_key()), first checks that model.sig signs model.json with it. Checks the
/// sidecar's sha256 against model.pt, that model.pt is TorchScript, and check_classifier(). The
/// checked sha256 is kept in info(). The model is returned in eval mode. Throws advkfp::Error
/// naming `what` and the folder.
Classifier load_model(const std::filesystem::path& path, const std::string& what);

/// Checks that the module is an image classifier for its info(), as attacks and training use it:
/// in eval mode, forward() on float32 [2,C,H,W] inputs in [0,1] returns float32 logits [2,K] with
/// K = number of class names, all finite; cross-entropy has a non-zero, finite gradient with
/// respect to the input; a second forward() on the same input gives the same logits. Leaves the
/// module in eval mode. Throws advkfp::Error "<what>: <the first check that failed>".
void check_classifier(Classifier& net, const std::string& what);

/// Turns a TorchScript file saved elsewhere (Python's torch.jit.script/trace + save) into a
/// classifier for `info` (class names, input shape). With `mean`/`stdev` (one value per channel,
/// both or neither) the result is a wrapper module whose forward is
/// `model((x - mean) / std)`, so callers still feed [0,1] pixels; without them it is the module
/// as loaded. Runs check_classifier(). Throws advkfp::Error naming `what`.
Classifier import_torchscript(const std::filesystem::path& file, ModelInfo info,
                              const std::vector<double>& mean, const std::vector<double>& stdev,
                              const std::string& what);

/// One line out of a LibTorch error: errors raised inside TorchScript carry the interpreter's
/// traceback first; the error itself is the last non-empty line.
std::string torch_error_line(const c10::Error& e);

/// Input values per pass that attack and evaluation batches are sized for by default: 128 images
/// of 1x28x28. An attack keeps every layer's activations for the input gradient, so a pass's
/// memory grows with the image as much as with the count: resnet-small's FGSM on 3x32x32 images
/// peaked at 1.6-1.9 GB at 500 images a pass. bench/batch/run measures evaluate per attack and
/// batch size: on the paper CNN, 128 images a pass are as fast as 500 or faster for clean
/// evaluation, FGSM, PGD-20 and APGD-CE, at a third to a half of the peak memory (README,
/// "Batches of attacks and evaluation").
inline constexpr int64_t kDefaultBatchValues = 128 * 28 * 28;

/// Images per pass for inputs of `input_shape` ([C,H,W]): `requested` when positive, else
/// kDefaultBatchValues / (C*H*W), at least 1 (128 for 1x28x28, 32 for 3x32x32).
int64_t batch_size_for(int64_t requested, const std::vector<int64_t>& input_shape);

/// The sidecar fields as JSON (also embedded in metrics to identify the model).
nlohmann::json describe_model(const ModelInfo& info);

}  // namespace advkfp::model
