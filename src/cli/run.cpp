// Non-template parts of the CLI edge: version, common flags, error printing, exit-code mapping.
#include "cli/run.h"

#include <sched.h>
#include <unistd.h>

#include <chrono>
#include <thread>
#include <torch/torch.h>

#include "common/version.h"
#include "kfp/images.h"

namespace advkfp::cli {
namespace fs = std::filesystem;

std::string flag_name(const std::string& name) {
  std::string out = name;
  for (auto& c : out) {
    if (c == '_') c = '-';
  }
  return out;
}

Check in_range(double lo, double hi, bool lo_open, bool hi_open) {
  return [=](double v) -> std::optional<std::string> {
    const bool ok = (lo_open ? v > lo : v >= lo) && (hi_open ? v < hi : v <= hi);
    if (ok) return std::nullopt;
    std::ostringstream os;
    os << v << " is outside " << (lo_open ? '(' : '[') << lo << ", " << hi << (hi_open ? ')' : ']');
    return os.str();
  };
}

Check at_least(double lo) {
  return [=](double v) -> std::optional<std::string> {
    if (v >= lo) return std::nullopt;
    std::ostringstream os;
    os << v << " must be >= " << lo;
    return os.str();
  };
}

std::string version_line(const std::string& tool) {
  return tool + " (advkfp) " + kVersion;
}

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

void print_error(const std::string& tool, const std::string& message) {
  const auto nl = message.find('\n');
  std::cerr << tool << ": error: " << message.substr(0, nl) << std::endl;
}

int guarded(const std::string& tool, const std::function<void()>& body) {
  const auto start = std::chrono::steady_clock::now();
  const int rc = guarded_quiet(tool, body);
  if (rc == kExitOk) {
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    log::info("done in ", secs, " s");
  }
  return rc;
}

int guarded_quiet(const std::string& tool, const std::function<void()>& body) {
  try {
    body();
  } catch (const UsageError& e) {
    print_error(tool, e.what());
    return kExitUsage;
  } catch (const c10::Error& e) {
    print_error(tool, e.what_without_backtrace());
    return kExitFailure;
  } catch (const std::bad_alloc&) {
    print_error(tool, "out of memory");
    return kExitFailure;
  } catch (const std::exception& e) {
    print_error(tool, e.what());
    return kExitFailure;
  }
  return kExitOk;
}

bool wants_component_spec(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--print-component-spec") return true;
  }
  return false;
}

int print_component_spec(const std::string& tool, int argc, char** argv,
                         const std::function<kfp::ComponentSpec(const std::string&)>& make) {
  CLI::App app{"Print the KFP component YAML of " + tool, tool};
  std::string image, images_config;
  app.add_flag("--print-component-spec", "Print the component YAML and exit.");
  app.add_option("--image", image, "Image reference to write into the spec.");
  app.add_option("--images-config", images_config,
                 "containers/images.conf to take the image reference from.");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);
    print_error(tool, std::string(e.what()) + " (with --print-component-spec)");
    return kExitUsage;
  }
  return guarded_quiet(tool, [&] {
    if (image.empty() && images_config.empty()) {
      throw UsageError("--print-component-spec needs --image or --images-config");
    }
    if (image.empty()) image = kfp::load_image_config(images_config).image_for(tool);
    std::cout << kfp::to_v1_yaml(make(image));
  });
}

}  // namespace advkfp::cli
