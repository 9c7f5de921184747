// YAML documents (component YAMLs, compiled pipelines) into JSON: kfp::parse_yaml_documents
// (yaml-cpp underneath), then the strict schema checks run on each document:
// kfp::check_component_v1 and kfp::check_pipeline_ir (protobuf's JSON parser underneath).
#include "fuzz.h"
#include "kfp/ir_schema.h"
#include "kfp/yaml_read.h"

using namespace advkfp;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::expect_clean_refusal([&] {
    for (const auto& doc : kfp::parse_yaml_documents(fuzz::text(data, size), "component.yaml")) {
      fuzz::expect_clean_refusal([&] { kfp::check_component_v1(doc); });
      fuzz::expect_clean_refusal([&] { kfp::check_pipeline_ir(doc); });
    }
  });
  return 0;
}
