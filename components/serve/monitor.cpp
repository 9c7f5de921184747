// Live label-free detection and the defence trigger (see monitor.h).
#include "monitor.h"

#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>

#include "common/error.h"
#include "common/log.h"
#include "data/dataset.h"
#include "detection/detection.h"

extern char** environ;

namespace advkfp::serve {
namespace fs = std::filesystem;

namespace {

std::string utc_stamp() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

std::string joined(const std::vector<std::string>& parts) {
  std::string s;
  for (const auto& p : parts) s += (s.empty() ? "" : "; ") + p;
  return s;
}

// Starts `/bin/sh -c command advkfp-defence WINDOW` with the window and model in the environment.
pid_t start_command(const std::string& command, const std::vector<std::string>& extra_env,
                    const std::string& window) {
  std::vector<std::string> args = {"/bin/sh", "-c", command, "advkfp-defence", window};
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) env.emplace_back(*e);
  env.insert(env.end(), extra_env.begin(), extra_env.end());
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  // The child starts clean: default SIGPIPE (the server ignores it), no blocked signal, and none
  // of the server's descriptors (its listening socket would outlive the server otherwise).
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t signals;
  sigemptyset(&signals);
  posix_spawnattr_setsigmask(&attr, &signals);
  sigaddset(&signals, SIGPIPE);
  posix_spawnattr_setsigdefault(&attr, &signals);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, "/bin/sh", &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) throw Error(describe("command", std::string("cannot start /bin/sh: ") + std::strerror(rc)));
  return pid;
}

}  // namespace

Monitor::Monitor(MonitorConfig config, std::shared_ptr<Telemetry> telemetry)
    : config_(std::move(config)), telemetry_(std::move(telemetry)) {
  worker_ = std::thread([this] { loop(); });
}

Monitor::~Monitor() { stop(); }

void Monitor::observe(const torch::Tensor& images, const ModelPtr& model) {
  if (!model || !model->calibration) return;
  if (model != collecting_model_) {
    if (collected_count_ > 0) {
      log::info("detector: model changed to version ", model->version, "; ", collected_count_,
                " inputs of an unfinished window of the previous model not judged");
    }
    collected_.clear();
    collected_count_ = 0;
    collecting_model_ = model;
  }
  collected_.push_back(images.clone());
  collected_count_ += images.size(0);
  inputs_seen_ += images.size(0);
  while (collected_count_ >= config_.window_size) {
    auto all = torch::cat(collected_, 0);
    Window w{all.narrow(0, 0, config_.window_size).clone(), model, windows_made_++,
             inputs_seen_ - collected_count_};
    collected_.clear();
    collected_count_ -= config_.window_size;
    if (collected_count_ > 0) collected_.push_back(all.narrow(0, config_.window_size, collected_count_).clone());
    std::lock_guard<std::mutex> lock(mutex_);
    if (static_cast<int64_t>(pending_.size()) >= config_.max_pending) {
      telemetry_->windows_dropped(1);
      log::warn("detector: behind by ", pending_.size(), " windows; window ", w.index, " dropped");
      continue;
    }
    pending_.push_back(std::move(w));
    wake_.notify_one();
  }
}

void Monitor::Defence::finish(Telemetry& telemetry, double cooldown_s, const std::string& outcome) {
  running = false;
  cooldown_until = std::chrono::steady_clock::now() +
                   std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                       std::chrono::duration<double>(cooldown_s));
  telemetry.defence_running(false);
  telemetry.defence_outcome(outcome);
}

void Monitor::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_ && !worker_.joinable()) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (worker_.joinable()) worker_.join();
  {
    std::lock_guard<std::mutex> lock(defence_->mutex);
    defence_->stopping = true;
    if (defence_->running) {
      log::info("detector: the defence ", config_.kfp ? "KFP run" : "command",
                " is still running; not waited for");
    }
  }
  defence_->stop_wake.notify_all();
  if (follower_.joinable()) follower_.join();
}

