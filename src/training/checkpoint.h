// Crash-safe training: a training loop's whole state after an epoch (weights, optimizer, random
// generators, counters and history), in one file that is written atomically, and resuming from it.
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "data/dataset.h"

namespace advkfp::training {

inline constexpr const char* kCheckpointFile = "checkpoint.pt";
inline constexpr const char* kCheckpointFormat = "advkfp.checkpoint/v1";

/// Where training keeps its checkpoint and whether it continues from one.
struct CheckpointConfig {
  std::filesystem::path dir;  ///< empty: no checkpoints
  bool resume = false;        ///< continue from dir's checkpoint (from the start when there is none)
  /// What identifies the run (tool, settings, input fingerprints): a checkpoint made by a run
  /// with anything different is refused instead of being continued with other settings.
  nlohmann::json run = nlohmann::json::object();

  bool enabled() const { return !dir.empty(); }
  std::filesystem::path file() const { return dir / kCheckpointFile; }
};

/// A training loop's state at the end of an epoch.
struct CheckpointState {
  int64_t epoch = 0;                               ///< epochs completed
  nlohmann::json loop = nlohmann::json::object();  ///< the loop's counters, history, curve
  std::vector<torch::Tensor> weights;              ///< Classifier::snapshot()
  std::map<std::string, torch::Tensor> tensors;    ///< generator states and other loop tensors
};

/// Writes the state and the optimizer's (Adam's moments and step counts) to config.file() through
/// a temporary file and a rename: a reader, or a process killed at any point, sees the previous
/// checkpoint or this one, never part of one. Throws advkfp::Error naming checkpoint_dir.
void save_checkpoint(const CheckpointConfig& config, const CheckpointState& state,
                     torch::optim::Optimizer& opt);

/// The state to continue from, with `opt`'s state restored: nothing when checkpoints are off or
/// there is none yet. Throws advkfp::UsageError (checkpoint_dir, resume) when a checkpoint exists
/// and resume is off, or resume is on without a folder; advkfp::Error when the file is not a
/// complete checkpoint or was made by another run (naming the first setting that differs).
std::optional<CheckpointState> load_checkpoint(const CheckpointConfig& config,
                                               torch::optim::Optimizer& opt);

/// Reads every part of a checkpoint file; `run` receives the run it belongs to, `opt` (optional)
/// the optimizer state. Throws advkfp::Error naming `what` when the file is not a checkpoint.
CheckpointState read_checkpoint(const std::filesystem::path& file, nlohmann::json* run,
                                torch::optim::Optimizer* opt, const std::string& what);

/// A generator's complete state (a uint8 tensor), and setting it back.
torch::Tensor generator_state(at::Generator& gen);
void set_generator_state(at::Generator& gen, const torch::Tensor& state);

/// SHA-256 of a dataset's images, labels and class names: identifies the data a run trained on.
std::string dataset_fingerprint(const data::Dataset& ds);

}  // namespace advkfp::training
