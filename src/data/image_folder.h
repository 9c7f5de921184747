// Image-folder trees: <root>/<class>/<image>.png|.jpg, one subfolder per class, decoded with
// libpng and libjpeg (-turbo).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "data/dataset.h"

namespace advkfp::data {

/// Decodes one PNG or JPEG file (told apart by content) to uint8 [C,H,W], C = 1 (grey) or 3
/// (colour); an alpha channel is composited onto black. Throws advkfp::Error "<what>: '<path>':
/// <reason>".
torch::Tensor decode_image(const std::filesystem::path& path, const std::string& what);

/// Reads every image under `root`: each subfolder is a class, labelled by its position among the
/// subfolder names in sorted order (as torchvision's ImageFolder does). Images are ordered by file
/// name across all classes (ties by class), so numbered files keep their original order. All
/// images must share one size and channel count. `class_names` empty: the subfolder names;
/// otherwise one name per subfolder, in that order. Hidden files (".*") are skipped; any other
/// file must be a PNG or JPEG. Throws advkfp::Error naming `what`.
Dataset read_image_folder(const std::filesystem::path& root, std::vector<std::string> class_names,
                          const std::string& what);

}  // namespace advkfp::data
