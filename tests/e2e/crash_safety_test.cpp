// Crash-safe training: train and pgd-train (every method) are killed with SIGKILL at random
// (seeded) moments. After every kill each artifact on disk is absent or complete and loadable (the
// model folder, the metrics, the checkpoint); the job is then resumed until it finishes, and its
// result is bit for bit the result of a run that was never interrupted (one thread, same seed).
#include <signal.h>

#include <chrono>
#include <iostream>
#include <random>
#include <thread>

#include "e2e/e2e.h"
#include "io/json.h"
#include "model/classifier.h"
#include "training/checkpoint.h"

using namespace advkfp;
using namespace advkfp::test;
using Clock = std::chrono::steady_clock;

namespace {

struct Job {
  std::string name, id, exe;
  std::vector<std::string> args;  ///< without outputs
  std::string model_flag;         ///< the output model's flag
  int kills;                      ///< SIGKILLs to survive
};

std::vector<std::string> with_outputs(const Job& job, const fs::path& out) {
  auto a = job.args;
  a.insert(a.end(), {job.model_flag, (out / "model").string(), "--metrics",
                     (out / "metrics.json").string()});
  return a;
}

// Every artifact in `out` is absent or complete: the model folder loads with all of load_model's
// checks, the metrics parse, the checkpoint reads in full. What a killed writer left is only ever
// a hidden temporary sibling. Returns the checkpoint's epoch (-1: none yet).
int64_t check_artifacts(const fs::path& out, const std::string& tool) {
  for (const auto& e : fs::directory_iterator(out)) {
    const auto name = e.path().filename().string();
    const bool known = name == "model" || name == "metrics.json" || name == "ckpt" || name == "log";
    const bool temp = name[0] == '.' && name.find(".tmp-") != std::string::npos;
    INFO("entry " << name);
    CHECK((known || temp));
  }
  if (fs::exists(out / "model")) CHECK_NOTHROW(model::load_model(out / "model", "model"));
  if (fs::exists(out / "metrics.json")) {
    CHECK(io::read_json(out / "metrics.json", "metrics").at("tool") == tool);
  }
  const fs::path ckpt = out / "ckpt" / training::kCheckpointFile;
  if (!fs::exists(ckpt)) return -1;
  io::Json run;
  training::CheckpointState s;
  REQUIRE_NOTHROW(s = training::read_checkpoint(ckpt, &run, nullptr, "checkpoint"));
  CHECK(run.at("tool") == tool);
  return s.epoch;
}

size_t temporaries(const fs::path& dir) {
  size_t n = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    n += e.path().filename().string().find(".tmp-") != std::string::npos;
  }
  return n;
}

}  // namespace

TEST_CASE("train and pgd-train survive SIGKILL at random points and resume to the same result",
          "[e2e][crash]") {
  TempDir dir;
  write_fashion_dataset(dir / "data", "train", 160);
  const std::string data = (dir / "data").string(), start = (dir / "start").string();
  // The model pgd-train starts from.
  run_ok(ADVKFP_TRAIN_EXE, {"--dataset", data, "--model", start, "--metrics",
                            (dir / "start.json").string(), "--epochs", "1", "--batch-size", "32"});
  const std::vector<std::string> pgd = {"--model", start, "--dataset", data, "--epsilon", "0.1",
                                        "--steps", "2", "--epochs", "6", "--batch-size", "16",
                                        "--validation-size", "32", "--validation-steps", "2",
                                        "--check-every", "5", "--seed", "3"};
  const auto pgd_method = [&](const std::string& m, std::vector<std::string> extra) {
    auto a = pgd;
    a.insert(a.end(), {"--method", m});
    a.insert(a.end(), extra.begin(), extra.end());
    return Job{"pgd-train --method " + m, m, ADVKFP_PGD_TRAIN_EXE, a, "--robust-model", 3};
  };
  const std::vector<Job> jobs = {
      {"train", "train", ADVKFP_TRAIN_EXE,
       {"--dataset", data, "--epochs", "12", "--batch-size", "16", "--lr-step", "4", "--seed", "2"},
       "--model", 8},
      pgd_method("madry", {"--ramp-epochs", "2"}),
      pgd_method("fast", {}),  // one-cycle rate over all batches
      pgd_method("free", {"--free-replays", "2"}),
      pgd_method("trades", {"--trades-beta", "3"}),
  };

  std::mt19937 rng(2024);  // the kill moments
  int total_kills = 0, kills_with_checkpoint = 0, resumes = 0;
  for (const auto& job : jobs) {
    INFO(job.name);
    const std::string tool = fs::path(job.exe).filename().string();
    // The uninterrupted run, and how long one takes.
    const fs::path ref = dir / (job.id + "-ref");
    fs::create_directories(ref);
    const auto t0 = Clock::now();
    run_ok(job.exe, with_outputs(job, ref));
    const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
    auto ref_model = model::load_model(ref / "model", "model");
    const auto ref_metrics = test::without_times(io::read_json(ref / "metrics.json", "metrics"));

    const fs::path out = dir / job.id;
    auto args = with_outputs(job, out);
    args.insert(args.end(), {"--checkpoint-dir", (out / "ckpt").string(), "--resume", "true",
                             "--threads", "1", "--log-every", "0"});
    int kills = 0, finished = 0;
    for (int attempt = 0; attempt < 8 * job.kills + 8; ++attempt) {
      fs::create_directories(out);
      Spawned p(job.exe, args, (out / "log").string());
      bool killed = false;
      if (kills < job.kills) {
        // Anywhere from start-up to the end of a whole run: loading, epochs, checkpoint writes,
        // the final model and metrics.
        const double delay = std::uniform_real_distribution<double>(0.05, 1.0)(rng) * wall;
        const auto until = Clock::now() + std::chrono::duration<double>(delay);
        while (Clock::now() < until && !p.poll()) {
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        if (!p.poll()) {
          p.kill(SIGKILL);
          killed = p.wait() == 128 + SIGKILL;
        }
      }
      const int code = p.wait();
      if (killed) {
        ++kills;
        ++resumes;
        kills_with_checkpoint += check_artifacts(out, tool) >= 0;
        continue;
      }
      INFO("log:\n" << read_text(out / "log"));
      REQUIRE(code == 0);
      ++finished;
      // Finished: the same weights and, times aside, the same metrics as the straight run.
      check_artifacts(out, tool);
      CHECK(temporaries(out) == 0);
      auto got = model::load_model(out / "model", "model");
      CHECK(test::same_state(got, ref_model));
      CHECK(test::without_times(io::read_json(out / "metrics.json", "metrics")) == ref_metrics);
      if (kills >= job.kills) break;
      fs::remove_all(out);  // it ended before the kill: again from the start, for more kills
    }
    CHECK(kills == job.kills);
    CHECK(finished >= 1);
    total_kills += kills;
  }
  std::cout << "crash safety: " << total_kills << " SIGKILLs survived (" << kills_with_checkpoint
            << " with a checkpoint on disk), " << resumes << " resumes, " << jobs.size()
            << " jobs finished with the uninterrupted result\n";
  CHECK(total_kills >= 20);
}
