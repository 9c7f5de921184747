// Test helpers for kfp-local.
#include "helpers.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <random>
#include <sstream>

#include "common/log.h"
#include "kfp_local/ir.h"
#include "kfp_local/process.h"

namespace advkfp::kfp_local::test {

TempDir::TempDir() {
  std::random_device rd;
  path_ = fs::temp_directory_path() /
          ("kfp-local-test-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
  fs::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

fs::path fixture(const std::string& name) { return fs::path(KFP_LOCAL_FIXTURES_DIR) / name; }

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_text(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

RunResult run_fixture(const std::string& name, const fs::path& root,
                      const std::vector<std::string>& parameters) {
  log::configure("kfp-local-test", log::Level::kWarn);
  const Pipeline pipeline = load_pipeline(fixture(name));
  RunOptions options;
  options.parameters = parameters;
  options.pipeline_root = root;
  options.bin_dir = KFP_LOCAL_FAKE_BIN_DIR;
  return run_pipeline(pipeline, options);
}

const TaskRecord& task(const RunResult& result, const std::string& path) {
  for (const auto& t : result.tasks) {
    if (t.path == path) return t;
  }
  FAIL("no task '" << path << "' in the run");
  throw std::logic_error("unreachable");
}

CliResult run_cli(const std::vector<std::string>& args) {
  TempDir tmp;
  const fs::path output = tmp / "output.txt";
  const ExitStatus status = run_process(KFP_LOCAL_EXE, args, {}, output);
  CliResult r;
  r.exit_code = status.signal ? 128 + status.signal : status.exit_code;
  r.output = read_text(output);
  return r;
}

}  // namespace advkfp::kfp_local::test
