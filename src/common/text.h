// Small string helpers shared by the parsers.
#pragma once

#include <string>

namespace advkfp {

/// `text` without leading and trailing ASCII whitespace (Go's strings.TrimSpace, which is how the
/// KFP launcher trims parameter files).
inline std::string trim_space(const std::string& text) {
  const char* kSpace = " \t\n\v\f\r";
  const auto begin = text.find_first_not_of(kSpace);
  if (begin == std::string::npos) return {};
  return text.substr(begin, text.find_last_not_of(kSpace) - begin + 1);
}

}  // namespace advkfp
