// Compiled pipelines (PipelineSpec IR, YAML or JSON) as kfp-local reads them:
// kfp_local::parse_pipeline (YAML, the IR's structure and references, every placeholder and
// trigger condition), then, for an IR it accepted, the backend checks kfp-local runs next
// (kfp_local::backend_problems, documented never to throw on a valid IR).
#include "fuzz.h"
#include "kfp/backends.h"
#include "kfp_local/ir.h"

using namespace advkfp;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text = fuzz::text(data, size);
  bool valid = false;
  fuzz::expect_clean_refusal([&] {
    kfp_local::parse_pipeline(text, "pipeline.yaml");
    valid = true;
  });
  if (valid) {
    const auto path = fuzz::write_file("pipeline.yaml", text);
    kfp_local::backend_problems(path, kfp::backend_profile("all"));
  }
  return 0;
}
