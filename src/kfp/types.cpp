// KFP type mappings.
#include "kfp/types.h"

#include <map>

#include "common/error.h"

namespace advkfp::kfp {
namespace {
const std::map<std::string, std::string>& artifact_titles() {
  static const std::map<std::string, std::string> kTitles = {
      {"Artifact", "system.Artifact"},
      {"Dataset", "system.Dataset"},
      {"Model", "system.Model"},
      {"Metrics", "system.Metrics"},
      {"ClassificationMetrics", "system.ClassificationMetrics"},
      {"HTML", "system.HTML"},
      {"Markdown", "system.Markdown"}};
  return kTitles;
}
const std::map<std::string, std::string>& parameter_types() {
  static const std::map<std::string, std::string> kTypes = {
      {"Float", "NUMBER_DOUBLE"}, {"Integer", "NUMBER_INTEGER"}, {"String", "STRING"},
      {"Boolean", "BOOLEAN"},     {"JsonArray", "LIST"},         {"JsonObject", "STRUCT"}};
  return kTypes;
}
}  // namespace

bool is_artifact_type(const std::string& type) { return artifact_titles().count(type) > 0; }

std::string schema_title(const std::string& type) {
  const auto it = artifact_titles().find(type);
  if (it == artifact_titles().end()) throw Error("kfp: '" + type + "' is not an artifact type");
  return it->second;
}

std::string parameter_type(const std::string& type) {
  const auto it = parameter_types().find(type);
  if (it == parameter_types().end()) throw Error("kfp: '" + type + "' is not a parameter type");
  return it->second;
}

}  // namespace advkfp::kfp
