// The pipeline builder: task naming, channels into branches, conditions, and its errors.
#include <catch2/catch.hpp>

#include "common/error.h"
#include "kfp/backends.h"
#include "kfp/ir_schema.h"
#include "kfp/pipeline.h"
#include "kfp/types.h"
#include "kfp/yaml.h"
#include "kfp/yaml_read.h"
#include "ir_problems.h"

using namespace advkfp;
using advkfp::kfp::Arg;

namespace {

kfp::ComponentSpec make(const std::string& name, std::vector<kfp::InputSpec> in,
                        std::vector<kfp::OutputSpec> out) {
  kfp::ComponentSpec c;
  c.name = name;
  c.description = name;
  c.image = "img/" + name + ":1";
  c.command = {name};
  c.inputs = std::move(in);
  c.outputs = std::move(out);
  for (const auto& i : c.inputs) {
    c.args.push_back({Arg::Kind::kLiteral, "--" + i.name});
    c.args.push_back({kfp::is_artifact_type(i.type) ? Arg::Kind::kInputPath : Arg::Kind::kInputValue,
                      i.name});
  }
  for (const auto& o : c.outputs) {
    c.args.push_back({Arg::Kind::kLiteral, "--" + o.name});
    c.args.push_back({Arg::Kind::kOutputPath, o.name});
  }
  return c;
}

}  // namespace

TEST_CASE("a branch gets pipelinechannel inputs, a CEL trigger and its dependencies",
          "[kfp][pipeline]") {
  const auto producer = make("make", {{"n", "Integer", "n", 3, true}},
                             {{"data", "Dataset", "d"}, {"flag", "Boolean", "f"}});
  const auto consumer = make("use", {{"data", "Dataset", "d", std::nullopt, false},
                                     {"eps", "Float", "e", 0.1, true}},
                             {{"out", "Metrics", "m"}});
  kfp::Pipeline p("demo", "demo pipeline");
  const auto eps = p.input("eps", "Float", 0.2, "budget");
  auto m = p.task(producer);
  auto u = p.task(consumer).set("data", m.output("data")).set("eps", eps);
  p.begin_branch(m.output("flag") == true);
  auto inner = p.task(consumer).set("data", m.output("data")).set("eps", eps);
  p.end_branch();
  CHECK(u.key() == "use");
  CHECK(inner.key() == "use-2");

  const auto ir = p.compile();
  const auto& root = ir["root"]["dag"]["tasks"];
  CHECK(root["use"]["dependentTasks"] == nlohmann::ordered_json({"make"}));
  CHECK(root["use"]["inputs"]["parameters"]["eps"]["componentInputParameter"] == "eps");
  const auto& cond = root["condition-1"];
  CHECK(cond["triggerPolicy"]["condition"] ==
        "inputs.parameter_values['pipelinechannel--make-flag'] == true");
  CHECK(cond["inputs"]["artifacts"]["pipelinechannel--make-data"]["taskOutputArtifact"]
            ["producerTask"] == "make");
  CHECK(cond["inputs"]["parameters"]["pipelinechannel--eps"]["componentInputParameter"] == "eps");
  CHECK(cond["dependentTasks"] == nlohmann::ordered_json({"make"}));
  const auto& inner_task = ir["components"]["comp-condition-1"]["dag"]["tasks"]["use-2"];
  CHECK(inner_task["inputs"]["artifacts"]["data"]["componentInputArtifact"] ==
        "pipelinechannel--make-data");
  CHECK(ir["deploymentSpec"]["executors"]["exec-use-2"]["container"]["args"][1] ==
        "{{$.inputs.artifacts['data'].path}}");
  // The compiled document is valid IR, and its YAML reads back to the same document.
  const auto as_json = nlohmann::json::parse(ir.dump());
  CAPTURE(test::ir_problems(as_json));
  CHECK(test::ir_problems(as_json).empty());
  CHECK(kfp::parse_yaml_documents(kfp::to_yaml(ir), "yaml").front() == as_json);
}

