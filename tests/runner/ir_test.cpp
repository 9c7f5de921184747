// Tests of IR loading: the typed model of fixture pipelines and the errors for invalid IR.
#include "kfp_local/ir.h"

#include <catch2/catch.hpp>

#include "common/error.h"
#include "helpers.h"

namespace advkfp::kfp_local {
namespace {

using test::fixture;
using test::read_text;

// chain.yaml with one edit: the first occurrence of `from` replaced by `to`.
std::string chain_with(const std::string& from, const std::string& to) {
  std::string text = read_text(fixture("chain.yaml"));
  const auto pos = text.find(from);
  REQUIRE(pos != std::string::npos);
  return text.replace(pos, from.size(), to);
}

void check_invalid(const std::string& text, const std::string& part) {
  INFO("expected error containing: " << part);
  CHECK_THROWS_AS(parse_pipeline(text, "p.yaml"), Error);
  CHECK_THROWS_WITH(parse_pipeline(text, "p.yaml"),
                    Catch::StartsWith("p.yaml: ") && Catch::Contains(part));
}

TEST_CASE("IR: a compiled pipeline becomes the typed model", "[ir]") {
  const Pipeline p = load_pipeline(fixture("chain.yaml"));
  CHECK(p.name == "chain");
  CHECK(p.sdk_version == "kfp-2.9.0");
  REQUIRE(p.root.dag);
  CHECK(p.root.dag->order == std::vector<std::string>{"produce", "consume"});
  const auto& inputs = p.root.interface.input_parameters;
  CHECK(inputs.at("repeat").type == ParameterType::kNumberInteger);
  CHECK(inputs.at("repeat").default_value == Json(2));  // 2.0 in the YAML, as the SDK writes it
  CHECK(inputs.at("repeat").default_value->is_number_integer());
  CHECK(inputs.at("greeting").default_value == Json("hello"));
  CHECK(inputs.at("tags").default_value == Json::array({"a", "b"}));

  const Task& consume = p.root.dag->tasks.at("consume");
  CHECK(consume.component == "comp-consume");
  CHECK(consume.upstream == std::vector<std::string>{"produce"});
  CHECK(consume.parameters.at("count").kind == ParameterSource::Kind::kTaskOutput);
  CHECK(consume.parameters.at("count").producer_task == "produce");
  CHECK(consume.parameters.at("rate").kind == ParameterSource::Kind::kComponentInput);
  CHECK(consume.artifacts.at("data").output_key == "data");

  const auto& exec = std::get<ContainerExecutor>(p.executors.at("exec-consume"));
  CHECK(exec.command == std::vector<std::string>{"/opt/advkfp/bin/fake-component"});
  REQUIRE(exec.env.size() == 1);
  CHECK(exec.env[0].name == "ADVKFP_FAKE_MODE");
  CHECK(p.components.at("comp-produce").interface.output_artifacts.at("data").type.schema_title ==
        "system.Dataset");
}

TEST_CASE("IR: conditions, importers and nested DAGs load", "[ir]") {
  const Pipeline c = load_pipeline(fixture("condition.yaml"));
  const Task& branch = c.root.dag->tasks.at("condition-1");
  REQUIRE(branch.condition);
  CHECK(branch.condition->parameter_names() ==
        std::set<std::string>{"pipelinechannel--check-degraded"});
  CHECK(c.components.at("comp-condition-1").dag);

  const Pipeline i = load_pipeline(fixture("importer.yaml"));
  const auto& importer = std::get<ImporterExecutor>(i.executors.at("exec-importer"));
  CHECK(importer.runtime_parameter == "uri");
  CHECK(importer.type.schema_title == "system.Dataset");
  CHECK(importer.metadata == Json{{"source", "local"}});

  const Pipeline s = load_pipeline(fixture("subpipeline.yaml"));
  CHECK(s.components.at("comp-inner").dag->output_parameters.at("message").size() == 1);
  CHECK_NOTHROW(load_pipeline(fixture("executor_io.yaml")));
  CHECK_NOTHROW(load_pipeline(fixture("optional_input.yaml")));
  CHECK_NOTHROW(load_pipeline(fixture("failure.yaml")));

  const Pipeline f = load_pipeline(fixture("fstring.yaml"));
  // A pipeline channel the component does not declare is still a task input.
  CHECK(f.root.dag->tasks.at("say").parameters.count("pipelinechannel--count-Output") == 1);
  CHECK(f.root.dag->tasks.at("say").upstream == std::vector<std::string>{"count"});
}

TEST_CASE("IR: the invalid fixtures name the problem", "[ir]") {
  CHECK_THROWS_WITH(load_pipeline(fixture("invalid_placeholder.yaml")),
                    Catch::Contains("deploymentSpec.executors.exec-consume.container.args[4]") &&
                        Catch::Contains("unknown placeholder "
                                        "'{{$.outputs.parameter['summary'].output_file}}'"));
  CHECK_THROWS_WITH(load_pipeline(fixture("invalid_component_ref.yaml")),
                    Catch::Contains("root.dag.tasks.consume.componentRef.name") &&
                        Catch::Contains("names no component 'comp-consumer'"));
}

TEST_CASE("IR: structural errors", "[ir]") {
  check_invalid("a: [1, 2", "invalid YAML at line 1");
  check_invalid("[1, 2]", "expected a mapping");
  check_invalid(chain_with("schemaVersion: 2.1.0", "schemaVersion: 2.0.0"),
                "schemaVersion: expected 2.1.0");
  check_invalid(chain_with("sdkVersion: kfp-2.9.0", "sdkVersion: kfp-2.9.0\nextra: 1"),
                "extra: unknown field");
  check_invalid(chain_with("        taskInfo:\n          name: consume",
                           "        taskInfo:\n          name: consume\n        retries: 2"),
                "root.dag.tasks.consume.retries: unknown field");
  check_invalid(chain_with("parameterType: NUMBER_INTEGER", "parameterType: INT"),
                "components.comp-consume.inputDefinitions.parameters.count.parameterType: unknown "
                "parameter type 'INT'");
  check_invalid(chain_with("          name: comp-produce", "          name: comp-producer"),
                "root.dag.tasks.produce.componentRef.name: names no component 'comp-producer'");
  check_invalid(chain_with("executorLabel: exec-consume", "executorLabel: exec-nothing"),
                "components.comp-consume.executorLabel: names no executor 'exec-nothing'");
  check_invalid(chain_with("        dependentTasks:\n        - produce",
                           "        dependentTasks:\n        - prodoce"),
                "root.dag.tasks.consume.dependentTasks: names no task 'prodoce' in this DAG");
  check_invalid(chain_with("producerTask: produce", "producerTask: nobody"),
                "taskOutputArtifact.producerTask: names no task 'nobody'");
  check_invalid(chain_with("outputParameterKey: count", "outputParameterKey: total"),
                "comp-produce declares no output parameter 'total'");
  check_invalid(chain_with("              componentInputParameter: flag\n            message:",
                           "              runtimeValue:\n                constant: "
                           "\"{{$.inputs.parameters['nope']}}\"\n"
                           "            message:"),
                "root.dag.tasks.consume.inputs.parameters.flag.runtimeValue.constant: refers to "
                "'nope', which is not an input of this task");
  check_invalid(chain_with("componentInputParameter: rate", "componentInputParameter: speed"),
                "names no input parameter 'speed' of root");
  check_invalid(chain_with("        defaultValue: 0.5", "        defaultValue: fast"),
                "root.inputDefinitions.parameters.rate.defaultValue: expected NUMBER_DOUBLE");
  check_invalid(chain_with("        - fake-component", "        - fake-component\n        - 7"),
                "container.command[1]: expected a string");
  check_invalid(chain_with("          parameters:\n            flag:\n              "
                           "componentInputParameter: flag\n            greeting:",
                           "          parameters:\n            greeting:"),
                "root.dag.tasks.produce.inputs: missing required input parameter 'flag' of "
                "comp-produce");
}

TEST_CASE("IR: dependency cycles and unsupported features", "[ir]") {
  check_invalid(chain_with("        componentRef:\n          name: comp-produce\n",
                           "        componentRef:\n          name: comp-produce\n"
                           "        dependentTasks:\n        - consume\n"),
                "root.dag.tasks: dependency cycle among tasks consume, produce");
  check_invalid(
      chain_with("        taskInfo:\n          name: produce",
                 "        taskInfo:\n          name: produce\n        parameterIterator:\n"
                 "          itemInput: x"),
      "parameterIterator: not supported locally: loops (dsl.ParallelFor)");
  check_invalid(chain_with("        taskInfo:\n          name: produce",
                           "        taskInfo:\n          name: produce\n        triggerPolicy:\n"
                           "          strategy: ALL_UPSTREAM_TASKS_COMPLETED"),
                "not supported locally: exit handlers");
  check_invalid(chain_with("parameterType: STRING", "parameterType: TASK_FINAL_STATUS"),
                "not supported locally: exit handlers (dsl.PipelineTaskFinalStatus)");
  check_invalid(chain_with("        isOptional: true\n        parameterType: LIST",
                           "        isOptional: true\n        parameterType: LIST\n"
                           "      bad:\n        parameterType: STRING\n        type: STRING"),
                "root.inputDefinitions.parameters.bad.type: not supported locally");
}

TEST_CASE("IR: trigger conditions are parsed and checked before a run", "[ir]") {
  const std::string cond = read_text(fixture("condition.yaml"));
  const std::string original =
      "condition: inputs.parameter_values['pipelinechannel--check-degraded'] == true";
  const auto with = [&](const std::string& replacement) {
    std::string text = cond;
    return text.replace(text.find(original), original.size(), replacement);
  };
  check_invalid(
      with("condition: inputs.parameter_values['pipelinechannel--check-degraded'] === true"),
      "root.dag.tasks.condition-1.triggerPolicy.condition: invalid condition");
  check_invalid(with("condition: inputs.parameter_values['pipelinechannel--other'] == true"),
                "reads inputs.parameter_values['pipelinechannel--other'], which is not an input");
}

TEST_CASE("IR: retry policies and platform specs are accepted with a warning", "[ir]") {
  const Pipeline p =
      parse_pipeline(chain_with("        taskInfo:\n          name: produce",
                                "        taskInfo:\n          name: produce\n        retryPolicy:\n"
                                "          maxRetryCount: 2") +
                         "---\nplatforms:\n  kubernetes:\n    deploymentSpec: {}\n",
                     "p.yaml");
  REQUIRE(p.warnings.size() == 2);
  CHECK(p.warnings[0].find("retryPolicy: ignored") != std::string::npos);
  CHECK(p.warnings[1].find("PlatformSpec") != std::string::npos);
}

}  // namespace
}  // namespace advkfp::kfp_local
