// Bad input through the real binaries: one error line naming the input, non-zero exit, and no
// partial output left behind.
#include <fstream>

#include "data/idx.h"
#include "e2e/e2e.h"
#include "io/files.h"
#include "io/json.h"
#include "model/classifier.h"

using namespace advkfp;
using namespace advkfp::test;

namespace {

// One small model folder and dataset folder shared by the error cases.
struct Fixture {
  TempDir dir;
  fs::path model = dir / "model", data = dir / "data";
  Fixture() {
    write_fashion_dataset(data, "t10k", 64);
    auto net = model::make_paper_cnn(data::fashion_mnist_class_names(), 0);
    model::save_model(model, net, "model");
  }
  fs::path copy_dataset(const std::string& name) {
    fs::copy(data, dir / name, fs::copy_options::recursive);
    return dir / name;
  }
  fs::path copy_model(const std::string& name) {
    fs::copy(model, dir / name, fs::copy_options::recursive);
    return dir / name;
  }
  ProcessResult evaluate(const fs::path& m, const fs::path& d, const fs::path& out) {
    return run_process(ADVKFP_EVALUATE_EXE, {"--model", m.string(), "--dataset", d.string(),
                                             "--metrics", out.string(), "--threads", "1"});
  }
};

std::string bytes(const fs::path& p) { return read_text(p); }

}  // namespace

TEST_CASE("every binary answers --help and --version with exit 0", "[e2e][cli]") {
  for (const auto& exe : all_binaries()) {
    INFO(exe);
    auto h = run_process(exe, {"--help"});
    CHECK(h.exit_code == 0);
    CHECK_THAT(h.out, Catch::Contains("--threads"));
    auto v = run_process(exe, {"--version"});
    CHECK(v.exit_code == 0);
    CHECK_THAT(v.out, Catch::Contains("(advkfp)"));
    require_failure(run_process(exe, {"--bogus"}), 2, ": error: ");
  }
}

TEST_CASE("corrupt and missing inputs fail cleanly", "[e2e][errors]") {
  Fixture fx;
  const fs::path out_dir = fx.dir / "out";
  const fs::path out = out_dir / "metrics.json";

  SECTION("missing dataset folder") {
    require_failure(fx.evaluate(fx.model, fx.dir / "none", out), 1, "dataset: ");
  }
  SECTION("truncated image file") {
    auto d = fx.copy_dataset("trunc");
    const auto img = d / "images-idx-ubyte.gz";
    const auto b = bytes(img);
    write_text(img, b.substr(0, b.size() - 100));
    require_failure(fx.evaluate(fx.model, d, out), 1, "dataset images: ");
  }
  SECTION("wrong IDX magic") {
    auto d = fx.copy_dataset("magic");
    data::write_idx_labels(d / "labels-idx1-ubyte.gz", torch::zeros({64}, torch::kInt64), true);
    std::string raw = "\x08\x08\x01\x01" + std::string(64, '\0');
    write_text(d / "labels-idx1-ubyte.gz", raw);
    require_failure(fx.evaluate(fx.model, d, out), 1, "magic");
  }
  SECTION("label count differs from image count") {
    auto d = fx.copy_dataset("count");
    data::write_idx_labels(d / "labels-idx1-ubyte.gz", torch::zeros({60}, torch::kInt64), true);
    require_failure(fx.evaluate(fx.model, d, out), 1, "60 labels");
  }
  SECTION("model file that is not TorchScript") {
    auto m = fx.copy_model("garbage");
    write_text(m / "model.pt", "PK\x03\x04 not really");
    auto s = io::read_json(m / "model.json", "s");
    s["sha256"] = io::sha256_file(m / "model.pt", "m");
    io::write_json(m / "model.json", s, "s");
    require_failure(fx.evaluate(m, fx.data, out), 1, "not a TorchScript");
  }
  SECTION("model whose sha256 does not match its sidecar (truncated)") {
    auto m = fx.copy_model("trunc");
    const auto b = bytes(m / "model.pt");
    write_text(m / "model.pt", b.substr(0, b.size() - 10));
    require_failure(fx.evaluate(m, fx.data, out), 1, "sha256");
  }
  SECTION("unwritable output path") {
    write_text(fx.dir / "afile", "x");
    require_failure(fx.evaluate(fx.model, fx.data, fx.dir / "afile" / "m.json"), 1, "metrics: ");
  }
  SECTION("epsilon outside (0, 1]") {
    for (const char* eps : {"0", "1.5", "-0.1"}) {
      require_failure(run_process(ADVKFP_FGSM_ATTACK_EXE,
                                  {"--model", fx.model.string(), "--dataset", fx.data.string(),
                                   "--adversarial-dataset", (out_dir / "adv").string(),
                                   "--metrics", out.string(), "--epsilon", eps}),
                      2, "epsilon");
    }
  }
  SECTION("negative steps") {
    require_failure(run_process(ADVKFP_PGD_TRAIN_EXE,
                                {"--model", fx.model.string(), "--dataset", fx.data.string(),
                                 "--robust-model", (out_dir / "r").string(), "--metrics",
                                 out.string(), "--steps", "-3"}),
                    2, "steps");
  }
  SECTION("NaN accuracy in a metrics file") {
    write_text(fx.dir / "a.json", R"({"accuracy": "NaN"})");
    write_text(fx.dir / "b.json", R"({"accuracy": 0.5})");
    require_failure(run_process(ADVKFP_DETECT_DEGRADATION_EXE,
                                {"--mode", "labeled", "--baseline-metrics",
                                 (fx.dir / "a.json").string(), "--current-metrics",
                                 (fx.dir / "b.json").string(), "--degraded",
                                 (out_dir / "degraded").string(), "--report", out.string()}),
                    1, "baseline_metrics: ");
  }
  // Whatever failed, nothing was written: no output file, no temporary leftovers.
  CHECK(count_entries(out_dir) == 0);
}