TEST_CASE("nested branches pass channels through every level", "[kfp][pipeline]") {
  const auto producer = make("make", {}, {{"v", "Integer", "v"}, {"s", "String", "s"}});
  const auto consumer = make("use", {{"x", "Integer", "x", std::nullopt, false}}, {});
  kfp::Pipeline p("nested", "");
  auto m = p.task(producer);
  p.begin_branch(m.output("v") == 3);
  p.begin_branch(m.output("s") != "skip");
  p.task(consumer).set("x", m.output("v"));
  p.end_branch();
  p.end_branch();
  const auto ir = nlohmann::json::parse(p.compile().dump());
  CAPTURE(test::ir_problems(ir));
  CHECK(test::ir_problems(ir).empty());
  CHECK(ir["root"]["dag"]["tasks"]["condition-1"]["triggerPolicy"]["condition"] ==
        "int(inputs.parameter_values['pipelinechannel--make-v']) == 3");
  const auto& c2 = ir["components"]["comp-condition-1"]["dag"]["tasks"]["condition-2"];
  CHECK(c2["triggerPolicy"]["condition"] ==
        "inputs.parameter_values['pipelinechannel--make-s'] != 'skip'");
  CHECK(c2["inputs"]["parameters"]["pipelinechannel--make-v"]["componentInputParameter"] ==
        "pipelinechannel--make-v");
}

TEST_CASE("the builder rejects what KFP would reject", "[kfp][pipeline]") {
  const auto producer = make("make", {}, {{"data", "Dataset", "d"}});
  const auto consumer = make("use", {{"data", "Dataset", "d", std::nullopt, false},
                                     {"n", "Integer", "n", std::nullopt, false}},
                             {});
  CHECK_THROWS_AS(kfp::Pipeline("Bad_Name", ""), Error);
  kfp::Pipeline p("errors", "");
  auto m = p.task(producer);
  CHECK_THROWS_WITH(p.task(consumer).set("nope", 1), Catch::Contains("no input 'nope'"));
  CHECK_THROWS_WITH(p.task(consumer).set("n", m.output("data")), Catch::Contains("Integer"));
  CHECK_THROWS_WITH(m.output("model"), Catch::Contains("no output 'model'"));
  CHECK_THROWS_WITH(p.compile(), Catch::Contains("needs"));  // required inputs left unset

  kfp::Pipeline q("scoping", "");
  const auto flag = q.input("go", "Boolean", true, "");
  q.begin_branch(flag == true);
  auto inside = q.task(producer);
  q.end_branch();
  q.task(consumer).set("data", inside.output("data")).set("n", 1);
  CHECK_THROWS_WITH(q.compile(), Catch::Contains("inside a branch"));
}

