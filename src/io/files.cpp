// Atomic artifact writes (temp + rename), file reads and hashing.
#include "io/files.h"

#include <openssl/evp.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <vector>

#include "common/error.h"

namespace advkfp::io {
namespace {

std::string quoted(const fs::path& p) { return "'" + p.string() + "'"; }

fs::path temp_sibling(const fs::path& path) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  std::ostringstream name;
  name << '.' << path.filename().string() << ".tmp-" << ::getpid() << '-' << std::hex << rng();
  return path.parent_path() / name.str();
}

// Removes what a killed writer left of `path`: temporary siblings (temp_sibling's names) whose
// process no longer exists. A live process's temporary file is never touched.
void remove_stale_temps(const fs::path& path) {
  const std::string prefix = "." + path.filename().string() + ".tmp-";
  const fs::path parent = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  std::error_code ec;
  std::vector<fs::path> stale;
  for (fs::directory_iterator it(parent, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    const std::string rest = name.substr(prefix.size());
    const auto dash = rest.find('-');
    if (dash == 0 || dash == std::string::npos ||
        rest.find_first_not_of("0123456789") != dash) {
      continue;
    }
    const auto pid = static_cast<pid_t>(std::stol(rest.substr(0, dash)));
    if (pid != ::getpid() && ::kill(pid, 0) != 0 && errno == ESRCH) stale.push_back(it->path());
  }
  for (const auto& p : stale) fs::remove_all(p, ec);
}

void ensure_parent(const fs::path& path, const std::string& what) {
  const auto parent = path.parent_path();
  if (parent.empty()) return;
  std::error_code ec;
  fs::create_directories(parent, ec);
  if (ec) throw Error(describe(what, "cannot create folder " + quoted(parent) + ": " + ec.message()));
}

// fsync(2) of one file or folder. A file system that cannot sync this kind of file (EINVAL) is
// left as it is; any other failure (EIO: the data did not reach the disk) is an error.
void sync_one(const fs::path& path, bool folder, const std::string& what) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | (folder ? O_DIRECTORY : 0));
  if (fd < 0) {
    throw Error(describe(what, "cannot sync " + quoted(path) + ": " + std::strerror(errno)));
  }
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0 && err != EINVAL && err != EROFS) {
    throw Error(describe(what, "cannot sync " + quoted(path) + ": " + std::strerror(err)));
  }
}

// Puts a finished temporary file, or every file and folder of a finished temporary folder, on
// disk before the rename that publishes it. rename(2) makes the change of name atomic, not the data
// durable: after a power loss a freshly renamed file can be empty on a file system with delayed
// allocation (ext4 forces the data out on rename only when it replaces an existing file, its
// auto_da_alloc heuristic; xfs does not). A SIGKILL needs none of this; a machine crash does.
void sync_tree(const fs::path& path, const std::string& what) {
  std::error_code ec;
  if (fs::is_directory(fs::symlink_status(path, ec))) {
    for (fs::recursive_directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
      const auto st = it->symlink_status(ec);
      if (fs::is_regular_file(st)) sync_one(it->path(), false, what);
      if (fs::is_directory(st)) sync_one(it->path(), true, what);
    }
    if (ec) throw Error(describe(what, "cannot sync " + quoted(path) + ": " + ec.message()));
    sync_one(path, true, what);
  } else {
    sync_one(path, false, what);
  }
}

// After the rename: the folder that holds the new name, so the name itself survives a crash.
void sync_parent(const fs::path& path, const std::string& what) {
  const fs::path parent = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  sync_one(parent, true, what);
}

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

}  // namespace

void write_file_atomically(const fs::path& path, const std::string& what,
                           const std::function<void(const fs::path& tmp)>& fill) {
  if (path.empty()) throw UsageError(describe(what, "empty output path"));
  ensure_parent(path, what);
  remove_stale_temps(path);
  if (fs::is_directory(path)) {
    throw Error(describe(what, "cannot write " + quoted(path) + ": it is a folder"));
  }
  const fs::path tmp = temp_sibling(path);
  try {
    fill(tmp);
    sync_tree(tmp, what);
    std::error_code ec;
    fs::rename(tmp, path, ec);
    if (ec) throw Error(describe(what, "cannot write " + quoted(path) + ": " + ec.message()));
    sync_parent(path, what);
  } catch (...) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw;
  }
}

void write_atomically(const fs::path& path, const std::string& content, const std::string& what) {
  write_file_atomically(path, what, [&](const fs::path& tmp) {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) {
      throw Error(describe(what, "cannot write " + quoted(path) + ": " + std::strerror(errno)));
    }
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    out.flush();
    if (!out) throw Error(describe(what, "cannot write " + quoted(path) + ": write failed"));
  });
}

