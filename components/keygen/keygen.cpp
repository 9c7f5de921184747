// keygen: writes a fresh Ed25519 key pair for signing model folders (train, pgd-train and
// import-model --signing-key) and checking them (--trusted-key, ADVKFP_TRUSTED_KEY). The same
// files as `openssl genpkey -algorithm ed25519 -out key.pem` and `openssl pkey -in key.pem -pubout`.
#include "cli/run.h"
#include "common/log.h"
#include "io/signing.h"

namespace advkfp::keygen {
namespace {

struct Options : cli::CommonOptions {
  std::filesystem::path private_key, public_key;
};

void run(const Options& o) {
  io::generate_ed25519_key(o.private_key, o.public_key, "private_key");
  log::info("wrote ", o.private_key.string(), " (private, mode 0600) and ", o.public_key.string(),
            " (public, sha256 ", io::ed25519_fingerprint(o.public_key, "public_key").substr(0, 16),
            ")");
}

const cli::Spec<Options>& spec() {
  static const auto s =
      cli::Spec<Options>("keygen", "Make an Ed25519 key pair for signing model folders.")
          .output("private_key", &Options::private_key, cli::types::kArtifact,
                  "Private key (PKCS#8 PEM, readable only by its owner): --signing-key.")
          .output("public_key", &Options::public_key, cli::types::kArtifact,
                  "Public key (PEM): --trusted-key or ADVKFP_TRUSTED_KEY.")
          .common(false)
          .run(&run);
  return s;
}

}  // namespace
}  // namespace advkfp::keygen

int main(int argc, char** argv) { return advkfp::cli::run(argc, argv, advkfp::keygen::spec()); }