void Monitor::loop() {
  for (;;) {
    Window w;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
      if (pending_.empty()) return;
      w = std::move(pending_.front());
      pending_.pop_front();
    }
    try {
      judge(w);
    } catch (const std::exception& e) {
      log::error("detector: window ", w.index, " not judged: ", e.what());
    }
  }
}

void Monitor::judge(const Window& w) {
  const auto& calibration = *w.model->calibration;
  if (w.model != judged_model_) {  // a new model starts a new episode with its own calibration
    judged_model_ = w.model;
    bad_run_ = 0;
    alarm_ = false;
    recent_.clear();
  }
  const auto scores =
      detection::score_inputs(w.model->net, w.images, calibration.squeeze_bits, config_.batch_size);
  const auto d = detection::decide_window(calibration, scores, config_.alpha, w.offset, w.index);
  const bool bad = config_.attack_only ? d.verdict == detection::Verdict::kAttack : d.degraded;
  bad_run_ = bad ? bad_run_ + 1 : 0;
  recent_.push_back(w.images);
  while (static_cast<int64_t>(recent_.size()) > config_.consecutive) recent_.pop_front();
  const bool rising = !alarm_ && bad_run_ >= config_.consecutive;
  alarm_ = bad_run_ >= config_.consecutive;
  telemetry_->window(detection::verdict_name(d.verdict), d.p_max_probability, d.p_entropy,
                     d.binomial_p_value, static_cast<double>(d.flagged_count) / d.count,
                     d.adversarial_p_value, static_cast<double>(d.adversarial_count) / d.count);
  telemetry_->alarm(alarm_, bad_run_);
  log::info("detector: window ", d.index, " (", d.count, " inputs, model ", w.model->version,
            "): ", detection::verdict_name(d.verdict), ", ", bad_run_, " bad in a row",
            alarm_ ? ", ALARM" : "", ": ", joined(d.reasons));
  if (rising) {
    const std::string reason = std::to_string(bad_run_) + " windows in a row judged " +
                               (config_.attack_only ? "attack" : "degraded") + " (last: window " +
                               std::to_string(d.index) + ", " + joined(d.reasons) + ")";
    fire(reason, w.model, d.index);
  }
}

void Monitor::fire(const std::string& reason, const ModelPtr& model, int64_t window_index) {
  log::warn("detector: alarm: ", reason);
  fs::path saved;
  if (!config_.windows_dir.empty()) {
    data::Dataset ds;
    ds.images = torch::cat(std::vector<torch::Tensor>(recent_.begin(), recent_.end()), 0);
    ds.class_names = model->net.info().class_names;
    ds.provenance = {{"source", "serve"},
                     {"description", "served inputs of the windows that raised the alarm"},
                     {"model_version", model->version},
                     {"model_sha256", model->net.info().sha256},
                     {"last_window", window_index},
                     {"reason", reason}};
    saved = config_.windows_dir / ("alarm-" + utc_stamp() + "-window-" + std::to_string(window_index));
    try {
      data::save_dataset(saved, ds, data::ImageEncoding::kFloat32, "window");
      log::info("detector: saved ", ds.size(), " inputs to ", saved.string());
    } catch (const std::exception& e) {
      log::error("detector: ", e.what());
      saved.clear();
    }
  }
  if (config_.command.empty() && !config_.kfp) return;
  std::lock_guard<std::mutex> lock(defence_->mutex);
  if (defence_->running) {
    telemetry_->trigger("skipped_running");
    log::warn("detector: defence not started: the previous one is still running");
    return;
  }
  const auto now = std::chrono::steady_clock::now();
  if (now < defence_->cooldown_until) {
    telemetry_->trigger("skipped_cooldown");
    log::warn("detector: defence not started: cooldown for another ",
              std::chrono::duration<double>(defence_->cooldown_until - now).count(), " s");
    return;
  }
  if (config_.kfp) {
    start_run(reason, saved);
    return;
  }
  pid_t pid = 0;
  try {
    pid = start_command(config_.command,
                        {"ADVKFP_WINDOW=" + saved.string(), "ADVKFP_MODEL_DIR=" + model->dir.string(),
                         "ADVKFP_MODEL_VERSION=" + model->version, "ADVKFP_ALARM_REASON=" + reason},
                        saved.string());
  } catch (const std::exception& e) {
    telemetry_->trigger("failed");
    log::error("detector: defence not started: ", e.what());
    return;
  }
  defence_->running = true;
  telemetry_->trigger("started");
  telemetry_->defence_running(true);
  log::warn("detector: defence started (pid ", pid, "): ", config_.command, " ", saved.string());
  // The waiter owns shared state only, so it may outlive the monitor at exit.
  std::thread([pid, defence = defence_, telemetry = telemetry_, cooldown = config_.cooldown_s] {
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    std::lock_guard<std::mutex> lock(defence->mutex);
    defence->finish(*telemetry, cooldown, code == 0 ? "succeeded" : "failed");
    if (code == 0) {
      log::info("detector: defence command (pid ", pid, ") finished; cooldown ", cooldown, " s");
    } else {
      log::error("detector: defence command (pid ", pid, ") failed with exit code ", code);
    }
  }).detach();
}

