// Non-template, LibTorch-side parts of the tools' CLI: common flags, writable outputs, and the
// exit-code mapping with LibTorch's errors as one line (the rest is in cli/edge.cpp).
#include "cli/run.h"

#include <sched.h>
#include <unistd.h>

#include <chrono>
#include <thread>
#include <torch/torch.h>

namespace advkfp::cli {
namespace fs = std::filesystem;

namespace {
int64_t available_cores() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return CPU_COUNT(&set);
  return std::max(1u, std::thread::hardware_concurrency());
}
}  // namespace

int64_t apply_common(const std::string& tool, const CommonOptions& common) {
  log::configure(tool, common.verbose ? log::Level::kDebug : log::Level::kInfo);
  const int64_t threads = common.threads > 0 ? common.threads : available_cores();
  // Debian's LibTorch may default to one thread; OpenBLAS (OpenMP build) follows this too.
  torch::set_num_threads(static_cast<int>(threads));
  torch::manual_seed(static_cast<uint64_t>(common.seed));
  return threads;
}

void check_writable(const fs::path& path, const std::string& what) {
  const fs::path parent = path.has_parent_path() ? path.parent_path() : fs::path(".");
  std::error_code ec;
  fs::create_directories(parent, ec);
  if (ec) {
    throw Error(describe(what, "cannot create folder '" + parent.string() + "': " + ec.message()));
  }
  if (::access(parent.c_str(), W_OK) != 0) {
    throw Error(describe(what, "cannot write into '" + parent.string() + "': " +
                                   std::strerror(errno)));
  }
}

int guarded(const std::string& tool, const std::function<void()>& body) {
  const auto start = std::chrono::steady_clock::now();
  const int rc = guarded_quiet(tool, [&] {
    try {
      body();
    } catch (const c10::Error& e) {
      throw Error(e.what_without_backtrace());  // one line, not LibTorch's backtrace
    }
  });
  if (rc == kExitOk) {
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    log::info("done in ", secs, " s");
  }
  return rc;
}

}  // namespace advkfp::cli
