// Backend rules: each construct below is accepted by the spec and the SDK but fails, or is
// silently dropped, on some released KFP backend. Sources (kubeflow/pipelines at the tag named):
//  - display names: backend/src/v2/driver (2.0.3 .. 2.5.0) resolves a producer task in ML Metadata
//    by taskInfo.name while the IR refers to task keys; #8171, #11106, fixed by #11938, #12061
//    (2.14.0 and later).
//  - IfPresent: no backend/src/v2 code handles it up to 2.16.0 (the launcher substitutes strings
//    only, #11009); 2.17.0 backend/src/v2/driver/util.go resolves it for parameters only, an
//    artifact counts as absent (#14175, after 2.17.0).
//  - DAG outputs: sub-DAG output resolution arrived in 2.4.0 (#11196); 2.16.0
//    backend/src/v2/driver/resolve.go takes the last of several artifactSelectors (#13436), fixed
//    in 2.17.0 (#13437).
//  - parameters: the 2.17.0 driver substitutes {{$.inputs.parameters['x']}} before input defaults
//    are filled in, so an input the task does not pass is "not found" (#14175).
//  - importer: backend/src/v2/component/importer_launcher.go (ImportSpecToMLMDArtifact, the same
//    at 2.0.3, 2.2.0, 2.5.0, 2.15.0 and 2.17.0) reads a runtimeParameter URI from the parent
//    DAG's input parameter named by the task's componentInputParameter binding; any other
//    binding (a constant, a task output) resolves to no parameter and fails, as does an empty
//    URI.
//  - resources: 2.3.0 backend/src/v2/driver/driver.go reads only the numeric cpuRequest and
//    memoryRequest; the string resourceCpuRequest/resourceMemoryRequest are read from 2.4.0
//    (#11501). The SDK writes both.
#include "kfp/backends.h"

#include <algorithm>
#include <regex>
#include <set>

#include "common/error.h"

namespace advkfp::kfp {
namespace {

using Json = nlohmann::json;

struct Rule {
  int first, last;     ///< backend minors it breaks on, inclusive
  const char* effect;  ///< what the backend does
  const char* issues;  ///< upstream issues and fixes
  const char* fix;
};

const Rule kDisplayName{0, 5,
                        "the driver finds producer tasks by display name while the IR refers to "
                        "keys: \"cannot find producer task\"",
                        "kubeflow/pipelines #8171, #11106; fixed by #11938, #12061",
                        "name the task by its key, with no separate display name"};
const Rule kIfPresentArtifact{
    0, 17,
    "up to 2.16 the launcher passes the JSON as one literal argument; 2.17.0 resolves IfPresent "
    "for parameters only, so the artifact is always absent and its flag dropped",
    "kubeflow/pipelines #11009, open; #14175, after 2.17.0",
    "pass an input the pipeline always wires as a plain inputPath, and let a truly optional "
    "artifact reach the tool through --executor-input"};
const Rule kIfPresentParameter{0, 16,
                               "the launcher passes the JSON as one literal argument",
                               "kubeflow/pipelines #11009; resolved in the driver from 2.17.0",
                               "pass the parameter as a plain inputValue with a default"};
const Rule kDagOutput{0, 3, "drivers before 2.4.0 do not resolve a sub-DAG's outputs",
                      "kubeflow/pipelines #11196, in 2.4.0",
                      "run the consumer inside the DAG, passing earlier results down as inputs"};
const Rule kOneOf{0, 16,
                  "drivers before 2.4.0 do not resolve DAG outputs; 2.4 to 2.16 take the last "
                  "selector, so the producer of an arm that did not run is looked for and fails",
                  "kubeflow/pipelines #13436; fixed in 2.17.0 by #13437",
                  "run the consumer inside each arm, passing earlier results down as inputs"};
const Rule kUnpassedParameter{17, 17,
                              "the driver substitutes placeholders before defaults are filled "
                              "in: \"parameter not found\"",
                              "kubeflow/pipelines #14175, after 2.17.0",
                              "pass every parameter the executor's args reference explicitly"};
const Rule kStringResources{
    0, 3, "drivers up to 2.3 read only the numeric cpuRequest/memoryRequest: requests are "
          "silently dropped",
    "string forms read from 2.4.0, kubeflow/pipelines #11501",
    "write the numeric cpuRequest/cpuLimit/memoryRequest/memoryLimit too, as the KFP SDK does"};

const Rule kImporterUri{
    0, 17,
    "the importer launcher looks the URI up among the parent DAG's input parameters by the "
    "name the task's componentInputParameter binding gives: \"parent DAG does not have input "
    "parameter\"",
    "backend/src/v2/component/importer_launcher.go, every release",
    "bind the importer's URI input to a pipeline parameter (componentInputParameter)"};

std::string version(int minor) { return "2." + std::to_string(minor); }

// "2.0-2.5", "2.17", or "2.0-2.17 (every release)".
std::string range(const Rule& r) {
  const auto& all = released_backend_minors();
  if (r.first == r.last) return version(r.first);
  const std::string span = version(r.first) + "-" + version(r.last);
  return r.first == all.front() && r.last == all.back() ? span + " (every release)" : span;
}

class Checker {
 public:
  Checker(const Json& ir, const BackendProfile& profile) : ir_(ir), profile_(profile) {}