TEST_CASE("if/else: one group, negated else trigger, optional inputs resolved per task",
          "[kfp][pipeline]") {
  const auto decide = make("decide", {}, {{"flag", "Boolean", "f"}, {"data", "Dataset", "d"}});
  const auto work = make("work", {{"data", "Dataset", "d", std::nullopt, false}},
                         {{"metrics", "Metrics", "m"}});
  // The report's second input is optional: a plain inputPath where bound, else nothing.
  auto report = make("report", {{"first", "Metrics", "a", std::nullopt, false}}, {});
  report.inputs.push_back({"second", "Metrics", "b", std::nullopt, true});
  report.args.push_back({Arg::Kind::kIfBound, "second",
                         {{Arg::Kind::kLiteral, "--second", {}}, {Arg::Kind::kInputPath, "second", {}}}});

  // decide -> if flag: work, report (second bound); else: work-2, report-2 (second unbound).
  kfp::Pipeline q("ifelse", "");
  auto d = q.task(decide);
  q.begin_if(d.output("flag") == true);
  auto yes = q.task(work).set("data", d.output("data"));
  q.task(report, "report-yes").set("first", yes.output("metrics")).set("second", yes.output("metrics"));
  q.begin_else();
  auto no = q.task(work).set("data", d.output("data"));
  q.task(report, "report-no").set("first", no.output("metrics"));
  q.end_if();
  const auto ir = nlohmann::json::parse(q.compile().dump());
  CAPTURE(test::ir_problems(ir));
  CHECK(test::ir_problems(ir).empty());
  CHECK(kfp::backend_problems(ir, kfp::backend_profile("all")).empty());

  const auto& root = ir["root"]["dag"]["tasks"];
  CHECK(root["condition-branches-1"]["dependentTasks"] == nlohmann::json({"decide"}));
  CHECK_FALSE(root["condition-branches-1"].contains("triggerPolicy"));
  const auto& group = ir["components"]["comp-condition-branches-1"];
  CHECK(group["dag"]["tasks"]["condition-2"]["triggerPolicy"]["condition"] ==
        "inputs.parameter_values['pipelinechannel--decide-flag'] == true");
  CHECK(group["dag"]["tasks"]["condition-3"]["triggerPolicy"]["condition"] ==
        "!(inputs.parameter_values['pipelinechannel--decide-flag'] == true)");
  CHECK(ir["components"]["comp-condition-3"]["dag"]["tasks"]["report-no"]["taskInfo"]["name"] ==
        "report-no");
  // Bound: a plain path argument. Unbound: nothing (the tool would read the executor input).
  const auto& execs = ir["deploymentSpec"]["executors"];
  const auto yes_args = execs["exec-report-yes"]["container"]["args"];
  CHECK(yes_args[yes_args.size() - 2] == "--second");
  CHECK(yes_args.back() == "{{$.inputs.artifacts['second'].path}}");
  CHECK(execs["exec-report-no"]["container"]["args"].back() == "{{$.inputs.artifacts['first'].path}}");
  CHECK(ir["components"]["comp-report-no"]["inputDefinitions"]["artifacts"]["second"]["isOptional"] ==
        true);
  // The v1 YAML leaves the optional input's args out (no isPresent guard).
  CHECK(kfp::to_v1(report)["implementation"]["container"]["args"].back() ==
        nlohmann::ordered_json::parse(R"({"inputPath": "first"})"));
  CHECK_THROWS_WITH(q.task(work, "report-yes"), Catch::Contains("two tasks are named 'report-yes'"));
}

TEST_CASE("the builder refuses what a released backend cannot run, with kfp-local's line",
          "[kfp][pipeline][backends]") {
  const auto decide = make("decide", {}, {{"flag", "Boolean", "f"}, {"data", "Dataset", "d"}});
  const auto work = make("work", {{"data", "Dataset", "d", std::nullopt, false}},
                         {{"metrics", "Metrics", "m"}});
  const auto report = make("report", {{"first", "Metrics", "a", std::nullopt, false}}, {});
  const auto arms = [&](kfp::Pipeline& pl, bool close) {
    auto d = pl.task(decide);
    pl.begin_if(d.output("flag") == true);
    auto yes = pl.task(work).set("data", d.output("data"));
    pl.begin_else();
    auto no = pl.task(work).set("data", d.output("data"));
    if (close) pl.end_if();
    return std::pair{yes.output("metrics"), no.output("metrics")};
  };
  kfp::Pipeline open("oneof", "");
  const auto [a, b] = arms(open, false);
  CHECK_THROWS_WITH(open.one_of({a, b}), Catch::Contains("before end_if"));

  // dsl.OneOf consumed after the group (kubeflow/pipelines #13436): compile fails.
  kfp::Pipeline q("oneof", "");
  const auto [yes, no] = arms(q, true);
  CHECK_THROWS_WITH(q.one_of({yes}), Catch::Contains("both arms"));
  q.task(report).set("first", q.one_of({yes, no}));
  CHECK_THROWS_WITH(
      q.compile(),
      "pipeline: report: input 'first' reads the output "
      "'pipelinechannel--condition-branches-1-oneof-1' of DAG task 'condition-branches-1' (a OneOf "
      "of 2 selectors): breaks on KFP backend 2.0-2.16 (drivers before 2.4.0 do not resolve DAG "
      "outputs; 2.4 to 2.16 take the last selector, so the producer of an arm that did not run is "
      "looked for and fails; kubeflow/pipelines #13436; fixed in 2.17.0 by #13437); fix: run the "
      "consumer inside each arm, passing earlier results down as inputs");

  // Parameters left at their defaults are passed explicitly, resources in both forms.
  auto tool = make("tool", {{"n", "Integer", "n", 7, true}}, {});
  kfp::Pipeline r("defaults", "");
  r.task(tool).resources("500m", "512M");
  const auto ir = nlohmann::json::parse(r.compile().dump());
  CHECK(ir["root"]["dag"]["tasks"]["tool"]["inputs"]["parameters"]["n"]["runtimeValue"]["constant"] == 7);
  const auto& res = ir["deploymentSpec"]["executors"]["exec-tool"]["container"]["resources"];
  CHECK(res["cpuRequest"] == 0.5);
  CHECK(res["resourceCpuRequest"] == "500m");
  CHECK(res["memoryRequest"] == 0.512);
  CHECK(res["resourceMemoryRequest"] == "512M");
  kfp::Pipeline bad("bad", "");
  bad.task(tool).resources("two", "1G");
  CHECK_THROWS_WITH(bad.compile(), Catch::Contains("CPU request 'two'"));
}

