// The whole workflow through the real binaries on a 2000-image Fashion-MNIST slice:
// train -> evaluate -> fgsm-attack -> evaluate -> detect-degradation -> pgd-train -> evaluate.
#include "data/dataset.h"
#include "e2e/e2e.h"
#include "io/json.h"

using namespace advkfp;
using namespace advkfp::test;

namespace {

ProcessResult ok(const std::string& exe, std::vector<std::string> args) {
  for (const char* a : {"--log-every", "0"}) args.push_back(a);
  if (std::find(args.begin(), args.end(), "--threads") == args.end()) {
    for (const char* a : {"--threads", "1"}) args.push_back(a);
  }
  auto r = run_process(exe, args);
  INFO(exe << " stderr:\n" << r.err);
  REQUIRE(r.exit_code == 0);
  return r;
}

double accuracy(const fs::path& metrics) { return io::read_json(metrics, "m")["accuracy"]; }

}  // namespace

TEST_CASE("attack degrades the model, detection fires, PGD training restores robustness",
          "[e2e][workflow]") {
  TempDir dir;
  auto p = [&](const std::string& name) { return (dir / name).string(); };
  ok(ADVKFP_PREPARE_DATA_EXE,
     {"--train-dataset", p("train"), "--test-dataset", p("test"), "--train-limit", "2000",
      "--test-limit", "500", "--source-uri", ADVKFP_FASHION_MNIST_DIR});
  ok(ADVKFP_TRAIN_EXE, {"--dataset", p("train"), "--model", p("model"), "--metrics",
                        p("train.json"), "--epochs", "3", "--seed", "1"});
  ok(ADVKFP_EVALUATE_EXE,
     {"--model", p("model"), "--dataset", p("test"), "--metrics", p("clean.json")});
  ok(ADVKFP_FGSM_ATTACK_EXE,
     {"--model", p("model"), "--dataset", p("test"), "--adversarial-dataset", p("adv"), "--metrics",
      p("fgsm.json"), "--epsilon", "0.15"});
  ok(ADVKFP_EVALUATE_EXE,
     {"--model", p("model"), "--dataset", p("adv"), "--metrics", p("attacked.json")});
  const double clean = accuracy(dir / "clean.json");
  const double attacked = accuracy(dir / "attacked.json");
  INFO("clean " << clean << ", attacked " << attacked);
  CHECK(clean > 0.6);
  CHECK(attacked < clean - 0.3);
  // fgsm-attack's own numbers agree with evaluate on the stored (lossless) adversarial set.
  const auto fgsm = io::read_json(dir / "fgsm.json", "m");
  CHECK(fgsm["adversarial_accuracy"].get<double>() == Approx(attacked));
  CHECK(fgsm["perturbation"]["linf_max"].get<double>() <= 0.15 + 1e-6);

  ok(ADVKFP_DETECT_DEGRADATION_EXE,
     {"--mode", "labeled", "--baseline-metrics", p("clean.json"), "--current-metrics",
      p("attacked.json"), "--degraded", p("degraded"), "--verdict", p("verdict"), "--report",
      p("report.json")});
  CHECK(read_text(dir / "degraded") == "true");
  // Labelled metrics hold no adversarial evidence: a drop keeps the paper's reading, an attack.
  CHECK(read_text(dir / "verdict") == "attack");
  ok(ADVKFP_DETECT_DEGRADATION_EXE, {"--mode", "labeled", "--baseline-metrics", p("clean.json"),
                                     "--current-metrics", p("clean.json"), "--degraded", p("same"),
                                     "--report", p("same.json"), "--max-absolute-drop", "0"});
  CHECK(read_text(dir / "same") == "false");

  // Without labels: a clean reference held out from the test set (t10k 500..1499), the attacked
  // set stripped of its labels as the window.
  data::save_dataset(dir / "reference", fashion_slice("t10k", 1500).slice(500, 1000),
                     data::ImageEncoding::kUint8, "reference");
  auto stream = data::load_dataset(dir / "adv", "adv");
  stream.labels = torch::Tensor();
  data::save_dataset(dir / "unlabelled_adv", stream, data::ImageEncoding::kFloat32, "adv");
  ok(ADVKFP_DETECT_DEGRADATION_EXE,
     {"--model", p("model"), "--reference", p("reference"), "--window", p("unlabelled_adv"),
      "--degraded", p("u_adv"), "--verdict", p("u_adv_verdict"), "--report", p("u_adv.json"),
      "--calibration", p("cal.json")});
  CHECK(read_text(dir / "u_adv") == "true");
  // Many FGSM inputs move further under squeezing than any calibrated benign shift moves them.
  CHECK(read_text(dir / "u_adv_verdict") == "attack");
  const auto u = io::read_json(dir / "u_adv.json", "r");
  CHECK(u["verdict"] == read_text(dir / "u_adv_verdict"));
  CHECK(u["unlabeled"]["windows"][0]["adversarial"].contains("flagged_indices"));
  CHECK(u["mode"] == "unlabeled");
  CHECK(u["unlabeled"]["windows"][0]["count"] == 500);
  CHECK(u["unlabeled"]["windows"][0]["squeeze"]["flagged_count"].get<int>() > 25);
  CHECK(io::read_json(dir / "cal.json", "c")["reference_count"] == 1000);
  // The clean test set, judged with the saved calibration in windows of 250, two bad ones in a
  // row needed: not degraded. (A single clean window fires by chance up to about 2 * alpha of the
  // time; on this seed the first does, with 24 of 250 flagged where 12.5 are expected.)
  ok(ADVKFP_DETECT_DEGRADATION_EXE,
     {"--model", p("model"), "--calibration-in", p("cal.json"), "--window", p("test"),
      "--window-size", "250", "--consecutive", "2", "--degraded", p("u_clean"), "--verdict",
      p("u_clean_verdict"), "--report", p("u_clean.json")});
  CHECK(read_text(dir / "u_clean") == "false");
  CHECK(read_text(dir / "u_clean_verdict") == "clean");
  const auto uc = io::read_json(dir / "u_clean.json", "r")["unlabeled"];
  CHECK(uc["window_count"] == 2);
  CHECK(uc["longest_bad_run"].get<int>() < 2);
  // both: the labelled rule sees no drop, the label-free one sees the attack.
  ok(ADVKFP_DETECT_DEGRADATION_EXE,
     {"--mode", "both", "--baseline-metrics", p("clean.json"), "--current-metrics", p("clean.json"),
      "--model", p("model"), "--calibration-in", p("cal.json"), "--window", p("adv"), "--degraded",
      p("both"), "--report", p("both.json")});
  CHECK(read_text(dir / "both") == "true");
  const auto b = io::read_json(dir / "both.json", "r");
  CHECK(b["labeled_degraded"] == false);
  CHECK(b["unlabeled_degraded"] == true);

  ok(ADVKFP_PGD_TRAIN_EXE, {"--model", p("model"), "--dataset", p("train"), "--robust-model",
                            p("robust"), "--metrics", p("pgd.json"), "--epochs", "2", "--steps",
                            "5", "--validation-size", "300", "--learning-rate", "5e-4"});
  const auto pgd = io::read_json(dir / "pgd.json", "m");
  CHECK(pgd["history"].size() == 3);
  // A fresh white-box FGSM against each model, and the transfer set crafted on the original.
  ok(ADVKFP_EVALUATE_EXE, {"--model", p("robust"), "--dataset", p("test"), "--attack", "fgsm",
                           "--epsilon", "0.15", "--metrics", p("robust_fgsm.json")});
  ok(ADVKFP_EVALUATE_EXE, {"--model", p("model"), "--dataset", p("test"), "--attack", "fgsm",
                           "--epsilon", "0.15", "--metrics", p("orig_fgsm.json")});
  ok(ADVKFP_EVALUATE_EXE,
     {"--model", p("robust"), "--dataset", p("adv"), "--metrics", p("robust_transfer.json")});
  const double robust_fgsm = accuracy(dir / "robust_fgsm.json");
  const double orig_fgsm = accuracy(dir / "orig_fgsm.json");
  INFO("FGSM accuracy: original " << orig_fgsm << ", robust " << robust_fgsm);
  // evaluate's white-box FGSM attacks only the images classified correctly and in its own
  // batches; fgsm-attack perturbed every image: the same attack to a handful of images.
  CHECK(orig_fgsm <= attacked + 0.01);
  CHECK(orig_fgsm >= attacked - 0.01);
  CHECK(robust_fgsm > orig_fgsm + 0.1);
  CHECK(accuracy(dir / "robust_transfer.json") > attacked + 0.1);
  // The robust model records where it came from.
  const auto sidecar = io::read_json(dir / "robust" / "model.json", "m");
  CHECK(sidecar["parent"]["sha256"] == io::read_json(dir / "model" / "model.json", "m")["sha256"]);

  // APGD-CE-100 beside PGD-20 on the defended model: at least as strong.
  ok(ADVKFP_EVALUATE_EXE,
     {"--model", p("robust"), "--dataset", p("test"), "--attack", "pgd", "--steps", "20",
      "--epsilon", "0.1", "--limit", "250", "--metrics", p("r_pgd.json")});
  ok(ADVKFP_EVALUATE_EXE,
     {"--model", p("robust"), "--dataset", p("test"), "--attack", "apgd", "--steps", "100",
      "--epsilon", "0.1", "--limit", "250", "--metrics", p("r_apgd.json")});
  const auto apgd = io::read_json(dir / "r_apgd.json", "m");
  CHECK(apgd["attack"]["method"] == "apgd");
  CHECK(apgd["attack"]["steps"] == 100);
  CHECK(apgd["accuracy"].get<double>() <= accuracy(dir / "r_pgd.json"));
  CHECK(apgd["accuracy"].get<double>() < apgd["clean_accuracy"].get<double>());

  // Fast adversarial training until a robust accuracy is reached: the curve and the time to it.
  ok(ADVKFP_PGD_TRAIN_EXE, {"--model",
                            p("model"),
                            "--dataset",
                            p("train"),
                            "--robust-model",
                            p("fast"),
                            "--metrics",
                            p("fast.json"),
                            "--method",
                            "fast",
                            "--epochs",
                            "2",
                            "--validation-size",
                            "300",
                            "--check-every",
                            "5",
                            "--ramp-epochs",
                            "1",
                            "--target-robust-accuracy",
                            "0.2",
                            "--validation-attack",
                            "apgd"});
  const auto fast = io::read_json(dir / "fast.json", "m");
  // The checks ran APGD-CE (20 steps, the check's default) and say so.
  CHECK(fast["validation_attack"]["method"] == "apgd");
  CHECK(fast["validation_attack"]["steps"] == 20);
  CHECK(fast["adversarial_method"]["name"] == "fast");
  CHECK(fast["adversarial_method"]["lr_schedule"] == "one-cycle");
  REQUIRE(fast["curve"].size() >= 2);
  CHECK(fast["curve"][0]["batches"] == 0);
  CHECK(fast["curve"][1]["batches"] == 5);
  REQUIRE(fast["target_reached"].is_object());
  CHECK(fast["target_reached"]["robust_accuracy"].get<double>() >= 0.2);
  CHECK(fast["time_to_target_seconds"] == fast["target_reached"]["seconds"]);
  CHECK(fast["stopped_early"] == true);
  CHECK(fast["curve"].back() == fast["target_reached"]);
}

