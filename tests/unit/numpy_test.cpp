// .npy parsing and the NumPy image/label conversions: header versions, dtypes, layouts, refusals.
#include "data/numpy.h"

#include <catch2/catch.hpp>
#include <cstring>

#include "common/error.h"
#include "support/files.h"

using namespace advkfp;

namespace {

// A .npy file as numpy/lib/format.py writes it: magic, version, little-endian header length
// (2 bytes in version 1, 4 in 2 and 3), the dict padded with spaces and '\n' to 64 bytes.
std::string npy(const std::string& descr, const std::string& shape, const std::string& payload,
                int version = 1, const std::string& fortran = "False") {
  std::string header =
      "{'descr': '" + descr + "', 'fortran_order': " + fortran + ", 'shape': " + shape + ", }";
  const size_t prefix = version == 1 ? 10 : 12;
  header += std::string(63 - (prefix + header.size()) % 64, ' ') + "\n";
  std::string out = std::string("\x93NUMPY", 6) + static_cast<char>(version) + '\0';
  const size_t n = header.size();
  out += static_cast<char>(n & 0xFF);
  out += static_cast<char>((n >> 8) & 0xFF);
  if (version != 1) out += std::string(2, '\0');
  return out + header + payload;
}

std::string bytes_of(const std::vector<float>& v) {
  std::string s(v.size() * 4, '\0');
  std::memcpy(s.data(), v.data(), s.size());
  return s;
}

}  // namespace

TEST_CASE("npy headers of versions 1 and 2 parse to dtype, shape and data", "[unit][numpy]") {
  for (int version : {1, 2}) {
    const auto a = data::parse_npy(npy("|u1", "(2, 3)", "abcdef", version), "x");
    CHECK(a.dtype == "|u1");
    CHECK(a.shape == std::vector<int64_t>{2, 3});
    CHECK(a.bytes == "abcdef");
  }
  CHECK(data::parse_npy(npy("<i8", "(1,)", std::string(8, '\0')), "x").shape ==
        std::vector<int64_t>{1});
}

TEST_CASE("npy refusals name the problem", "[unit][numpy]") {
  CHECK_THROWS_WITH(data::parse_npy("hello world", "x"), Catch::Contains("not a .npy"));
  CHECK_THROWS_WITH(data::parse_npy(npy(">f4", "(1,)", "abcd"), "x"), Catch::Contains("'>f4'"));
  CHECK_THROWS_WITH(data::parse_npy(npy("<f4", "(2,)", "abcd"), "x"), Catch::Contains("truncated"));
  CHECK_THROWS_WITH(data::parse_npy(npy("|u1", "(2, 2)", "abcd", 1, "True"), "x"),
                    Catch::Contains("Fortran"));
  CHECK_THROWS_WITH(data::parse_npy(npy("<U3", "(1,)", "abc"), "x"), Catch::Contains("'<U3'"));
}

TEST_CASE("NumPy images: NHWC and NCHW become [N,C,H,W], float32 must be in [0,1]",
          "[unit][numpy]") {
  bool u8 = false;
  // One 5x2 RGB image, NHWC: pixel values 0..29 in memory order.
  std::string px;
  for (int i = 0; i < 30; ++i) px += static_cast<char>(i);
  auto nhwc = data::npy_images(data::parse_npy(npy("|u1", "(1, 5, 2, 3)", px), "x"), "x", u8);
  CHECK(u8);
  CHECK(nhwc.sizes() == torch::IntArrayRef({1, 3, 5, 2}));
  // Channel 1, row 1, column 0 is memory element ((0*5 + 1)*2 + 0)*3 + 1 = 7.
  CHECK(nhwc[0][1][1][0].item<float>() == Approx(7.0 / 255));
  auto nchw = data::npy_images(data::parse_npy(npy("|u1", "(1, 3, 2, 5)", px), "x"), "x", u8);
  CHECK(nchw.sizes() == torch::IntArrayRef({1, 3, 2, 5}));
  CHECK(nchw[0][1][1][0].item<float>() == Approx(15.0 / 255));  // ((0*3 + 1)*2 + 1)*5 + 0
  auto grey = data::npy_images(data::parse_npy(npy("|u1", "(6, 5, 1)", px), "x"), "x", u8);
  CHECK(grey.sizes() == torch::IntArrayRef({6, 1, 5, 1}));
  CHECK_THROWS_WITH(
      data::npy_images(data::parse_npy(npy("|u1", "(2, 3, 1, 3)", px.substr(0, 18)), "x"), "x", u8),
      Catch::Contains("both"));
  const auto floats = npy("<f4", "(1, 1, 2)", bytes_of({0.25f, 1.5f}));
  CHECK_THROWS_WITH(data::npy_images(data::parse_npy(floats, "x"), "x", u8),
                    Catch::Contains("[0, 1]"));
  const auto ok = npy("<f4", "(1, 1, 2)", bytes_of({0.25f, 1.0f}));
  CHECK(data::npy_images(data::parse_npy(ok, "x"), "x", u8)[0][0][0][1].item<float>() == 1.0f);
  CHECK_FALSE(u8);
}

TEST_CASE("NumPy labels: any integer type, one dimension, non-negative", "[unit][numpy]") {
  const std::string three = std::string("\x01\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00", 12);
  CHECK(torch::equal(data::npy_labels(data::parse_npy(npy("<i4", "(3,)", three), "x"), "x"),
                     torch::tensor({1, 2, 0}, torch::kInt64)));
  CHECK_THROWS_WITH(
      data::npy_labels(data::parse_npy(npy("<f4", "(1,)", bytes_of({1.0f})), "x"), "x"),
      Catch::Contains("integers"));
  CHECK_THROWS_WITH(data::npy_labels(data::parse_npy(npy("|i1", "(1,)", "\xff"), "x"), "x"),
                    Catch::Contains(">= 0"));
}

