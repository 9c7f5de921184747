#include "fuzz.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <system_error>

namespace advkfp::fuzz {
namespace fs = std::filesystem;

namespace {
constexpr const char* kSeparator = "\n@@\n";

struct WorkDir {
  fs::path path;
  WorkDir() {
    const char* tmp = std::getenv("TMPDIR");
    std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/advkfp-fuzz-XXXXXX";
    if (!::mkdtemp(templ.data())) std::abort();
    path = templ;
  }
  ~WorkDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};
}  // namespace

const fs::path& work_dir() {
  static const WorkDir dir;
  return dir.path;
}

fs::path write_file(const std::string& name, const std::string& bytes) {
  const fs::path p = work_dir() / name;
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) std::abort();  // the harness's own failure, not a finding in the product
  return p;
}

std::vector<std::string> split(const std::string& input, size_t max) {
  std::vector<std::string> parts;
  size_t at = 0;
  const std::string sep = kSeparator;
  while (parts.size() + 1 < max) {
    const size_t next = input.find(sep, at);
    if (next == std::string::npos) break;
    parts.push_back(input.substr(at, next - at));
    at = next + sep.size();
  }
  parts.push_back(input.substr(at));
  return parts;
}

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? kSeparator : "") + parts[i];
  return out;
}

}  // namespace advkfp::fuzz
