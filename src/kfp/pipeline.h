// A small builder for KFP pipelines of container components, compiled to the KFP IR
// (ml_pipelines.PipelineSpec as protojson, schemaVersion 2.1.0): what `kfp.compiler` produces for
// a `@dsl.pipeline` with `dsl.If` branches, written so a pipeline reads top to bottom as its DAG.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kfp/component.h"

namespace advkfp::kfp {

/// A value bound to a task input: a constant, a pipeline parameter, or another task's output.
struct Value {
  enum class Kind { kConstant, kPipelineParam, kTaskOutput, kOneOf };
  Kind kind = Kind::kConstant;
  OrderedJson constant;  ///< kConstant
  std::string name;      ///< pipeline parameter name, or the producer's output name
  int task = -1;         ///< kTaskOutput: index of the producer task; kOneOf: of the one_of()
  std::string type;      ///< KFP type (Float, Dataset, ...)
  bool artifact() const;
};

/// `operand <op> constant`, e.g. detect.output("degraded") == true.
struct Condition {
  Value operand;
  std::string op;
  OrderedJson rhs;
};
Condition operator==(const Value& v, const OrderedJson& rhs);
Condition operator!=(const Value& v, const OrderedJson& rhs);

class Pipeline;

/// A task handle. Setters return the handle so calls chain.
class Task {
 public:
  Task& set(const std::string& input, const Value& value);
  Task& set(const std::string& input, const OrderedJson& constant);
  /// CPU and memory requests (Kubernetes quantities, e.g. "2", "4G").
  Task& resources(const std::string& cpu_request, const std::string& memory_request);
  /// Output `name` of this task, to bind to another task's input.
  Value output(const std::string& name) const;
  const std::string& key() const;

 private:
  friend class Pipeline;
  Task(Pipeline* p, int index) : pipeline_(p), index_(index) {}
  Pipeline* pipeline_;
  int index_;
};

class Pipeline {
 public:
  /// `name` must match KFP's pattern [a-z0-9]([-a-z0-9]*[a-z0-9])?; throws advkfp::Error otherwise.
  Pipeline(std::string name, std::string description);

  /// Declares a pipeline parameter with a default (type: Float, Integer, String, Boolean).
  Value input(const std::string& name, const std::string& type, const OrderedJson& default_value,
              const std::string& description);
  /// Declares a pipeline parameter without a default: every run must give it (the KFP UI asks for
  /// it; kfp-local refuses a run without it).
  Value required_input(const std::string& name, const std::string& type,
                       const std::string& description);

  /// Adds a task running `component` in the current scope (the root DAG or an open branch). `key`
  /// names it, in the IR and in the KFP UI alike (no separate display name: backends up to 2.5
  /// look producers up by display name); empty: `<component>[-N]`. Throws advkfp::Error for a
  /// name KFP does not accept or one already used.
  Task task(const ComponentSpec& component, const std::string& key = "");

  /// `dsl.importer`: a task whose output `artifact` (of artifact type `type`, e.g. Dataset) is the
  /// existing artifact at the URI held by pipeline parameter `uri`, as the SDK compiles it (input
  /// parameter `uri`, executor `importer.artifactUri.runtimeParameter: uri`). `uri` must be a
  /// pipeline parameter: the backend's importer launcher reads the URI from the parent DAG's input
  /// parameter that the task binds with componentInputParameter (kfp/backends.cpp).
  Task importer(const Value& uri, const std::string& type, const std::string& key);

  /// Opens a conditional branch (`dsl.If`): tasks added until end_branch() run only when `c` holds.
  void begin_branch(const Condition& c);
  void end_branch();

  /// `dsl.If(c)` / `dsl.Else()` as one `condition-branches-N` group: begin_if() opens the If arm,
  /// begin_else() the Else arm (trigger `!(c)`), end_if() closes both.
  void begin_if(const Condition& c);
  void begin_else();
  void end_if();
  /// `dsl.OneOf`: the output artifact of whichever arm of a closed if/else group ran. Compiling a
  /// pipeline that consumes it fails: backends up to 2.16 cannot resolve it (kfp/backends.h); run
  /// the consumer inside each arm instead. Takes one
  /// output per arm, each produced by a task directly in that arm, all of one artifact type.
  Value one_of(const std::vector<Value>& per_arm);

  /// The compiled IR document. Throws advkfp::Error for an unset required input, an unknown
  /// input/output name, a type mismatch, an output used outside the branch that produces it, or a
  /// construct some released KFP backend cannot run (kfp/backends.h; e.g. a one_of() consumed
  /// after its group), with the line kfp-local prints for it.
  OrderedJson compile() const;
  /// compile() as YAML with a generated-file header.
  std::string compile_yaml() const;

 private:
  friend class Task;
  struct TaskData {
    ComponentSpec component;
    std::string key;
    std::map<std::string, Value> inputs;
    std::string cpu_request, memory_request;
    int scope = 0;
    bool importer = false;  ///< an importer task: component is its interface (uri -> artifact)
  };
  struct Scope {
    enum class Kind { kRoot, kCondition, kBranches };
    Kind kind = Kind::kRoot;
    int parent = -1;  ///< -1 for the root
    Condition condition;
    bool negated = false;  ///< the Else arm of an if/else group
    std::string name;      ///< condition-N or condition-branches-N
    bool has_else = false; ///< kBranches: the group has its Else arm
  };
  struct OneOf {
    int group = -1;                ///< the kBranches scope
    std::string key;               ///< pipelinechannel--condition-branches-N-oneof-M
    std::vector<Value> per_arm;
  };
  struct Param {
    std::string name, type, description;
    OrderedJson default_value;
    bool required = false;
  };

  std::string name_, description_;
  std::vector<Param> params_;
  std::vector<TaskData> tasks_;
  std::vector<Scope> scopes_;
  std::vector<OneOf> one_ofs_;
  std::vector<int> open_;  ///< stack of open scopes, root first
  std::map<std::string, int> key_counts_;
};

}  // namespace advkfp::kfp
