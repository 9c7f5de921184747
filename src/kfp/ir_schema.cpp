// Strict parse with protobuf's JSON parser (unknown fields fail), then reference checks.
#include "kfp/ir_schema.h"

#include <google/protobuf/util/json_util.h>

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

struct IrChecker {
  const Json& ir;
  std::vector<std::string>& problems;

  void problem(const std::string& s) { problems.push_back(s); }

  void check_placeholders(const std::string& exec, const Json& arg, const Json& comp) {
    static const std::regex kPlaceholder(R"(\{\{([^}]*)\}\})");
    static const std::regex kKnown(
        R"(^\$(\.(inputs|outputs)\.(parameters|artifacts)\['([^']+)'\](\.(path|uri|output_file))?)?$)");
    const std::string s = arg.get<std::string>();
    if (s.rfind("{\"IfPresent\"", 0) == 0) {
      const Json j = Json::parse(s, nullptr, false);
      const Json* then = nullptr;
      if (j.is_object() && j.size() == 1 && j["IfPresent"].is_object()) {
        const Json& spec = j["IfPresent"];
        if (spec.contains("Then") && spec["Then"].is_array()) then = &spec["Then"];
        const std::string name = spec.value("InputName", "");
        const Json& defs = get(comp, "inputDefinitions");
        const bool declared = get(defs, "artifacts").contains(name) ||
                              get(defs, "parameters").contains(name);
        if (!declared) problem(exec + ": IfPresent names no declared input: " + s);
      }
      if (!then) {
        problem(exec + ": malformed IfPresent placeholder " + s);
        return;
      }
      for (const auto& item : *then) {
        if (item.is_string()) check_placeholders(exec, item, comp);
        else problem(exec + ": IfPresent item " + item.dump() + " is not a string");
      }
      return;
    }
    for (auto it = std::sregex_iterator(s.begin(), s.end(), kPlaceholder);
         it != std::sregex_iterator(); ++it) {
      const std::string body = (*it)[1];
      std::smatch m;
      if (!std::regex_match(body, m, kKnown)) {
        problem(exec + ": unknown placeholder {{" + body + "}}");
        continue;
      }
      if (!m[1].matched) continue;  // {{$}}
      const std::string side = m[2], kind = m[3], name = m[4], attr = m[6];
      const Json& defs = get(get(comp, side == "inputs" ? "inputDefinitions" : "outputDefinitions"),
                             kind.c_str());
      if (!defs.contains(name)) {
        problem(exec + ": placeholder {{" + body + "}} names no declared " + side + " " + kind);
      }
      const bool want_attr = kind == "artifacts" || side == "outputs";
      if (want_attr != !attr.empty() || (attr == "output_file") != (side == "outputs" && kind == "parameters")) {
        problem(exec + ": placeholder {{" + body + "}} has the wrong form");
      }
    }
  }

