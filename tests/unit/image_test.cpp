// PNG and JPEG decoding (data::decode_image): headers that claim more pixels than any classifier
// input here are refused before the pixels are allocated.
#include <png.h>
#include <zlib.h>
// clang-format off
#include <cstdio>  // jpeglib.h uses FILE without including <stdio.h>
#include <jpeglib.h>
// clang-format on

#include <catch2/catch.hpp>
#include <cstdlib>

#include "common/error.h"
#include "data/image_folder.h"
#include "support/files.h"

using namespace advkfp;

namespace {

std::string be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

std::string chunk(const std::string& type, const std::string& data) {
  const std::string body = type + data;
  const auto crc = crc32(0, reinterpret_cast<const Bytef*>(body.data()), body.size());
  return be32(static_cast<uint32_t>(data.size())) + body + be32(static_cast<uint32_t>(crc));
}

// A PNG whose header says width x height RGB; its one IDAT holds a single empty row.
std::string png_claiming(uint32_t width, uint32_t height) {
  const std::string ihdr = be32(width) + be32(height) + std::string("\x08\x02\0\0\0", 5);
  return std::string("\x89PNG\r\n\x1a\n", 8) + chunk("IHDR", ihdr) +
         chunk("IDAT", std::string("\x78\x9c\x63\x00\x00\x00\x01\x00\x01", 9)) + chunk("IEND", "");
}

// A real 8x8 grey JPEG from libjpeg with its frame header (SOF0) then patched to height x width.
std::string jpeg_claiming(uint16_t width, uint16_t height) {
  jpeg_compress_struct c;
  jpeg_error_mgr err;
  c.err = jpeg_std_error(&err);
  jpeg_create_compress(&c);
  unsigned char* mem = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&c, &mem, &size);
  c.image_width = 8;
  c.image_height = 8;
  c.input_components = 1;
  c.in_color_space = JCS_GRAYSCALE;
  jpeg_set_defaults(&c);
  jpeg_start_compress(&c, TRUE);
  std::vector<unsigned char> row(8, 128);
  for (int y = 0; y < 8; ++y) {
    JSAMPROW r = row.data();
    jpeg_write_scanlines(&c, &r, 1);
  }
  jpeg_finish_compress(&c);
  jpeg_destroy_compress(&c);
  std::string out(reinterpret_cast<char*>(mem), size);
  std::free(mem);
  const auto sof = out.find("\xFF\xC0");
  REQUIRE(sof != std::string::npos);
  out[sof + 5] = static_cast<char>(height >> 8);
  out[sof + 6] = static_cast<char>(height & 0xFF);
  out[sof + 7] = static_cast<char>(width >> 8);
  out[sof + 8] = static_cast<char>(width & 0xFF);
  return out;
}

}  // namespace

// Found by review while writing fuzz/fuzz_image: a 60-byte PNG claiming 1,000,000 x 1,000,000
// pixels made the decoder allocate its 3 TB buffer (std::bad_alloc, or an abort under ASan).
TEST_CASE("images claiming more than 8192 x 8192 pixels are refused before decoding",
          "[unit][image][fuzz]") {
  test::TempDir dir;
  test::write_text(dir / "big.png", png_claiming(1000000, 1000000));
  CHECK_THROWS_AS(data::decode_image(dir / "big.png", "source_uri"), Error);
  CHECK_THROWS_WITH(data::decode_image(dir / "big.png", "source_uri"),
                    Catch::StartsWith("source_uri: '") &&
                        Catch::Contains("1000000x1000000 pixels"));
  test::write_text(dir / "big.jpg", jpeg_claiming(20000, 20000));
  CHECK_THROWS_WITH(data::decode_image(dir / "big.jpg", "source_uri"),
                    Catch::Contains("20000x20000 pixels"));
  // The same files at a size that fits decode (the PNG's one row is short: a libpng error).
  test::write_text(dir / "ok.jpg", jpeg_claiming(8, 8));
  CHECK(data::decode_image(dir / "ok.jpg", "source_uri").sizes().vec() ==
        std::vector<int64_t>({1, 8, 8}));
}
