// Label-free detection on the served traffic: every input the batcher computed is collected into
// windows of N inputs, and each window is judged off the request path by detect-degradation's
// detector (src/detection: KS tests on softmax confidence, feature squeezing, the adversarial
// test) with the calibration of the model that served it. After `consecutive` bad windows in a
// row (hysteresis, as in detect-degradation) the alarm rises; on each rising edge (one per
// episode: a good window ends it) the run's inputs are saved as an unlabelled dataset artifact
// and the defence command is started, one at a time and not again within the cooldown after it
// finished. Every decision is logged with its reasons.
#pragma once

#include <torch/torch.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "kfp_run.h"
#include "models.h"
#include "telemetry.h"

namespace advkfp::serve {

struct MonitorConfig {
  int64_t window_size = 500;
  int64_t consecutive = 2;
  double alpha = 0.01;
  bool attack_only = true;  ///< a bad window is an `attack` verdict (else any degraded window)
  int64_t batch_size = 256;  ///< inputs per forward pass of the detector
  std::filesystem::path windows_dir;  ///< where alarm windows are saved; empty: not saved
  std::string command;                ///< the defence command (run by /bin/sh); empty: none
  /// Or a run on a KFP endpoint (command empty): followed until it is final (GET every
  /// kfp->poll_s), as a command is waited for; the cooldown counts from its end.
  std::optional<KfpRunConfig> kfp;
  std::string kfp_windows_uri;  ///< where the pipeline sees windows_dir; empty: the local path
  double cooldown_s = 300;
  int64_t max_pending = 4;  ///< windows waiting for the detector; more are dropped and counted
};

class Monitor {
 public:
  Monitor(MonitorConfig config, std::shared_ptr<Telemetry> telemetry);
  ~Monitor();
  Monitor(const Monitor&) = delete;
  Monitor& operator=(const Monitor&) = delete;

  /// Called by the batcher after each batch with the images it computed and the model it used.
  /// Models without a calibration are not watched.
  void observe(const torch::Tensor& images, const ModelPtr& model);
  /// Judges the windows already queued, then stops. A running defence command is left running.
  void stop();

 private:
  struct Window {
    torch::Tensor images;
    ModelPtr model;
    int64_t index = 0, offset = 0;
  };
  // What the defence command's waiter shares with the monitor (it may outlive it at exit).
  struct Defence {
    std::mutex mutex;
    std::condition_variable stop_wake;  ///< wakes the KFP run's follower when stopping
    bool running = false, stopping = false;
    std::chrono::steady_clock::time_point cooldown_until{};
    /// A started defence (command or KFP run) ended: not running, the cooldown from now, the
    /// gauge and the outcome counter. Called with `mutex` held.
    void finish(Telemetry& telemetry, double cooldown_s, const std::string& outcome);
  };
  void loop();
  void judge(const Window& w);
  void fire(const std::string& reason, const ModelPtr& model, int64_t window_index);
  void start_run(const std::string& reason, const std::filesystem::path& saved);  ///< under the defence lock

  MonitorConfig config_;
  std::shared_ptr<Telemetry> telemetry_;
  // Collecting (batcher thread).
  ModelPtr collecting_model_;
  std::vector<torch::Tensor> collected_;
  int64_t collected_count_ = 0, windows_made_ = 0, inputs_seen_ = 0;
  // Queue to the detector thread.
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Window> pending_;
  bool stopping_ = false;
  // Detector thread state.
  ModelPtr judged_model_;
  int64_t bad_run_ = 0;
  bool alarm_ = false;
  std::deque<torch::Tensor> recent_;  ///< images of the last `consecutive` windows
  std::shared_ptr<Defence> defence_ = std::make_shared<Defence>();
  std::thread follower_;  ///< follows the last KFP run; joined when stopping
  std::thread worker_;
};

}  // namespace advkfp::serve