TEST_CASE("importer and required parameters compile as the SDK compiles dsl.importer",
          "[kfp][pipeline]") {
  const auto use = make("use", {{"data", "Dataset", "d", std::nullopt, false}}, {});
  kfp::Pipeline p("imports", "");
  const auto uri = p.required_input("window_uri", "String", "where the window is");
  auto window = p.importer(uri, "Dataset", "import-window");
  p.task(use).set("data", window.output("artifact"));
  const auto ir = nlohmann::json::parse(p.compile().dump());
  // Required: no default, not optional (the KFP UI asks for it; kfp-local refuses a run without).
  CHECK(ir["root"]["inputDefinitions"]["parameters"]["window_uri"] ==
        nlohmann::json({{"parameterType", "STRING"}, {"description", "where the window is"}}));
  // As tests/runner/fixtures/importer.yaml (KFP SDK 2.9): input parameter uri, output artifact,
  // executor importer.artifactUri.runtimeParameter, the URI bound to the pipeline parameter.
  const auto& comp = ir["components"]["comp-import-window"];
  CHECK(comp["inputDefinitions"]["parameters"]["uri"]["parameterType"] == "STRING");
  CHECK(comp["outputDefinitions"]["artifacts"]["artifact"]["artifactType"]["schemaTitle"] ==
        "system.Dataset");
  CHECK(ir["deploymentSpec"]["executors"]["exec-import-window"] ==
        nlohmann::json::parse(R"({"importer": {"artifactUri": {"runtimeParameter": "uri"},
            "typeSchema": {"schemaTitle": "system.Dataset", "schemaVersion": "0.0.1"}}})"));
  const auto& tasks = ir["root"]["dag"]["tasks"];
  CHECK(tasks["import-window"]["inputs"]["parameters"]["uri"] ==
        nlohmann::json({{"componentInputParameter", "window_uri"}}));
  CHECK(tasks["use"]["inputs"]["artifacts"]["data"]["taskOutputArtifact"]["producerTask"] ==
        "import-window");
  CHECK(tasks["use"]["dependentTasks"] == nlohmann::json({"import-window"}));
  CHECK(test::ir_problems(ir).empty());

  // The backend's importer reads its URI from the parent DAG's inputs: only a pipeline
  // parameter will do, never a constant or a task output.
  kfp::Pipeline bad("imports", "");
  const auto n = bad.input("n", "Integer", 1, "");
  CHECK_THROWS_WITH(bad.importer(n, "Dataset", "imp"), Catch::Contains("String pipeline parameter"));
  kfp::Value constant;
  constant.constant = "/data";
  constant.type = "String";
  CHECK_THROWS_WITH(bad.importer(constant, "Dataset", "imp"),
                    Catch::Contains("String pipeline parameter"));
  const auto s = bad.input("s", "String", "", "");
  CHECK_THROWS_WITH(bad.importer(s, "Integer", "imp"), Catch::Contains("not an artifact type"));
}
