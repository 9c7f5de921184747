// containers/images.conf: the one place that says which image each component runs in.
#pragma once

#include <filesystem>
#include <map>
#include <string>

namespace advkfp::kfp {

/// Parsed images.conf:
///   registry = localhost/advkfp
///   tag = 0.1.0
///   digest.<component> = sha256:...   (optional, written after a push)
struct ImageConfig {
  std::string registry;
  std::string tag;
  std::map<std::string, std::string> digests;

  /// "<registry>/<component>@<digest>" when a digest is recorded, else "<registry>/<component>:<tag>".
  std::string image_for(const std::string& component) const;
};

/// Reads and validates the file. Throws advkfp::Error naming the file and line on bad syntax,
/// unknown keys, or a missing registry/tag.
ImageConfig load_image_config(const std::filesystem::path& path);

}  // namespace advkfp::kfp
