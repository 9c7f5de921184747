// The pipeline builder: task naming, channels into branches, conditions, and its errors.
#include <catch2/catch.hpp>

#include "common/error.h"
#include "kfp/ir_schema.h"
#include "kfp/pipeline.h"
#include "kfp/types.h"
#include "kfp/yaml.h"
#include "kfp/yaml_read.h"

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
  CAPTURE(kfp::check_pipeline_ir(as_json));
  CHECK(kfp::check_pipeline_ir(as_json).empty());
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
  CAPTURE(kfp::check_pipeline_ir(ir));
  CHECK(kfp::check_pipeline_ir(ir).empty());
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

TEST_CASE("if/else with OneOf: one group, negated else trigger, DAG outputs and a consumer after",
          "[kfp][pipeline]") {
  const auto decide = make("decide", {}, {{"flag", "Boolean", "f"}, {"data", "Dataset", "d"}});
  const auto work = make("work", {{"data", "Dataset", "d", std::nullopt, false}},
                         {{"metrics", "Metrics", "m"}});
  // The report's second input is optional: passed only when bound (IfPresent).
  auto report = make("report", {{"first", "Metrics", "a", std::nullopt, false}}, {});
  report.inputs.push_back({"second", "Metrics", "b", std::nullopt, true});
  report.args.push_back({Arg::Kind::kIfPresent, "second",
                         {{Arg::Kind::kLiteral, "--second", {}}, {Arg::Kind::kInputPath, "second", {}}}});

  // decide -> if flag: work, else: work-2; returns the two arms' metrics.
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

  kfp::Pipeline p("oneof", "");
  const auto [yes_metrics, no_metrics] = arms(p, true);
  const auto d = p.task(decide);
  const auto merged = p.one_of({yes_metrics, no_metrics});
  CHECK_THROWS_WITH(p.one_of({yes_metrics}), Catch::Contains("both arms"));
  CHECK_THROWS_WITH(p.one_of({yes_metrics, d.output("data")}), Catch::Contains("mixes"));
  p.task(report).set("first", merged).set("second", yes_metrics /* inside an arm: invalid */);
  CHECK_THROWS_WITH(p.compile(), Catch::Contains("inside a branch"));

  kfp::Pipeline q("oneof", "");
  const auto [yes2, no2] = arms(q, true);
  q.task(report).set("first", q.one_of({yes2, no2}));
  const auto ir = nlohmann::json::parse(q.compile().dump());
  CAPTURE(kfp::check_pipeline_ir(ir));
  CHECK(kfp::check_pipeline_ir(ir).empty());

  const auto& root = ir["root"]["dag"]["tasks"];
  CHECK(root["condition-branches-1"]["dependentTasks"] == nlohmann::json({"decide"}));
  CHECK_FALSE(root["condition-branches-1"].contains("triggerPolicy"));
  CHECK(root["report"]["dependentTasks"] == nlohmann::json({"condition-branches-1"}));
  CHECK(root["report"]["inputs"]["artifacts"]["first"]["taskOutputArtifact"] ==
        nlohmann::json({{"producerTask", "condition-branches-1"},
                        {"outputArtifactKey", "pipelinechannel--condition-branches-1-oneof-1"}}));
  const auto& group = ir["components"]["comp-condition-branches-1"];
  CHECK(group["dag"]["tasks"]["condition-2"]["triggerPolicy"]["condition"] ==
        "inputs.parameter_values['pipelinechannel--decide-flag'] == true");
  CHECK(group["dag"]["tasks"]["condition-3"]["triggerPolicy"]["condition"] ==
        "!(inputs.parameter_values['pipelinechannel--decide-flag'] == true)");
  CHECK(group["dag"]["outputs"]["artifacts"]["pipelinechannel--condition-branches-1-oneof-1"]
             ["artifactSelectors"] ==
        nlohmann::json::parse(R"([
          {"producerSubtask": "condition-2", "outputArtifactKey": "pipelinechannel--work-metrics"},
          {"producerSubtask": "condition-3", "outputArtifactKey": "pipelinechannel--work-2-metrics"}])"));
  CHECK(ir["components"]["comp-condition-3"]["dag"]["outputs"]["artifacts"]
          ["pipelinechannel--work-2-metrics"]["artifactSelectors"][0]["producerSubtask"] == "work-2");
  // The unbound optional input is declared optional and guarded by IfPresent.
  CHECK(ir["components"]["comp-report"]["inputDefinitions"]["artifacts"]["second"]["isOptional"] ==
        true);
  const auto args = ir["deploymentSpec"]["executors"]["exec-report"]["container"]["args"];
  CHECK(nlohmann::json::parse(args.back().get<std::string>()) ==
        nlohmann::json::parse(R"({"IfPresent": {"InputName": "second",
          "Then": ["--second", "{{$.inputs.artifacts['second'].path}}"]}})"));
  CHECK(kfp::to_v1(report)["implementation"]["container"]["args"].back() ==
        nlohmann::ordered_json::parse(
            R"({"if": {"cond": {"isPresent": "second"}, "then": ["--second", {"inputPath": "second"}]}})"));
  // A selector naming a task outside the DAG is caught.
  auto broken = ir;
  broken["components"]["comp-condition-3"]["dag"]["outputs"]["artifacts"]
        ["pipelinechannel--work-2-metrics"]["artifactSelectors"][0]["producerSubtask"] = "work";
  CHECK_FALSE(kfp::check_pipeline_ir(broken).empty());
}
