// Strict parse with protobuf's JSON parser (unknown fields fail). References inside a pipeline are
// checked by kfp-local's loader (src/kfp_local/ir.cpp), the one reference checker.
#include "kfp/ir_schema.h"

#include <google/protobuf/util/json_util.h>

#include <map>
#include <regex>
#include <set>

#include "kfp/types.h"
#include "proto/pipeline_spec.pb.h"

namespace advkfp::kfp {
namespace {

using Json = nlohmann::json;
namespace pb = google::protobuf;

// True when every key of `a` is in `b` with a value that `a` is again contained in.
bool contained(const Json& a, const Json& b) {
  if (a.is_object()) {
    if (!b.is_object()) return false;
    for (const auto& [k, v] : a.items()) {
      if (!b.contains(k) || !contained(v, b.at(k))) return false;
    }
    return true;
  }
  if (a.is_array()) {
    if (!b.is_array() || a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      if (!contained(a[i], b[i])) return false;
    }
    return true;
  }
  if (a.is_number() && b.is_number()) return a.get<double>() == b.get<double>();
  return a == b;
}

// Parses `j` into `msg` strictly, then checks that the message printed back (lowerCamelCase, with
// defaults) contains `j`, which rejects snake_case spellings the parser would otherwise accept.
void strict_parse(const Json& j, pb::Message* msg, const std::string& what,
                  std::vector<std::string>& problems) {
  pb::util::JsonParseOptions opts;
  opts.ignore_unknown_fields = false;
  const auto status = pb::util::JsonStringToMessage(j.dump(), msg, opts);
  if (!status.ok()) {
    problems.push_back(what + ": " + std::string(status.message()));
    return;
  }
  std::string back;
  pb::util::JsonPrintOptions print;
  print.always_print_primitive_fields = true;
  (void)pb::util::MessageToJsonString(*msg, &back, print);
  if (!contained(j, Json::parse(back))) {
    problems.push_back(what + ": not in canonical protojson form (field spelling or default values)");
  }
}

const Json& get(const Json& j, const char* key) {
  static const Json kEmpty = Json::object();
  return j.is_object() && j.contains(key) ? j.at(key) : kEmpty;
}

}  // namespace

std::vector<std::string> check_pipeline_ir(const Json& ir) {
  std::vector<std::string> problems;
  ir::PipelineSpec spec;
  strict_parse(ir, &spec, "PipelineSpec", problems);
  ir::PipelineDeploymentConfig deployment;
  strict_parse(get(ir, "deploymentSpec"), &deployment, "deploymentSpec", problems);
  if (!problems.empty()) return problems;
  if (spec.schema_version() != "2.1.0") {
    problems.push_back("schemaVersion is '" + spec.schema_version() + "', the backend takes 2.1.0");
  }
  static const std::regex kName(R"(^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$)");
  if (!std::regex_match(spec.pipeline_info().name(), kName)) {
    problems.push_back("pipelineInfo.name '" + spec.pipeline_info().name() + "' is not valid");
  }
  return problems;
}

std::vector<std::string> check_component_v1(const Json& component) {
  std::vector<std::string> problems;
  ir::ComponentV1 spec;
  const Json::json_pointer name_at("/name"), args_at("/implementation/container/args");
  const bool named = component.contains(name_at) && component.at(name_at).is_string();
  strict_parse(component, &spec,
               "component " + (named ? component.at(name_at).get<std::string>() : "?"), problems);
  if (!problems.empty()) return problems;
  const std::string at = "component " + spec.name();
  std::map<std::string, bool> inputs, outputs;  // name -> is artifact
  std::set<std::string> seen;
  for (const auto& in : spec.inputs()) {
    const bool art = is_artifact_type(in.type());
    if (!art) {
      try {
        parameter_type(in.type());
      } catch (const std::exception&) {
        problems.push_back(at + ": input " + in.name() + " has unknown type " + in.type());
      }
    }
    inputs[in.name()] = art;
  }
  for (const auto& out : spec.outputs()) {
    if (!is_artifact_type(out.type())) {
      try {
        parameter_type(out.type());
      } catch (const std::exception&) {
        problems.push_back(at + ": output " + out.name() + " has unknown type " + out.type());
      }
    }
    outputs[out.name()] = is_artifact_type(out.type());
  }
  std::map<std::string, bool> optional;  // input name -> optional
  for (const auto& in : spec.inputs()) optional[in.name()] = in.optional();
  // {if: {cond: {isPresent: X}, then: [...]}} contributes its `then` items, checked like the rest.
  Json args = Json::array();
  // Read through a pointer: const operator[] on a missing key is undefined in nlohmann::json.
  const Json given = component.contains(args_at) ? component.at(args_at) : Json::array();
  for (const auto& arg : given) {
    if (!arg.is_object() || !arg.contains("if")) {
      args.push_back(arg);
      continue;
    }
    const Json& cond = arg["if"].is_object() ? arg["if"].value("cond", Json()) : Json();
    const Json name = cond.is_object() ? cond.value("isPresent", Json()) : Json();
    const Json then = arg["if"].is_object() ? arg["if"].value("then", Json()) : Json();
    if (arg.size() != 1 || !name.is_string() || !then.is_array()) {
      problems.push_back(at + ": malformed if placeholder " + arg.dump());
      continue;
    }
    if (!optional.count(name.get<std::string>())) {
      problems.push_back(at + ": isPresent names unknown input '" + name.get<std::string>() + "'");
    } else if (!optional[name.get<std::string>()]) {
      problems.push_back(at + ": isPresent on required input '" + name.get<std::string>() + "'");
    }
    for (const auto& item : then) args.push_back(item);
  }
  for (const auto& arg : args) {
    if (arg.is_string()) continue;
    if (!arg.is_object() || arg.size() != 1) {
      problems.push_back(at + ": arg " + arg.dump() + " is not a string or a one-key placeholder");
      continue;
    }
    const std::string kind = arg.begin().key();
    if (kind == "executorInput") {
      if (!arg.begin().value().is_null()) problems.push_back(at + ": executorInput takes null");
      // Optional input artifacts reach the tool through the executor input, which lists the
      // ones a task provided (no isPresent guard: released backends do not resolve it).
      for (const auto& [name, art] : inputs) {
        if (art && optional[name]) seen.insert(name);
      }
      continue;
    }
    const std::string name = arg.begin().value().is_string() ? arg.begin().value().get<std::string>() : "";
    seen.insert(name);
    if (kind == "inputValue" || kind == "inputPath") {
      if (!inputs.count(name)) {
        problems.push_back(at + ": " + kind + " names unknown input '" + name + "'");
      } else if (inputs[name] != (kind == "inputPath")) {
        problems.push_back(at + ": " + kind + " used for " + (inputs[name] ? "artifact" : "parameter") +
                           " input '" + name + "'");
      }
    } else if (kind == "outputPath") {
      if (!outputs.count(name)) problems.push_back(at + ": outputPath names unknown output '" + name + "'");
    } else {
      problems.push_back(at + ": unknown placeholder '" + kind + "'");
    }
  }
  for (const auto& m : {inputs, outputs}) {
    for (const auto& [name, _] : m) {
      if (!seen.count(name)) problems.push_back(at + ": '" + name + "' is never passed to the tool");
    }
  }
  return problems;
}

}  // namespace advkfp::kfp
