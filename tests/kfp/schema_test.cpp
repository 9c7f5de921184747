// Every generated component YAML and compiled pipeline parses strictly against the project's own
// schema and all its references resolve (kfp-local's loader); broken documents are caught.
#include <catch2/catch.hpp>

#include <filesystem>

#include "kfp/ir_schema.h"
#include "kfp/yaml_read.h"
#include "ir_problems.h"

using namespace advkfp;
namespace fs = std::filesystem;
using Json = nlohmann::json;

namespace {

const fs::path kSource = ADVKFP_SOURCE_DIR;

Json compiled_pipeline() { return kfp::load_yaml(kSource / "kfp_specs/adversarial-defense.yaml", "ir"); }

bool mentions(const std::vector<std::string>& problems, const std::string& needle) {
  for (const auto& p : problems) {
    if (p.find(needle) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("committed component YAMLs pass the strict schema", "[kfp][schema]") {
  int n = 0;
  for (const auto& entry : fs::directory_iterator(kSource / "components")) {
    const auto file = entry.path() / "component.yaml";
    if (!fs::exists(file)) continue;
    ++n;
    INFO(file);
    const auto problems = kfp::check_component_v1(kfp::load_yaml(file, "component"));
    CAPTURE(problems);
    CHECK(problems.empty());
  }
  CHECK(n >= 6);
}

TEST_CASE("committed pipelines pass the strict schema and reference checks", "[kfp][schema]") {
  int n = 0;
  for (const auto& entry : fs::directory_iterator(kSource / "kfp_specs")) {
    if (entry.path().extension() != ".yaml") continue;
    ++n;
    INFO(entry.path());
    const auto problems = test::ir_problems(kfp::load_yaml(entry.path(), "ir"));
    CAPTURE(problems);
    CHECK(problems.empty());
  }
  CHECK(n >= 1);
}

TEST_CASE("the IR checker catches misspelt fields and dangling references", "[kfp][schema]") {
  auto ir = compiled_pipeline();
  auto& tasks = ir["root"]["dag"]["tasks"];
  SECTION("unknown field") {
    tasks["train"]["componentRefs"] = tasks["train"]["componentRef"];
    CHECK(mentions(test::ir_problems(ir), "componentRefs"));
  }
  SECTION("snake_case spelling") {
    tasks["train"]["component_ref"] = tasks["train"]["componentRef"];
    tasks["train"].erase("componentRef");
    CHECK(mentions(test::ir_problems(ir), "canonical"));
  }
  SECTION("componentRef to nothing") {
    tasks["train"]["componentRef"]["name"] = "comp-nope";
    CHECK(mentions(test::ir_problems(ir), "comp-nope"));
  }
  SECTION("executorLabel to nothing") {
    ir["components"]["comp-train"]["executorLabel"] = "exec-nope";
    CHECK(mentions(test::ir_problems(ir), "exec-nope"));
  }
  SECTION("executor no component uses") {
    ir["deploymentSpec"]["executors"]["exec-extra"] = ir["deploymentSpec"]["executors"]["exec-train"];
    CHECK(mentions(test::ir_problems(ir), "exec-extra"));
  }
  SECTION("dependentTasks outside the DAG") {
    tasks["train"]["dependentTasks"] = {"pgd-train"};
    CHECK(mentions(test::ir_problems(ir), "pgd-train"));
  }
  SECTION("placeholder naming no input") {
    ir["deploymentSpec"]["executors"]["exec-train"]["container"]["args"].push_back(
        "{{$.inputs.parameters['epoch']}}");
    CHECK(mentions(test::ir_problems(ir), "epoch"));
  }
  SECTION("unknown placeholder") {
    ir["deploymentSpec"]["executors"]["exec-train"]["container"]["args"].push_back(
        "{{$.inputs.nonsense}}");
    CHECK(mentions(test::ir_problems(ir), "unknown placeholder"));
  }
  SECTION("condition reading a parameter the task does not pass") {
    ir["components"]["comp-condition-branches-1"]["dag"]["tasks"]["condition-2"]["triggerPolicy"]
      ["condition"] = "inputs.parameter_values['pipelinechannel--x'] == true";
    CHECK(mentions(test::ir_problems(ir), "pipelinechannel--x"));
  }
  SECTION("producer output that does not exist") {
    tasks["train"]["inputs"]["artifacts"]["dataset"]["taskOutputArtifact"]["outputArtifactKey"] =
        "train_set";
    CHECK(mentions(test::ir_problems(ir), "train_set"));
  }
  SECTION("invalid pipeline name and schema version") {
    ir["pipelineInfo"]["name"] = "Adversarial_Defense";
    ir["schemaVersion"] = "2.0.0";
    const auto problems = test::ir_problems(ir);
    CHECK(mentions(problems, "pipelineInfo.name"));
    CHECK(mentions(problems, "schemaVersion"));
  }
}

TEST_CASE("the component checker catches bad placeholders and fields", "[kfp][schema]") {
  auto c = kfp::load_yaml(kSource / "components/train/component.yaml", "component");
  auto& args = c["implementation"]["container"]["args"];
  SECTION("misspelt placeholder") {
    args.push_back(Json{{"inputpath", "dataset"}});
    CHECK(mentions(kfp::check_component_v1(c), "inputpath"));
  }
  SECTION("inputValue used for an artifact") {
    args.push_back(Json{{"inputValue", "dataset"}});
    CHECK(mentions(kfp::check_component_v1(c), "artifact"));
  }
  SECTION("unknown top-level field") {
    c["implementaton"] = c["implementation"];
    CHECK_FALSE(kfp::check_component_v1(c).empty());
  }
}

TEST_CASE("optional inputs: isPresent guards are checked in component YAMLs", "[kfp][schema]") {
  // report's final_* metrics are optional (the tool reads them from its executor input); a YAML
  // written elsewhere may guard them with {if: {cond: {isPresent: ...}}}, which is checked.
  auto c = kfp::load_yaml(kSource / "components/report/component.yaml", "component");
  CAPTURE(kfp::check_component_v1(c));
  REQUIRE(kfp::check_component_v1(c).empty());
  auto& args = c["implementation"]["container"]["args"];
  SECTION("isPresent on a required input") {
    args.push_back(Json::parse(
        R"({"if": {"cond": {"isPresent": "clean_metrics"}, "then": ["--x", {"inputPath": "clean_metrics"}]}})"));
    CHECK(mentions(kfp::check_component_v1(c), "isPresent on required input 'clean_metrics'"));
  }
  SECTION("a guarded item naming an unknown input") {
    args.push_back(Json::parse(
        R"({"if": {"cond": {"isPresent": "final_pgd_metrics"}, "then": [{"inputPath": "nope"}]}})"));
    CHECK(mentions(kfp::check_component_v1(c), "unknown input 'nope'"));
  }
  SECTION("malformed guard") {
    args.push_back(Json::parse(R"({"if": {"cond": {}, "then": []}})"));
    CHECK(mentions(kfp::check_component_v1(c), "malformed if"));
  }
}

// Found by fuzz/fuzz_kfp_yaml: a component YAML without implementation.container (or with a
// name that is not a string) made the checker itself throw nlohmann::json's type_error 305/302.
TEST_CASE("the component checker reports problems of documents missing their parts",
          "[kfp][schema][fuzz]") {
  for (const char* text : {"name: x\nimplementation:\n", "name: 7\n", "name: x\nimplementation: 3\n",
                           "name: x\nimplementation:\n  container: []\n"}) {
    CAPTURE(text);
    CHECK_NOTHROW(kfp::check_component_v1(kfp::parse_yaml_documents(text, "c.yaml")[0]));
  }
}

TEST_CASE("both pipelines pass pgd_from_scratch and pgd_ramp_epochs to the defence's pgd-train",
          "[kfp][schema]") {
  for (const char* name : {"adversarial-defense", "defend-model"}) {
    INFO(name);
    const Json ir = kfp::load_yaml(kSource / "kfp_specs" / (std::string(name) + ".yaml"), "ir");
    CHECK(ir["root"]["inputDefinitions"]["parameters"]["pgd_from_scratch"]["parameterType"] ==
          "BOOLEAN");
    CHECK(ir["root"]["inputDefinitions"]["parameters"]["pgd_from_scratch"]["defaultValue"] ==
          false);
    CHECK(ir["root"]["inputDefinitions"]["parameters"]["pgd_ramp_epochs"]["defaultValue"] == 0);
    // The pgd-train task, wherever its branch put it, reads the parameter through its channel.
    int found = 0;
    for (const auto& [comp, spec] : ir["components"].items()) {
      if (!spec.contains("dag") || !spec["dag"]["tasks"].contains("pgd-train")) continue;
      ++found;
      const auto& in = spec["dag"]["tasks"]["pgd-train"]["inputs"]["parameters"];
      CHECK(in["from_scratch"] ==
            Json({{"componentInputParameter", "pipelinechannel--pgd_from_scratch"}}));
      CHECK(in["ramp_epochs"] ==
            Json({{"componentInputParameter", "pipelinechannel--pgd_ramp_epochs"}}));
    }
    CHECK(found == 1);
  }
}
