// Signed models through the real tools: keygen makes the keys, train / pgd-train / import-model
// sign, and with a trusted key configured (flag or ADVKFP_TRUSTED_KEY, as a mounted secret) every
// tool that loads a model refuses one that the key did not sign, with one line and no output.
#include "e2e/e2e.h"
#include "io/files.h"

using namespace advkfp;
using namespace advkfp::test;

namespace {

// A refused run: exit 1, one error line naming the model folder and `problem`, no output.
void require_refused(const ProcessResult& r, const fs::path& model, const std::string& problem,
                     const fs::path& out) {
  require_failure(r, 1, problem);
  CHECK_THAT(error_lines(r.err)[0], Catch::Contains(model.string()));
  CHECK(count_entries(out) == 0);
}

}  // namespace

TEST_CASE("signed models: tools sign with a key and, given a trusted key, load only what it signed",
          "[e2e][signing]") {
  TempDir dir;
  const auto p = [&](const std::string& name) { return (dir / name).string(); };
  const auto keygen = run_process(ADVKFP_KEYGEN_EXE, {"--private-key", p("key.pem"),
                                                      "--public-key", p("key.pub.pem")});
  INFO(keygen.err);
  REQUIRE(keygen.exit_code == 0);
  run_ok(ADVKFP_KEYGEN_EXE, {"--private-key", p("other.pem"), "--public-key", p("other.pub.pem")});
  CHECK((fs::status(p("key.pem")).permissions() & fs::perms::group_read) == fs::perms::none);
  write_fashion_dataset(dir / "data", "t10k", 64);
  const std::vector<std::string> train = {"--dataset", p("data"), "--epochs", "1",
                                          "--batch-size", "32"};
  auto with = [](std::vector<std::string> a, const std::vector<std::string>& extra) {
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  };
  run_ok(ADVKFP_TRAIN_EXE, with(train, {"--model", p("signed"), "--metrics", p("t1.json"),
                                        "--signing-key", p("key.pem")}));
  run_ok(ADVKFP_TRAIN_EXE, with(train, {"--model", p("unsigned"), "--metrics", p("t2.json")}));
  CHECK(fs::is_regular_file(dir / "signed" / "model.sig"));
  CHECK_FALSE(fs::exists(dir / "unsigned" / "model.sig"));
  const std::string trusted = "ADVKFP_TRUSTED_KEY=" + p("key.pub.pem");
  fs::create_directories(dir / "out");
  const fs::path out = dir / "out";
  const auto evaluate = [&](const std::string& model) {
    return std::vector<std::string>{"--model", p(model), "--dataset", p("data"), "--metrics",
                                    (out / "m.json").string(), "--threads", "1"};
  };

  SECTION("evaluate: the trusted key from the environment") {
    auto ok = run_process(ADVKFP_EVALUATE_EXE, evaluate("signed"), {trusted});
    INFO(ok.err);
    CHECK(ok.exit_code == 0);
    fs::remove(out / "m.json");
    require_refused(run_process(ADVKFP_EVALUATE_EXE, evaluate("unsigned"), {trusted}),
                    dir / "unsigned", "is not signed", out);
    require_refused(run_process(ADVKFP_EVALUATE_EXE, evaluate("signed"),
                                {"ADVKFP_TRUSTED_KEY=" + p("other.pub.pem")}),
                    dir / "signed", "signed by another key", out);
    // Without a trusted key nothing changes: unsigned models load as before.
    CHECK(run_process(ADVKFP_EVALUATE_EXE, evaluate("unsigned")).exit_code == 0);
  }
  SECTION("fgsm-attack, detect-degradation, serve: the flag") {
    const std::vector<std::string> key = {"--trusted-key", p("key.pub.pem"), "--threads", "1"};
    require_refused(
        run_process(ADVKFP_FGSM_ATTACK_EXE,
                    with({"--model", p("unsigned"), "--dataset", p("data"), "--epsilon", "0.1",
                          "--adversarial-dataset", (out / "adv").string(), "--metrics",
                          (out / "m.json").string()},
                         key)),
        dir / "unsigned", "is not signed", out);
    require_refused(
        run_process(ADVKFP_DETECT_DEGRADATION_EXE,
                    with({"--model", p("unsigned"), "--reference", p("data"), "--window",
                          p("data"), "--degraded", (out / "d").string(), "--report",
                          (out / "r.json").string()},
                         key)),
        dir / "unsigned", "is not signed", out);
    require_refused(run_process(ADVKFP_SERVE_EXE, with({"--model", p("unsigned"), "--host",
                                                        "127.0.0.1", "--port", "0"},
                                                       key)),
                    dir / "unsigned", "is not signed", out);
  }
  SECTION("pgd-train and import-model load under the key and sign what they write") {
    const std::vector<std::string> pgd = {"--dataset", p("data"), "--epsilon", "0.1", "--steps",
                                          "1", "--epochs", "1", "--validation-size", "16",
                                          "--validation-steps", "1", "--trusted-key",
                                          p("key.pub.pem")};
    require_refused(run_process(ADVKFP_PGD_TRAIN_EXE,
                                with(pgd, {"--model", p("unsigned"), "--robust-model",
                                           (out / "r").string(), "--metrics",
                                           (out / "m.json").string()})),
                    dir / "unsigned", "is not signed", out);
    run_ok(ADVKFP_PGD_TRAIN_EXE, with(pgd, {"--model", p("signed"), "--robust-model", p("robust"),
                                            "--metrics", p("pgd.json"), "--signing-key",
                                            p("key.pem")}));
    CHECK(run_process(ADVKFP_EVALUATE_EXE, evaluate("robust"), {trusted}).exit_code == 0);
    // import-model re-signs a folder it trusts with its own key (here: the other one).
    run_ok(ADVKFP_IMPORT_MODEL_EXE, {"--source-uri", p("signed"), "--model", p("imported"),
                                     "--trusted-key", p("key.pub.pem"), "--signing-key",
                                     p("other.pem")});
    CHECK(run_process(ADVKFP_EVALUATE_EXE, evaluate("imported"),
                      {"ADVKFP_TRUSTED_KEY=" + p("other.pub.pem")})
              .exit_code == 0);
    fs::remove(out / "m.json");  // the evaluations' metrics
    require_refused(run_process(ADVKFP_IMPORT_MODEL_EXE,
                                {"--source-uri", p("unsigned"), "--model", (out / "i").string(),
                                 "--trusted-key", p("key.pub.pem")}),
                    dir / "unsigned", "is not signed", out);
  }
  SECTION("keys made by the openssl command line work the same") {
    if (!fs::exists("/usr/bin/openssl")) {
      WARN("skipped: no /usr/bin/openssl on this machine");
      return;
    }
    const auto gen = run_process("/usr/bin/openssl", {"genpkey", "-algorithm", "ed25519", "-out",
                                                      p("ossl.pem")});
    REQUIRE(gen.exit_code == 0);
    REQUIRE(run_process("/usr/bin/openssl",
                        {"pkey", "-in", p("ossl.pem"), "-pubout", "-out", p("ossl.pub.pem")})
                .exit_code == 0);
    run_ok(ADVKFP_TRAIN_EXE, with(train, {"--model", p("ossl-signed"), "--metrics", p("t3.json"),
                                          "--signing-key", p("ossl.pem")}));
    auto ok = run_process(ADVKFP_EVALUATE_EXE, evaluate("ossl-signed"),
                          {"ADVKFP_TRUSTED_KEY=" + p("ossl.pub.pem")});
    INFO(ok.err);
    CHECK(ok.exit_code == 0);
    // And the public key keygen writes is the one openssl derives from its private key.
    REQUIRE(run_process("/usr/bin/openssl",
                        {"pkey", "-in", p("key.pem"), "-pubout", "-out", p("derived.pub.pem")})
                .exit_code == 0);
    CHECK(read_text(dir / "derived.pub.pem") == read_text(dir / "key.pub.pem"));
  }
}
