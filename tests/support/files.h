// Torch-free test helpers: temporary folders and whole-file reads and writes.
#pragma once

#include <filesystem>
#include <string>

namespace advkfp::test {

namespace fs = std::filesystem;

/// A fresh folder under the system temp dir, removed on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }
  fs::path operator/(const std::string& name) const { return path_ / name; }

 private:
  fs::path path_;
};

std::string read_text(const fs::path& path);
/// Writes `text`, creating parent folders.
void write_text(const fs::path& path, const std::string& text);
/// Number of entries in a folder (0 when missing).
size_t count_entries(const fs::path& dir);

}  // namespace advkfp::test