TEST_CASE("detect-degradation rejects bad label-free inputs cleanly", "[e2e][errors]") {
  Fixture fx;
  const fs::path out = fx.dir / "out";
  // The fixture's 64 images are enough to calibrate at fpr 0.1 (5 / 0.1 = 50 needed).
  const auto detect = [&](std::vector<std::string> args) {
    args.insert(args.end(), {"--degraded", (out / "degraded").string(), "--report",
                             (out / "report.json").string(), "--calibration",
                             (out / "calibration.json").string(), "--threads", "1"});
    return run_process(ADVKFP_DETECT_DEGRADATION_EXE, args);
  };
  const std::vector<std::string> unlabeled = {"--model", fx.model.string(), "--window",
                                              fx.data.string(), "--fpr", "0.1"};
  const auto with = [&](std::vector<std::string> extra) {
    auto args = unlabeled;
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  };

  SECTION("missing reference (and no calibration_in)") {
    require_failure(detect(unlabeled), 2, "reference: required with --mode unlabeled");
  }
  SECTION("missing window and model") {
    require_failure(detect({"--reference", fx.data.string()}), 2,
                    "model, window: required with --mode unlabeled");
  }
  SECTION("labeled mode without its metrics") {
    require_failure(detect({"--mode", "labeled"}), 2,
                    "baseline_metrics, current_metrics: required with --mode labeled");
  }
  SECTION("both mode needs the labelled inputs too") {
    require_failure(detect(with({"--mode", "both", "--reference", fx.data.string()})), 2,
                    "baseline_metrics, current_metrics: required with --mode both");
  }
  SECTION("unknown mode") {
    require_failure(detect(with({"--mode", "labelled"})), 2, "--mode");
  }
  SECTION("corrupt calibration_in") {
    write_text(fx.dir / "cal.json", "{\"format\": \"advkfp.calibration/v1\", \"fpr\":");
    require_failure(detect(with({"--calibration-in", (fx.dir / "cal.json").string()})), 1,
                    "calibration_in: ");
  }
  SECTION("calibration_in without its reference samples") {
    write_text(fx.dir / "cal.json", R"({"format": "advkfp.calibration/v1", "model_sha256": "x"})");
    require_failure(detect(with({"--calibration-in", (fx.dir / "cal.json").string()})), 1,
                    "calibration_in: ");
  }
  // A valid calibration of the fixture model, written by a successful run.
  const auto calibrate = [&] {
    REQUIRE(detect(with({"--reference", fx.data.string()})).exit_code == 0);
    fs::copy_file(out / "calibration.json", fx.dir / "cal.json");
    fs::remove_all(out);
    return (fx.dir / "cal.json").string();
  };
  SECTION("calibration_in made for another model") {
    const auto cal = calibrate();
    auto other = model::make_paper_cnn(data::fashion_mnist_class_names(), 1);
    model::save_model(fx.dir / "other", other, "model");
    auto args = with({"--calibration-in", cal});
    args[1] = (fx.dir / "other").string();
    require_failure(detect(args), 1, "calibration_in: made for model sha256");
  }
  SECTION("calibration_in made with other settings") {
    const auto cal = calibrate();
    require_failure(detect(with({"--calibration-in", cal, "--squeeze-bits", "3"})), 2,
                    "calibration_in: was made with fpr");
  }
  SECTION("alpha and fpr outside (0, 1)") {
    for (const char* v : {"0", "1", "1.5", "-0.1"}) {
      require_failure(detect(with({"--reference", fx.data.string(), "--alpha", v})), 2,
                      "alpha: ");
      require_failure(detect({"--model", fx.model.string(), "--window", fx.data.string(),
                              "--reference", fx.data.string(), "--fpr", v}),
                      2, "fpr: ");
    }
  }
  SECTION("window_size, consecutive and squeeze_bits out of range") {
    require_failure(detect(with({"--reference", fx.data.string(), "--window-size", "-1"})), 2,
                    "window_size: ");
    require_failure(detect(with({"--reference", fx.data.string(), "--consecutive", "0"})), 2,
                    "consecutive: ");
    require_failure(detect(with({"--reference", fx.data.string(), "--squeeze-bits", "9"})), 2,
                    "squeeze_bits: ");
  }
  SECTION("unknown or out-of-range calibration shift") {
    require_failure(detect(with({"--reference", fx.data.string(), "--calibration-shifts",
                                 "fog:0.3"})),
                    2, "calibration_shifts: unknown shift 'fog'");
    require_failure(detect(with({"--reference", fx.data.string(), "--calibration-shifts",
                                 "brightness:2"})),
                    2, "calibration_shifts: 'brightness:2': the value must be a number in [-1, 1]");
    require_failure(detect(with({"--reference", fx.data.string(), "--calibration-shifts",
                                 "blur"})),
                    2, "calibration_shifts: 'blur' is not kind:value");
  }
  SECTION("calibration_in made with other shifts") {
    const auto cal = calibrate();
    require_failure(detect(with({"--calibration-in", cal, "--calibration-shifts", "gain:0.8"})),
                    2, "calibration_in: was made with fpr");
  }
  SECTION("reference too small for the false-positive rate") {
    require_failure(detect({"--model", fx.model.string(), "--window", fx.data.string(),
                            "--reference", fx.data.string(), "--fpr", "0.05"}),
                    1, "reference: 64 inputs are too few to calibrate at fpr 0.05");
  }
  SECTION("missing reference folder") {
    require_failure(detect(with({"--reference", (fx.dir / "none").string()})), 1,
                    "reference: ");
  }
  SECTION("window of the wrong image shape") {
    data::Dataset small;
    small.images = torch::rand({8, 1, 14, 14});
    small.class_names = data::fashion_mnist_class_names();
    data::save_dataset(fx.dir / "small", small, data::ImageEncoding::kFloat32, "small");
    auto args = with({"--reference", fx.data.string()});
    args[3] = (fx.dir / "small").string();
    require_failure(detect(args), 1, "window: images are 1x14x14 but the model expects 1x28x28");
  }
  // Whatever failed, nothing was written: no output file, no temporary leftovers.
  CHECK(count_entries(out) == 0);
}

TEST_CASE("a failing pgd-train leaves no partial model folder", "[e2e][errors]") {
  Fixture fx;
  const auto out = fx.dir / "out";
  auto r = run_process(ADVKFP_PGD_TRAIN_EXE,
                       {"--model", fx.model.string(), "--dataset", fx.data.string(),
                        "--robust-model", (out / "robust").string(), "--metrics",
                        (out / "m.json").string(), "--validation-size", "64"});
  require_failure(r, 2, "validation_size");
  CHECK(count_entries(out) == 0);
}
