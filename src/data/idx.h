// IDX files (the MNIST family's format): reading, gzip or raw, and lossless writing.
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <string>

namespace advkfp::data {

/// IDX element types this project reads and writes.
enum class IdxType : uint8_t { kUint8 = 0x08, kFloat32 = 0x0D };

/// Reads an image file: IDX type uint8 (scaled by 1/255) or float32 (kept as stored, which must be
/// finite and in [0,1]), 3 dimensions [N,H,W] or 4 dimensions [N,C,H,W]. Gzip-compressed files are
/// detected by content. Returns a contiguous float32 tensor [N,C,H,W] (C=1 for 3-D files).
/// Throws advkfp::Error naming `what` for a missing, truncated or oversized file, a wrong magic
/// number, unsupported type, bad dimensions, or out-of-range values.
torch::Tensor read_idx_images(const std::filesystem::path& path, const std::string& what);

/// Reads a label file: IDX uint8, 1 dimension [N]. Returns int64 [N].
torch::Tensor read_idx_labels(const std::filesystem::path& path, const std::string& what);

/// Writes images [N,C,H,W] float32 in [0,1]. kUint8 stores round(x*255) (lossless only for images
/// that came from uint8), kFloat32 stores the exact floats. C=1 is written as a 3-D file so other
/// MNIST readers accept it. `gzip` compresses with zlib. Not atomic: callers write into a temporary
/// artifact folder.
void write_idx_images(const std::filesystem::path& path, const torch::Tensor& images, IdxType type,
                      bool gzip);

/// Writes labels [N] (any integer dtype, values 0..255) as IDX uint8.
void write_idx_labels(const std::filesystem::path& path, const torch::Tensor& labels, bool gzip);

}  // namespace advkfp::data
