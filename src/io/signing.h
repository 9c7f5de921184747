// Ed25519 signatures with OpenSSL's EVP API: keys are PEM files as
// `openssl genpkey -algorithm ed25519` (private) and `openssl pkey -pubout` (public) write them.
#pragma once

#include <filesystem>
#include <string>

namespace advkfp::io {

/// Draws a fresh Ed25519 key pair and writes the private key (PKCS#8 PEM, mode 0600) and its
/// public key (SubjectPublicKeyInfo PEM), each atomically. Throws advkfp::Error naming `what`.
void generate_ed25519_key(const std::filesystem::path& private_pem,
                          const std::filesystem::path& public_pem, const std::string& what);

/// The 64-byte Ed25519 signature of `message` with the private key in `private_pem`. Throws
/// advkfp::Error naming `what` when the file is unreadable or not an Ed25519 private key.
std::string sign_ed25519(const std::string& message, const std::filesystem::path& private_pem,
                         const std::string& what);

/// True when `signature` is a valid Ed25519 signature of `message` for the public key in
/// `public_pem` (a private key file is accepted too: its public half is used). Throws
/// advkfp::Error naming `what` when the key file is unreadable or not an Ed25519 key.
bool verify_ed25519(const std::string& message, const std::string& signature,
                    const std::filesystem::path& public_pem, const std::string& what);

/// Lowercase hex SHA-256 of the raw 32-byte public key of the key in `pem` (private or public):
/// names a key in messages and signature files.
std::string ed25519_fingerprint(const std::filesystem::path& pem, const std::string& what);

}  // namespace advkfp::io
