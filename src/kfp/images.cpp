// images.conf parser.
#include "kfp/images.h"

#include <sstream>

#include "common/error.h"
#include "common/text.h"
#include "io/files.h"

namespace advkfp::kfp {
std::string ImageConfig::image_for(const std::string& component) const {
  const auto it = digests.find(component);
  if (it != digests.end()) return registry + "/" + component + "@" + it->second;
  return registry + "/" + component + ":" + tag;
}

ImageConfig load_image_config(const std::filesystem::path& path) {
  const std::string what = "images_config";
  std::istringstream in(io::read_file(path, what));
  ImageConfig cfg;
  int line_no = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    const auto hash = line.find('#');
    if (hash != std::string::npos) line = line.substr(0, hash);
    line = trim_space(line);
    if (line.empty()) continue;
    const auto eq = line.find('=');
    const std::string where = path.string() + ":" + std::to_string(line_no);
    if (eq == std::string::npos) throw Error(describe(what, where + ": expected key = value"));
    const std::string key = trim_space(line.substr(0, eq));
    const std::string value = trim_space(line.substr(eq + 1));
    if (value.empty()) throw Error(describe(what, where + ": empty value for '" + key + "'"));
    if (key == "registry") {
      cfg.registry = value;
    } else if (key == "tag") {
      cfg.tag = value;
    } else if (key.rfind("digest.", 0) == 0 && key.size() > 7) {
      if (value.rfind("sha256:", 0) != 0) {
        throw Error(describe(what, where + ": digests look like sha256:<hex>"));
      }
      cfg.digests[key.substr(7)] = value;
    } else {
      throw Error(describe(what, where + ": unknown key '" + key + "'"));
    }
  }
  if (cfg.registry.empty() || cfg.tag.empty()) {
    throw Error(describe(what, path.string() + " must set registry and tag"));
  }
  return cfg;
}

}  // namespace advkfp::kfp
