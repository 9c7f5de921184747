// NumPy arrays: .npy files and .npz archives (zip files of .npy members, stored or deflated), as
// numpy.save, numpy.savez and numpy.savez_compressed write them.
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace advkfp::data {

/// One array as stored: numpy's dtype descriptor (e.g. "|u1", "<f4"), shape and C-order bytes.
struct NpyArray {
  std::string dtype;
  std::vector<int64_t> shape;
  std::string bytes;
  int64_t count() const;
};

/// Parses the bytes of a .npy file (format versions 1 to 3, C order, little-endian or
/// byte-sized dtypes). Throws advkfp::Error naming `what`.
NpyArray parse_npy(const std::string& bytes, const std::string& what);
NpyArray read_npy(const std::filesystem::path& path, const std::string& what);

/// Every member of an .npz archive, by name without ".npy". Members may be stored or deflated
/// (numpy.savez / savez_compressed, both zip64-marked by numpy); CRCs are checked.
std::map<std::string, NpyArray> read_npz(const std::filesystem::path& path,
                                         const std::string& what);

/// Images as float32 [N,C,H,W] in [0,1] from uint8 (scaled by 1/255) or float32 (must be finite
/// and in [0,1]) arrays of shape [N,H,W], [N,H,W,C] or [N,C,H,W] (C in 1..4; a 4-D shape that
/// reads both ways is refused). `from_uint8` tells which dtype it was. Throws advkfp::Error.
torch::Tensor npy_images(const NpyArray& a, const std::string& what, bool& from_uint8);

/// Labels as int64 [N] from any integer array of shape [N] with values >= 0.
torch::Tensor npy_labels(const NpyArray& a, const std::string& what);

}  // namespace advkfp::data