void Monitor::start_run(const std::string& reason, const fs::path& saved) {
  if (saved.empty()) {
    telemetry_->trigger("failed");
    log::error("detector: defence not started: the window was not saved");
    return;
  }
  const std::string uri = config_.kfp_windows_uri.empty()
                              ? saved.string()
                              : config_.kfp_windows_uri + "/" + saved.filename().string();
  std::string run_id;
  try {
    run_id = create_run(*config_.kfp, "advkfp defence " + saved.filename().string(), uri);
  } catch (const std::exception& e) {
    telemetry_->trigger("failed");
    log::error("detector: defence not started: ", e.what());
    return;
  }
  defence_->running = true;
  telemetry_->trigger("started");
  telemetry_->defence_running(true);
  log::warn("detector: defence started: KFP run ", run_id, " of pipeline ", config_.kfp->pipeline_id,
            " with ", config_.kfp->window_parameter, "=", uri, " (", reason, ")");
  // The previous follower set `running` false under this lock and then returned without locking.
  if (follower_.joinable()) follower_.join();
  follower_ = std::thread([run_id, kfp = *config_.kfp, defence = defence_, telemetry = telemetry_,
                           cooldown = config_.cooldown_s] {
    const auto wait = [&](double seconds) {
      std::unique_lock<std::mutex> lock(defence->mutex);
      return !defence->stop_wake.wait_for(lock, std::chrono::duration<double>(seconds),
                                          [&] { return defence->stopping; });
    };
    const auto on_change = [&](const RunStatus& s) {
      if (s.state.empty() && !s.error.empty()) {
        log::warn("detector: KFP run ", run_id, ": ", s.error, " (tried again in ", kfp.poll_s,
                  " s)");
      } else {
        log::info("detector: KFP run ", run_id, ": ", s.state.empty() ? "no state yet" : s.state,
                  s.error.empty() ? "" : " (" + s.error + ")");
      }
    };
    const auto end = follow_run(kfp, run_id, wait, on_change);
    std::lock_guard<std::mutex> lock(defence->mutex);
    if (defence->stopping && end.state.empty()) return;  // the server is stopping
    if (end.state.empty()) {
      defence->finish(*telemetry, cooldown, "unfollowed");
      log::error("detector: KFP run ", run_id, " was not final after ", kfp.follow_timeout_s,
                 " s; no longer followed; cooldown ", cooldown, " s");
    } else if (end.state == "SUCCEEDED") {
      defence->finish(*telemetry, cooldown, "succeeded");
      log::info("detector: KFP run ", run_id, " SUCCEEDED; cooldown ", cooldown, " s");
    } else {
      std::string result = end.state;
      std::transform(result.begin(), result.end(), result.begin(),
                     [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
      defence->finish(*telemetry, cooldown, result);
      log::error("detector: KFP run ", run_id, " ended ", end.state,
                 end.error.empty() ? "" : ": " + end.error, "; cooldown ", cooldown, " s");
    }
  });
}

}  // namespace advkfp::serve