  std::vector<std::string> run() {
    if (ir_.is_object() && ir_.contains("root")) dag(ir_["root"], "", 0);
    return problems_;
  }

 private:
  bool applies(const Rule& r) const {
    return std::any_of(profile_.minors.begin(), profile_.minors.end(),
                       [&](int m) { return m >= r.first && m <= r.last; });
  }
  void report(const std::string& task, const std::string& construct, const Rule& r) {
    if (!applies(r)) return;
    const std::string line = task + ": " + construct + ": breaks on KFP backend " + range(r) +
                             " (" + r.effect + "; " + r.issues + "); fix: " + r.fix;
    if (std::find(problems_.begin(), problems_.end(), line) == problems_.end()) {
      problems_.push_back(line);
    }
  }
  static const Json& at(const Json& j, const char* key) {
    static const Json kNull;
    return j.is_object() && j.contains(key) ? j[key] : kNull;
  }
  const Json& component(const Json& task) const {
    static const Json kNull;
    const Json& ref = at(at(task, "componentRef"), "name");
    return ref.is_string() ? at(at(ir_, "components"), ref.get<std::string>().c_str()) : kNull;
  }

  void dag(const Json& comp, const std::string& prefix, int depth) {
    const Json& tasks = at(at(comp, "dag"), "tasks");
    if (!tasks.is_object() || depth > 64) return;
    // Tasks whose outputs others in this DAG (or the DAG's own outputs) read.
    std::set<std::string> producers;
    for (const auto& [key, task] : tasks.items()) {
      for (const char* kind : {"parameters", "artifacts"}) {
        for (const auto& [name, in] : at(at(task, "inputs"), kind).items()) {
          for (const char* src : {"taskOutputParameter", "taskOutputArtifact"}) {
            const Json& p = at(at(in, src), "producerTask");
            if (p.is_string()) producers.insert(p.get<std::string>());
          }
        }
      }
    }
    const Json& outputs = at(at(comp, "dag"), "outputs");
    for (const auto& [key, out] : at(outputs, "artifacts").items()) {
      for (const auto& sel : at(out, "artifactSelectors")) {
        if (at(sel, "producerSubtask").is_string()) producers.insert(sel["producerSubtask"]);
      }
    }
    for (const auto& [key, out] : at(outputs, "parameters").items()) {
      const Json& one = at(at(out, "valueFromParameter"), "producerSubtask");
      if (one.is_string()) producers.insert(one.get<std::string>());
      for (const auto& sel : at(at(out, "valueFromOneof"), "parameterSelectors")) {
        if (at(sel, "producerSubtask").is_string()) producers.insert(sel["producerSubtask"]);
      }
    }

    for (const auto& [key, task] : tasks.items()) {
      const std::string path = prefix.empty() ? key : prefix + "/" + key;
      const Json& shown = at(at(task, "taskInfo"), "name");
      if (shown.is_string() && shown != key && producers.count(key)) {
        report(path, "shown as '" + shown.get<std::string>() +
                         "' (taskInfo.name differs from the task key) while other tasks read its "
                         "outputs",
               kDisplayName);
      }
      dag_outputs_read(tasks, task, path);
      const Json& c = component(task);
      if (at(c, "dag").is_object()) {
        dag(c, path, depth + 1);
      } else {
        container(task, c, path);
      }
    }
  }

