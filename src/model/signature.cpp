// Model folder signatures: model.sig beside model.json, checked on load against a trusted key.
#include "model/signature.h"

#include <cstdlib>
#include <mutex>

#include "common/error.h"
#include "io/files.h"
#include "io/json.h"
#include "io/signing.h"

namespace advkfp::model {
namespace fs = std::filesystem;

namespace {

std::mutex g_mutex;
fs::path g_trusted_key;  // set_trusted_key's; empty: the environment decides

fs::path from_env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? fs::path(v) : fs::path();
}

}  // namespace

void set_trusted_key(const fs::path& public_pem) {
  if (!public_pem.empty()) io::ed25519_fingerprint(public_pem, "trusted_key");  // readable, Ed25519
  std::lock_guard<std::mutex> lock(g_mutex);
  g_trusted_key = public_pem;
}

std::optional<fs::path> trusted_key() {
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    if (!g_trusted_key.empty()) return g_trusted_key;
  }
  const auto env = from_env(kTrustedKeyEnv);
  if (env.empty()) return std::nullopt;
  return env;
}

fs::path signing_key(const fs::path& flag) {
  const fs::path key = flag.empty() ? from_env(kSigningKeyEnv) : flag;
  if (!key.empty()) io::sign_ed25519("", key, "signing_key");  // a usable private key
  return key;
}

void write_signature(const fs::path& dir, const std::string& sidecar, const fs::path& private_pem,
                     const std::string& what) {
  const io::Json sig = {
      {"format", kSignatureFormat},
      {"algorithm", "ed25519"},
      {"signed_file", "model.json"},
      {"public_key_sha256", io::ed25519_fingerprint(private_pem, "signing_key")},
      {"signature", io::to_hex(io::sign_ed25519(sidecar, private_pem, "signing_key"))}};
  io::write_json(dir / kSignatureFile, sig, what);
}

void verify_signature(const fs::path& dir, const std::string& sidecar, const fs::path& public_pem,
                      const std::string& what) {
  const fs::path file = dir / kSignatureFile;
  const std::string model = "'" + dir.string() + "'";
  const std::string trusted = " (trusted key '" + public_pem.string() + "')";
  const auto fingerprint = io::ed25519_fingerprint(public_pem, "trusted_key");
  if (!fs::exists(fs::symlink_status(file))) {
    throw Error(describe(what, model + " is not signed (no " + kSignatureFile +
                                   ") and only signed models are trusted" + trusted));
  }
  if (fs::is_symlink(file) || !fs::is_regular_file(file)) {
    throw Error(describe(what, "'" + file.string() + "' is not a regular file"));
  }
  std::string signature, signer;
  try {
    const auto j = io::Json::parse(io::read_file(file, what));
    if (j.at("format").get<std::string>() != kSignatureFormat ||
        j.at("algorithm").get<std::string>() != "ed25519") {
      throw Error("unknown format");
    }
    signer = j.at("public_key_sha256").get<std::string>();
    signature = io::from_hex(j.at("signature").get<std::string>(), what);
  } catch (const std::exception&) {
    throw Error(describe(what, "'" + file.string() + "' is not a model signature (" +
                                   kSignatureFormat + ")"));
  }
  if (io::verify_ed25519(sidecar, signature, public_pem, "trusted_key")) return;
  if (signer != fingerprint) {
    throw Error(describe(what, model + " is signed by another key (sha256 " +
                                   signer.substr(0, 16) + "), not the trusted one" + trusted));
  }
  throw Error(describe(what, "signature of " + model + " does not match its model.json (the "
                             "sidecar was changed after signing)" + trusted));
}

}  // namespace advkfp::model
