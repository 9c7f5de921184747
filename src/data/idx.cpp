// IDX reader and writer on top of zlib's gz* API, which reads raw and gzip files alike.
#include "data/idx.h"

#include <zlib.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "common/error.h"

namespace advkfp::data {
namespace {

namespace fs = std::filesystem;

struct GzCloser {
  void operator()(gzFile_s* f) const { gzclose(f); }
};
using GzPtr = std::unique_ptr<gzFile_s, GzCloser>;

std::string q(const fs::path& p) { return "'" + p.string() + "'"; }

struct IdxHeader {
  uint8_t type = 0;
  std::vector<int64_t> dims;
  int64_t elements() const {
    int64_t n = 1;
    for (auto d : dims) n *= d;
    return n;
  }
};

uint32_t be32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

// Reads the whole (decompressed) file; IDX files here are at most a few hundred MB.
std::vector<unsigned char> read_all(const fs::path& path, const std::string& what) {
  if (!fs::exists(path)) throw Error(describe(what, q(path) + " does not exist"));
  if (fs::is_directory(path)) throw Error(describe(what, q(path) + " is a folder, not an IDX file"));
  GzPtr f(gzopen(path.c_str(), "rb"));
  if (!f) throw Error(describe(what, "cannot open " + q(path)));
  gzbuffer(f.get(), 1 << 17);
  std::vector<unsigned char> out;
  std::array<unsigned char, 1 << 17> buf{};
  for (;;) {
    const int n = gzread(f.get(), buf.data(), static_cast<unsigned>(buf.size()));
    if (n < 0) {
      int err = 0;
      const char* msg = gzerror(f.get(), &err);
      throw Error(describe(what, q(path) + " is corrupt or truncated (" + msg + ")"));
    }
    if (n == 0) break;
    out.insert(out.end(), buf.data(), buf.data() + n);
  }
  // gzread stops quietly at a truncated gzip stream; gzerror reports it.
  int err = 0;
  const char* msg = gzerror(f.get(), &err);
  if (err != Z_OK && err != Z_STREAM_END) {
    throw Error(describe(what, q(path) + " is corrupt or truncated (" + msg + ")"));
  }
  return out;
}

IdxHeader parse_header(const std::vector<unsigned char>& bytes, const fs::path& path,
                       const std::string& what) {
  if (bytes.size() < 4) throw Error(describe(what, q(path) + " is too short to be an IDX file"));
  if (bytes[0] != 0 || bytes[1] != 0) {
    throw Error(describe(what, q(path) + " is not an IDX file (bad magic number)"));
  }
  IdxHeader h;
  h.type = bytes[2];
  const int ndims = bytes[3];
  if (ndims < 1 || ndims > 4) {
    throw Error(describe(what, q(path) + " has an unsupported number of dimensions (" +
                                   std::to_string(ndims) + ")"));
  }
  if (bytes.size() < 4 + 4 * static_cast<size_t>(ndims)) {
    throw Error(describe(what, q(path) + " is truncated (incomplete header)"));
  }
  for (int i = 0; i < ndims; ++i) {
    const uint32_t d = be32(&bytes[4 + 4 * i]);
    if (d == 0 || d > (1u << 30)) {
      throw Error(describe(what, q(path) + " has an invalid dimension " + std::to_string(d)));
    }
    h.dims.push_back(d);
  }
  return h;
}

size_t element_size(uint8_t type) {
  switch (type) {
    case 0x08: return 1;
    case 0x0D: return 4;
    default: return 0;
  }
}

void check_payload(const IdxHeader& h, size_t payload, const fs::path& path,
                   const std::string& what) {
  // Four dimensions of up to 2^30 can claim more than 2^64 bytes: the product must not wrap.
  uint64_t want = element_size(h.type);
  for (const auto d : h.dims) {
    if (__builtin_mul_overflow(want, static_cast<uint64_t>(d), &want)) {
      throw Error(
          describe(what, q(path) + " is truncated (its header claims over 2^64 data bytes)"));
    }
  }
  if (payload < want) {
    throw Error(describe(what, q(path) + " is truncated (" + std::to_string(payload) + " of " +
                                   std::to_string(want) + " data bytes)"));
  }
  if (payload > want) {
    throw Error(describe(what, q(path) + " has " + std::to_string(payload - want) +
                                   " unexpected bytes after the data"));
  }
}

// Errors name the file only: the artifact writer around it (io::write_dir_atomically) adds
// which output it is.
void write_all(const fs::path& path, const std::vector<unsigned char>& header, const void* data,
               size_t size, bool gzip) {
  if (gzip) {
    GzPtr f(gzopen(path.c_str(), "wb6"));
    if (!f) throw Error("cannot write " + q(path));
    const auto* p = static_cast<const char*>(data);
    bool ok = gzwrite(f.get(), header.data(), static_cast<unsigned>(header.size())) ==
              static_cast<int>(header.size());
    while (ok && size > 0) {
      const unsigned chunk = static_cast<unsigned>(std::min<size_t>(size, 1u << 30));
      ok = gzwrite(f.get(), p, chunk) == static_cast<int>(chunk);
      p += chunk;
      size -= chunk;
    }
    if (gzclose(f.release()) != Z_OK || !ok) throw Error("cannot write " + q(path));
    return;
  }
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "wb"), &std::fclose);
  if (!f) throw Error("cannot write " + q(path) + ": " + std::strerror(errno));
  bool ok = std::fwrite(header.data(), 1, header.size(), f.get()) == header.size();
  ok = ok && std::fwrite(data, 1, size, f.get()) == size;
  ok = (std::fclose(f.release()) == 0) && ok;
  if (!ok) throw Error("cannot write " + q(path) + ": " + std::strerror(errno));
}