  // A task reading an output of a sibling DAG task (a sub-pipeline or an if/else group).
  void dag_outputs_read(const Json& tasks, const Json& task, const std::string& path) {
    for (const char* kind : {"parameters", "artifacts"}) {
      const bool art = std::string(kind) == "artifacts";
      for (const auto& [name, in] : at(at(task, "inputs"), kind).items()) {
        const Json& src = at(in, art ? "taskOutputArtifact" : "taskOutputParameter");
        const Json& producer = at(src, "producerTask");
        const Json& key = at(src, art ? "outputArtifactKey" : "outputParameterKey");
        if (!producer.is_string() || !key.is_string()) continue;
        const Json& ptask = at(tasks, producer.get<std::string>().c_str());
        const Json& out =
            at(at(at(at(component(ptask), "dag"), "outputs"), kind), key.get<std::string>().c_str());
        if (out.is_null()) continue;
        const size_t selectors = art ? at(out, "artifactSelectors").size()
                                     : at(at(out, "valueFromOneof"), "parameterSelectors").size();
        const std::string what = "input '" + name + "' reads the output '" +
                                 key.get<std::string>() + "' of DAG task '" +
                                 producer.get<std::string>() + "'";
        if (selectors > 1) {
          report(path, what + " (a OneOf of " + std::to_string(selectors) + " selectors)",
                 kOneOf);
        } else {
          report(path, what + " (a DAG output)", kDagOutput);
        }
      }
    }
  }

