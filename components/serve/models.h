// The served model and its rollout: a model location is either one model folder or a
// `<root>/<version>/` tree of them; the newest one is loaded beside the running one with the
// project's loader (sha256, TorchScript, forward shape), checked against it, optionally gated,
// and swapped in between batches. A model that fails any check is refused, once, and the running
// one keeps serving.
#pragma once

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "detection/detection.h"
#include "model/classifier.h"

namespace advkfp::serve {

/// One loaded model, immutable once published (forward() only reads it).
struct ServedModel {
  model::Classifier net;
  std::string version;  ///< the folder's name in a tree, else the first 12 hex digits of sha256
  std::filesystem::path dir;
  std::optional<detection::Calibration> calibration;  ///< for live detection; none: detection off
};
using ModelPtr = std::shared_ptr<ServedModel>;

/// The model requests are served with. get() and set() are atomic with respect to each other;
/// a batch takes get() once, so it runs on one model from start to end.
class ModelSlot {
 public:
  ModelPtr get() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return model_;
  }
  void set(ModelPtr m) {
    std::lock_guard<std::mutex> lock(mutex_);
    model_ = std::move(m);
  }

 private:
  mutable std::mutex mutex_;
  ModelPtr model_;
};

/// A model folder found at the watched location.
struct Candidate {
  std::filesystem::path dir;
  std::string version;
  std::string key;  ///< changes whenever the folder's files change (sidecar sha256, sizes, times)
};

/// The model the location holds now: `location` itself when it holds model.json, else its newest
/// `<version>/` subfolder holding model.json (versions that are all digits compare as numbers, and
/// above any other name; hidden folders, such as those of an unfinished atomic write, are
/// skipped). Nothing when there is none.
std::optional<Candidate> newest_model(const std::filesystem::path& location);

/// Loads and checks a candidate; throws advkfp::Error naming it. `calibrate` adds the live
/// detector's calibration (nullptr: none).
using Loader = std::function<ModelPtr(const Candidate&)>;
/// Decides whether `next` may replace `current`: returns the reason to refuse, or nothing.
using Gate = std::function<std::optional<std::string>(ServedModel& current, ServedModel& next)>;

/// Polls the location every `interval_s` seconds and swaps a newer, valid model into `slot`.
class ModelWatcher {
 public:
  ModelWatcher(std::filesystem::path location, double interval_s, ModelSlot& slot, Loader load,
               Gate gate, std::function<void(const ServedModel&)> on_swap,
               std::function<void(const Candidate&, const std::string&)> on_refuse);
  ~ModelWatcher();
  ModelWatcher(const ModelWatcher&) = delete;
  ModelWatcher& operator=(const ModelWatcher&) = delete;
  /// One poll, synchronously (the thread calls it; exposed for tests).
  void poll();
  void stop();

 private:
  std::filesystem::path location_;
  double interval_s_;
  ModelSlot& slot_;
  Loader load_;
  Gate gate_;
  std::function<void(const ServedModel&)> on_swap_;
  std::function<void(const Candidate&, const std::string&)> on_refuse_;
  std::set<std::string> refused_;  ///< candidate keys already refused (not retried)
  std::string current_key_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace advkfp::serve
