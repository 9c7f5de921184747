// IDX reader/writer: round trips and every corrupt-input case.
#include <catch2/catch.hpp>

#include <fstream>

#include "common/error.h"
#include "data/idx.h"
#include "support/helpers.h"

using namespace advkfp;
using advkfp::test::TempDir;

namespace {
std::string bytes_of(const std::filesystem::path& p) { return test::read_text(p); }
void write_bytes(const std::filesystem::path& p, const std::string& b) { test::write_text(p, b); }
}  // namespace

TEST_CASE("uint8 images round-trip exactly, raw and gzip", "[unit][idx]") {
  TempDir dir;
  auto u8 = torch::randint(0, 256, {5, 1, 4, 3}, torch::kInt64);
  auto images = u8.to(torch::kFloat32) / 255.0f;
  for (bool gz : {false, true}) {
    const auto path = dir / (gz ? "a.gz" : "a");
    data::write_idx_images(path, images, data::IdxType::kUint8, gz);
    auto back = data::read_idx_images(path, "images");
    REQUIRE(back.sizes() == images.sizes());
    CHECK(torch::equal(back.mul(255).round().to(torch::kInt64), u8));
  }
}

TEST_CASE("float32 images round-trip bit for bit", "[unit][idx]") {
  TempDir dir;
  torch::manual_seed(3);
  auto images = torch::rand({7, 1, 28, 28});
  data::write_idx_images(dir / "f", images, data::IdxType::kFloat32, false);
  auto back = data::read_idx_images(dir / "f", "images");
  CHECK(torch::equal(back, images));
  // Multi-channel images keep their 4-D shape.
  auto rgb = torch::rand({2, 3, 5, 5});
  data::write_idx_images(dir / "rgb", rgb, data::IdxType::kFloat32, true);
  CHECK(torch::equal(data::read_idx_images(dir / "rgb", "images"), rgb));
}

TEST_CASE("labels round-trip", "[unit][idx]") {
  TempDir dir;
  auto labels = torch::tensor({3, 1, 4, 1, 5, 9}, torch::kInt64);
  data::write_idx_labels(dir / "l.gz", labels, true);
  CHECK(torch::equal(data::read_idx_labels(dir / "l.gz", "labels"), labels));
}

TEST_CASE("the real Fashion-MNIST files parse with the expected shapes", "[unit][idx]") {
  const std::filesystem::path dir = ADVKFP_FASHION_MNIST_DIR;
  auto labels = data::read_idx_labels(dir / "t10k-labels-idx1-ubyte.gz", "labels");
  auto images = data::read_idx_images(dir / "t10k-images-idx3-ubyte.gz", "images");
  CHECK(labels.size(0) == 10000);
  CHECK(images.sizes() == torch::IntArrayRef({10000, 1, 28, 28}));
  CHECK(images.min().item<float>() >= 0.0f);
  CHECK(images.max().item<float>() <= 1.0f);
  CHECK(labels.max().item<int64_t>() == 9);
}

