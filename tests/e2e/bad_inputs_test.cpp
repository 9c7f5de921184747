// The bad-input table: every CLI driven through inputs it must refuse. For each row: the exit
// code (2: usage, 1: runtime), exactly one error line on stderr naming the input and the problem,
// and nothing left in the output folder (no partial artifact, no temporary file).
#include <sys/mount.h>
#include <unistd.h>

#include <cstring>
#include <functional>

#include "data/idx.h"
#include "e2e/e2e.h"
#include "e2e/images.h"
#include "io/files.h"
#include "io/json.h"
#include "io/signing.h"
#include "model/classifier.h"

using namespace advkfp;
using namespace advkfp::test;

namespace {

// Big-endian 32-bit, as IDX headers store counts and sizes.
std::string be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

// An uncompressed IDX image file: magic 0x00000803 (uint8, 3 dims), n x 4 x 4.
std::string idx_images(uint32_t n, uint8_t type = 0x08, uint32_t claimed = 0) {
  std::string s = std::string("\0\0", 2) + static_cast<char>(type) + '\x03';
  s += be32(claimed ? claimed : n) + be32(4) + be32(4);
  return s + std::string(n * 16, '\x40');
}
std::string idx_labels(uint32_t n, uint8_t label = 1) {
  return std::string("\0\0\x08\x01", 4) + be32(n) + std::string(n, static_cast<char>(label));
}

// A version-1 .npy file as numpy.save writes it (header padded to 64 bytes).
std::string npy(const std::string& descr, const std::string& shape, const std::string& payload) {
  std::string header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  header += std::string(63 - (10 + header.size()) % 64, ' ') + "\n";
  const size_t n = header.size();
  return std::string("\x93NUMPY\x01\x00", 8) + static_cast<char>(n & 0xFF) +
         static_cast<char>(n >> 8) + header + payload;
}
std::string floats(std::vector<float> v) {
  std::string s(v.size() * 4, '\0');
  std::memcpy(s.data(), v.data(), s.size());
  return s;
}

struct Fixture {
  TempDir dir;
  fs::path model = dir / "model", data = dir / "data", idx = dir / "idx";
  // Signing: the trusted key pair, another pair, and the model signed with each.
  fs::path key = dir / "key.pem", key_pub = dir / "key.pub.pem", other_key = dir / "other.pem";
  fs::path signed_model = dir / "signed", signed_by_other = dir / "signed-other";
  Fixture() {
    write_fashion_dataset(data, "t10k", 32);
    auto net = model::make_paper_cnn(data::fashion_mnist_class_names(), 0);
    model::save_model(model, net, "model");
    io::generate_ed25519_key(key, key_pub, "key");
    io::generate_ed25519_key(other_key, dir / "other.pub.pem", "key");
    model::save_model(signed_model, net, "model", key);
    model::save_model(signed_by_other, net, "model", other_key);
    write_idx(idx, 8, 4);
    write_text(dir / "ok.json", R"({"accuracy": 0.5})");
  }
  // A raw IDX source folder prepare-data reads: 4x4 images, n_train and n_test of them.
  static void write_idx(const fs::path& d, uint32_t n_train, uint32_t n_test) {
    write_text(d / "train-images-idx3-ubyte", idx_images(n_train));
    write_text(d / "train-labels-idx1-ubyte", idx_labels(n_train));
    write_text(d / "t10k-images-idx3-ubyte", idx_images(n_test));
    write_text(d / "t10k-labels-idx1-ubyte", idx_labels(n_test));
  }
  fs::path copy(const fs::path& from, const std::string& name) {
    fs::copy(from, dir / name, fs::copy_options::recursive);
    return dir / name;
  }
};

struct Case {
  std::string what;  ///< the bad input
  std::string exe;
  std::function<std::vector<std::string>(Fixture&, const fs::path& out)> args;
  int code;
  std::string needle;  ///< what the one error line must contain
};

std::vector<std::string> prepare(const fs::path& src, const fs::path& out,
                                 std::vector<std::string> extra = {}) {
  std::vector<std::string> a = {"--source-uri", src.string(), "--train-dataset",
                                (out / "train").string(), "--test-dataset", (out / "test").string()};
  if (std::find(extra.begin(), extra.end(), "--class-names") == extra.end()) {
    a.insert(a.end(), {"--class-names", "a,b,c,d,e,f,g,h,i,j"});
  }
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}
std::vector<std::string> evaluate(const fs::path& model, const fs::path& data, const fs::path& out,
                                  std::vector<std::string> extra = {}) {
  std::vector<std::string> a = {"--model", model.string(), "--dataset", data.string(),
                                "--metrics", (out / "metrics.json").string(), "--threads", "1"};
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}
std::vector<std::string> fgsm(Fixture& fx, const fs::path& out, const std::string& eps) {
  return {"--model",   fx.model.string(), "--dataset", fx.data.string(), "--adversarial-dataset",
          (out / "adv").string(), "--metrics", (out / "m.json").string(), "--epsilon", eps};
}
std::vector<std::string> labeled(const fs::path& baseline, const fs::path& current,
                                 const fs::path& out) {
  return {"--mode", "labeled", "--baseline-metrics", baseline.string(), "--current-metrics",
          current.string(), "--degraded", (out / "degraded").string(), "--report",
          (out / "report.json").string()};
}

// A copy of the good IDX folder with `file` replaced by `content`.
fs::path idx_with(Fixture& fx, const std::string& name, const std::string& file,
                  const std::string& content) {
  auto d = fx.copy(fx.idx, name);
  write_text(d / file, content);
  return d;
}
// A copy of the model folder whose sidecar is rewritten by `edit` (sha256 kept matching).
fs::path model_with(Fixture& fx, const std::string& name,
                    const std::function<void(const fs::path&)>& edit) {
  auto m = fx.copy(fx.model, name);
  edit(m);
  return m;
}
fs::path manifest_with(Fixture& fx, const std::string& name, const std::string& text) {
  auto d = fx.copy(fx.data, name);
  write_text(d / "dataset.json", text);
  return d;
}

const std::vector<Case>& cases() {
  const std::string PD = ADVKFP_PREPARE_DATA_EXE, EV = ADVKFP_EVALUATE_EXE,
                    TR = ADVKFP_TRAIN_EXE, FG = ADVKFP_FGSM_ATTACK_EXE,
                    DD = ADVKFP_DETECT_DEGRADATION_EXE, PG = ADVKFP_PGD_TRAIN_EXE,
                    RP = ADVKFP_REPORT_EXE, IM = ADVKFP_IMPORT_MODEL_EXE;
  static const std::vector<Case> kCases = {
      // IDX sources (prepare-data).
      {"empty IDX image file", PD,
       [](Fixture& fx, const fs::path& o) { return prepare(idx_with(fx, "empty", "train-images-idx3-ubyte", ""), o); },
       1, "train-images-idx3-ubyte"},
      {"truncated IDX image file", PD,
       [](Fixture& fx, const fs::path& o) {
         return prepare(idx_with(fx, "trunc", "train-images-idx3-ubyte", idx_images(8).substr(0, 100)), o);
       },
       1, "truncated"},
      {"wrong IDX magic", PD,
       [](Fixture& fx, const fs::path& o) {
         return prepare(idx_with(fx, "magic", "train-images-idx3-ubyte", "\x12\x34" + idx_images(8).substr(2)), o);
       },
       1, "magic"},
      {"wrong IDX dtype byte (int16)", PD,
       [](Fixture& fx, const fs::path& o) {
         return prepare(idx_with(fx, "dtype", "train-images-idx3-ubyte", idx_images(8, 0x0B)), o);
       },
       1, "train-images-idx3-ubyte"},
      {"zero images", PD,
       [](Fixture& fx, const fs::path& o) {
         auto d = idx_with(fx, "zero", "train-images-idx3-ubyte", idx_images(0));
         write_text(d / "train-labels-idx1-ubyte", idx_labels(0));
         return prepare(d, o);
       },
       1, "train"},
      {"header claiming 2^31 images in a small file", PD,
       [](Fixture& fx, const fs::path& o) {
         return prepare(idx_with(fx, "huge", "train-images-idx3-ubyte", idx_images(8, 0x08, 0x80000000u)), o);
       },
       1, "train-images-idx3-ubyte"},
      {"label count differs from image count", PD,
       [](Fixture& fx, const fs::path& o) {
         return prepare(idx_with(fx, "count", "train-labels-idx1-ubyte", idx_labels(5)), o);
       },
       1, "5 labels"},
      {"label out of range for the class names", PD,
       [](Fixture& fx, const fs::path& o) {
         return prepare(idx_with(fx, "range", "train-labels-idx1-ubyte", idx_labels(8, 12)), o);
       },
       1, "12"},
      {"corrupt gzip", PD,
       [](Fixture& fx, const fs::path& o) {
         auto d = fx.copy(fx.idx, "gz");
         fs::remove(d / "train-images-idx3-ubyte");
         write_text(d / "train-images-idx3-ubyte.gz", "\x1f\x8b\x08\x00garbage that is not deflate");
         return prepare(d, o);
       },
       1, "train-images-idx3-ubyte.gz"},
      {"missing source folder", PD,
       [](Fixture& fx, const fs::path& o) { return prepare(fx.dir / "nowhere", o); }, 1, "source_uri"},
      {"source folder with no known layout", PD,
       [](Fixture& fx, const fs::path& o) {
         fs::create_directories(fx.dir / "emptydir");
         return prepare(fx.dir / "emptydir", o);
       },
       1, "source_uri"},
      // NumPy and image-folder sources.
      {"NaN pixels (.npy float32)", PD,
       [](Fixture& fx, const fs::path& o) {
         auto d = fx.dir / "nan";
         write_text(d / "train-images.npy", npy("<f4", "(1, 1, 2)", floats({0.5f, NAN})));
         write_text(d / "train-labels.npy", npy("|u1", "(1,)", "\x01"));
         return prepare(d, o, {"--class-names", "a,b"});
       },
       1, "[0, 1]"},
      {"Inf pixels (.npy float32)", PD,
       [](Fixture& fx, const fs::path& o) {
         auto d = fx.dir / "inf";
         write_text(d / "train-images.npy", npy("<f4", "(1, 1, 2)", floats({INFINITY, 0.5f})));
         write_text(d / "train-labels.npy", npy("|u1", "(1,)", "\x01"));
         return prepare(d, o);
       },
       1, "[0, 1]"},
      {"pixels outside [0, 1] (.npy float32)", PD,
       [](Fixture& fx, const fs::path& o) {
         auto d = fx.dir / "range1";
         write_text(d / "train-images.npy", npy("<f4", "(1, 1, 2)", floats({1.5f, 0.5f})));
         write_text(d / "train-labels.npy", npy("|u1", "(1,)", "\x01"));
         return prepare(d, o);
       },
       1, "[0, 1]"},
      {".npy images of the wrong dtype (int16)", PD,
       [](Fixture& fx, const fs::path& o) {
         auto d = fx.dir / "i2";
         write_text(d / "train-images.npy", npy("<i2", "(1, 1, 2)", std::string(4, '\0')));
         write_text(d / "train-labels.npy", npy("|u1", "(1,)", "\x01"));
         return prepare(d, o);
       },
       1, "'<i2'"},
      {"corrupt .npz", PD,
       [](Fixture& fx, const fs::path& o) {
         write_text(fx.dir / "npz" / "train.npz", "PK\x03\x04 this is not a zip archive");
         return prepare(fx.dir / "npz", o);
       },
       1, "train.npz"},
      {"corrupt PNG in an image folder", PD,
       [](Fixture& fx, const fs::path& o) {
         write_text(fx.dir / "png" / "train" / "a" / "x.png", "\x89PNG\r\n\x1a\n garbage");
         return prepare(fx.dir / "png", o, {"--class-names", "a"});
       },
       1, "x.png"},
      {"image folder with mixed sizes", PD,
       [](Fixture& fx, const fs::path& o) {
         write_png(fx.dir / "mixed" / "train" / "a" / "1.png", torch::zeros({1, 4, 4}, torch::kUInt8));
         write_png(fx.dir / "mixed" / "train" / "b" / "2.png", torch::zeros({1, 5, 4}, torch::kUInt8));
         return prepare(fx.dir / "mixed", o, {"--class-names", "a,b"});
       },
       1, "2.png"},
      // Dataset folders (evaluate).
      {"dataset folder without its manifest", EV,
       [](Fixture& fx, const fs::path& o) {
         auto d = fx.copy(fx.data, "nomanifest");
         fs::remove(d / "dataset.json");
         return evaluate(fx.model, d, o);
       },
       1, "dataset"},
      {"malformed dataset manifest", EV,
       [](Fixture& fx, const fs::path& o) { return evaluate(fx.model, manifest_with(fx, "badjson", "{\"format\": "), o); },
       1, "dataset"},
      {"wrong-typed dataset manifest", EV,
       [](Fixture& fx, const fs::path& o) {
         auto m = io::read_json(fx.data / "dataset.json", "m");
         m["count"] = "32";
         return evaluate(fx.model, manifest_with(fx, "typed", m.dump()), o);
       },
       1, "count"},
      {"dataset path that is a file", EV,
       [](Fixture& fx, const fs::path& o) {
         write_text(fx.dir / "afile", "x");
         return evaluate(fx.model, fx.dir / "afile", o);
       },
       1, "dataset"},
      {"images of the wrong size for the model", EV,
       [](Fixture& fx, const fs::path& o) {
         data::Dataset ds;
         ds.images = torch::rand({4, 3, 8, 8});
         ds.labels = torch::zeros({4}, torch::kInt64);
         ds.class_names = data::fashion_mnist_class_names();
         data::save_dataset(fx.dir / "colour", ds, data::ImageEncoding::kFloat32, "colour");
         return evaluate(fx.model, fx.dir / "colour", o);
       },
       1, "1x28x28"},
      // Model folders (evaluate, import-model).
      {"missing model folder", EV,
       [](Fixture& fx, const fs::path& o) { return evaluate(fx.dir / "nomodel", fx.data, o); }, 1, "model"},
      {"model file that is not TorchScript", EV,
       [](Fixture& fx, const fs::path& o) {
         return evaluate(model_with(fx, "garbage", [](const fs::path& m) {
                           write_text(m / "model.pt", "PK\x03\x04 not really");
                           auto s = io::read_json(m / "model.json", "s");
                           s["sha256"] = io::sha256_file(m / "model.pt", "m");
                           io::write_json(m / "model.json", s, "s");
                         }),
                         fx.data, o);
       },
       1, "TorchScript"},
      {"tampered model (sha256 differs from the sidecar)", EV,
       [](Fixture& fx, const fs::path& o) {
         return evaluate(model_with(fx, "tampered", [](const fs::path& m) {
                           auto b = read_text(m / "model.pt");
                           b[b.size() / 2] ^= 1;
                           write_text(m / "model.pt", b);
                         }),
                         fx.data, o);
       },
       1, "sha256"},
      {"model file that is a symlink", EV,
       [](Fixture& fx, const fs::path& o) {
         return evaluate(model_with(fx, "symlinked", [&](const fs::path& m) {
                           fs::rename(m / "model.pt", fx.dir / "elsewhere.pt");
                           fs::create_symlink(fx.dir / "elsewhere.pt", m / "model.pt");
                         }),
                         fx.data, o);
       },
       1, "model.pt"},
      {"model file that is a folder", EV,
       [](Fixture& fx, const fs::path& o) {
         return evaluate(model_with(fx, "dirmodel", [](const fs::path& m) {
                           fs::remove(m / "model.pt");
                           fs::create_directories(m / "model.pt");
                         }),
                         fx.data, o);
       },
       1, "model.pt"},
      {"malformed model sidecar", EV,
       [](Fixture& fx, const fs::path& o) {
         return evaluate(model_with(fx, "badside", [](const fs::path& m) { write_text(m / "model.json", "{\"sha256\": 3"); }),
                         fx.data, o);
       },
       1, "model"},
      {"sidecar class names that do not match the model's outputs", EV,
       [](Fixture& fx, const fs::path& o) {
         return evaluate(model_with(fx, "names", [](const fs::path& m) {
                           auto s = io::read_json(m / "model.json", "s");
                           s["class_names"] = {"a", "b", "c"};
                           io::write_json(m / "model.json", s, "s");
                         }),
                         fx.data, o);
       },
       1, "model"},
      // Signed models: with a trusted key configured, only models it signed load.
      {"unsigned model with a trusted key configured", EV,
       [](Fixture& fx, const fs::path& o) {
         return evaluate(fx.model, fx.data, o, {"--trusted-key", fx.key_pub.string()});
       },
       1, "is not signed"},
      {"model signed by another key than the trusted one", EV,
       [](Fixture& fx, const fs::path& o) {
         return evaluate(fx.signed_by_other, fx.data, o, {"--trusted-key", fx.key_pub.string()});
       },
       1, "signed by another key"},
      {"signed model whose sidecar was edited after signing", FG,
       [](Fixture& fx, const fs::path& o) {
         auto m = fx.copy(fx.signed_model, "edited");
         auto s = io::read_json(m / "model.json", "s");
         s["seed"] = 12345;
         io::write_json(m / "model.json", s, "s");
         auto a = fgsm(fx, o, "0.1");
         a[1] = m.string();
         a.insert(a.end(), {"--trusted-key", fx.key_pub.string()});
         return a;
       },
       1, "changed after signing"},
      {"trusted key file that is not a key", EV,
       [](Fixture& fx, const fs::path& o) {
         return evaluate(fx.signed_model, fx.data, o, {"--trusted-key", (fx.dir / "ok.json").string()});
       },
       1, "trusted_key"},
      {"signing key file that is not a private key", TR,
       [](Fixture& fx, const fs::path& o) {
         return std::vector<std::string>{"--dataset", fx.data.string(), "--model", (o / "m").string(),
                                         "--metrics", (o / "t.json").string(), "--epochs", "0",
                                         "--signing-key", fx.key_pub.string()};
       },
       1, "signing_key"},
      {"import-model of a file that is not TorchScript", IM,
       [](Fixture& fx, const fs::path& o) {
         write_text(fx.dir / "x.pt", "not a model");
         return std::vector<std::string>{"--source-uri", (fx.dir / "x.pt").string(), "--class-names", "a,b",
                                         "--input-shape", "1,4,4", "--model", (o / "m").string()};
       },
       1, "source_uri"},
      // Parameters.
      {"import-model input shape with a size above the largest a model may declare", IM,
       [](Fixture& fx, const fs::path& o) {
         return std::vector<std::string>{"--source-uri", (fx.model / "model.pt").string(), "--class-names", "a,b",
                                         "--input-shape", "1,65537,4", "--model", (o / "m").string()};
       },
       2, "input_shape"},
      {"epsilon 0", FG, [](Fixture& fx, const fs::path& o) { return fgsm(fx, o, "0"); }, 2, "epsilon"},
      {"epsilon above 1", FG, [](Fixture& fx, const fs::path& o) { return fgsm(fx, o, "1.5"); }, 2, "epsilon"},
      {"epsilon NaN", FG, [](Fixture& fx, const fs::path& o) { return fgsm(fx, o, "nan"); }, 2, "epsilon"},
      {"PGD steps 0", EV,
       [](Fixture& fx, const fs::path& o) { return evaluate(fx.model, fx.data, o, {"--attack", "pgd", "--epsilon", "0.1", "--steps", "0"}); },
       2, "steps"},
      {"unknown flag", TR,
       [](Fixture& fx, const fs::path& o) {
         return std::vector<std::string>{"--dataset", fx.data.string(), "--model", (o / "m").string(),
                                         "--metrics", (o / "t.json").string(), "--bogus"};
       },
       2, "bogus"},
      {"negative epochs (0 is valid: it saves the initial weights)", TR,
       [](Fixture& fx, const fs::path& o) {
         return std::vector<std::string>{"--dataset", fx.data.string(), "--model", (o / "m").string(),
                                         "--metrics", (o / "t.json").string(), "--epochs", "-1"};
       },
       2, "epochs"},
      {"threads -1", EV, [](Fixture& fx, const fs::path& o) { return evaluate(fx.model, fx.data, o, {"--threads", "-1"}); }, 2, "threads"},
      {"negative batch size", EV, [](Fixture& fx, const fs::path& o) { return evaluate(fx.model, fx.data, o, {"--batch-size", "-1"}); }, 2, "batch"},
      {"seed that is not a number", FG,
       [](Fixture& fx, const fs::path& o) {
         auto a = fgsm(fx, o, "0.1");
         a.insert(a.end(), {"--seed", "abc"});
         return a;
       },
       2, "seed"},
      {"adversarial fraction above 1", PG,
       [](Fixture& fx, const fs::path& o) {
         return std::vector<std::string>{"--model", fx.model.string(), "--dataset", fx.data.string(), "--robust-model",
                                         (o / "r").string(), "--metrics", (o / "m.json").string(),
                                         "--adversarial-fraction", "1.5"};
       },
       2, "adversarial"},
      {"alpha 0", DD,
       [](Fixture& fx, const fs::path& o) {
         auto a = labeled(fx.dir / "ok.json", fx.dir / "ok.json", o);
         a.insert(a.end(), {"--alpha", "0"});
         return a;
       },
       2, "alpha"},
      {"sweep budget that is not a number", EV,
       [](Fixture& fx, const fs::path& o) { return evaluate(fx.model, fx.data, o, {"--sweep-epsilons", "0.1,abc"}); },
       2, "sweep"},
      {"negative train limit", PD, [](Fixture& fx, const fs::path& o) { return prepare(fx.idx, o, {"--train-limit", "-1"}); }, 2, "train"},
      // Outputs.
      {"output path under a file", EV,
       [](Fixture& fx, const fs::path& o) {
         write_text(fx.dir / "plainfile", "x");
         auto a = evaluate(fx.model, fx.data, o);
         a[5] = (fx.dir / "plainfile" / "metrics.json").string();
         return a;
       },
       1, "metrics"},
      {"output folder that cannot be written", EV,
       [](Fixture& fx, const fs::path& o) {
         auto a = evaluate(fx.model, fx.data, o);
         a[5] = "/proc/1/advkfp-test/metrics.json";  // not writable, even for root
         return a;
       },
       1, "metrics"},
      // JSON inputs (detect-degradation, report).
      {"malformed metrics JSON", DD,
       [](Fixture& fx, const fs::path& o) {
         write_text(fx.dir / "bad.json", "{\"accuracy\": ");
         return labeled(fx.dir / "bad.json", fx.dir / "ok.json", o);
       },
       1, "baseline_metrics"},
      {"wrong-typed accuracy", DD,
       [](Fixture& fx, const fs::path& o) {
         write_text(fx.dir / "typed.json", R"({"accuracy": "high"})");
         return labeled(fx.dir / "ok.json", fx.dir / "typed.json", o);
       },
       1, "current_metrics"},
      {"accuracy out of range", DD,
       [](Fixture& fx, const fs::path& o) {
         write_text(fx.dir / "range.json", R"({"accuracy": 1.5})");
         return labeled(fx.dir / "range.json", fx.dir / "ok.json", o);
       },
       1, "baseline_metrics"},
      {"report input that is not a metrics file", RP,
       [](Fixture& fx, const fs::path& o) {
         write_text(fx.dir / "empty.json", "{}");
         return std::vector<std::string>{"--clean-metrics", (fx.dir / "empty.json").string(), "--attacked-metrics",
                                         (fx.dir / "ok.json").string(), "--detection-report", (fx.dir / "ok.json").string(),
                                         "--report", (o / "r.html").string(), "--summary", (o / "s.md").string()};
       },
       1, "clean_metrics"},
  };
  return kCases;
}

}  // namespace

