// Strict checks of generated KFP documents against the project's own schema
// (src/proto/pipeline_spec.proto) plus the cross-references protobuf cannot express.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace advkfp::kfp {

/// Problems of a compiled pipeline (IR as JSON), empty when it is valid: unknown or misspelt fields
/// (strict protojson parse, lowerCamelCase names only), schemaVersion other than 2.1.0, a pipeline
/// name the KFP backend rejects, and dangling references: componentRef, executorLabel,
/// dependentTasks, producer tasks and output keys, component inputs, placeholders in executor
/// args, and the parameters named in trigger conditions.
std::vector<std::string> check_pipeline_ir(const nlohmann::json& ir);

/// Problems of a v1 component YAML document (as JSON): unknown fields, unknown types, and args
/// whose placeholders name no declared input/output of the right kind.
std::vector<std::string> check_component_v1(const nlohmann::json& component);

}  // namespace advkfp::kfp