  // IfPresent JSON placeholders in a command/args item, with the inputs they test.
  static void if_present_inputs(const Json& j, std::vector<std::string>& out) {
    if (j.is_object()) {
      if (j.contains("IfPresent") && at(j["IfPresent"], "InputName").is_string()) {
        out.push_back(j["IfPresent"]["InputName"]);
      }
      for (const auto& [k, v] : j.items()) if_present_inputs(v, out);
    } else if (j.is_array()) {
      for (const auto& v : j) if_present_inputs(v, out);
    }
  }
  // Parameters referenced outside IfPresent (which guards its own).
  static void plain_parameters(const Json& j, std::set<std::string>& out) {
    static const std::regex kParam(R"(\{\{\$\.inputs\.parameters\[['"]([^'"]+)['"]\]\}\})");
    if (j.is_string()) {
      const std::string s = j.get<std::string>();
      for (std::sregex_iterator it(s.begin(), s.end(), kParam), end; it != end; ++it) {
        out.insert((*it)[1]);
      }
    } else if (j.is_object() && j.contains("Concat")) {
      plain_parameters(j["Concat"], out);
    } else if (j.is_array()) {
      for (const auto& v : j) plain_parameters(v, out);
    }
  }

  void importer(const Json& task, const Json& spec, const std::string& path) {
    const Json& param = at(at(spec, "artifactUri"), "runtimeParameter");
    if (!param.is_string()) return;
    const Json& binding = at(at(at(task, "inputs"), "parameters"), param.get<std::string>().c_str());
    if (at(binding, "componentInputParameter").is_string()) return;
    report(path, "importer URI input '" + param.get<std::string>() +
                     "' is not bound to a DAG input parameter",
           kImporterUri);
  }

  void container(const Json& task, const Json& comp, const std::string& path) {
    const Json& label = at(comp, "executorLabel");
    if (!label.is_string()) return;
    const Json& executor =
        at(at(at(ir_, "deploymentSpec"), "executors"), label.get<std::string>().c_str());
    if (at(executor, "importer").is_object()) return importer(task, executor["importer"], path);
    const Json& spec = at(executor, "container");
    if (!spec.is_object()) return;
    const Json& inputs = at(comp, "inputDefinitions");
    std::set<std::string> referenced;
    for (const char* field : {"command", "args"}) {
      for (const auto& item : at(spec, field)) {
        Json parsed = item;
        if (item.is_string() && !item.get<std::string>().empty() &&
            item.get<std::string>().front() == '{') {
          parsed = Json::parse(item.get<std::string>(), nullptr, false);
          if (parsed.is_discarded()) parsed = item;
        }
        std::vector<std::string> guarded;
        if_present_inputs(parsed, guarded);
        for (const auto& name : guarded) {
          const bool art = at(at(inputs, "artifacts"), name.c_str()).is_object();
          report(path, std::string("args hold {\"IfPresent\": ...} on input '") + name + "' (" +
                           (art ? "an artifact" : "a parameter") + ")",
                 art ? kIfPresentArtifact : kIfPresentParameter);
        }
        plain_parameters(parsed, referenced);
      }
    }
    const Json& passed = at(at(task, "inputs"), "parameters");
    std::string unpassed;
    for (const auto& name : referenced) {
      if (passed.is_object() && passed.contains(name)) continue;
      unpassed += (unpassed.empty() ? "'" : ", '") + name + "'";
    }
    if (!unpassed.empty()) {
      report(path, "args use {{$.inputs.parameters[...]}} of inputs the task does not pass (" +
                       unpassed + ")",
             kUnpassedParameter);
    }
    const Json& res = at(spec, "resources");
    std::string strings;
    for (const auto& [str, num] : {std::pair{"resourceCpuRequest", "cpuRequest"},
                                   {"resourceMemoryRequest", "memoryRequest"},
                                   {"resourceCpuLimit", "cpuLimit"},
                                   {"resourceMemoryLimit", "memoryLimit"}}) {
      if (at(res, str).is_null() || at(res, num).is_number()) continue;
      strings += (strings.empty() ? "" : ", ") + std::string(str);
    }
    if (!strings.empty()) {
      report(path, "resources only as strings (" + strings + ")", kStringResources);
    }
  }

  const Json& ir_;
  const BackendProfile& profile_;
  std::vector<std::string> problems_;
};

}  // namespace

const std::vector<int>& released_backend_minors() {
  static const std::vector<int> kMinors = {0, 1, 2, 3, 4, 5, 14, 15, 16, 17};
  return kMinors;
}

BackendProfile backend_profile(const std::string& text) {
  if (text == "all") return {text, released_backend_minors()};
  if (text == "spec") return {text, {}};
  static const std::regex kRelease(R"(^2\.(\d+)(\.\d+)?$)");
  std::smatch m;
  if (std::regex_match(text, m, kRelease)) {
    const int minor = std::stoi(m[1]);
    const auto& all = released_backend_minors();
    if (std::find(all.begin(), all.end(), minor) != all.end()) return {text, {minor}};
  }
  std::string known;
  for (int minor : released_backend_minors()) known += version(minor) + ", ";
  throw UsageError(describe("kfp_backend", "'" + text + "' is not a released KFP 2.x backend (" +
                                               known + "or all, spec)"));
}

std::vector<std::string> backend_problems(const nlohmann::json& ir, const BackendProfile& profile) {
  return Checker(ir, profile).run();
}

}  // namespace advkfp::kfp
