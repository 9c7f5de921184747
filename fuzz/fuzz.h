// What every fuzz target shares: temporary files for the readers that take a path, splitting one
// input into several files, and the rule that decides what counts as a finding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "common/error.h"

namespace advkfp::fuzz {

/// A folder private to this process, under $TMPDIR (removed at normal exit).
const std::filesystem::path& work_dir();

/// Writes `bytes` to work_dir()/name, replacing what was there, and returns the path.
std::filesystem::path write_file(const std::string& name, const std::string& bytes);

/// The fuzz input as a string.
inline std::string text(const uint8_t* data, size_t size) {
  return std::string(reinterpret_cast<const char*>(data), size);
}

/// Splits `input` at each line "@@" ("\n@@\n") into at most `max` parts (the last part keeps any
/// further separators): one input, several files.
std::vector<std::string> split(const std::string& input, size_t max);
/// The inverse of split(), for writing seeds.
std::string join(const std::vector<std::string>& parts);

/// Runs one parse. advkfp::Error (and UsageError) is how a parser refuses bad input, with a line
/// naming the input; any other exception escapes and libFuzzer reports it as a crash ("deadly
/// signal" after std::terminate), like a sanitizer report, a hang or running out of memory.
template <class F>
void expect_clean_refusal(F&& parse) {
  try {
    parse();
  } catch (const advkfp::Error&) {
  }
}

}  // namespace advkfp::fuzz
