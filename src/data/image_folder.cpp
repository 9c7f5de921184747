// Image folders: PNG through libpng's simplified API, JPEG through libjpeg's decompressor.
#include "data/image_folder.h"

// clang-format off
#include <cstdio>  // jpeglib.h uses FILE without including <stdio.h>
#include <jpeglib.h>
// clang-format on
#include <png.h>

#include <algorithm>
#include <csetjmp>
#include <cstring>
#include <memory>

#include "common/error.h"
#include "io/files.h"

namespace advkfp::data {
namespace fs = std::filesystem;

namespace {

std::string where(const fs::path& p) { return "'" + p.string() + "'"; }

// Larger than any classifier input here, and refused before a pixel is allocated: a header alone
// can claim 1,000,000 x 1,000,000 (libpng's limit) or 65,500 x 65,500 (JPEG's).
constexpr int64_t kMaxPixels = int64_t{8192} * 8192;

void check_pixels(int64_t w, int64_t h, const fs::path& path, const std::string& what) {
  if (w * h > kMaxPixels) {
    throw Error(describe(what, where(path) + " is " + std::to_string(w) + "x" + std::to_string(h) +
                                   " pixels; images over 8192 x 8192 pixels are not read"));
  }
}

// [H,W,C] interleaved rows -> uint8 [C,H,W].
torch::Tensor to_chw(std::vector<unsigned char>& buf, int64_t h, int64_t w, int64_t c) {
  // A copy: for C = 1 the permuted view is already contiguous and would still point into buf.
  return torch::from_blob(buf.data(), {h, w, c}, torch::kUInt8)
      .permute({2, 0, 1})
      .clone(at::MemoryFormat::Contiguous);
}

torch::Tensor decode_png(const std::string& bytes, const fs::path& path, const std::string& what) {
  png_image img;
  std::memset(&img, 0, sizeof img);
  img.version = PNG_IMAGE_VERSION;
  auto fail = [&](const std::string& stage) {
    const std::string msg = img.message[0] ? img.message : "unknown error";
    png_image_free(&img);
    return Error(
        describe(what, where(path) + " is not a readable PNG (" + stage + ": " + msg + ")"));
  };
  if (!png_image_begin_read_from_memory(&img, bytes.data(), bytes.size())) throw fail("header");
  if (int64_t{img.width} * img.height > kMaxPixels) {
    png_image_free(&img);
    check_pixels(img.width, img.height, path, what);
  }
  const bool colour = (img.format & PNG_FORMAT_FLAG_COLOR) != 0;
  // 8-bit sRGB grey or RGB: an 8-bit file without a gamma chunk comes through unchanged. With a
  // NULL background libpng composites an alpha channel onto the buffer's contents (png.h,
  // png_image_finish_read), which start zeroed: onto black.
  img.format = colour ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
  const int64_t c = colour ? 3 : 1, h = img.height, w = img.width;
  std::vector<unsigned char> buf(PNG_IMAGE_SIZE(img));
  if (!png_image_finish_read(&img, nullptr, buf.data(), 0, nullptr)) throw fail("pixels");
  png_image_free(&img);
  return to_chw(buf, h, w, c);
}

struct JpegError {
  jpeg_error_mgr mgr;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX] = {};
};

void jpeg_fail(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<JpegError*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, err->message);
  std::longjmp(err->jump, 1);
}
void jpeg_quiet(j_common_ptr) {}

// All libjpeg state lives behind one pointer, so nothing the decoder changed is lost in a
// register when its error handler longjmps back to run_jpeg.
struct JpegState {
  jpeg_decompress_struct cinfo;
  JpegError err;
  std::vector<unsigned char> buf;
  int64_t h = 0, w = 0, c = 0;
  bool warned = false;
  bool too_large = false;  ///< more than kMaxPixels: h and w hold the header's size, no pixels
};

