// Signed model folders: an Ed25519 signature (model.sig) over the sidecar model.json, which holds
// model.pt's sha256, so one signature covers both files. When a trusted public key is configured,
// load_model() refuses a folder that is unsigned or not signed by that key.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace advkfp::model {

inline constexpr const char* kSignatureFile = "model.sig";
inline constexpr const char* kSignatureFormat = "advkfp.signature/v1";
/// Environment variables naming key files, as a mounted Kubernetes secret would provide them.
inline constexpr const char* kTrustedKeyEnv = "ADVKFP_TRUSTED_KEY";
inline constexpr const char* kSigningKeyEnv = "ADVKFP_SIGNING_KEY";

/// Makes every later load_model() require a signature by the Ed25519 public key in `public_pem`
/// (read and checked now: throws advkfp::Error naming trusted_key). An empty path goes back to
/// the default: $ADVKFP_TRUSTED_KEY when set and non-empty, else no signature required.
void set_trusted_key(const std::filesystem::path& public_pem);
/// The public key loads require now, if any.
std::optional<std::filesystem::path> trusted_key();

/// The private key a tool signs its model with: `flag` when given, else $ADVKFP_SIGNING_KEY, else
/// none (empty). Checks that the file is an Ed25519 private key before any work is done; throws
/// advkfp::Error naming signing_key.
std::filesystem::path signing_key(const std::filesystem::path& flag);

/// Writes `dir`/model.sig: the signature of `sidecar` (model.json's exact bytes) with the private
/// key, and the fingerprint of its public key. Throws advkfp::Error naming `what`.
void write_signature(const std::filesystem::path& dir, const std::string& sidecar,
                     const std::filesystem::path& private_pem, const std::string& what);

/// Checks that `dir`/model.sig is a signature of `sidecar` by the key in `public_pem`. Throws
/// advkfp::Error "<what>: '<dir>' ..." saying what is wrong: no signature, signed by another key,
/// or a sidecar changed after signing.
void verify_signature(const std::filesystem::path& dir, const std::string& sidecar,
                      const std::filesystem::path& public_pem, const std::string& what);

}  // namespace advkfp::model
