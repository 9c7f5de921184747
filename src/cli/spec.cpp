// Non-template parts of cli::Spec: flag names (torch-free).
#include "cli/spec.h"

namespace advkfp::cli {

std::string flag_name(const std::string& name) {
  std::string out = name;
  for (auto& c : out) {
    if (c == '_') c = '-';
  }
  return out;
}

}  // namespace advkfp::cli
