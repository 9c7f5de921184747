// Logging sink: one line per call, prefixed with the tool name, written to stderr.
#include "common/log.h"

#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <iomanip>
#include <mutex>

namespace advkfp::log {
namespace {
std::string g_tool = "advkfp";
Level g_level = Level::kInfo;
std::mutex g_mutex;

const char* level_name(Level level) {
  switch (level) {
    case Level::kError: return "error";
    case Level::kWarn: return "warning";
    case Level::kInfo: return "info";
    case Level::kDebug: return "debug";
  }
  return "";
}
}  // namespace

void configure(std::string tool, Level level) {
  g_tool = std::move(tool);
  g_level = level;
}

Level level() { return g_level; }

void write(Level level, const std::string& message) {
  std::lock_guard<std::mutex> lock(g_mutex);
  std::fprintf(stderr, "%s: %s: %s\n", g_tool.c_str(), level_name(level), message.c_str());
  std::fflush(stderr);
}

Progress::Progress(std::string label, int64_t total_steps, int64_t items_per_step, int64_t every)
    : label_(std::move(label)),
      total_(total_steps),
      items_per_step_(items_per_step),
      every_(every),
      start_(std::chrono::steady_clock::now()) {}

double Progress::elapsed_seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

int64_t minor_page_faults() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<int64_t>(usage.ru_minflt);
}

void Progress::step(const std::string& extra) {
  ++done_;
  if (level() >= Level::kDebug) {
    // The first half of the loop is its warm-up (the heap grows to the working set and settles).
    const int64_t warm_up = std::max<int64_t>(1, total_ / 2);
    if (done_ == warm_up) faults_after_first_ = minor_page_faults();
    if (done_ == total_ && total_ > warm_up && faults_after_first_ >= 0) {
      const int64_t faults = minor_page_faults() - faults_after_first_;
      const int64_t steps = total_ - warm_up;
      std::ostringstream os;
      os << label_ << ": steady state: " << faults << " minor page faults in " << steps
         << " steps (" << std::fixed << std::setprecision(2)
         << static_cast<double>(faults) / static_cast<double>(steps) << " per step)";
      write(Level::kDebug, os.str());
    }
  }
  if (every_ <= 0 || level() < Level::kInfo || (done_ % every_ != 0 && done_ != total_)) return;
  const double secs = elapsed_seconds();
  const double rate = secs > 0 ? static_cast<double>(done_ * items_per_step_) / secs : 0.0;
  const double eta = done_ > 0 ? secs * static_cast<double>(total_ - done_) / done_ : 0.0;
  std::ostringstream os;
  os << label_ << ' ' << done_ << '/' << total_ << " (" << (100 * done_ / std::max<int64_t>(total_, 1))
     << "%) " << std::fixed << std::setprecision(0) << rate << " img/s, ETA " << eta << 's';
  if (!extra.empty()) os << ", " << extra;
  write(Level::kInfo, os.str());
}

}  // namespace advkfp::log