bool run_jpeg(JpegState* s, const std::string& bytes) {
  s->cinfo.err = jpeg_std_error(&s->err.mgr);
  s->err.mgr.error_exit = jpeg_fail;
  s->err.mgr.output_message = jpeg_quiet;  // warnings (corrupt data) are counted, not printed
  jpeg_create_decompress(&s->cinfo);
  if (setjmp(s->err.jump)) {
    jpeg_destroy_decompress(&s->cinfo);
    return false;
  }
  jpeg_mem_src(&s->cinfo, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  jpeg_read_header(&s->cinfo, TRUE);
  s->h = s->cinfo.image_height;
  s->w = s->cinfo.image_width;
  if (s->h * s->w > kMaxPixels) {
    s->too_large = true;
    jpeg_destroy_decompress(&s->cinfo);
    return true;
  }
  s->cinfo.out_color_space = s->cinfo.jpeg_color_space == JCS_GRAYSCALE ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_start_decompress(&s->cinfo);
  s->h = s->cinfo.output_height;
  s->w = s->cinfo.output_width;
  s->c = s->cinfo.output_components;
  s->buf.resize(static_cast<size_t>(s->h * s->w * s->c));
  while (s->cinfo.output_scanline < s->cinfo.output_height) {
    unsigned char* row =
        s->buf.data() + static_cast<size_t>(s->cinfo.output_scanline) * s->w * s->c;
    jpeg_read_scanlines(&s->cinfo, &row, 1);
  }
  s->warned = s->err.mgr.num_warnings > 0;
  jpeg_finish_decompress(&s->cinfo);
  jpeg_destroy_decompress(&s->cinfo);
  return true;
}

torch::Tensor decode_jpeg(const std::string& bytes, const fs::path& path, const std::string& what) {
  auto s = std::make_unique<JpegState>();
  if (!run_jpeg(s.get(), bytes)) {
    throw Error(describe(what, where(path) + " is not a readable JPEG (" + s->err.message + ")"));
  }
  if (s->too_large) check_pixels(s->w, s->h, path, what);
  if (s->warned) throw Error(describe(what, where(path) + " is a corrupt or truncated JPEG"));
  return to_chw(s->buf, s->h, s->w, s->c);
}

std::string shape_text(const torch::Tensor& t) {
  return std::to_string(t.size(0)) + "x" + std::to_string(t.size(1)) + "x" +
         std::to_string(t.size(2));
}

}  // namespace

torch::Tensor decode_image(const fs::path& path, const std::string& what) {
  const std::string bytes = io::read_file(path, what);
  if (bytes.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0) return decode_png(bytes, path, what);
  if (bytes.compare(0, 3, "\xFF\xD8\xFF") == 0) return decode_jpeg(bytes, path, what);
  throw Error(describe(what, where(path) + " is neither a PNG nor a JPEG file"));
}

Dataset read_image_folder(const fs::path& root, std::vector<std::string> class_names,
                          const std::string& what) {
  if (!fs::is_directory(root)) throw Error(describe(what, where(root) + " is not a folder"));
  std::vector<std::string> classes;
  for (const auto& e : fs::directory_iterator(root)) {
    const auto name = e.path().filename().string();
    if (name.empty() || name[0] == '.') continue;
    if (!e.is_directory()) {
      throw Error(describe(what, where(e.path()) + " is not a class folder (" + where(root) +
                                     " must hold one subfolder per class)"));
    }
    classes.push_back(name);
  }
  std::sort(classes.begin(), classes.end());
  if (classes.empty()) throw Error(describe(what, where(root) + " has no class subfolders"));
  if (class_names.empty()) {
    class_names = classes;
  } else if (class_names.size() != classes.size()) {
    throw Error(describe(what, where(root) + " has " + std::to_string(classes.size()) +
                                   " class folders but " + std::to_string(class_names.size()) +
                                   " class names were given"));
  }
  struct Entry {
    std::string file;
    int64_t label;
    fs::path path;
  };
  std::vector<Entry> entries;
  for (size_t k = 0; k < classes.size(); ++k) {
    for (const auto& e : fs::directory_iterator(root / classes[k])) {
      const auto name = e.path().filename().string();
      if (name.empty() || name[0] == '.') continue;
      if (!e.is_regular_file()) {
        throw Error(describe(what, where(e.path()) + " is not an image file"));
      }
      entries.push_back({name, static_cast<int64_t>(k), e.path()});
    }
  }
  if (entries.empty()) throw Error(describe(what, where(root) + " holds no images"));
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.file != b.file ? a.file < b.file : a.label < b.label;
  });
  const auto first = decode_image(entries[0].path, what);
  auto images = torch::empty(
      {static_cast<int64_t>(entries.size()), first.size(0), first.size(1), first.size(2)},
      torch::kUInt8);
  auto labels = torch::empty({static_cast<int64_t>(entries.size())}, torch::kInt64);
  for (size_t i = 0; i < entries.size(); ++i) {
    const auto img = i == 0 ? first : decode_image(entries[i].path, what);
    if (img.sizes() != first.sizes()) {
      throw Error(describe(what, where(entries[i].path) + " is " + shape_text(img) + " but " +
                                     where(entries[0].path) + " is " + shape_text(first) +
                                     " (all images need one channel count and size)"));
    }
    images[static_cast<int64_t>(i)].copy_(img);
    labels[static_cast<int64_t>(i)] = entries[i].label;
  }
  Dataset ds;
  ds.images = images.to(torch::kFloat).div_(255);
  ds.labels = labels;
  ds.class_names = std::move(class_names);
  ds.provenance = {{"image_folder", root.string()}, {"class_folders", classes}};
  return ds;
}

}  // namespace advkfp::data
