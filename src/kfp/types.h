// KFP type names and how they map onto the IR (artifact schema titles, parameter types).
#pragma once

#include <string>

namespace advkfp::kfp {

/// True for the v1 artifact types (Dataset, Model, Metrics, ClassificationMetrics, HTML, Markdown,
/// Artifact); false for parameter types (String, Integer, Float, Boolean, JsonObject, JsonArray).
bool is_artifact_type(const std::string& type);

/// "Dataset" -> "system.Dataset". Throws advkfp::Error for a parameter or unknown type.
std::string schema_title(const std::string& type);

/// "Float" -> "NUMBER_DOUBLE", "Integer" -> "NUMBER_INTEGER", "String" -> "STRING",
/// "Boolean" -> "BOOLEAN", "JsonArray" -> "LIST", "JsonObject" -> "STRUCT".
std::string parameter_type(const std::string& type);

inline constexpr const char* kSchemaVersion = "0.0.1";

}  // namespace advkfp::kfp
