// Exception types of the core library: src/ throws, only the CLI edge maps them to exit codes.
#pragma once

#include <stdexcept>
#include <string>

namespace advkfp {

/// A runtime failure: unreadable or corrupt input, failed write, numerical problem. Exit code 1.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A problem with how the tool was called (an out-of-range parameter, conflicting flags). Exit code 2.
class UsageError : public Error {
 public:
  using Error::Error;
};

/// Builds the "<what>: <problem>" message every error uses, e.g. "dataset: '/x' is not a directory".
inline std::string describe(const std::string& what, const std::string& problem) {
  return what + ": " + problem;
}

}  // namespace advkfp
