// Image files for the end-to-end tests, written with libpng's simplified API.
#pragma once

#include <png.h>
#include <torch/torch.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>

namespace advkfp::test {

/// uint8 [C,H,W] (C = 1 or 3) -> a PNG file, creating its folder.
inline void write_png(const std::filesystem::path& path, const torch::Tensor& chw) {
  const auto hwc = chw.permute({1, 2, 0}).contiguous();
  png_image img;
  std::memset(&img, 0, sizeof img);
  img.version = PNG_IMAGE_VERSION;
  img.width = static_cast<png_uint_32>(chw.size(2));
  img.height = static_cast<png_uint_32>(chw.size(1));
  img.format = chw.size(0) == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
  std::filesystem::create_directories(path.parent_path());
  REQUIRE(png_image_write_to_file(&img, path.c_str(), 0, hwc.data_ptr<uint8_t>(), 0, nullptr));
}

}  // namespace advkfp::test
