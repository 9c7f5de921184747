// Reading YAML documents (compiled pipelines, component YAMLs) into JSON values.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace advkfp::kfp {

/// Parses YAML text into JSON. Plain scalars become booleans (true/false), null (null, ~, empty),
/// integers or doubles when they read as such, strings otherwise; quoted scalars stay strings.
/// Every document of a multi-document stream is returned, in order. Throws advkfp::Error naming
/// `what` and the line on a syntax error.
std::vector<nlohmann::json> parse_yaml_documents(const std::string& text, const std::string& what);

/// The first document of a YAML file. Throws advkfp::Error naming `what`.
nlohmann::json load_yaml(const std::filesystem::path& path, const std::string& what);

}  // namespace advkfp::kfp