TEST_CASE("the same seed on one thread trains the same model", "[e2e][determinism]") {
  TempDir dir;
  auto p = [&](const std::string& name) { return (dir / name).string(); };
  write_fashion_dataset(dir / "train", "train", 500);
  for (const char* name : {"a", "b"}) {
    ok(ADVKFP_TRAIN_EXE,
       {"--dataset", p("train"), "--model", p(name), "--metrics", p(std::string(name) + ".json"),
        "--epochs", "1", "--threads", "1", "--seed", "3"});
  }
  const auto sha = [&](const char* n) {
    return io::read_json(dir / n / "model.json", "m")["sha256"].get<std::string>();
  };
  CHECK(sha("a") == sha("b"));
}

TEST_CASE("pgd-train --from-scratch starts from the weights train draws for the seed",
          "[e2e][workflow]") {
  TempDir dir;
  auto p = [&](const std::string& name) { return (dir / name).string(); };
  write_fashion_dataset(dir / "train", "train", 400);
  ok(ADVKFP_TRAIN_EXE, {"--dataset", p("train"), "--model", p("trained"), "--metrics", p("t.json"),
                        "--epochs", "1", "--seed", "1"});
  ok(ADVKFP_TRAIN_EXE, {"--dataset", p("train"), "--model", p("fresh"), "--metrics", p("f.json"),
                        "--epochs", "0", "--seed", "4"});
  ok(ADVKFP_PGD_TRAIN_EXE, {"--model", p("trained"), "--dataset", p("train"), "--robust-model",
                            p("scratch"), "--metrics", p("s.json"), "--epochs", "0",
                            "--validation-size", "100", "--from-scratch", "true", "--seed", "4"});
  for (const char* m : {"trained", "fresh", "scratch"}) {
    ok(ADVKFP_EVALUATE_EXE,
       {"--model", p(m), "--dataset", p("train"), "--metrics", p(std::string(m) + "-eval.json")});
  }
  const auto loss = [&](const char* m) {
    return io::read_json(dir / (std::string(m) + "-eval.json"), "m")["loss"].get<double>();
  };
  CHECK(loss("scratch") == loss("fresh"));
  CHECK(loss("scratch") != loss("trained"));
  const auto sidecar = io::read_json(dir / "scratch" / "model.json", "m");
  CHECK(sidecar["parent"].is_null());
  CHECK(sidecar["training"]["adversarial_method"]["from_scratch"] == true);
}

