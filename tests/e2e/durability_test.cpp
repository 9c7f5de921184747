// Durable artifacts: the CLIs run with an LD_PRELOAD tracer (tests/support/sync_trace.cpp) that
// logs every fsync and rename in call order. For every artifact a run published, the trace must
// show the rule of io::write_file_atomically and io::write_dir_atomically (support/durability.h).
// serve's saved alarm windows are checked the same way in tests/serve/serve_test.cpp.
#include <set>

#include "e2e/e2e.h"
#include "support/durability.h"
#include "training/checkpoint.h"

using namespace advkfp;
using namespace advkfp::test;

namespace {

// Runs `exe` with `args` under the tracer (children inherit it); returns the trace.
std::vector<SyncEvent> traced_run(const fs::path& trace, const std::string& exe,
                                  const std::vector<std::string>& args) {
  fs::remove(trace);
  const auto r = run_process(exe, args, sync_trace_env(trace));
  INFO(exe << " stderr:\n" << r.err);
  REQUIRE(r.exit_code == 0);
  return read_sync_trace(trace);
}

// A CLI's run under the tracer: one thread, no progress lines.
std::vector<SyncEvent> traced_cli_run(const fs::path& trace, const std::string& exe,
                                      std::vector<std::string> args) {
  args.insert(args.end(), {"--threads", "1", "--log-every", "0"});
  return traced_run(trace, exe, args);
}

}  // namespace