void write_dir_atomically(const fs::path& dir, const std::string& what,
                          const std::function<void(const fs::path& tmp_dir)>& fill) {
  if (dir.empty()) throw UsageError(describe(what, "empty output path"));
  ensure_parent(dir, what);
  remove_stale_temps(dir);
  if (fs::exists(dir) && !fs::is_directory(dir)) {
    throw Error(describe(what, "cannot write " + quoted(dir) + ": a file is in the way"));
  }
  const fs::path tmp = temp_sibling(dir);
  std::error_code ec;
  fs::create_directory(tmp, ec);
  if (ec) throw Error(describe(what, "cannot write " + quoted(dir) + ": " + ec.message()));
  try {
    fill(tmp);
    sync_tree(tmp, what);
    // rename(2) replaces only an empty folder, so move a previous result aside first; KFP launchers
    // create the output folder before the task starts.
    if (fs::exists(dir)) {
      const fs::path old = temp_sibling(dir);
      fs::rename(dir, old, ec);
      if (ec) throw Error(describe(what, "cannot replace " + quoted(dir) + ": " + ec.message()));
      fs::rename(tmp, dir, ec);
      if (ec) {
        fs::rename(old, dir);
        throw Error(describe(what, "cannot write " + quoted(dir) + ": " + ec.message()));
      }
      fs::remove_all(old, ec);
    } else {
      fs::rename(tmp, dir, ec);
      if (ec) throw Error(describe(what, "cannot write " + quoted(dir) + ": " + ec.message()));
    }
    sync_parent(dir, what);
  } catch (const Error& e) {
    std::error_code ignored;
    fs::remove_all(tmp, ignored);
    // A writer's error that does not say which output it is gets the output's name.
    if (std::string(e.what()).rfind(what + ": ", 0) == 0) throw;
    throw Error(describe(what, e.what()));
  } catch (...) {
    std::error_code ignored;
    fs::remove_all(tmp, ignored);
    throw;
  }
}

std::string read_file(const fs::path& path, const std::string& what) {
  if (fs::is_directory(path)) {
    throw Error(describe(what, "cannot read " + quoted(path) + ": it is a folder"));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(describe(what, "cannot read " + quoted(path) + ": " + std::strerror(errno)));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw Error(describe(what, "cannot read " + quoted(path) + ": read failed"));
  return ss.str();
}

std::string to_hex(const std::string& bytes) {
  static const char* kDigits = "0123456789abcdef";
  std::string out(2 * bytes.size(), '0');
  for (size_t i = 0; i < bytes.size(); ++i) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    out[2 * i] = kDigits[c >> 4];
    out[2 * i + 1] = kDigits[c & 15];
  }
  return out;
}

std::string from_hex(const std::string& hex, const std::string& what) {
  const auto digit = [&](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    throw Error(describe(what, "not a hexadecimal string"));
  };
  if (hex.size() % 2 != 0) throw Error(describe(what, "not a hexadecimal string (odd length)"));
  std::string out(hex.size() / 2, '\0');
  for (size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<char>(digit(hex[2 * i]) * 16 + digit(hex[2 * i + 1]));
  }
  return out;
}

std::string sha256_hex(const std::string& bytes) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), md.data(), &len, EVP_sha256(), nullptr) != 1) {
    throw Error("sha256: digest failed");
  }
  return to_hex(std::string(reinterpret_cast<const char*>(md.data()), len));
}

std::string sha256_file(const fs::path& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(describe(what, "cannot read " + quoted(path) + ": " + std::strerror(errno)));
  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) {
    throw Error("sha256: digest init failed");
  }
  std::array<char, 1 << 16> buf{};
  while (in) {
    in.read(buf.data(), buf.size());
    if (in.gcount() > 0) EVP_DigestUpdate(ctx.get(), buf.data(), static_cast<size_t>(in.gcount()));
  }
  if (in.bad()) throw Error(describe(what, "cannot read " + quoted(path) + ": read failed"));
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx.get(), md.data(), &len);
  return to_hex(std::string(reinterpret_cast<const char*>(md.data()), len));
}

std::string sha256_tree(const fs::path& path, const std::string& what) {
  std::error_code ec;
  const fs::file_status top = fs::symlink_status(path, ec);
  if (ec || !fs::exists(top)) {
    throw Error(describe(what, quoted(path) + " does not exist"));
  }
  if (fs::is_regular_file(top)) return sha256_file(path, what);
  if (!fs::is_directory(top)) {
    throw Error(describe(what, quoted(path) + " is neither a file nor a folder"));
  }
  std::vector<std::string> files;
  for (auto it = fs::recursive_directory_iterator(path, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    // Regular files only, as find -type f lists them; the iterator does not follow links.
    if (!fs::is_regular_file(it->symlink_status())) continue;
    files.push_back(it->path().lexically_relative(path).string());
  }
  if (ec) throw Error(describe(what, "cannot list " + quoted(path) + ": " + ec.message()));
  std::sort(files.begin(), files.end());  // std::string compares bytewise, as LC_ALL=C sort
  std::string listing;
  for (const auto& relative : files) {
    listing += sha256_file(path / relative, what) + "  " + relative + "\n";
  }
  return sha256_hex(listing);
}

fs::path resolve_uri(const std::string& uri, const std::string& what) {
  const auto scheme_end = uri.find("://");
  if (scheme_end == std::string::npos) return uri;
  const std::string scheme = uri.substr(0, scheme_end), rest = uri.substr(scheme_end + 3);
  if (scheme == "file") return rest;
  if (scheme == "gs") return "/gcs/" + rest;
  if (scheme == "s3") return "/s3/" + rest;
  if (scheme == "minio") return "/minio/" + rest;
  throw UsageError(describe(what, "unsupported scheme '" + scheme + "'"));
}

void write_output_parameter(const fs::path& path, const std::string& value,
                            const std::string& what) {
  write_atomically(path, value, what);
}

}  // namespace advkfp::io
