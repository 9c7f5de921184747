// Pipeline -> KFP IR compiler: components and executors per task, DAGs per scope, conditions as
// sub-DAG components with `pipelinechannel--` inputs and a CEL trigger, as KFP's compiler emits.
#include "kfp/pipeline.h"

#include <algorithm>
#include <cstring>
#include <regex>
#include <set>

#include "common/error.h"
#include "common/version.h"
#include "kfp/backends.h"
#include "kfp/types.h"
#include "kfp/yaml.h"

namespace advkfp::kfp {
namespace {

using Json = nlohmann::json;  // sorted keys, like the KFP SDK's YAML dump

constexpr const char* kChannelPrefix = "pipelinechannel--";

Json artifact_type(const std::string& type) {
  return {{"schemaTitle", schema_title(type)}, {"schemaVersion", kSchemaVersion}};
}

// Kubernetes CPU quantity -> cores, as the KFP SDK writes cpuRequest: "2" -> 2, "500m" -> 0.5.
double cpu_number(const std::string& q, const std::string& task) {
  static const std::regex kCpu(R"(^([0-9]+(\.[0-9]+)?)(m?)$)");
  std::smatch m;
  if (!std::regex_match(q, m, kCpu)) {
    throw Error("pipeline: " + task + " CPU request '" + q + "' is not a number of cores or millicores");
  }
  return std::stod(m[1]) / (m[3].length() ? 1000.0 : 1.0);
}

// Kubernetes memory quantity -> GB (10^9 bytes), as the KFP SDK writes memoryRequest:
// "4G" -> 4, "512M" -> 0.512, "1Gi" -> 1.073741824.
double memory_gb(const std::string& q, const std::string& task) {
  static const std::regex kMemory(R"(^([0-9]+(\.[0-9]+)?)(E|P|T|G|M|K|Ei|Pi|Ti|Gi|Mi|Ki)?$)");
  static const std::map<std::string, double> kUnit = {
      {"", 1.0},          {"K", 1e3},          {"M", 1e6},          {"G", 1e9},
      {"T", 1e12},        {"P", 1e15},         {"E", 1e18},         {"Ki", 1024.0},
      {"Mi", 1048576.0},  {"Gi", 1073741824.0}, {"Ti", 1099511627776.0},
      {"Pi", 1125899906842624.0}, {"Ei", 1152921504606846976.0}};
  std::smatch m;
  if (!std::regex_match(q, m, kMemory)) {
    throw Error("pipeline: " + task + " memory request '" + q + "' is not a Kubernetes quantity");
  }
  return std::stod(m[1]) * kUnit.at(m[3]) / 1e9;
}

std::string cel_literal(const OrderedJson& v) {
  if (v.is_string()) return "'" + v.get<std::string>() + "'";
  return v.dump();
}

// Component args as IR placeholders. An optional input's args (kIfBound) are resolved here: a
// plain inputPath when the task binds it, nothing otherwise, never an IfPresent placeholder,
// which no released backend resolves for artifacts (kfp/backends.h).
Json ir_args(const ComponentSpec& c, const std::vector<Arg>& list, const std::string& task,
             const std::map<std::string, Value>& bound) {
  Json args = Json::array();
  for (const auto& a : list) {
    switch (a.kind) {
      case Arg::Kind::kLiteral: args.push_back(a.value); break;
      case Arg::Kind::kInputValue:
        args.push_back("{{$.inputs.parameters['" + a.value + "']}}");
        break;
      case Arg::Kind::kInputPath:
        args.push_back("{{$.inputs.artifacts['" + a.value + "'].path}}");
        break;
      case Arg::Kind::kOutputPath: {
        const OutputSpec* out = c.find_output(a.value);
        if (!out) throw Error("pipeline: " + task + " args name unknown output " + a.value);
        args.push_back(is_artifact_type(out->type)
                           ? "{{$.outputs.artifacts['" + a.value + "'].path}}"
                           : "{{$.outputs.parameters['" + a.value + "'].output_file}}");
        break;
      }
      case Arg::Kind::kExecutorInput: args.push_back("{{$}}"); break;
      case Arg::Kind::kIfBound:
        if (bound.count(a.value)) {
          for (const auto& item : ir_args(c, a.then, task, bound)) args.push_back(item);
        }
        break;
    }
  }
  return args;
}

}  // namespace

bool Value::artifact() const { return is_artifact_type(type); }

Condition operator==(const Value& v, const OrderedJson& rhs) { return {v, "==", rhs}; }
Condition operator!=(const Value& v, const OrderedJson& rhs) { return {v, "!=", rhs}; }

// ---- Task -------------------------------------------------------------------------------------

Task& Task::set(const std::string& input, const Value& value) {
  auto& t = pipeline_->tasks_[static_cast<size_t>(index_)];
  const InputSpec* in = t.component.find_input(input);
  if (!in) throw Error("pipeline: " + t.key + " has no input '" + input + "'");
  if (value.kind != Value::Kind::kConstant && value.type != in->type) {
    throw Error("pipeline: " + t.key + "." + input + " is " + in->type + " but the value is " +
                value.type);
  }
  if (value.kind == Value::Kind::kConstant && is_artifact_type(in->type)) {
    throw Error("pipeline: " + t.key + "." + input + " is an artifact and cannot be a constant");
  }
  t.inputs[input] = value;
  return *this;
}

Task& Task::set(const std::string& input, const OrderedJson& constant) {
  Value v;
  v.kind = Value::Kind::kConstant;
  v.constant = constant;
  return set(input, v);
}

Task& Task::resources(const std::string& cpu_request, const std::string& memory_request) {
  auto& t = pipeline_->tasks_[static_cast<size_t>(index_)];
  t.cpu_request = cpu_request;
  t.memory_request = memory_request;
  return *this;
}

Value Task::output(const std::string& name) const {
  const auto& t = pipeline_->tasks_[static_cast<size_t>(index_)];
  const OutputSpec* out = t.component.find_output(name);
  if (!out) throw Error("pipeline: " + t.key + " has no output '" + name + "'");
  Value v;
  v.kind = Value::Kind::kTaskOutput;
  v.task = index_;
  v.name = name;
  v.type = out->type;
  return v;
}

const std::string& Task::key() const { return pipeline_->tasks_[static_cast<size_t>(index_)].key; }

// ---- Pipeline ---------------------------------------------------------------------------------

Pipeline::Pipeline(std::string name, std::string description)
    : name_(std::move(name)), description_(std::move(description)) {
  static const std::regex kName(R"(^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$)");
  if (!std::regex_match(name_, kName)) {
    throw Error("pipeline: name '" + name_ + "' is not a valid KFP pipeline name");
  }
  scopes_.push_back(Scope{});
  open_.push_back(0);
}

Value Pipeline::input(const std::string& name, const std::string& type,
                      const OrderedJson& default_value, const std::string& description) {
  parameter_type(type);  // throws for artifact or unknown types
  for (const auto& p : params_) {
    if (p.name == name) throw Error("pipeline: parameter '" + name + "' declared twice");
  }
  params_.push_back({name, type, description, default_value});
  Value v;
  v.kind = Value::Kind::kPipelineParam;
  v.name = name;
  v.type = type;
  return v;
}

Value Pipeline::required_input(const std::string& name, const std::string& type,
                               const std::string& description) {
  Value v = input(name, type, nullptr, description);
  params_.back().required = true;
  return v;
}

Task Pipeline::task(const ComponentSpec& component, const std::string& key) {
  static const std::regex kKey(R"(^[a-z0-9]([-a-z0-9]*[a-z0-9])?$)");
  TaskData t;
  t.component = component;
  if (key.empty()) {
    const int n = ++key_counts_[component.name];
    t.key = n == 1 ? component.name : component.name + "-" + std::to_string(n);
  } else {
    t.key = key;
  }
  if (!std::regex_match(t.key, kKey)) {
    throw Error("pipeline: task name '" + t.key + "' is not a valid KFP task name");
  }
  for (const auto& other : tasks_) {
    if (other.key == t.key) throw Error("pipeline: two tasks are named '" + t.key + "'");
  }
  t.scope = open_.back();
  tasks_.push_back(std::move(t));
  return Task(this, static_cast<int>(tasks_.size()) - 1);
}

Task Pipeline::importer(const Value& uri, const std::string& type, const std::string& key) {
  if (uri.kind != Value::Kind::kPipelineParam || uri.type != "String") {
    throw Error("pipeline: importer " + key +
                ": the URI must be a String pipeline parameter (the backend's importer reads it "
                "from the parent DAG's inputs)");
  }
  if (!is_artifact_type(type)) {
    throw Error("pipeline: importer " + key + ": '" + type + "' is not an artifact type");
  }
  ComponentSpec c;
  c.name = "importer";
  c.inputs.push_back({"uri", "String", "URI of the artifact to import.", std::nullopt, false});
  c.outputs.push_back({"artifact", type, "The imported artifact."});
  Task t = task(c, key);
  tasks_.back().importer = true;
  t.set("uri", uri);
  return t;
}

void Pipeline::begin_branch(const Condition& c) {
  if (c.operand.kind == Value::Kind::kConstant || c.operand.artifact()) {
    throw Error("pipeline: a branch condition must test a parameter output or pipeline input");
  }
  Scope s;
  s.kind = Scope::Kind::kCondition;
  s.parent = open_.back();
  s.condition = c;
  s.name = "condition-" + std::to_string(scopes_.size());
  scopes_.push_back(s);
  open_.push_back(static_cast<int>(scopes_.size()) - 1);
}

void Pipeline::end_branch() {
  if (open_.size() <= 1 || scopes_[static_cast<size_t>(open_.back())].kind != Scope::Kind::kCondition ||
      scopes_[static_cast<size_t>(scopes_[static_cast<size_t>(open_.back())].parent)].kind ==
          Scope::Kind::kBranches) {
    throw Error("pipeline: end_branch() without begin_branch()");
  }
  open_.pop_back();
}

void Pipeline::begin_if(const Condition& c) {
  Scope group;
  group.kind = Scope::Kind::kBranches;
  group.parent = open_.back();
  group.name = "condition-branches-" + std::to_string(scopes_.size());
  scopes_.push_back(group);
  open_.push_back(static_cast<int>(scopes_.size()) - 1);
  begin_branch(c);
}

void Pipeline::begin_else() {
  const auto top = static_cast<size_t>(open_.back());
  if (open_.size() < 3 || scopes_[top].kind != Scope::Kind::kCondition ||
      scopes_[static_cast<size_t>(scopes_[top].parent)].kind != Scope::Kind::kBranches) {
    throw Error("pipeline: begin_else() without begin_if()");
  }
  Scope& group = scopes_[static_cast<size_t>(scopes_[top].parent)];
  if (group.has_else) throw Error("pipeline: " + group.name + " already has an else arm");
  group.has_else = true;
  const Condition c = scopes_[top].condition;
  open_.pop_back();
  begin_branch(c);
  scopes_.back().negated = true;
}

void Pipeline::end_if() {
  const auto top = static_cast<size_t>(open_.back());
  if (open_.size() < 3 || scopes_[top].kind != Scope::Kind::kCondition ||
      scopes_[static_cast<size_t>(scopes_[top].parent)].kind != Scope::Kind::kBranches) {
    throw Error("pipeline: end_if() without begin_if()");
  }
  if (!scopes_[static_cast<size_t>(scopes_[top].parent)].has_else) {
    throw Error("pipeline: end_if() before begin_else() (use begin_branch() for a lone if)");
  }
  open_.pop_back();
  open_.pop_back();
}

Value Pipeline::one_of(const std::vector<Value>& per_arm) {
  if (per_arm.empty()) throw Error("pipeline: one_of() needs one output per arm");
  OneOf o;
  std::set<int> arms;
  for (const auto& v : per_arm) {
    if (v.kind != Value::Kind::kTaskOutput || !v.artifact()) {
      throw Error("pipeline: one_of() takes output artifacts of tasks inside an if/else group");
    }
    if (v.type != per_arm.front().type) {
      throw Error("pipeline: one_of() mixes " + per_arm.front().type + " and " + v.type);
    }
    const int arm = tasks_[static_cast<size_t>(v.task)].scope;
    const Scope& sc = scopes_[static_cast<size_t>(arm)];
    const int group = sc.kind == Scope::Kind::kCondition ? sc.parent : -1;
    if (group < 0 || scopes_[static_cast<size_t>(group)].kind != Scope::Kind::kBranches ||
        (o.group >= 0 && group != o.group) || !arms.insert(arm).second) {
      throw Error("pipeline: one_of() needs one output from each arm of one if/else group (" +
                  tasks_[static_cast<size_t>(v.task)].key + "." + v.name + ")");
    }
    o.group = group;
  }
  if (std::any_of(open_.begin(), open_.end(), [&](int s) { return s == o.group; })) {
    throw Error("pipeline: one_of() before end_if()");
  }
  if (arms.size() != 2) throw Error("pipeline: one_of() needs an output of both arms");
  o.per_arm = per_arm;
  o.key = kChannelPrefix + scopes_[static_cast<size_t>(o.group)].name + "-oneof-" +
          std::to_string(std::count_if(one_ofs_.begin(), one_ofs_.end(),
                                       [&](const OneOf& x) { return x.group == o.group; }) +
                         1);
  one_ofs_.push_back(o);
  Value v;
  v.kind = Value::Kind::kOneOf;
  v.task = static_cast<int>(one_ofs_.size()) - 1;
  v.name = o.key;
  v.type = per_arm.front().type;
  return v;
}

OrderedJson Pipeline::compile() const {
  if (open_.size() != 1) throw Error("pipeline: a branch was not closed");
  const auto origin = [&](const Value& v) {
    if (v.kind == Value::Kind::kOneOf) {
      return scopes_[static_cast<size_t>(one_ofs_[static_cast<size_t>(v.task)].group)].parent;
    }
    return v.kind == Value::Kind::kTaskOutput ? tasks_[static_cast<size_t>(v.task)].scope : 0;
  };
  // The producer task key in the DAG where v originates: the task, or the if/else group.
  const auto producer = [&](const Value& v) -> const std::string& {
    if (v.kind == Value::Kind::kOneOf) {
      return scopes_[static_cast<size_t>(one_ofs_[static_cast<size_t>(v.task)].group)].name;
    }
    return tasks_[static_cast<size_t>(v.task)].key;
  };
  const auto channel = [&](const Value& v) {
    if (v.kind == Value::Kind::kOneOf) return v.name;
    if (v.kind == Value::Kind::kPipelineParam) return kChannelPrefix + v.name;
    return kChannelPrefix + tasks_[static_cast<size_t>(v.task)].key + "-" + v.name;
  };
  // needed[s]: values from outside scope s that s (or a scope inside it) uses, by channel name.
  std::vector<std::map<std::string, Value>> needed(scopes_.size());
  const auto require_in = [&](const Value& v, int scope, const std::string& user) {
    std::vector<int> chain;
    for (int s = scope; s != origin(v); s = scopes_[static_cast<size_t>(s)].parent) {
      if (s <= 0) {
        const std::string used = channel(v).substr(std::strlen(kChannelPrefix));
        throw Error("pipeline: " + user + " uses " + used +
                    ", which is produced inside a branch it is not in");
      }
      chain.push_back(s);
    }
    for (int s : chain) needed[static_cast<size_t>(s)][channel(v)] = v;
  };
  for (size_t s = 1; s < scopes_.size(); ++s) {
    if (scopes_[s].kind != Scope::Kind::kCondition) continue;
    require_in(scopes_[s].condition.operand, static_cast<int>(s), scopes_[s].name);
  }
  for (const auto& t : tasks_) {
    for (const auto& [name, v] : t.inputs) {
      if (v.kind != Value::Kind::kConstant) require_in(v, t.scope, t.key);
    }
  }

  // Binding of value v as seen from a DAG in scope s.
  const auto bind = [&](const Value& v, int s) -> Json {
    const bool art = v.artifact();
    if (v.kind == Value::Kind::kConstant) return {{"runtimeValue", {{"constant", v.constant}}}};
    if (origin(v) != s) {
      return {{art ? "componentInputArtifact" : "componentInputParameter", channel(v)}};
    }
    if (v.kind == Value::Kind::kPipelineParam) return {{"componentInputParameter", v.name}};
    if (art) return {{"taskOutputArtifact", {{"producerTask", producer(v)}, {"outputArtifactKey", v.name}}}};
    return {{"taskOutputParameter", {{"producerTask", producer(v)}, {"outputParameterKey", v.name}}}};
  };
  const auto is_output = [](const Value& v) {
    return v.kind == Value::Kind::kTaskOutput || v.kind == Value::Kind::kOneOf;
  };

  Json components = Json::object(), executors = Json::object();
  std::vector<Json> dags(scopes_.size(), Json::object());

  for (const auto& t : tasks_) {
    const std::string comp = "comp-" + t.key, exec = "exec-" + t.key;
    Json c;
    for (const auto& in : t.component.inputs) {
      if (is_artifact_type(in.type)) {
        c["inputDefinitions"]["artifacts"][in.name] = {{"artifactType", artifact_type(in.type)},
                                                       {"description", in.description}};
        if (in.optional) c["inputDefinitions"]["artifacts"][in.name]["isOptional"] = true;
        if (!in.optional && !t.inputs.count(in.name)) {
          throw Error("pipeline: " + t.key + " needs input artifact '" + in.name + "'");
        }
        continue;
      }
      Json p = {{"parameterType", parameter_type(in.type)}, {"description", in.description}};
      if (in.default_value) {
        p["defaultValue"] = *in.default_value;
        p["isOptional"] = true;
      } else if (!t.inputs.count(in.name)) {
        throw Error("pipeline: " + t.key + " needs parameter '" + in.name + "'");
      }
      c["inputDefinitions"]["parameters"][in.name] = p;
    }
    for (const auto& out : t.component.outputs) {
      if (is_artifact_type(out.type)) {
        c["outputDefinitions"]["artifacts"][out.name] = {{"artifactType", artifact_type(out.type)},
                                                         {"description", out.description}};
      } else {
        c["outputDefinitions"]["parameters"][out.name] = {
            {"parameterType", parameter_type(out.type)}, {"description", out.description}};
      }
    }
    c["executorLabel"] = exec;
    components[comp] = c;

    if (t.importer) {
      // As the SDK's importer_node compiles dsl.importer (reimport false, no metadata).
      executors[exec] = {
          {"importer",
           {{"artifactUri", {{"runtimeParameter", "uri"}}},
            {"typeSchema", artifact_type(t.component.outputs.front().type)}}}};
      Json task = {{"taskInfo", {{"name", t.key}}},
                   {"componentRef", {{"name", comp}}},
                   {"cachingOptions", {{"enableCache", true}}}};
      task["inputs"]["parameters"]["uri"] = bind(t.inputs.at("uri"), t.scope);
      dags[static_cast<size_t>(t.scope)][t.key] = task;
      continue;
    }

    Json container = {{"image", t.component.image},
                      {"command", t.component.command},
                      {"args", ir_args(t.component, t.component.args, t.key, t.inputs)}};
    // Both forms, as the KFP SDK writes them: drivers up to 2.3 read only the numbers.
    if (!t.cpu_request.empty()) {
      container["resources"]["cpuRequest"] = cpu_number(t.cpu_request, t.key);
      container["resources"]["resourceCpuRequest"] = t.cpu_request;
    }
    if (!t.memory_request.empty()) {
      container["resources"]["memoryRequest"] = memory_gb(t.memory_request, t.key);
      container["resources"]["resourceMemoryRequest"] = t.memory_request;
    }
    executors[exec] = {{"container", container}};

    Json task = {{"taskInfo", {{"name", t.key}}},
                 {"componentRef", {{"name", comp}}},
                 {"cachingOptions", {{"enableCache", true}}}};
    std::set<std::string> deps;
    // Every parameter the executor's args reference is passed, defaults included: the 2.17.0
    // driver substitutes placeholders before it fills in defaults (kfp/backends.h).
    std::map<std::string, Value> inputs = t.inputs;
    for (const auto& in : t.component.inputs) {
      if (is_artifact_type(in.type) || inputs.count(in.name) || !in.default_value) continue;
      Value v;
      v.kind = Value::Kind::kConstant;
      v.constant = *in.default_value;
      v.type = in.type;
      inputs[in.name] = v;
    }
    for (const auto& [name, v] : inputs) {
      const bool art = is_artifact_type(t.component.find_input(name)->type);
      task["inputs"][art ? "artifacts" : "parameters"][name] = bind(v, t.scope);
      if (is_output(v) && origin(v) == t.scope) deps.insert(producer(v));
    }
    if (!deps.empty()) task["dependentTasks"] = deps;
    dags[static_cast<size_t>(t.scope)][t.key] = task;
  }

  // dsl.OneOf: each arm surfaces its member as a DAG output; the group selects whichever ran.
  // outputs[scope][key] = (artifactSelectors, artifact type).
  std::vector<std::map<std::string, std::pair<Json, std::string>>> outputs(scopes_.size());
  for (const auto& o : one_ofs_) {
    Json selectors = Json::array();
    for (const auto& v : o.per_arm) {
      const int arm = tasks_[static_cast<size_t>(v.task)].scope;
      outputs[static_cast<size_t>(arm)][channel(v)] = {
          Json::array({{{"producerSubtask", producer(v)}, {"outputArtifactKey", v.name}}}), v.type};
      selectors.push_back({{"producerSubtask", scopes_[static_cast<size_t>(arm)].name},
                           {"outputArtifactKey", channel(v)}});
    }
    outputs[static_cast<size_t>(o.group)][o.key] = {selectors, o.per_arm.front().type};
  }

  // Conditions and groups, innermost first, so nested ones land in their parents' DAGs.
  for (size_t s = scopes_.size() - 1; s >= 1; --s) {
    const Scope& sc = scopes_[s];
    Json c;
    Json task = {{"taskInfo", {{"name", sc.name}}}, {"componentRef", {{"name", "comp-" + sc.name}}}};
    for (const auto& [key, output] : outputs[s]) {
      c["dag"]["outputs"]["artifacts"][key] = {{"artifactSelectors", output.first}};
      c["outputDefinitions"]["artifacts"][key] = {{"artifactType", artifact_type(output.second)}};
    }
    std::set<std::string> deps;
    for (const auto& [ch, v] : needed[s]) {
      if (v.artifact()) {
        c["inputDefinitions"]["artifacts"][ch] = {{"artifactType", artifact_type(v.type)}};
        task["inputs"]["artifacts"][ch] = bind(v, sc.parent);
      } else {
        c["inputDefinitions"]["parameters"][ch] = {{"parameterType", parameter_type(v.type)}};
        task["inputs"]["parameters"][ch] = bind(v, sc.parent);
      }
      if (is_output(v) && origin(v) == sc.parent) deps.insert(producer(v));
    }
    if (!deps.empty()) task["dependentTasks"] = deps;
    if (sc.kind == Scope::Kind::kCondition) {
      const Value& op = sc.condition.operand;
      std::string lhs = "inputs.parameter_values['" + channel(op) + "']";
      if (op.type == "Integer") lhs = "int(" + lhs + ")";
      if (op.type == "Float") lhs = "double(" + lhs + ")";
      std::string cel = lhs + " " + sc.condition.op + " " + cel_literal(sc.condition.rhs);
      task["triggerPolicy"]["condition"] = sc.negated ? "!(" + cel + ")" : cel;
    }
    c["dag"]["tasks"] = dags[s];
    components["comp-" + sc.name] = c;
    dags[static_cast<size_t>(sc.parent)][sc.name] = task;
  }

  Json root;
  for (const auto& p : params_) {
    Json& def = root["inputDefinitions"]["parameters"][p.name];
    def = {{"parameterType", parameter_type(p.type)}, {"description", p.description}};
    if (!p.required) {
      def["defaultValue"] = p.default_value;
      def["isOptional"] = true;
    }
  }
  root["dag"]["tasks"] = dags[0];
  Json ir = {{"pipelineInfo", {{"name", name_}, {"description", description_}}},
             {"sdkVersion", std::string("advkfp-") + kVersion},
             {"schemaVersion", "2.1.0"},
             {"deploymentSpec", {{"executors", executors}}},
             {"components", components},
             {"root", root}};
  // What the builder emits runs on every released backend: refuse as kfp-local does by default.
  const auto problems = backend_problems(ir, backend_profile("all"));
  if (!problems.empty()) throw Error("pipeline: " + problems.front());
  return OrderedJson::parse(ir.dump());
}

std::string Pipeline::compile_yaml() const {
  return "# Generated by compile-pipeline from pipelines/; do not edit. Regenerate: cmake --build "
         "build --target kfp_specs\n" +
         to_yaml(compile());
}

}  // namespace advkfp::kfp
