// Small string helpers shared by the parsers.
#pragma once

#include <string>
#include <type_traits>
#include <vector>

namespace advkfp {

/// `text` without leading and trailing ASCII whitespace (Go's strings.TrimSpace, which is how the
/// KFP launcher trims parameter files).
inline std::string trim_space(const std::string& text) {
  const char* kSpace = " \t\n\v\f\r";
  const auto begin = text.find_first_not_of(kSpace);
  if (begin == std::string::npos) return {};
  return text.substr(begin, text.find_last_not_of(kSpace) - begin + 1);
}

/// `text` split at every comma ("a,,b" gives "a", "", "b"; "" gives one empty string).
inline std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> out(1);
  for (char c : text) {
    if (c == ',') {
      out.emplace_back();
    } else {
      out.back() += c;
    }
  }
  return out;
}

/// Items joined with commas ("a,b,c"); numbers through std::to_string.
template <typename T>
std::string join_commas(const std::vector<T>& items) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ',';
    if constexpr (std::is_convertible_v<T, std::string>) {
      out += item;
    } else {
      out += std::to_string(item);
    }
  }
  return out;
}

}  // namespace advkfp