TEST_CASE("bad inputs: every row fails with its exit code, one line naming the input, no output",
          "[e2e][errors][bad-inputs]") {
  Fixture fx;
  REQUIRE(cases().size() >= 40);
  int row = 0;
  for (const auto& c : cases()) {
    const fs::path out = fx.dir / "out" / std::to_string(++row);
    fs::create_directories(out);
    INFO("row " << row << ": " << c.what << " (" << fs::path(c.exe).filename().string() << ")");
    const auto args = c.args(fx, out);
    const auto r = run_process(c.exe, args);
    require_failure(r, c.code, c.needle);
    CHECK(count_entries(out) == 0);
  }
}

TEST_CASE("bad inputs: a full disk fails cleanly and leaves nothing", "[e2e][errors][bad-inputs]") {
  Fixture fx;
  const fs::path disk = fx.dir / "disk";
  fs::create_directories(disk);
  // A 64 KiB tmpfs: the metrics file fits, the adversarial dataset (32 float images) does not.
  if (::geteuid() != 0 || ::mount("tmpfs", disk.c_str(), "tmpfs", 0, "size=64k") != 0) {
    WARN("skipped: cannot mount a small tmpfs here (" << std::strerror(errno) << ")");
    return;
  }
  const auto r = run_process(ADVKFP_FGSM_ATTACK_EXE,
                             {"--model", fx.model.string(), "--dataset", fx.data.string(),
                              "--adversarial-dataset", (disk / "adv").string(), "--metrics",
                              (disk / "m.json").string(), "--epsilon", "0.1", "--threads", "1"});
  const auto entries = count_entries(disk);
  ::umount(disk.c_str());
  require_failure(r, 1, "adversarial_dataset: cannot write");
  CHECK_THAT(r.err, Catch::Contains("No space left on device"));
  CHECK(entries == 0);
}
