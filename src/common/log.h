// Logging to stderr with the tool name as prefix; stdout stays clean for --help and specs.
#pragma once

#include <chrono>
#include <cstdint>
#include <sstream>
#include <string>

namespace advkfp::log {

enum class Level { kError = 0, kWarn = 1, kInfo = 2, kDebug = 3 };

/// Sets the prefix printed before every line (the tool name) and the most verbose level shown.
void configure(std::string tool, Level level);
Level level();
void write(Level level, const std::string& message);

template <class... Args>
std::string cat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}

template <class... Args>
void info(const Args&... args) {
  if (level() >= Level::kInfo) write(Level::kInfo, cat(args...));
}
template <class... Args>
void debug(const Args&... args) {
  if (level() >= Level::kDebug) write(Level::kDebug, cat(args...));
}
template <class... Args>
void warn(const Args&... args) {
  if (level() >= Level::kWarn) write(Level::kWarn, cat(args...));
}
template <class... Args>
void error(const Args&... args) {
  write(Level::kError, cat(args...));
}

/// Rate-limited progress lines for long loops: "<label> 1200/60000 (2%) 2650 img/s, ETA 22s".
/// Prints at most one line every `every` steps (and at the end); silent when `every` is 0 or the
/// level is below info. At debug level (--verbose) the last step also logs the minor page faults
/// the process took in the second half of the loop (the first half is its warm-up: the heap grows
/// to the working set and settles), i.e. in the loop's steady state:
/// "<label>: steady state: F minor page faults in S steps (f per step)".
class Progress {
 public:
  Progress(std::string label, int64_t total_steps, int64_t items_per_step, int64_t every);
  /// Call after each step; `extra` is appended to the line (e.g. the running loss).
  void step(const std::string& extra = {});
  double elapsed_seconds() const;

 private:
  std::string label_;
  int64_t total_, items_per_step_, every_, done_ = 0;
  std::chrono::steady_clock::time_point start_;
  int64_t faults_after_first_ = -1;
};

/// Minor page faults of this process so far (getrusage).
int64_t minor_page_faults();

}  // namespace advkfp::log