namespace {

std::string le(uint64_t v, int bytes) {
  std::string out;
  for (int i = 0; i < bytes; ++i) out += static_cast<char>((v >> (8 * i)) & 0xFF);
  return out;
}

// A zip archive of one member as its headers describe it (sizes and method as given, whatever
// the data), with the end-of-central-directory record numpy's zipfile writes.
std::string zip_of(const std::string& name, const std::string& data, uint16_t method,
                   uint64_t compressed, uint64_t uncompressed) {
  const std::string local = "PK\x03\x04" + std::string(22, '\0') + le(name.size(), 2) + le(0, 2) +
                            name + data;
  const std::string central = "PK\x01\x02" + std::string(6, '\0') + le(method, 2) +
                              std::string(4, '\0') + le(0, 4) + le(compressed, 4) +
                              le(uncompressed, 4) + le(name.size(), 2) + std::string(12, '\0') +
                              le(0, 4) + name;
  return local + central + "PK\x05\x06" + std::string(4, '\0') + le(1, 2) + le(1, 2) +
         le(central.size(), 4) + le(local.size(), 4) + le(0, 2);
}

std::string write_temp(const test::TempDir& dir, const std::string& bytes) {
  test::write_text(dir / "a.npz", bytes);
  return (dir / "a.npz").string();
}

}  // namespace

// Found by review while writing fuzz/fuzz_npy: a shape whose product is a multiple of 2^64 claimed
// zero data bytes and passed the size check as an array of 2^64 elements.
TEST_CASE("an npy shape whose size overflows 64 bits is refused", "[unit][numpy][fuzz]") {
  const auto a = npy("|u1", "(4294967296, 4294967296, 1)", "");
  CHECK_THROWS_AS(data::parse_npy(a, "x"), Error);
  CHECK_THROWS_WITH(data::parse_npy(a, "x"),
                    Catch::StartsWith("x:") && Catch::Contains("more data than any file"));
  CHECK_THROWS_WITH(data::parse_npy(npy("<f8", "(999999999999, 999999999999)", ""), "x"),
                    Catch::Contains("more data than any file"));
}

// Finding 14 (fuzz_npy, a CI run): an empty array whose other dimensions are huge holds no data,
// but the strides LibTorch derives from its shape overflow int64_t; npy_images' clone() read one
// as a symbolic size and crashed (SEGV in c10::SymInt::toSymIntNodeImpl). The fuzzer's input:
TEST_CASE("an empty npy array whose strides would overflow is refused before LibTorch sees it",
          "[unit][numpy][fuzz]") {
  const auto crash = npy("|u1", "(0, 4,46666664, 466646666664,)", "");
  CHECK_THROWS_WITH(data::parse_npy(crash, "x"),
                    Catch::StartsWith("x:") && Catch::Contains("more data than any file"));
  CHECK_THROWS_WITH(data::parse_npy(npy("<f4", "(999999999999, 0, 999999999999)", ""), "x"),
                    Catch::Contains("more data than any file"));
  // An empty array of a sane shape still parses, and converts to an empty image tensor.
  const auto empty = data::parse_npy(npy("|u1", "(0, 28, 28)", ""), "x");
  bool from_uint8 = false;
  const auto t = data::npy_images(empty, "x", from_uint8);
  CHECK(t.sizes() == torch::IntArrayRef({0, 1, 28, 28}));
}

// Found by review while writing fuzz/fuzz_npz: offsets near 2^64 in zip64 records wrapped around
// the bounds checks and reached std::string::compare (std::out_of_range, a message naming nothing).
TEST_CASE("npz records pointing outside the archive are refused naming the archive",
          "[unit][numpy][fuzz]") {
  test::TempDir dir;
  const std::string locator = "PK\x06\x07" + le(0, 4) + le(0xFFFFFFFFFFFFFFF0ull, 8) + le(1, 4);
  const std::string eocd = "PK\x05\x06" + std::string(4, '\0') + le(0xFFFF, 2) + le(0xFFFF, 2) +
                           le(0, 4) + le(0xFFFFFFFF, 4) + le(0, 2);
  const auto path = write_temp(dir, locator + eocd);
  CHECK_THROWS_AS(data::read_npz(path, "source_uri"), Error);
  CHECK_THROWS_WITH(data::read_npz(path, "source_uri"),
                    Catch::StartsWith("source_uri '") && Catch::Contains("zip64"));
}

// Found by review while writing fuzz/fuzz_npz: the uncompressed size of a member was allocated as
// the archive claimed it, up to 4 GiB for a few bytes of input (16 EiB with zip64), before
// inflating. Deflate expands at most 1032:1 (zlib's technical details), stored members not at all.
TEST_CASE("an npz member claiming more than its compressed size can hold is refused first",
          "[unit][numpy][fuzz]") {
  test::TempDir dir;
  const auto deflated = write_temp(dir, zip_of("x.npy", std::string(10, '\0'), 8, 10, 200000000));
  CHECK_THROWS_WITH(data::read_npz(deflated, "source_uri"),
                    Catch::Contains("'x.npy'") && Catch::Contains("claims 200000000 bytes"));
  const auto stored = write_temp(dir, zip_of("x.npy", std::string(10, '\0'), 0, 10, 11));
  CHECK_THROWS_WITH(data::read_npz(stored, "source_uri"), Catch::Contains("claims 11 bytes"));
}