  void check_dag(const std::string& where, const Json& comp) {
    const Json& tasks = get(get(comp, "dag"), "tasks");
    const Json& inputs = get(comp, "inputDefinitions");
    for (const auto& [name, task] : tasks.items()) {
      const std::string at = where + "/" + name;
      const std::string ref = get(get(task, "componentRef"), "name").get<std::string>();
      if (!get(ir, "components").contains(ref)) {
        problem(at + ": componentRef '" + ref + "' names no component");
        continue;
      }
      const Json& target = ir["components"][ref];
      for (const auto& dep : get(task, "dependentTasks")) {
        if (!tasks.contains(dep.get<std::string>())) {
          problem(at + ": dependentTasks names '" + dep.get<std::string>() + "', not in its DAG");
        }
      }
      for (const char* kind : {"parameters", "artifacts"}) {
        for (const auto& [in, spec] : get(get(task, "inputs"), kind).items()) {
          if (!get(get(target, "inputDefinitions"), kind).contains(in)) {
            problem(at + ": input " + in + " is not an input of " + ref);
          }
          check_source(at + "." + in, spec, tasks, inputs);
        }
      }
      const std::string cond = get(get(task, "triggerPolicy"), "condition").is_string()
                                   ? task["triggerPolicy"]["condition"].get<std::string>()
                                   : "";
      static const std::regex kRef(R"(inputs\.parameter_values\['([^']+)'\])");
      for (auto it = std::sregex_iterator(cond.begin(), cond.end(), kRef);
           it != std::sregex_iterator(); ++it) {
        if (!get(get(task, "inputs"), "parameters").contains((*it)[1].str())) {
          problem(at + ": condition reads '" + (*it)[1].str() + "', which the task does not pass");
        }
      }
      if (target.contains("dag")) check_dag(at, target);
    }
    // DAG outputs select outputs of tasks in this DAG and are declared by the component.
    for (const auto& [key, spec] : get(get(get(comp, "dag"), "outputs"), "artifacts").items()) {
      const std::string at = where + ".dag.outputs." + key;
      if (!get(get(comp, "outputDefinitions"), "artifacts").contains(key)) {
        problem(at + ": not declared in outputDefinitions");
      }
      for (const auto& sel : get(spec, "artifactSelectors")) {
        const std::string producer = sel.value("producerSubtask", "");
        if (!tasks.contains(producer)) {
          problem(at + ": producerSubtask '" + producer + "' is not in the DAG");
          continue;
        }
        const std::string ref = get(get(tasks[producer], "componentRef"), "name").get<std::string>();
        const Json& outs = get(get(get(get(ir, "components"), ref.c_str()), "outputDefinitions"),
                               "artifacts");
        if (!outs.contains(sel.value("outputArtifactKey", ""))) {
          problem(at + ": " + producer + " has no output artifact '" +
                  sel.value("outputArtifactKey", "") + "'");
        }
      }
    }
  }

  void check_source(const std::string& at, const Json& spec, const Json& tasks, const Json& inputs) {
    for (const char* k : {"taskOutputParameter", "taskOutputArtifact"}) {
      if (!spec.contains(k)) continue;
      const std::string producer = spec[k].value("producerTask", "");
      const std::string key = spec[k].value(
          std::string(k) == "taskOutputParameter" ? "outputParameterKey" : "outputArtifactKey", "");
      if (!tasks.contains(producer)) {
        problem(at + ": producer task '" + producer + "' is not in the same DAG");
        continue;
      }
      const std::string ref = get(get(tasks[producer], "componentRef"), "name").get<std::string>();
      const char* kind = std::string(k) == "taskOutputParameter" ? "parameters" : "artifacts";
      if (!get(get(get(get(ir, "components"), ref.c_str()), "outputDefinitions"), kind).contains(key)) {
        problem(at + ": " + producer + " has no output " + kind + " '" + key + "'");
      }
    }
    for (auto [k, kind] : {std::pair{"componentInputParameter", "parameters"},
                           std::pair{"componentInputArtifact", "artifacts"}}) {
      if (spec.contains(k) && !get(inputs, kind).contains(spec[k].get<std::string>())) {
        problem(at + ": '" + spec[k].get<std::string>() + "' is not an input of the enclosing DAG");
      }
    }
  }
};

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
  IrChecker c{ir, problems};
  std::set<std::string> used;
  for (const auto& [name, comp] : ir["components"].items()) {
    if (!comp.contains("executorLabel")) continue;
    const std::string exec = comp["executorLabel"];
    used.insert(exec);
    if (!ir["deploymentSpec"]["executors"].contains(exec)) {
      problems.push_back(name + ": executorLabel '" + exec + "' names no executor");
      continue;
    }
    const Json& container = get(ir["deploymentSpec"]["executors"][exec], "container");
    for (const char* list : {"command", "args"}) {
      for (const auto& arg : get(container, list)) c.check_placeholders(exec, arg, comp);
    }
  }
  for (const auto& [exec, _] : ir["deploymentSpec"]["executors"].items()) {
    if (!used.count(exec)) problems.push_back("executor " + exec + " is used by no component");
  }
  c.check_dag("root", ir["root"]);
  return problems;
}

std::vector<std::string> check_component_v1(const Json& component) {
  std::vector<std::string> problems;
  ir::ComponentV1 spec;
  strict_parse(component, &spec, "component " + component.value("name", "?"), problems);
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
  for (const auto& arg : component["implementation"]["container"]["args"]) {
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
