// Ed25519 keys, signatures and verification through OpenSSL's EVP interface.
#include "io/signing.h"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <functional>
#include <memory>

#include "common/error.h"
#include "io/files.h"

namespace advkfp::io {
namespace fs = std::filesystem;
namespace {

struct Free {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
  void operator()(BIO* b) const { BIO_free(b); }
};
using Key = std::unique_ptr<EVP_PKEY, Free>;
using Bio = std::unique_ptr<BIO, Free>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, Free>;

std::string not_a_key(const fs::path& pem, const std::string& kind) {
  return "'" + pem.string() + "' is not an Ed25519 " + kind +
         " key in PEM form (make a pair with `keygen` or `openssl genpkey -algorithm ed25519`)";
}

// Reads an Ed25519 key from a PEM file: a private key, or (when `public_ok`) a public key.
Key read_key(const fs::path& pem, bool public_ok, const std::string& what) {
  const std::string text = read_file(pem, what);
  const auto parse = [&](bool as_public) {
    Bio bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
    if (!bio) throw Error(describe(what, "out of memory reading a key"));
    return Key(as_public ? PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr)
                         : PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  };
  Key key = parse(false);
  if (!key && public_ok) key = parse(true);
  ERR_clear_error();
  if (!key || EVP_PKEY_id(key.get()) != EVP_PKEY_ED25519) {
    throw Error(describe(what, not_a_key(pem, public_ok ? "public" : "private")));
  }
  return key;
}

std::string pem_text(const std::function<int(BIO*)>& write, const std::string& what) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || write(bio.get()) != 1) throw Error(describe(what, "cannot encode the key as PEM"));
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

// Writes `content` atomically to a file only its owner can read.
void write_private(const fs::path& path, const std::string& content, const std::string& what) {
  write_file_atomically(path, what, [&](const fs::path& tmp) {
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
      throw Error(describe(what, "cannot write '" + path.string() + "': " + std::strerror(errno)));
    }
    const bool ok = ::write(fd, content.data(), content.size()) ==
                    static_cast<ssize_t>(content.size());
    const int err = errno;
    ::close(fd);
    if (!ok) throw Error(describe(what, "cannot write '" + path.string() + "': " + std::strerror(err)));
  });
}

}  // namespace

void generate_ed25519_key(const fs::path& private_pem, const fs::path& public_pem,
                          const std::string& what) {
  std::unique_ptr<EVP_PKEY_CTX, Free> ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 || EVP_PKEY_keygen(ctx.get(), &raw) != 1) {
    ERR_clear_error();
    throw Error(describe(what, "OpenSSL cannot generate an Ed25519 key"));
  }
  Key key(raw);
  const auto priv = pem_text(
      [&](BIO* b) {
        return PEM_write_bio_PrivateKey(b, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
      },
      what);
  const auto pub = pem_text([&](BIO* b) { return PEM_write_bio_PUBKEY(b, key.get()); }, what);
  write_private(private_pem, priv, what);
  write_atomically(public_pem, pub, what);
}

std::string sign_ed25519(const std::string& message, const fs::path& private_pem,
                         const std::string& what) {
  const Key key = read_key(private_pem, false, what);
  MdCtx ctx(EVP_MD_CTX_new());
  std::array<unsigned char, 64> sig{};
  size_t len = sig.size();
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), sig.data(), &len,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1) {
    ERR_clear_error();
    throw Error(describe(what, "signing with '" + private_pem.string() + "' failed"));
  }
  return std::string(reinterpret_cast<const char*>(sig.data()), len);
}

bool verify_ed25519(const std::string& message, const std::string& signature,
                    const fs::path& public_pem, const std::string& what) {
  const Key key = read_key(public_pem, true, what);
  MdCtx ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1) {
    ERR_clear_error();
    throw Error(describe(what, "cannot verify with '" + public_pem.string() + "'"));
  }
  const int rc = EVP_DigestVerify(
      ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
      reinterpret_cast<const unsigned char*>(message.data()), message.size());
  ERR_clear_error();
  return rc == 1;
}

std::string ed25519_fingerprint(const fs::path& pem, const std::string& what) {
  const Key key = read_key(pem, true, what);
  std::array<unsigned char, 32> raw{};
  size_t len = raw.size();
  if (EVP_PKEY_get_raw_public_key(key.get(), raw.data(), &len) != 1) {
    ERR_clear_error();
    throw Error(describe(what, not_a_key(pem, "public")));
  }
  return sha256_hex(std::string(reinterpret_cast<const char*>(raw.data()), len));
}

}  // namespace advkfp::io