std::vector<unsigned char> make_header(IdxType type, const std::vector<int64_t>& dims) {
  std::vector<unsigned char> h = {0, 0, static_cast<unsigned char>(type),
                                  static_cast<unsigned char>(dims.size())};
  for (auto d : dims) {
    const auto v = static_cast<uint32_t>(d);
    h.push_back(static_cast<unsigned char>(v >> 24));
    h.push_back(static_cast<unsigned char>(v >> 16));
    h.push_back(static_cast<unsigned char>(v >> 8));
    h.push_back(static_cast<unsigned char>(v));
  }
  return h;
}

}  // namespace

torch::Tensor read_idx_images(const fs::path& path, const std::string& what) {
  const auto bytes = read_all(path, what);
  const IdxHeader h = parse_header(bytes, path, what);
  if (h.type != 0x08 && h.type != 0x0D) {
    char type[8];
    std::snprintf(type, sizeof type, "0x%02x", h.type);
    throw Error(describe(what, q(path) + " has IDX type " + type +
                                   "; images must be uint8 (0x08) or float32 (0x0d)"));
  }
  if (h.dims.size() != 3 && h.dims.size() != 4) {
    throw Error(describe(what, q(path) + " has " + std::to_string(h.dims.size()) +
                                   " dimensions; images need 3 (N,H,W) or 4 (N,C,H,W)"));
  }
  const size_t offset = 4 + 4 * h.dims.size();
  check_payload(h, bytes.size() - offset, path, what);
  std::vector<int64_t> shape = h.dims;
  if (shape.size() == 3) shape.insert(shape.begin() + 1, 1);
  const unsigned char* data = bytes.data() + offset;
  if (h.type == 0x08) {
    auto u8 = torch::from_blob(const_cast<unsigned char*>(data), shape, torch::kUInt8);
    return u8.to(torch::kFloat32).div_(255.0f).contiguous();
  }
  torch::Tensor out = torch::empty(shape, torch::kFloat32);
  auto* dst = out.data_ptr<float>();
  const int64_t n = h.elements();
  for (int64_t i = 0; i < n; ++i) {
    const uint32_t bits = be32(data + 4 * i);
    std::memcpy(&dst[i], &bits, 4);
  }
  const bool finite = torch::isfinite(out).all().item<bool>();
  if (!finite) throw Error(describe(what, q(path) + " contains NaN or infinite pixel values"));
  if (n > 0 && (out.min().item<float>() < 0.0f || out.max().item<float>() > 1.0f)) {
    throw Error(describe(what, q(path) + " has pixel values outside [0, 1]"));
  }
  return out;
}

torch::Tensor read_idx_labels(const fs::path& path, const std::string& what) {
  const auto bytes = read_all(path, what);
  const IdxHeader h = parse_header(bytes, path, what);
  if (h.type != 0x08) throw Error(describe(what, q(path) + " is not a uint8 IDX label file"));
  if (h.dims.size() != 1) {
    throw Error(describe(what, q(path) + " has " + std::to_string(h.dims.size()) +
                                   " dimensions; labels need 1"));
  }
  check_payload(h, bytes.size() - 8, path, what);
  auto u8 = torch::from_blob(const_cast<unsigned char*>(bytes.data() + 8), {h.dims[0]},
                             torch::kUInt8);
  return u8.to(torch::kInt64);
}

void write_idx_images(const fs::path& path, const torch::Tensor& images, IdxType type, bool gzip) {
  TORCH_CHECK(images.dim() == 4, "write_idx_images: images must be [N,C,H,W]");
  std::vector<int64_t> dims = images.sizes().vec();
  if (dims[1] == 1) dims.erase(dims.begin() + 1);
  const auto header = make_header(type, dims);
  if (type == IdxType::kUint8) {
    auto u8 = images.mul(255.0f).round_().clamp_(0, 255).to(torch::kUInt8).contiguous();
    write_all(path, header, u8.data_ptr<uint8_t>(), static_cast<size_t>(u8.numel()), gzip);
    return;
  }
  auto f = images.to(torch::kFloat32).contiguous();
  const int64_t n = f.numel();
  std::vector<unsigned char> be(static_cast<size_t>(n) * 4);
  const float* src = f.data_ptr<float>();
  for (int64_t i = 0; i < n; ++i) {
    uint32_t bits = 0;
    std::memcpy(&bits, &src[i], 4);
    be[4 * i] = static_cast<unsigned char>(bits >> 24);
    be[4 * i + 1] = static_cast<unsigned char>(bits >> 16);
    be[4 * i + 2] = static_cast<unsigned char>(bits >> 8);
    be[4 * i + 3] = static_cast<unsigned char>(bits);
  }
  write_all(path, header, be.data(), be.size(), gzip);
}

void write_idx_labels(const fs::path& path, const torch::Tensor& labels, bool gzip) {
  TORCH_CHECK(labels.dim() == 1, "write_idx_labels: labels must be [N]");
  TORCH_CHECK(labels.numel() == 0 || (labels.min().item<int64_t>() >= 0 &&
                                      labels.max().item<int64_t>() <= 255),
              "write_idx_labels: labels must be in 0..255");
  auto u8 = labels.to(torch::kUInt8).contiguous();
  write_all(path, make_header(IdxType::kUint8, {labels.size(0)}), u8.data_ptr<uint8_t>(),
            static_cast<size_t>(u8.numel()), gzip);
}

}  // namespace advkfp::data
