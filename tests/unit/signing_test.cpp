// Ed25519 signatures and signed model folders: a model loads under a trusted key only when its
// model.sig signs its model.json with that key.
#include <catch2/catch.hpp>

#include <cstdlib>

#include "common/error.h"
#include "io/files.h"
#include "io/json.h"
#include "io/signing.h"
#include "model/signature.h"
#include "support/helpers.h"

using namespace advkfp;
using advkfp::test::TempDir;
namespace fs = std::filesystem;

namespace {

// Two key pairs in a temporary folder: a (the trusted signer) and b (another one).
struct Keys {
  TempDir dir;
  fs::path a = dir / "a.pem", a_pub = dir / "a.pub.pem", b = dir / "b.pem", b_pub = dir / "b.pub.pem";
  Keys() {
    io::generate_ed25519_key(a, a_pub, "key");
    io::generate_ed25519_key(b, b_pub, "key");
  }
};

// Sets the trusted key for the test's lifetime, back to none afterwards.
struct Trusting {
  explicit Trusting(const fs::path& key) { model::set_trusted_key(key); }
  ~Trusting() { model::set_trusted_key({}); }
  Trusting(const Trusting&) = delete;
  Trusting& operator=(const Trusting&) = delete;
};

fs::path saved_model(const fs::path& dir, const fs::path& key) {
  auto net = model::make_paper_cnn({"a", "b", "c"}, 0);
  model::save_model(dir, net, "model", key);
  return dir;
}

}  // namespace

TEST_CASE("Ed25519: a signature verifies with its key only, for its message only",
          "[unit][signing]") {
  Keys k;
  const std::string msg = "{\"sha256\": \"00ff\"}";
  const auto sig = io::sign_ed25519(msg, k.a, "key");
  CHECK(sig.size() == 64);
  CHECK(io::sign_ed25519(msg, k.a, "key") == sig);  // Ed25519 is deterministic
  CHECK(io::verify_ed25519(msg, sig, k.a_pub, "key"));
  CHECK(io::verify_ed25519(msg, sig, k.a, "key"));  // the private file holds the public half
  CHECK_FALSE(io::verify_ed25519(msg, sig, k.b_pub, "key"));
  CHECK_FALSE(io::verify_ed25519(msg + " ", sig, k.a_pub, "key"));
  auto flipped = sig;
  flipped[10] ^= 1;
  CHECK_FALSE(io::verify_ed25519(msg, flipped, k.a_pub, "key"));
  CHECK(io::ed25519_fingerprint(k.a, "key") == io::ed25519_fingerprint(k.a_pub, "key"));
  CHECK(io::ed25519_fingerprint(k.a, "key") != io::ed25519_fingerprint(k.b, "key"));
  CHECK((fs::status(k.a).permissions() & fs::perms::others_read) == fs::perms::none);
}

TEST_CASE("Ed25519: files that are not Ed25519 keys are refused naming the input",
          "[unit][signing]") {
  Keys k;
  test::write_text(k.dir / "junk.pem", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
  CHECK_THROWS_WITH(io::sign_ed25519("x", k.dir / "junk.pem", "signing_key"),
                    Catch::StartsWith("signing_key: ") && Catch::Contains("not an Ed25519"));
  CHECK_THROWS_WITH(io::sign_ed25519("x", k.a_pub, "signing_key"),
                    Catch::Contains("not an Ed25519 private key"));
  CHECK_THROWS_WITH(io::verify_ed25519("x", "y", k.dir / "missing.pem", "trusted_key"),
                    Catch::StartsWith("trusted_key: ") && Catch::Contains("missing.pem"));
  CHECK_THROWS_AS(model::set_trusted_key(k.dir / "junk.pem"), Error);
}

TEST_CASE("signed models: load under the trusted key, and unsigned, foreign and edited ones do not",
          "[unit][signing][model]") {
  Keys k;
  const auto signed_a = saved_model(k.dir / "signed_a", k.a);
  const auto signed_b = saved_model(k.dir / "signed_b", k.b);
  const auto unsigned_m = saved_model(k.dir / "unsigned", {});
  CHECK(fs::is_regular_file(signed_a / model::kSignatureFile));
  CHECK_FALSE(fs::exists(unsigned_m / model::kSignatureFile));

  SECTION("no trusted key: every folder loads, as before") {
    CHECK_NOTHROW(model::load_model(unsigned_m, "model"));
    CHECK_NOTHROW(model::load_model(signed_b, "model"));
  }
  SECTION("trusted key a") {
    Trusting trust(k.a_pub);
    CHECK_NOTHROW(model::load_model(signed_a, "model"));
    CHECK_NOTHROW(model::load_model(signed_a / "model.pt", "model"));
    CHECK_THROWS_WITH(model::load_model(unsigned_m, "model"),
                      Catch::StartsWith("model: '" + unsigned_m.string() + "' is not signed"));
    CHECK_THROWS_WITH(model::load_model(signed_b, "model"),
                      Catch::Contains("signed by another key"));
    // A sidecar edited after signing (the class names), its sha256 of model.pt still right.
    auto s = io::read_json(signed_a / "model.json", "s");
    s["class_names"] = {"x", "y", "z"};
    io::write_json(signed_a / "model.json", s, "s");
    CHECK_THROWS_WITH(model::load_model(signed_a, "model"),
                      Catch::Contains("changed after signing"));
  }
  SECTION("a signature copied from another folder does not sign this one") {
    Trusting trust(k.a_pub);
    const fs::path other = k.dir / "other";
    auto net = model::make_paper_cnn({"a", "b", "c"}, 1);  // other weights: another model.json
    model::save_model(other, net, "model");
    fs::copy_file(signed_a / model::kSignatureFile, other / model::kSignatureFile);
    CHECK_THROWS_WITH(model::load_model(other, "model"), Catch::Contains("changed after signing"));
  }
  SECTION("a garbled signature file is refused with one line") {
    Trusting trust(k.a_pub);
    test::write_text(signed_a / model::kSignatureFile, "{\"format\": 1}");
    CHECK_THROWS_WITH(model::load_model(signed_a, "model"),
                      Catch::Contains("is not a model signature"));
  }
  SECTION("the trusted key from the environment, as a mounted secret") {
    ::setenv(model::kTrustedKeyEnv, k.a_pub.c_str(), 1);
    CHECK(model::trusted_key() == k.a_pub);
    CHECK_NOTHROW(model::load_model(signed_a, "model"));
    CHECK_THROWS_WITH(model::load_model(unsigned_m, "model"), Catch::Contains("is not signed"));
    ::unsetenv(model::kTrustedKeyEnv);
    CHECK_FALSE(model::trusted_key().has_value());
  }
}
