// Strict checks of generated KFP documents against the project's own schema
// (src/proto/pipeline_spec.proto); for a v1 component, also the placeholders protobuf cannot check.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace advkfp::kfp {

/// Schema problems of a compiled pipeline (IR as JSON), empty when it is valid: unknown or misspelt
/// fields (strict protojson parse, lowerCamelCase names only), schemaVersion other than 2.1.0 and a
/// pipeline name the KFP backend rejects. References between its parts (componentRef,
/// executorLabel, tasks, outputs, placeholders, conditions) are checked by kfp-local's loader,
/// kfp_local::parse_pipeline(), the project's one reference checker.
std::vector<std::string> check_pipeline_ir(const nlohmann::json& ir);

/// Problems of a v1 component YAML document (as JSON): unknown fields, unknown types, and args
/// whose placeholders name no declared input/output of the right kind.
std::vector<std::string> check_component_v1(const nlohmann::json& component);

}  // namespace advkfp::kfp