TEST_CASE("corrupt IDX files are rejected with a message naming the input", "[unit][idx]") {
  TempDir dir;
  auto images = torch::rand({4, 1, 6, 6});
  data::write_idx_images(dir / "good", images, data::IdxType::kFloat32, false);
  data::write_idx_images(dir / "good.gz", images, data::IdxType::kUint8, true);
  const std::string good = bytes_of(dir / "good");

  SECTION("missing file") {
    CHECK_THROWS_WITH(data::read_idx_images(dir / "nope", "images"),
                      Catch::Contains("images:") && Catch::Contains("does not exist"));
  }
  SECTION("truncated data") {
    write_bytes(dir / "t", good.substr(0, good.size() - 1));
    CHECK_THROWS_WITH(data::read_idx_images(dir / "t", "images"), Catch::Contains("truncated"));
  }
  SECTION("truncated header") {
    write_bytes(dir / "t", good.substr(0, 9));
    CHECK_THROWS_WITH(data::read_idx_images(dir / "t", "images"), Catch::Contains("truncated"));
  }
  SECTION("truncated gzip stream") {
    const std::string gz = bytes_of(dir / "good.gz");
    write_bytes(dir / "t.gz", gz.substr(0, gz.size() / 2));
    CHECK_THROWS_WITH(data::read_idx_images(dir / "t.gz", "images"),
                      Catch::Contains("truncated") || Catch::Contains("corrupt"));
  }
  SECTION("trailing bytes") {
    write_bytes(dir / "t", good + "xx");
    CHECK_THROWS_WITH(data::read_idx_images(dir / "t", "images"),
                      Catch::Contains("unexpected bytes"));
  }
  SECTION("wrong magic number") {
    std::string bad = good;
    bad[0] = 'P';
    write_bytes(dir / "t", bad);
    CHECK_THROWS_WITH(data::read_idx_images(dir / "t", "images"), Catch::Contains("magic"));
  }
  SECTION("unsupported element type") {
    std::string bad = good;
    bad[2] = 0x0C;
    write_bytes(dir / "t", bad);
    CHECK_THROWS_WITH(data::read_idx_images(dir / "t", "images"), Catch::Contains("type 0x0c"));
  }
  SECTION("a label file is not an image file and vice versa") {
    data::write_idx_labels(dir / "labels", torch::tensor({1, 2}, torch::kInt64), false);
    CHECK_THROWS_WITH(data::read_idx_images(dir / "labels", "images"),
                      Catch::Contains("dimensions"));
    CHECK_THROWS_WITH(data::read_idx_labels(dir / "good", "labels"), Catch::Contains("uint8"));
  }
  SECTION("NaN and out-of-range float pixels") {
    auto nan = images.clone();
    nan[0][0][0][0] = std::numeric_limits<float>::quiet_NaN();
    data::write_idx_images(dir / "nan", nan, data::IdxType::kFloat32, false);
    CHECK_THROWS_WITH(data::read_idx_images(dir / "nan", "images"), Catch::Contains("NaN"));
    data::write_idx_images(dir / "big", images + 1.5f, data::IdxType::kFloat32, false);
    CHECK_THROWS_WITH(data::read_idx_images(dir / "big", "images"),
                      Catch::Contains("outside [0, 1]"));
  }
  SECTION("a folder instead of a file") {
    CHECK_THROWS_WITH(data::read_idx_images(dir.path(), "images"), Catch::Contains("folder"));
  }
}

// Found by review while writing fuzz/fuzz_idx: dimensions whose product is a multiple of 2^64
// wrapped to a header that claimed zero bytes, so a 16-byte file passed the size check and became a
// tensor of 2^64 pixels.
TEST_CASE("a header whose dimensions multiply past 64 bits is refused as claiming too much",
          "[unit][idx][fuzz]") {
  TempDir dir;
  const std::string u8 = std::string("\0\0\x08\x03", 4) + std::string("\x40\0\0\0", 4) +
                         std::string("\x40\0\0\0", 4) + std::string("\0\0\0\x10", 4);
  write_bytes(dir / "u8", u8);  // [2^30, 2^30, 16] uint8: 2^64 bytes
  CHECK_THROWS_WITH(data::read_idx_images(dir / "u8", "images"),
                    Catch::Contains("images:") && Catch::Contains("is truncated"));
  const std::string f32 = std::string("\0\0\x0D\x03", 4) + std::string("\x40\0\0\0", 4) +
                          std::string("\x40\0\0\0", 4) + std::string("\0\0\0\x04", 4);
  write_bytes(dir / "f32", f32);  // [2^30, 2^30, 4] float32: 2^64 bytes
  CHECK_THROWS_WITH(data::read_idx_images(dir / "f32", "images"), Catch::Contains("is truncated"));
}
