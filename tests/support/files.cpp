// Torch-free test helpers.
#include "support/files.h"

#include <unistd.h>

#include <fstream>
#include <random>
#include <sstream>

namespace advkfp::test {

TempDir::TempDir() {
  std::random_device rd;
  std::ostringstream name;
  name << "advkfp-test-" << ::getpid() << '-' << std::hex << rd() << rd();
  path_ = fs::temp_directory_path() / name.str();
  fs::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_text(const fs::path& path, const std::string& text) {
  if (path.has_parent_path()) fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

size_t count_entries(const fs::path& dir) {
  if (!fs::is_directory(dir)) return 0;
  return static_cast<size_t>(std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

}  // namespace advkfp::test
