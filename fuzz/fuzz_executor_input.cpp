// The ExecutorInput JSON a KFP launcher passes every component (--executor-input): what
// cli::run does with it before and after the tool runs: cli::parse_executor_input,
// cli::input_artifact_path for optional inputs, and cli::write_executor_output. File names in
// outputs.* ("outputFile") are pointed into the fuzzer's folder first, so that a run writes and
// reads only there; everything else is as given.
#include <functional>

#include "cli/component.h"
#include "fuzz.h"

using namespace advkfp;
using nlohmann::json;

namespace {

// Every string value of an "outputFile" key below `j`, pointed at a file of the work folder that
// holds "1" (a valid Boolean, Integer, Float and String output parameter).
void confine(json& j) {
  if (!j.is_object() && !j.is_array()) return;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (j.is_object() && it.key() == "outputFile" && it->is_string()) {
      const std::string name = "out-" + std::to_string(std::hash<std::string>()(it->get<std::string>()));
      *it = fuzz::write_file(name, "1").string();
    } else {
      confine(*it);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::expect_clean_refusal([&] {
    json j = cli::parse_executor_input(fuzz::text(data, size));
    for (const char* name : {"model", "calibration_in", "reference", "a"}) {
      cli::input_artifact_path(j, name);
    }
    confine(j["outputs"]);
    // The outputs of a tool like detect-degradation: parameters and artifacts with metadata.
    cli::publish_metadata("report", {{"degraded", true}});
    const std::vector<cli::OutputDecl> outputs = {
        {"degraded", true, cli::types::kBoolean},
        {"steps", true, cli::types::kInteger},
        {"eps", true, cli::types::kFloat},
        {"verdict", true, cli::types::kString},
        {"report", false, cli::types::kMetrics},
        {"model", false, cli::types::kModel}};
    cli::write_executor_output(j, outputs);
  });
  cli::clear_published_metadata();
  return 0;
}
