// Test helpers for kfp-local.
#include "helpers.h"

#include <catch2/catch.hpp>

#include "common/log.h"
#include "kfp_local/ir.h"
#include "kfp_local/process.h"

namespace advkfp::kfp_local::test {

fs::path fixture(const std::string& name) { return fs::path(KFP_LOCAL_FIXTURES_DIR) / name; }

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
