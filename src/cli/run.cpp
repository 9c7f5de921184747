// Non-template, LibTorch-side parts of the tools' CLI: common flags, writable outputs, and the
// exit-code mapping with LibTorch's errors as one line (the rest is in cli/edge.cpp).
#include "cli/run.h"

#include <malloc.h>
#include <sched.h>
#include <unistd.h>

#include <chrono>
#include <limits>
#include <thread>
#include <torch/torch.h>

#include "model/signature.h"

namespace advkfp::cli {
namespace fs = std::filesystem;

namespace {
int64_t available_cores() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return CPU_COUNT(&set);
  return std::max(1u, std::thread::hardware_concurrency());
}
}  // namespace

void configure_allocator() {
#if defined(__GLIBC__)
  // LibTorch's CPU allocator is plain posix_memalign/free: every tensor of every batch comes from
  // malloc and goes back to it. With glibc's defaults the steady state then depends on luck:
  // blocks above M_MMAP_THRESHOLD (128 KiB at start, raised dynamically as large blocks are freed)
  // are mmap'd and munmap'd on every use, and a free top of the heap above M_TRIM_THRESHOLD is
  // returned with sbrk; either way the next batch faults the same pages in again (measured: ~176
  // minor faults per image and ~37% of CPU time in the kernel's fault path in the slow mode, none
  // per batch in the fast one, and which mode a run lands in varies between runs). A batch's
  // tensors have the same sizes every time, so keeping freed memory in the heap makes the steady
  // state fault-free by construction:
  // - M_MMAP_MAX 0: no block is ever served by mmap, so none is ever unmapped (a large block is a
  //   heap block like any other, reused by the next batch). This also pins the mmap threshold.
  // - M_TRIM_THRESHOLD at its maximum: the heap is never shrunk; the process keeps its peak, which
  //   is what it needs again at the next batch (every tool is one job; a long-lived server gets
  //   the same behaviour: its resident size is its peak working set).
  // - M_TOP_PAD 64 MiB: the heap grows in steps of at least 64 MiB, few brk calls during warm-up.
  // - M_ARENA_MAX 1: OpenMP worker threads that allocate would otherwise each get an arena of
  //   their own (mmap'd 64 MiB heaps, trimmed on their own rules); LibTorch allocates outputs on
  //   the calling thread, so one arena costs no contention worth measuring and keeps one policy.
  // mallopt() overrides MALLOC_*_ environment variables read at start-up, so the behaviour does
  // not depend on the environment; under another allocator (jemalloc preloaded) these calls only
  // reach glibc's unused malloc and change nothing.
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, std::numeric_limits<int>::max());
  mallopt(M_TOP_PAD, 64 << 20);
  mallopt(M_ARENA_MAX, 1);
#endif
}

int64_t apply_common(const std::string& tool, const CommonOptions& common) {
  log::configure(tool, common.verbose ? log::Level::kDebug : log::Level::kInfo);
  const int64_t threads = common.threads > 0 ? common.threads : available_cores();
  // Debian's LibTorch may default to one thread; OpenBLAS (OpenMP build) follows this too.
  torch::set_num_threads(static_cast<int>(threads));
  torch::manual_seed(static_cast<uint64_t>(common.seed));
  if (!common.trusted_key.empty()) model::set_trusted_key(common.trusted_key);
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