TEST_CASE("train --init-model fine-tunes the given model and records it as the parent",
          "[e2e][workflow]") {
  TempDir dir;
  auto p = [&](const std::string& name) { return (dir / name).string(); };
  write_fashion_dataset(dir / "train", "train", 400);
  ok(ADVKFP_TRAIN_EXE, {"--dataset", p("train"), "--model", p("base"), "--metrics", p("b.json"),
                        "--epochs", "2", "--seed", "1"});
  // No epoch: the base model's weights, unchanged.
  ok(ADVKFP_TRAIN_EXE, {"--init-model", p("base"), "--dataset", p("train"), "--model", p("same"),
                        "--metrics", p("s.json"), "--epochs", "0", "--seed", "2"});
  // One epoch from the base model, and one from fresh weights for comparison.
  ok(ADVKFP_TRAIN_EXE,
     {"--init-model", p("base"), "--dataset", p("train"), "--model", p("tuned"), "--metrics",
      p("t.json"), "--epochs", "1", "--learning-rate", "1e-4", "--seed", "2"});
  ok(ADVKFP_TRAIN_EXE, {"--dataset", p("train"), "--model", p("fresh"), "--metrics", p("f.json"),
                        "--epochs", "1", "--learning-rate", "1e-4", "--seed", "2"});
  for (const char* m : {"base", "same"}) {
    ok(ADVKFP_EVALUATE_EXE,
       {"--model", p(m), "--dataset", p("train"), "--metrics", p(std::string(m) + "-eval.json")});
  }
  const auto loss = [&](const char* m) {
    return io::read_json(dir / (std::string(m) + "-eval.json"), "m")["loss"].get<double>();
  };
  CHECK(loss("same") == loss("base"));
  // The fine-tuning's first epoch starts where the base model's training ended: far below the
  // loss of the first epoch from fresh weights (measured: about 0.6 against 1.9).
  const auto first_epoch_loss = [&](const char* f) {
    return io::read_json(dir / f, "m")["history"][0]["train_loss"].get<double>();
  };
  CHECK(first_epoch_loss("t.json") < 0.7 * first_epoch_loss("f.json"));
  const auto base = io::read_json(dir / "base" / "model.json", "m");
  const auto tuned = io::read_json(dir / "tuned" / "model.json", "m");
  CHECK(tuned["parent"]["sha256"] == base["sha256"]);
  CHECK(tuned["parent"]["training"] == base["training"]);
  CHECK(tuned["training"]["method"] == "clean-fine-tune");
  CHECK(tuned["seed"] == 2);
  CHECK(io::read_json(dir / "fresh" / "model.json", "m")["parent"].is_null());

  // Another architecture than the model's is refused before anything is written.
  const auto r =
      run_process(ADVKFP_TRAIN_EXE,
                  {"--init-model", p("base"), "--dataset", p("train"), "--model", p("wrong"),
                   "--metrics", p("w.json"), "--architecture", "resnet-small", "--log-every", "0"});
  require_failure(r, 2, "architecture: 'resnet-small' does not match init_model's 'paper-cnn'");
  CHECK_FALSE(fs::exists(dir / "wrong"));
  CHECK_FALSE(fs::exists(dir / "w.json"));
}