TEST_CASE("every artifact is synced before the rename that publishes it and its folder after",
          "[e2e][durability]") {
  TempDir tmp;
  const fs::path dir = fs::canonical(tmp.path());
  const fs::path trace = dir / "trace.tsv";
  auto p = [&](const std::string& name) { return (dir / name).string(); };

  struct Run {
    std::string exe;
    std::vector<std::string> args;
    std::vector<std::string> artifacts;
  };
  // A KFP launcher creates each output folder before the task starts: the model folder is made
  // here too, so its publication replaces an existing folder.
  fs::create_directories(dir / "model");
  const std::vector<Run> runs = {
      {ADVKFP_PREPARE_DATA_EXE,
       {"--train-dataset", p("train"), "--test-dataset", p("test"), "--train-limit", "96",
        "--test-limit", "64", "--source-uri", ADVKFP_FASHION_MNIST_DIR},
       {"train", "test"}},
      {ADVKFP_TRAIN_EXE,
       {"--dataset", p("train"), "--model", p("model"), "--metrics", p("train.json"), "--epochs",
        "2", "--batch-size", "32", "--checkpoint-dir", p("ckpt")},
       {"model", "train.json", std::string("ckpt/") + training::kCheckpointFile}},
      {ADVKFP_FGSM_ATTACK_EXE,
       {"--model", p("model"), "--dataset", p("test"), "--adversarial-dataset", p("adv"),
        "--metrics", p("fgsm.json"), "--epsilon", "0.1"},
       {"adv", "fgsm.json"}},
      {ADVKFP_EVALUATE_EXE,
       {"--model", p("model"), "--dataset", p("adv"), "--metrics", p("attacked.json")},
       {"attacked.json"}},
      {ADVKFP_EVALUATE_EXE,
       {"--model", p("model"), "--dataset", p("test"), "--metrics", p("clean.json")},
       {"clean.json"}},
      {ADVKFP_DETECT_DEGRADATION_EXE,
       {"--mode", "both", "--baseline-metrics", p("clean.json"), "--current-metrics",
        p("attacked.json"), "--model", p("model"), "--reference", p("test"), "--window", p("adv"),
        "--fpr", "0.1", "--degraded", p("degraded"), "--verdict", p("verdict"), "--report",
        p("detection.json"), "--calibration", p("calibration.json")},
       {"degraded", "verdict", "detection.json", "calibration.json"}},
      {ADVKFP_PGD_TRAIN_EXE,
       {"--model", p("model"), "--dataset", p("train"), "--robust-model", p("robust"), "--metrics",
        p("pgd.json"), "--epochs", "2", "--steps", "2", "--batch-size", "32", "--validation-size",
        "16", "--checkpoint-dir", p("pgd-ckpt")},
       {"robust", "pgd.json", std::string("pgd-ckpt/") + training::kCheckpointFile}},
      {ADVKFP_REPORT_EXE,
       {"--clean-metrics", p("clean.json"), "--attacked-metrics", p("attacked.json"),
        "--detection-report", p("detection.json"), "--training-metrics", p("pgd.json"), "--report",
        p("report.html"), "--summary", p("summary.md")},
       {"report.html", "summary.md"}},
      // A model folder imported again (the way a deployed folder enters a pipeline).
      {ADVKFP_IMPORT_MODEL_EXE,
       {"--source-uri", p("robust"), "--model", p("imported")},
       {"imported"}},
  };
  for (const auto& run : runs) {
    const auto events = traced_cli_run(trace, run.exe, run.args);
    for (const auto& name : run.artifacts) {
      INFO(fs::path(run.exe).filename().string() << ": " << name);
      REQUIRE(fs::exists(dir / name));
      const auto problems = durability_problems(events, dir / name);
      for (const auto& problem : problems) UNSCOPED_INFO(problem);
      CHECK(problems.empty());
    }
  }

  {
    // The check finds a missing sync: the trace of fgsm-attack with the syncs of one path at a
    // time taken out (a folder can be synced twice: as a parent and as part of its tree).
    auto events = traced_cli_run(trace, ADVKFP_FGSM_ATTACK_EXE, runs[2].args);
    const fs::path adv = dir / "adv";
    REQUIRE(durability_problems(events, adv).empty());
    std::set<std::string> synced_paths;
    for (const auto& e : events) {
      if (e.kind == "fsync") synced_paths.insert(e.path);
    }
    size_t needed = 0;
    for (const auto& path : synced_paths) {
      std::vector<SyncEvent> without;
      for (const auto& e : events) {
        if (!(e.kind == "fsync" && e.path == path)) without.push_back(e);
      }
      needed += !durability_problems(without, adv).empty();
    }
    // The images, the labels, the manifest, the temporary folder and the folder it is renamed in.
    CHECK(needed == 5);
    // Without the publishing rename there is nothing to check against.
    std::vector<SyncEvent> no_rename;
    for (const auto& e : events) {
      if (!(e.kind == "rename" && e.to == adv.string())) no_rename.push_back(e);
    }
    CHECK_FALSE(durability_problems(no_rename, adv).empty());
  }
}

TEST_CASE("kfp-local publishes its run summaries durably", "[e2e][durability]") {
  TempDir tmp;
  const fs::path dir = fs::canonical(tmp.path());
  const fs::path trace = dir / "trace.tsv";
  const auto events =
      traced_run(trace, ADVKFP_KFP_LOCAL_EXE,
                 {"run", ADVKFP_RUNNER_FIXTURES_DIR "/condition.yaml", "--param", "degrade=true",
                  "--pipeline-root", (dir / "run").string(), "--bin-dir", ADVKFP_FAKE_COMPONENT_DIR,
                  "--summary-json", (dir / "out" / "summary.json").string()});
  // The run's own summary, the copy asked for, and each task's executor input (what a task reads
  // of the run when it is resumed or inspected).
  std::vector<fs::path> artifacts = {dir / "run" / "run-summary.json",
                                     dir / "out" / "summary.json"};
  for (const auto& e : fs::recursive_directory_iterator(dir / "run")) {
    if (e.path().filename() == "executor_input.json") artifacts.push_back(e.path());
  }
  CHECK(artifacts.size() > 2);
  for (const auto& artifact : artifacts) {
    INFO(artifact.string());
    REQUIRE(fs::exists(artifact));
    const auto problems = durability_problems(events, artifact);
    for (const auto& problem : problems) UNSCOPED_INFO(problem);
    CHECK(problems.empty());
  }
}
