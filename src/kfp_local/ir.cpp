// Loading of PipelineSpec IR: strict field checks, the typed model, cross-references.
#include "kfp_local/ir.h"

#include <algorithm>
#include <initializer_list>
#include <set>

#include "common/error.h"
#include "io/files.h"
#include "kfp/yaml_read.h"
#include "kfp_local/placeholders.h"

namespace advkfp::kfp_local {
namespace {

// ---------------------------------------------------------------------------------------------
// Field access with errors naming the field path ("root.dag.tasks.train.componentRef.name").

[[noreturn]] void fail(const std::string& path, const std::string& problem) {
  throw Error(path + ": " + problem);
}

std::string join(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

std::string at_index(const std::string& path, size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

const Json& as_object(const Json& j, const std::string& path) {
  if (!j.is_object()) fail(path, "expected a mapping, got " + describe_value(j));
  return j;
}

const Json& as_array(const Json& j, const std::string& path) {
  if (!j.is_array()) fail(path, "expected a list, got " + describe_value(j));
  return j;
}

std::string as_string(const Json& j, const std::string& path) {
  if (!j.is_string()) fail(path, "expected a string, got " + describe_value(j));
  return j.get<std::string>();
}

bool as_bool(const Json& j, const std::string& path) {
  if (!j.is_boolean()) fail(path, "expected true or false, got " + describe_value(j));
  return j.get<bool>();
}

struct Unsupported {
  const char* field;
  const char* reason;
};

// Fails on any key outside `known`; a key in `unsupported` is known to KFP but not honoured here.
void check_fields(const Json& obj, const std::string& path,
                  std::initializer_list<const char*> known,
                  std::initializer_list<Unsupported> unsupported = {}) {
  as_object(obj, path);
  for (const auto& [key, value] : obj.items()) {
    for (const auto& u : unsupported) {
      if (key == u.field) fail(join(path, key), std::string("not supported locally: ") + u.reason);
    }
    // Named captures: a lambda may not capture a structured binding before C++20 (clang).
    if (std::none_of(known.begin(), known.end(),
                     [&field = key](const char* k) { return field == k; })) {
      fail(join(path, key), "unknown field");
    }
  }
}

const Json* find(const Json& obj, const char* key) {
  const auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

const Json& require(const Json& obj, const char* key, const std::string& path) {
  const Json* j = find(obj, key);
  if (!j) fail(path, std::string("missing field '") + key + "'");
  return *j;
}

std::string string_or_empty(const Json& obj, const char* key, const std::string& path) {
  const Json* j = find(obj, key);
  return j ? as_string(*j, join(path, key)) : std::string();
}

// A map field that may be absent; returns an empty object then.
const Json& map_field(const Json& obj, const char* key, const std::string& path) {
  static const Json kEmpty = Json::object();
  const Json* j = find(obj, key);
  return j ? as_object(*j, join(path, key)) : kEmpty;
}

// ---------------------------------------------------------------------------------------------
// ComponentSpec parts.

ParameterType parameter_type(const Json& spec, const std::string& path) {
  const std::string p = join(path, "parameterType");
  const std::string name = as_string(require(spec, "parameterType", path), p);
  if (name == "TASK_FINAL_STATUS") {
    fail(p, "not supported locally: exit handlers (dsl.PipelineTaskFinalStatus)");
  }
  try {
    return parse_parameter_type(name);
  } catch (const Error& e) {
    fail(p, e.what());
  }
}

ArtifactType artifact_type(const Json& j, const std::string& path) {
  check_fields(j, path, {"schemaTitle", "schemaVersion"},
               {{"schemaUri", "schemaUri artifact types"},
                {"instanceSchema", "instanceSchema artifact types"}});
  ArtifactType t;
  t.schema_title = as_string(require(j, "schemaTitle", path), join(path, "schemaTitle"));
  t.schema_version = string_or_empty(j, "schemaVersion", path);
  return t;
}

void reject_artifact_list(const Json& spec, const std::string& path) {
  if (const Json* list = find(spec, "isArtifactList")) {
    if (as_bool(*list, join(path, "isArtifactList"))) {
      fail(join(path, "isArtifactList"), "not supported locally: artifact lists (dsl.Collected)");
    }
  }
}

Interface parse_interface(const Json& component, const std::string& path) {
  Interface iface;
  if (const Json* in = find(component, "inputDefinitions")) {
    const std::string in_path = join(path, "inputDefinitions");
    check_fields(*in, in_path, {"parameters", "artifacts"});
    for (const auto& [name, spec] : map_field(*in, "parameters", in_path).items()) {
      const std::string p = join(join(in_path, "parameters"), name);
      check_fields(spec, p, {"parameterType", "defaultValue", "isOptional", "description"},
                   {{"type", "the pre-2.0 'type' field; compile with the KFP v2 SDK"}});
      InputParameter param;
      param.type = parameter_type(spec, p);
      if (const Json* opt = find(spec, "isOptional")) {
        param.optional = as_bool(*opt, join(p, "isOptional"));
      }
      if (const Json* def = find(spec, "defaultValue")) {
        try {
          param.default_value = coerce_parameter(*def, param.type);
        } catch (const Error& e) {
          fail(join(p, "defaultValue"), e.what());
        }
      }
      iface.input_parameters[name] = param;
    }
    for (const auto& [name, spec] : map_field(*in, "artifacts", in_path).items()) {
      const std::string p = join(join(in_path, "artifacts"), name);
      check_fields(spec, p, {"artifactType", "isArtifactList", "isOptional", "description"});
      reject_artifact_list(spec, p);
      InputArtifact artifact;
      artifact.type = artifact_type(require(spec, "artifactType", p), join(p, "artifactType"));
      if (const Json* opt = find(spec, "isOptional")) {
        artifact.optional = as_bool(*opt, join(p, "isOptional"));
      }
      iface.input_artifacts[name] = artifact;
    }
  }
  if (const Json* out = find(component, "outputDefinitions")) {
    const std::string out_path = join(path, "outputDefinitions");
    check_fields(*out, out_path, {"parameters", "artifacts"});
    for (const auto& [name, spec] : map_field(*out, "parameters", out_path).items()) {
      const std::string p = join(join(out_path, "parameters"), name);
      check_fields(spec, p, {"parameterType", "description"});
      iface.output_parameters[name] = parameter_type(spec, p);
    }
    for (const auto& [name, spec] : map_field(*out, "artifacts", out_path).items()) {
      const std::string p = join(join(out_path, "artifacts"), name);
      check_fields(spec, p, {"artifactType", "metadata", "isArtifactList", "description"});
      reject_artifact_list(spec, p);
      OutputArtifact artifact;
      artifact.type = artifact_type(require(spec, "artifactType", p), join(p, "artifactType"));
      if (const Json* md = find(spec, "metadata")) {
        artifact.metadata = as_object(*md, join(p, "metadata"));
      }
      iface.output_artifacts[name] = artifact;
    }
  }
  return iface;
}

// ---------------------------------------------------------------------------------------------
// Tasks and DAGs.

ParameterSource parameter_source(const Json& j, const std::string& path) {
  check_fields(j, path, {"taskOutputParameter", "runtimeValue", "componentInputParameter"},
               {{"taskFinalStatus", "exit handlers (dsl.ExitHandler, PipelineTaskFinalStatus)"},
                {"parameterExpressionSelector", "parameter expressions (dsl.ParallelFor items)"}});
  if (j.size() != 1) {
    fail(path,
         "expected exactly one of taskOutputParameter, runtimeValue, componentInputParameter");
  }
  ParameterSource src;
  if (const Json* t = find(j, "taskOutputParameter")) {
    const std::string p = join(path, "taskOutputParameter");
    check_fields(*t, p, {"producerTask", "outputParameterKey"});
    src.kind = ParameterSource::Kind::kTaskOutput;
    src.producer_task = as_string(require(*t, "producerTask", p), join(p, "producerTask"));
    src.output_key = as_string(require(*t, "outputParameterKey", p), join(p, "outputParameterKey"));
  } else if (const Json* r = find(j, "runtimeValue")) {
    const std::string p = join(path, "runtimeValue");
    check_fields(*r, p, {"constant"}, {{"constantValue", "the pre-2.0 constantValue field"}});
    src.kind = ParameterSource::Kind::kConstant;
    src.constant = require(*r, "constant", p);
  } else {
    src.kind = ParameterSource::Kind::kComponentInput;
    src.name = as_string(j["componentInputParameter"], join(path, "componentInputParameter"));
  }
  return src;
}

ArtifactSource artifact_source(const Json& j, const std::string& path) {
  check_fields(j, path, {"taskOutputArtifact", "componentInputArtifact"});
  if (j.size() != 1) {
    fail(path, "expected exactly one of taskOutputArtifact, componentInputArtifact");
  }
  ArtifactSource src;
  if (const Json* t = find(j, "taskOutputArtifact")) {
    const std::string p = join(path, "taskOutputArtifact");
    check_fields(*t, p, {"producerTask", "outputArtifactKey"});
    src.kind = ArtifactSource::Kind::kTaskOutput;
    src.producer_task = as_string(require(*t, "producerTask", p), join(p, "producerTask"));
    src.output_key = as_string(require(*t, "outputArtifactKey", p), join(p, "outputArtifactKey"));
  } else {
    src.kind = ArtifactSource::Kind::kComponentInput;
    src.name = as_string(j["componentInputArtifact"], join(path, "componentInputArtifact"));
  }
  return src;
}

Task parse_task(const std::string& name, const Json& j, const std::string& path,
                std::vector<std::string>& warnings) {
  check_fields(j, path,
               {"taskInfo", "inputs", "dependentTasks", "cachingOptions", "componentRef",
                "triggerPolicy", "retryPolicy"},
               {{"parameterIterator", "loops (dsl.ParallelFor)"},
                {"artifactIterator", "loops (dsl.ParallelFor)"},
                {"iteratorPolicy", "loops (dsl.ParallelFor)"}});
  Task task;
  task.name = name;
  task.display_name = name;
  if (const Json* info = find(j, "taskInfo")) {
    check_fields(*info, join(path, "taskInfo"), {"name"});
    if (const Json* shown = find(*info, "name")) {
      task.display_name = as_string(*shown, join(path, "taskInfo.name"));
    }
  }
  const std::string ref_path = join(path, "componentRef");
  const Json& ref = require(j, "componentRef", path);
  check_fields(ref, ref_path, {"name"});
  task.component = as_string(require(ref, "name", ref_path), join(ref_path, "name"));
  if (const Json* inputs = find(j, "inputs")) {
    const std::string p = join(path, "inputs");
    check_fields(*inputs, p, {"parameters", "artifacts"});
    for (const auto& [key, src] : map_field(*inputs, "parameters", p).items()) {
      task.parameters[key] = parameter_source(src, join(join(p, "parameters"), key));
    }
    for (const auto& [key, src] : map_field(*inputs, "artifacts", p).items()) {
      task.artifacts[key] = artifact_source(src, join(join(p, "artifacts"), key));
    }
  }
  std::set<std::string> upstream;
  if (const Json* deps = find(j, "dependentTasks")) {
    const std::string p = join(path, "dependentTasks");
    as_array(*deps, p);
    for (size_t i = 0; i < deps->size(); ++i) {
      upstream.insert(as_string((*deps)[i], at_index(p, i)));
    }
  }
  for (const auto& [key, src] : task.parameters) {
    if (src.kind == ParameterSource::Kind::kTaskOutput) upstream.insert(src.producer_task);
  }
  for (const auto& [key, src] : task.artifacts) {
    if (src.kind == ArtifactSource::Kind::kTaskOutput) upstream.insert(src.producer_task);
  }
  task.upstream.assign(upstream.begin(), upstream.end());
  if (const Json* caching = find(j, "cachingOptions")) {
    check_fields(*caching, join(path, "cachingOptions"), {"enableCache", "cacheKey"});
  }
  if (const Json* trigger = find(j, "triggerPolicy")) {
    const std::string p = join(path, "triggerPolicy");
    check_fields(*trigger, p, {"condition", "strategy"});
    const std::string strategy = string_or_empty(*trigger, "strategy", p);
    if (strategy == "ALL_UPSTREAM_TASKS_COMPLETED") {
      fail(join(p, "strategy"), "not supported locally: exit handlers (dsl.ExitHandler)");
    }
    if (!strategy.empty() && strategy != "ALL_UPSTREAM_TASKS_SUCCEEDED" &&
        strategy != "TRIGGER_STRATEGY_UNSPECIFIED") {
      fail(join(p, "strategy"), "unknown trigger strategy '" + strategy + "'");
    }
    if (const Json* cond = find(*trigger, "condition")) {
      const std::string text = as_string(*cond, join(p, "condition"));
      try {
        task.condition = CelExpression::parse(text);
      } catch (const Error& e) {
        fail(join(p, "condition"), std::string(e.what()) + " in '" + text + "'");
      }
    }
  }
  if (const Json* retry = find(j, "retryPolicy")) {
    check_fields(*retry, join(path, "retryPolicy"),
                 {"maxRetryCount", "backoffDuration", "backoffFactor", "backoffMaxDuration"});
    warnings.push_back(join(path, "retryPolicy") + ": ignored; kfp-local runs each task once");
  }
  return task;
}

OutputSelector selector(const Json& j, const std::string& path, const char* key_field) {
  check_fields(j, path, {"producerSubtask", key_field});
  return {as_string(require(j, "producerSubtask", path), join(path, "producerSubtask")),
          as_string(require(j, key_field, path), join(path, key_field))};
}

Dag parse_dag(const Json& j, const std::string& path, std::vector<std::string>& warnings) {
  check_fields(j, path, {"tasks", "outputs"});
  Dag dag;
  for (const auto& [name, spec] : map_field(j, "tasks", path).items()) {
    dag.tasks[name] = parse_task(name, spec, join(join(path, "tasks"), name), warnings);
  }
  if (const Json* outputs = find(j, "outputs")) {
    const std::string op = join(path, "outputs");
    check_fields(*outputs, op, {"parameters", "artifacts"});
    for (const auto& [key, spec] : map_field(*outputs, "parameters", op).items()) {
      const std::string p = join(join(op, "parameters"), key);
      check_fields(spec, p, {"valueFromParameter", "valueFromOneof"});
      auto& selectors = dag.output_parameters[key];
      if (const Json* one = find(spec, "valueFromParameter")) {
        selectors.push_back(selector(*one, join(p, "valueFromParameter"), "outputParameterKey"));
      } else if (const Json* oneof = find(spec, "valueFromOneof")) {
        const std::string q = join(p, "valueFromOneof");
        check_fields(*oneof, q, {"parameterSelectors"});
        const std::string s = join(q, "parameterSelectors");
        const Json& list = as_array(require(*oneof, "parameterSelectors", q), s);
        for (size_t i = 0; i < list.size(); ++i) {
          selectors.push_back(selector(list[i], at_index(s, i), "outputParameterKey"));
        }
      } else {
        fail(p, "expected valueFromParameter or valueFromOneof");
      }
    }
    for (const auto& [key, spec] : map_field(*outputs, "artifacts", op).items()) {
      const std::string p = join(join(op, "artifacts"), key);
      check_fields(spec, p, {"artifactSelectors"});
      const std::string s = join(p, "artifactSelectors");
      const Json& list = as_array(require(spec, "artifactSelectors", p), s);
      for (size_t i = 0; i < list.size(); ++i) {
        dag.output_artifacts[key].push_back(selector(list[i], at_index(s, i), "outputArtifactKey"));
      }
    }
  }
  return dag;
}

Component parse_component(const std::string& name, const Json& j, const std::string& path,
                          std::vector<std::string>& warnings) {
  check_fields(j, path, {"inputDefinitions", "outputDefinitions", "dag", "executorLabel"});
  Component c;
  c.name = name;
  c.interface = parse_interface(j, path);
  const Json* dag = find(j, "dag");
  const Json* label = find(j, "executorLabel");
  if ((dag != nullptr) == (label != nullptr)) {
    fail(path, "expected exactly one of dag, executorLabel");
  }
  if (dag) c.dag = parse_dag(*dag, join(path, "dag"), warnings);
  if (label) c.executor_label = as_string(*label, join(path, "executorLabel"));
  return c;
}

// ---------------------------------------------------------------------------------------------
// Executors.

std::vector<std::string> string_list(const Json& obj, const char* key, const std::string& path) {
  std::vector<std::string> out;
  const Json* list = find(obj, key);
  if (!list) return out;
  const std::string p = join(path, key);
  as_array(*list, p);
  for (size_t i = 0; i < list->size(); ++i) {
    const Json& item = (*list)[i];
    if (!item.is_string()) {
      fail(at_index(p, i),
           "expected a string, got " + describe_value(item) + " (quote it in YAML)");
    }
    out.push_back(item.get<std::string>());
  }
  return out;
}

Executor parse_executor(const Json& j, const std::string& path) {
  check_fields(j, path, {"container", "importer"},
               {{"resolver", "resolver executors"}, {"customJob", "custom jobs"}});
  if (const Json* c = find(j, "container")) {
    const std::string p = join(path, "container");
    check_fields(*c, p, {"image", "command", "args", "env", "resources"},
                 {{"lifecycle", "container lifecycle hooks"}});
    ContainerExecutor exec;
    exec.image = string_or_empty(*c, "image", p);
    exec.command = string_list(*c, "command", p);
    exec.args = string_list(*c, "args", p);
    if (const Json* env = find(*c, "env")) {
      const std::string ep = join(p, "env");
      as_array(*env, ep);
      for (size_t i = 0; i < env->size(); ++i) {
        const std::string item_path = at_index(ep, i);
        check_fields((*env)[i], item_path, {"name", "value"});
        exec.env.push_back(
            {as_string(require((*env)[i], "name", item_path), join(item_path, "name")),
             string_or_empty((*env)[i], "value", item_path)});
      }
    }
    if (const Json* res = find(*c, "resources")) as_object(*res, join(p, "resources"));
    return exec;
  }
  if (const Json* imp = find(j, "importer")) {
    const std::string p = join(path, "importer");
    check_fields(*imp, p,
                 {"artifactUri", "typeSchema", "metadata", "reimport", "downloadToWorkspace"});
    ImporterExecutor exec;
    const std::string up = join(p, "artifactUri");
    const Json& uri = require(*imp, "artifactUri", p);
    check_fields(uri, up, {"constant", "runtimeParameter"});
    if (uri.size() != 1) fail(up, "expected exactly one of constant, runtimeParameter");
    if (const Json* constant = find(uri, "constant")) {
      exec.constant_uri = as_string(*constant, join(up, "constant"));
    } else {
      exec.runtime_parameter = as_string(uri["runtimeParameter"], join(up, "runtimeParameter"));
    }
    exec.type = artifact_type(require(*imp, "typeSchema", p), join(p, "typeSchema"));
    if (const Json* md = find(*imp, "metadata")) {
      exec.metadata = as_object(*md, join(p, "metadata"));
    }
    return exec;
  }
  fail(path, "expected container or importer");
}

// ---------------------------------------------------------------------------------------------
// Cross-references, checked once everything is parsed.

class Validator {
 public:
  explicit Validator(const Pipeline& p) : p_(p) {}

  void run() {
    for (const auto& [name, c] : p_.components) check_component(c, join("components", name));
    check_component(p_.root, "root");
    for (const auto& [label, exec] : p_.executors) {
      const bool used = std::any_of(p_.components.begin(), p_.components.end(),
                                    [&l = label](const auto& c) { return c.second.executor_label == l; });
      if (!used) fail(join("deploymentSpec.executors", label), "is used by no component");
    }
    std::vector<std::string> stack;
    check_nesting(p_.root, stack);
  }

  // Fills Dag::order for every DAG, which needs mutable access.
  static void order_dag(Dag& dag, const std::string& path) {
    std::map<std::string, size_t> pending;
    std::map<std::string, std::vector<std::string>> downstream;
    for (const auto& [name, task] : dag.tasks) {
      pending[name] = task.upstream.size();
      for (const auto& up : task.upstream) downstream[up].push_back(name);
    }
    std::set<std::string> ready;
    for (const auto& [name, n] : pending) {
      if (n == 0) ready.insert(name);
    }
    dag.order.clear();
    while (!ready.empty()) {
      const std::string name = *ready.begin();
      ready.erase(ready.begin());
      dag.order.push_back(name);
      for (const auto& down : downstream[name]) {
        if (--pending[down] == 0) ready.insert(down);
      }
    }
    if (dag.order.size() != dag.tasks.size()) {
      std::string members;
      for (const auto& [name, n] : pending) {
        if (n > 0) members += (members.empty() ? "" : ", ") + name;
      }
      fail(join(path, "tasks"), "dependency cycle among tasks " + members);
    }
  }

 private:
  void check_component(const Component& c, const std::string& path) {
    if (c.dag) return check_dag(c, path);
    const auto exec = p_.executors.find(c.executor_label);
    if (exec == p_.executors.end()) {
      fail(join(path, "executorLabel"),
           "names no executor '" + c.executor_label + "' in deploymentSpec.executors");
    }
    const std::string ep = "deploymentSpec.executors." + c.executor_label;
    if (const auto* container = std::get_if<ContainerExecutor>(&exec->second)) {
      check_args(container->command, c, join(ep, "container.command"));
      check_args(container->args, c, join(ep, "container.args"));
      return;
    }
    const auto& importer = std::get<ImporterExecutor>(exec->second);
    if (!c.interface.output_artifacts.count("artifact")) {
      fail(path,
           "uses importer " + c.executor_label + " but declares no output artifact 'artifact'");
    }
    if (!importer.constant_uri && !c.interface.input_parameters.count(importer.runtime_parameter)) {
      fail(join(ep, "importer.artifactUri.runtimeParameter"),
           "names no input parameter '" + importer.runtime_parameter + "' of " + c.name);
    }
  }

  void check_args(const std::vector<std::string>& args, const Component& c,
                  const std::string& path) {
    for (size_t i = 0; i < args.size(); ++i) {
      try {
        check_placeholders(args[i], c.interface);
      } catch (const Error& e) {
        fail(at_index(path, i), std::string(e.what()) + " (component " + c.name + ")");
      }
    }
  }

  const Component& component(const std::string& name, const std::string& path) const {
    const auto it = p_.components.find(name);
    if (it == p_.components.end()) fail(path, "names no component '" + name + "'");
    return it->second;
  }

  void check_dag(const Component& c, const std::string& path) {
    const Dag& dag = *c.dag;
    const std::string dag_path = join(path, "dag");
    // References first: checking a consumer looks at its producer's component.
    for (const auto& [name, task] : dag.tasks) {
      component(task.component, join(join(join(dag_path, "tasks"), name), "componentRef.name"));
    }
    for (const auto& [name, task] : dag.tasks) {
      check_task(task, c, join(join(dag_path, "tasks"), name));
    }
    // DAG outputs: declared by the component, and produced by a declared task output.
    const std::string op = join(dag_path, "outputs");
    for (const auto& [key, type] : c.interface.output_parameters) {
      if (!dag.output_parameters.count(key)) {
        fail(path, "declares output parameter '" + key + "' that dag.outputs does not produce");
      }
    }
    for (const auto& [key, type] : c.interface.output_artifacts) {
      if (!dag.output_artifacts.count(key)) {
        fail(path, "declares output artifact '" + key + "' that dag.outputs does not produce");
      }
    }
    for (const auto& [key, selectors] : dag.output_parameters) {
      const std::string p = join(join(op, "parameters"), key);
      if (!c.interface.output_parameters.count(key)) {
        fail(p, "not declared in outputDefinitions of " + c.name);
      }
      for (const auto& s : selectors) {
        const Component& producer =
            producer_component(dag, s.producer_task, join(p, "producerSubtask"));
        if (!producer.interface.output_parameters.count(s.output_key)) {
          fail(join(p, "outputParameterKey"),
               producer.name + " declares no output parameter '" + s.output_key + "'");
        }
      }
    }
    for (const auto& [key, selectors] : dag.output_artifacts) {
      const std::string p = join(join(op, "artifacts"), key);
      if (!c.interface.output_artifacts.count(key)) {
        fail(p, "not declared in outputDefinitions of " + c.name);
      }
      for (const auto& s : selectors) {
        const Component& producer =
            producer_component(dag, s.producer_task, join(p, "producerSubtask"));
        if (!producer.interface.output_artifacts.count(s.output_key)) {
          fail(join(p, "outputArtifactKey"),
               producer.name + " declares no output artifact '" + s.output_key + "'");
        }
      }
    }
  }

  const Component& producer_component(const Dag& dag, const std::string& task,
                                      const std::string& path) const {
    const auto it = dag.tasks.find(task);
    if (it == dag.tasks.end()) fail(path, "names no task '" + task + "' in this DAG");
    return p_.component_of(it->second);
  }

  void check_task(const Task& task, const Component& enclosing, const std::string& path) {
    const Component& c = component(task.component, join(path, "componentRef.name"));
    const Dag& dag = *enclosing.dag;
    const std::string in = join(path, "inputs");
    // Task inputs the component does not declare are pipeline channels that the SDK adds for
    // f-string constants and resource fields; they are resolved like the others.
    for (const auto& [key, src] : task.parameters) {
      const std::string p = join(join(in, "parameters"), key);
      const auto def = c.interface.input_parameters.find(key);
      switch (src.kind) {
        case ParameterSource::Kind::kConstant:
          if (src.constant.is_string()) {
            for (const auto& name : input_parameter_references(src.constant.get<std::string>())) {
              if (!task.parameters.count(name)) {
                fail(join(p, "runtimeValue.constant"),
                     "refers to '" + name + "', which is not an input of this task");
              }
            }
          }
          if (def == c.interface.input_parameters.end()) break;
          try {
            coerce_parameter(src.constant, def->second.type);
          } catch (const Error& e) {
            fail(join(p, "runtimeValue.constant"), e.what());
          }
          break;
        case ParameterSource::Kind::kComponentInput:
          if (!enclosing.interface.input_parameters.count(src.name)) {
            fail(join(p, "componentInputParameter"),
                 "names no input parameter '" + src.name + "' of " + enclosing.name);
          }
          break;
        case ParameterSource::Kind::kTaskOutput: {
          const std::string tp = join(p, "taskOutputParameter");
          if (src.producer_task == task.name) {
            fail(join(tp, "producerTask"), "a task cannot consume its own output");
          }
          const Component& producer =
              producer_component(dag, src.producer_task, join(tp, "producerTask"));
          if (!producer.interface.output_parameters.count(src.output_key)) {
            fail(join(tp, "outputParameterKey"),
                 producer.name + " declares no output parameter '" + src.output_key + "'");
          }
          break;
        }
      }
    }
    for (const auto& [key, src] : task.artifacts) {
      const std::string p = join(join(in, "artifacts"), key);
      if (!c.interface.input_artifacts.count(key)) {
        fail(p, c.name + " declares no input artifact '" + key + "'");
      }
      if (src.kind == ArtifactSource::Kind::kComponentInput) {
        if (!enclosing.interface.input_artifacts.count(src.name)) {
          fail(join(p, "componentInputArtifact"),
               "names no input artifact '" + src.name + "' of " + enclosing.name);
        }
        continue;
      }
      const std::string tp = join(p, "taskOutputArtifact");
      if (src.producer_task == task.name) {
        fail(join(tp, "producerTask"), "a task cannot consume its own output");
      }
      const Component& producer =
          producer_component(dag, src.producer_task, join(tp, "producerTask"));
      if (!producer.interface.output_artifacts.count(src.output_key)) {
        fail(join(tp, "outputArtifactKey"),
             producer.name + " declares no output artifact '" + src.output_key + "'");
      }
    }
    for (const auto& [key, def] : c.interface.input_parameters) {
      if (!def.optional && !def.default_value && !task.parameters.count(key)) {
        fail(in, "missing required input parameter '" + key + "' of " + c.name);
      }
    }
    for (const auto& [key, def] : c.interface.input_artifacts) {
      if (!def.optional && !task.artifacts.count(key)) {
        fail(in, "missing required input artifact '" + key + "' of " + c.name);
      }
    }
    for (const auto& up : task.upstream) {
      if (up == task.name) fail(join(path, "dependentTasks"), "a task cannot depend on itself");
      if (!dag.tasks.count(up)) {
        fail(join(path, "dependentTasks"), "names no task '" + up + "' in this DAG");
      }
    }
    if (task.condition) {
      for (const auto& name : task.condition->parameter_names()) {
        if (!task.parameters.count(name) && !c.interface.input_parameters.count(name)) {
          fail(join(path, "triggerPolicy.condition"),
               "reads inputs.parameter_values['" + name + "'], which is not an input of this task");
        }
      }
    }
  }

  // A DAG component must not contain itself, or a run would never end.
  void check_nesting(const Component& c, std::vector<std::string>& stack) {
    if (!c.dag) return;
    if (std::find(stack.begin(), stack.end(), c.name) != stack.end()) {
      std::string chain;
      for (const auto& s : stack) chain += s + " -> ";
      fail(c.name == "root" ? "root" : join("components", c.name),
           "contains itself: " + chain + c.name);
    }
    stack.push_back(c.name);
    for (const auto& [name, task] : c.dag->tasks) check_nesting(p_.component_of(task), stack);
    stack.pop_back();
  }

  const Pipeline& p_;
};

Pipeline parse_document(const Json& doc) {
  as_object(doc, "(top level)");
  check_fields(doc, "",
               {"pipelineInfo", "sdkVersion", "schemaVersion", "deploymentSpec", "components",
                "root", "defaultPipelineRoot"});
  Pipeline p;
  const std::string version =
      as_string(require(doc, "schemaVersion", "(top level)"), "schemaVersion");
  if (version != "2.1.0") fail("schemaVersion", "expected 2.1.0, got '" + version + "'");
  const Json& info = require(doc, "pipelineInfo", "(top level)");
  check_fields(info, "pipelineInfo", {"name", "displayName", "description"});
  p.name = as_string(require(info, "name", "pipelineInfo"), "pipelineInfo.name");
  p.display_name = string_or_empty(info, "displayName", "pipelineInfo");
  p.description = string_or_empty(info, "description", "pipelineInfo");
  p.sdk_version = string_or_empty(doc, "sdkVersion", "");
  p.default_pipeline_root = string_or_empty(doc, "defaultPipelineRoot", "");
  if (const Json* deployment = find(doc, "deploymentSpec")) {
    check_fields(*deployment, "deploymentSpec", {"executors"});
    for (const auto& [label, spec] :
         map_field(*deployment, "executors", "deploymentSpec").items()) {
      p.executors.emplace(label, parse_executor(spec, "deploymentSpec.executors." + label));
    }
  }
  for (const auto& [name, spec] : map_field(doc, "components", "").items()) {
    p.components[name] = parse_component(name, spec, join("components", name), p.warnings);
  }
  p.root = parse_component("root", require(doc, "root", "(top level)"), "root", p.warnings);
  if (!p.root.dag) fail("root", "expected a dag");
  Validator(p).run();
  // Ordering comes last: it reads dependency names that the validator has proven to exist.
  Validator::order_dag(*p.root.dag, "root.dag");
  for (auto& [name, c] : p.components) {
    if (c.dag) Validator::order_dag(*c.dag, join(join("components", name), "dag"));
  }
  return p;
}

void check_platform_document(const Json& doc, std::vector<std::string>& warnings) {
  if (doc.is_null()) return;  // a trailing '---'
  check_fields(doc, "(second document)", {"platforms"});
  warnings.push_back(
      "PlatformSpec (Kubernetes settings such as volumes and node selectors) is ignored locally");
}

}  // namespace

Pipeline parse_pipeline(const std::string& text, const std::string& source) {
  const std::vector<Json> docs = kfp::parse_yaml_documents(text, source);
  if (docs.empty() || docs.size() > 2) {
    throw Error(source + ": expected one PipelineSpec document (and optionally a PlatformSpec)");
  }
  try {
    Pipeline p = parse_document(docs[0]);
    if (docs.size() == 2) check_platform_document(docs[1], p.warnings);
    return p;
  } catch (const Error& e) {
    throw Error(source + ": " + e.what());
  }
}

Pipeline load_pipeline(const std::filesystem::path& file) {
  return parse_pipeline(io::read_file(file, "pipeline"), file.string());
}

std::vector<std::string> backend_problems(const std::filesystem::path& file,
                                          const kfp::BackendProfile& profile) {
  const auto docs = kfp::parse_yaml_documents(io::read_file(file, "pipeline"), file.string());
  std::vector<std::string> lines;
  if (docs.empty()) return lines;
  for (const auto& p : kfp::backend_problems(docs[0], profile)) {
    lines.push_back(file.string() + ": " + p);
  }
  return lines;
}

}  // namespace advkfp::kfp_local
