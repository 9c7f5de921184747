// Shared pieces of the end-to-end tests: binary paths and checks on spawned runs.
#pragma once

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "support/helpers.h"
#include "support/process.h"

namespace advkfp::test {

inline const std::vector<std::string>& all_binaries() {
  static const std::vector<std::string> kAll = {
      ADVKFP_PREPARE_DATA_EXE, ADVKFP_TRAIN_EXE,          ADVKFP_EVALUATE_EXE,
      ADVKFP_FGSM_ATTACK_EXE,  ADVKFP_DETECT_DEGRADATION_EXE, ADVKFP_PGD_TRAIN_EXE,
      ADVKFP_REPORT_EXE,       ADVKFP_IMPORT_MODEL_EXE};
  return kAll;
}

/// Lines of stderr that are error lines ("<tool>: error: ...").
inline std::vector<std::string> error_lines(const std::string& err) {
  std::vector<std::string> out;
  std::istringstream in(err);
  for (std::string line; std::getline(in, line);) {
    if (line.find(": error: ") != std::string::npos) out.push_back(line);
  }
  return out;
}

/// A successful run of `exe` with `args` plus --log-every 0 and, unless `args` name them,
/// --threads `threads`; the run's stderr is shown when it fails.
inline ProcessResult run_ok(const std::string& exe, std::vector<std::string> args,
                            const std::string& threads = "1") {
  for (const char* a : {"--log-every", "0"}) args.push_back(a);
  if (std::find(args.begin(), args.end(), "--threads") == args.end()) {
    args.insert(args.end(), {"--threads", threads});
  }
  auto r = run_process(exe, args);
  INFO(exe << " stderr:\n" << r.err);
  REQUIRE(r.exit_code == 0);
  return r;
}

/// A failed run: the given exit code and exactly one error line containing `needle`.
inline void require_failure(const ProcessResult& r, int code, const std::string& needle) {
  INFO("stderr: " << r.err);
  CHECK(r.exit_code == code);
  const auto lines = error_lines(r.err);
  REQUIRE(lines.size() == 1);
  CHECK_THAT(lines[0], Catch::Contains(needle));
}

}  // namespace advkfp::test
