// .npy parsing (numpy's format.py: magic "\x93NUMPY", version, header length, a Python dict
// literal with 'descr', 'fortran_order' and 'shape') and a zip reader for .npz archives.
#include "data/numpy.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>

#include "common/error.h"
#include "io/files.h"

namespace advkfp::data {
namespace {

uint64_t le(const std::string& b, size_t at, int size) {
  uint64_t v = 0;
  for (int i = size - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(b[at + i]);
  return v;
}

// The value after 'key': in numpy's header dict, or npos.
size_t value_at(const std::string& header, const std::string& key) {
  const auto k = header.find("'" + key + "'");
  if (k == std::string::npos) return k;
  const auto colon = header.find(':', k);
  if (colon == std::string::npos) return colon;
  return header.find_first_not_of(' ', colon + 1);
}

int64_t item_size(const std::string& dtype) {
  static const std::map<std::string, int64_t> kSizes = {{"u1", 1}, {"i1", 1}, {"b1", 1}, {"u2", 2},
                                                        {"i2", 2}, {"u4", 4}, {"i4", 4}, {"u8", 8},
                                                        {"i8", 8}, {"f4", 4}, {"f8", 8}, {"f2", 2}};
  const auto it = kSizes.find(dtype.substr(1));
  return it == kSizes.end() ? 0 : it->second;
}

}  // namespace

int64_t NpyArray::count() const {
  int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

NpyArray parse_npy(const std::string& b, const std::string& what) {
  if (b.size() < 10 || b.compare(0, 6, "\x93NUMPY") != 0) {
    throw Error(describe(what, "not a .npy file (no \\x93NUMPY magic)"));
  }
  const int major = static_cast<unsigned char>(b[6]);
  if (major < 1 || major > 3) {
    throw Error(describe(what, ".npy format version " + std::to_string(major) + " is unknown"));
  }
  const size_t len_size = major == 1 ? 2 : 4;
  if (b.size() < 8 + len_size) throw Error(describe(what, "truncated .npy header"));
  const size_t header_len = le(b, 8, static_cast<int>(len_size));
  const size_t data_at = 8 + len_size + header_len;
  if (b.size() < data_at) throw Error(describe(what, "truncated .npy header"));
  const std::string header = b.substr(8 + len_size, header_len);

  NpyArray a;
  const auto d = value_at(header, "descr");
  if (d == std::string::npos || header[d] != '\'') {
    throw Error(
        describe(what, "the .npy header has no plain dtype (structured arrays are not images)"));
  }
  a.dtype = header.substr(d + 1, header.find('\'', d + 1) - d - 1);
  const auto f = value_at(header, "fortran_order");
  if (f == std::string::npos) throw Error(describe(what, "the .npy header has no fortran_order"));
  if (header.compare(f, 4, "True") == 0) {
    throw Error(describe(what, "Fortran-ordered arrays are not supported (save a C-ordered copy)"));
  }
  const auto s = value_at(header, "shape");
  if (s == std::string::npos || header[s] != '(') {
    throw Error(describe(what, "the .npy header has no shape"));
  }
  const auto close = header.find(')', s);
  if (close == std::string::npos) throw Error(describe(what, "bad shape in the .npy header"));
  std::string dims = header.substr(s + 1, close - s - 1);
  size_t pos = 0;
  while (pos < dims.size()) {
    const auto next = dims.find(',', pos);
    std::string item = dims.substr(pos, next == std::string::npos ? std::string::npos : next - pos);
    item.erase(0, item.find_first_not_of(' '));
    item.erase(item.find_last_not_of(' ') + 1);
    if (!item.empty()) {
      if (item.find_first_not_of("0123456789") != std::string::npos || item.size() > 12) {
        throw Error(describe(what, "bad shape '(" + dims + ")' in the .npy header"));
      }
      a.shape.push_back(std::stoll(item));
    }
    if (next == std::string::npos) break;
    pos = next + 1;
  }
  const int64_t size = a.dtype.size() < 2 ? 0 : item_size(a.dtype);
  if (size == 0 || a.dtype[0] == '>' || (size > 1 && a.dtype[0] == '|')) {
    throw Error(describe(what, "dtype '" + a.dtype +
                                   "' is not supported (little-endian "
                                   "integers or floats)"));
  }
  // The byte count, and the same product with empty dimensions counted as 1, which bounds the
  // strides LibTorch computes for the shape. An empty array of shape (0, 4, 10^8, 10^12) holds no
  // data, yet its strides overflow int64_t, and LibTorch 1.13 reads an int64_t whose two top bits
  // are 10 as a pointer to a symbolic size (c10/core/SymInt.h: MASK, IS_SYM), crashing clone().
  uint64_t want = static_cast<uint64_t>(size), span = want;
  for (const auto d : a.shape) {
    const auto extent = static_cast<uint64_t>(std::max<int64_t>(d, 1));
    if (__builtin_mul_overflow(want, static_cast<uint64_t>(d), &want) ||
        __builtin_mul_overflow(span, extent, &span) || span > (1ull << 62)) {
      throw Error(describe(what, "shape (" + dims + ") in the .npy header holds more data than "
                                 "any file"));
    }
  }
  if (b.size() - data_at != want) {
    throw Error(describe(what, "holds " + std::to_string(b.size() - data_at) +
                                   " data bytes, its header says " + std::to_string(want) +
                                   " (truncated?)"));
  }
  a.bytes = b.substr(data_at);
  return a;
}

NpyArray read_npy(const std::filesystem::path& path, const std::string& what) {
  return parse_npy(io::read_file(path, what), what + " '" + path.string() + "'");
}

std::map<std::string, NpyArray> read_npz(const std::filesystem::path& path,
                                         const std::string& what) {
  const std::string b = io::read_file(path, what);
  const std::string name = what + " '" + path.string() + "'";
  auto corrupt = [&](const std::string& why) {
    return Error(describe(name, "not a readable .npz (zip) archive: " + why));
  };
  // End of central directory: the last "PK\5\6" within the final 64 KiB + 22 bytes.
  if (b.size() < 22) throw corrupt("too short");
  size_t eocd = std::string::npos;
  for (size_t i = b.size() - 22 + 1; i-- > 0 && b.size() - i <= 65557;) {
    if (b.compare(i, 4, "PK\x05\x06") == 0) {
      eocd = i;
      break;
    }
  }
  if (eocd == std::string::npos) throw corrupt("no end of central directory");
  uint64_t entries = le(b, eocd + 10, 2), cd_offset = le(b, eocd + 16, 4);
  if ((entries == 0xFFFF || cd_offset == 0xFFFFFFFF) && eocd >= 20 &&
      b.compare(eocd - 20, 4, "PK\x06\x07") == 0) {
    const uint64_t z64 = le(b, eocd - 20 + 8, 8);  // zip64 end of central directory record
    if (z64 > b.size() || b.size() - z64 < 56 || b.compare(z64, 4, "PK\x06\x06") != 0)
      throw corrupt("bad zip64 record");
    entries = le(b, z64 + 32, 8);
    cd_offset = le(b, z64 + 48, 8);
  }
  std::map<std::string, NpyArray> out;
  size_t p = cd_offset;
  for (uint64_t e = 0; e < entries; ++e) {
    if (p > b.size() || b.size() - p < 46 || b.compare(p, 4, "PK\x01\x02") != 0)
      throw corrupt("bad central directory");
    const auto method = le(b, p + 10, 2);
    const auto crc = static_cast<uint32_t>(le(b, p + 16, 4));
    uint64_t csize = le(b, p + 20, 4), usize = le(b, p + 24, 4), local = le(b, p + 42, 4);
    const auto nlen = le(b, p + 28, 2), xlen = le(b, p + 30, 2), clen = le(b, p + 32, 2);
    if (b.size() - p - 46 < nlen + xlen + clen) throw corrupt("bad central directory");
    const std::string member = b.substr(p + 46, nlen);
    // Zip64 extra field (id 1): the 8-byte values of whichever fields are 0xFFFFFFFF, in order.
    // A record's values are read only within both the record and the extra field.
    const size_t extra_end = p + 46 + nlen + xlen;
    for (size_t x = p + 46 + nlen; x + 4 <= extra_end;) {
      const auto id = le(b, x, 2), size = le(b, x + 2, 2);
      if (id == 1) {
        size_t v = x + 4;
        for (uint64_t* field : {&usize, &csize, &local}) {
          if (*field == 0xFFFFFFFF && v + 8 <= std::min<size_t>(x + 4 + size, extra_end)) {
            *field = le(b, v, 8);
            v += 8;
          }
        }
      }
      x += 4 + size;
    }
    p += 46 + nlen + xlen + clen;
    if (local > b.size() || b.size() - local < 30 || b.compare(local, 4, "PK\x03\x04") != 0) {
      throw corrupt("bad local header of '" + member + "'");
    }
    const size_t data = local + 30 + le(b, local + 26, 2) + le(b, local + 28, 2);
    if (data > b.size() || b.size() - data < csize) throw corrupt("'" + member + "' is truncated");
    // Nothing is allocated for more than the member's data can hold: a stored member is its
    // data, and deflate expands at most 1032:1 (zlib's "technical details").
    if ((method == 0 && usize != csize) || (method == 8 && usize / 1032 > csize)) {
      throw corrupt("'" + member + "' claims " + std::to_string(usize) + " bytes from " +
                    std::to_string(csize) + (method == 0 ? " stored" : " compressed"));
    }
    std::string content;
    if (method == 0) {
      content = b.substr(data, csize);
    } else if (method == 8) {
      content.resize(usize);
      z_stream z{};
      if (inflateInit2(&z, -MAX_WBITS) != Z_OK) throw corrupt("zlib init failed");
      z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(b.data() + data));
      z.avail_in = static_cast<uInt>(csize);
      z.next_out = reinterpret_cast<Bytef*>(content.data());
      z.avail_out = static_cast<uInt>(usize);
      const int rc = inflate(&z, Z_FINISH);
      inflateEnd(&z);
      if (rc != Z_STREAM_END || z.total_out != usize)
        throw corrupt("'" + member + "' does not inflate");
    } else {
      throw corrupt("'" + member + "' uses compression method " + std::to_string(method));
    }
    if (content.size() != usize || crc32(0L, reinterpret_cast<const Bytef*>(content.data()),
                                         static_cast<uInt>(content.size())) != crc) {
      throw corrupt("CRC mismatch in '" + member + "'");
    }
    std::string key = member;
    if (key.size() > 4 && key.compare(key.size() - 4, 4, ".npy") == 0) key.resize(key.size() - 4);
    out[key] = parse_npy(content, name + " member '" + member + "'");
  }
  return out;
}

torch::Tensor npy_images(const NpyArray& a, const std::string& what, bool& from_uint8) {
  from_uint8 = a.dtype == "|u1";
  if (!from_uint8 && a.dtype != "<f4") {
    throw Error(describe(
        what, "images have dtype '" + a.dtype + "'; expected uint8 ('|u1') or float32 ('<f4')"));
  }
  auto shape_text = [&] {
    std::string s;
    for (size_t i = 0; i < a.shape.size(); ++i) s += (i ? "x" : "") + std::to_string(a.shape[i]);
    return s;
  };
  const bool nchw = a.shape.size() == 4 && a.shape[1] >= 1 && a.shape[1] <= 4;
  const bool nhwc = a.shape.size() == 4 && a.shape[3] >= 1 && a.shape[3] <= 4;
  if (a.shape.size() != 3 && !(nchw || nhwc)) {
    throw Error(describe(what, "images have shape " + shape_text() +
                                   "; expected [N,H,W], [N,H,W,C] or [N,C,H,W] with C <= 4"));
  }
  if (nchw && nhwc) {
    throw Error(describe(
        what, "images of shape " + shape_text() + " read as both [N,C,H,W] and [N,H,W,C]"));
  }
  auto t = torch::from_blob(const_cast<char*>(a.bytes.data()), a.shape,
                            from_uint8 ? torch::kUInt8 : torch::kFloat)
               .clone();
  if (a.shape.size() == 3) t = t.unsqueeze(1);
  if (nhwc) t = t.permute({0, 3, 1, 2});
  t = t.contiguous();
  if (from_uint8) return t.to(torch::kFloat).div_(255);
  if (!torch::isfinite(t).all().item<bool>() ||
      (t.numel() > 0 && (t.min().item<float>() < 0 || t.max().item<float>() > 1))) {
    throw Error(describe(what, "float32 images must be finite and in [0, 1]"));
  }
  return t;
}

torch::Tensor npy_labels(const NpyArray& a, const std::string& what) {
  static const std::map<std::string, torch::ScalarType> kTypes = {{"|u1", torch::kUInt8},
                                                                  {"|i1", torch::kInt8},
                                                                  {"<i2", torch::kInt16},
                                                                  {"<i4", torch::kInt32},
                                                                  {"<i8", torch::kInt64}};
  const auto it = kTypes.find(a.dtype);
  if (it == kTypes.end()) {
    throw Error(describe(what, "labels have dtype '" + a.dtype +
                                   "'; expected integers (uint8, int8, int16, int32, int64)"));
  }
  if (a.shape.size() != 1) throw Error(describe(what, "labels must be one-dimensional [N]"));
  auto t =
      torch::from_blob(const_cast<char*>(a.bytes.data()), a.shape, it->second)
          .to(torch::kInt64, /*non_blocking=*/false, /*copy=*/true);  // never a view of a.bytes
  if (t.numel() > 0 && t.min().item<int64_t>() < 0) {
    throw Error(describe(what, "labels must be >= 0"));
  }
  return t;
}

}  // namespace advkfp::data
