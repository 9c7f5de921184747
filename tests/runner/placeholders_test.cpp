// Tests of placeholder validation, substitution and the ExecutorInput JSON.
#include "kfp_local/placeholders.h"

#include <catch2/catch.hpp>

#include "common/error.h"

namespace advkfp::kfp_local {
namespace {

Interface interface() {
  Interface i;
  i.input_parameters["eps"] = {ParameterType::kNumberDouble, std::nullopt, false};
  i.input_parameters["note"] = {ParameterType::kString, std::nullopt, true};
  i.input_artifacts["model"] = {{"system.Model", "0.0.1"}, false};
  i.output_artifacts["metrics"] = {{"system.Metrics", "0.0.1"}, Json::object()};
  i.output_parameters["degraded"] = ParameterType::kBoolean;
  return i;
}

ExecutorContext context() {
  ExecutorContext c;
  c.parameters["eps"] = 0.15;
  c.parameters["steps"] = 10;
  c.parameters["flag"] = true;
  c.parameters["tags"] = Json::array({"a", "b"});
  c.parameters["text"] = "two words";
  RuntimeArtifact model;
  model.name = "model";
  model.uri = "/runs/p/train/model";
  model.path = "/runs/p/train/model";
  model.type = {"system.Model", "0.0.1"};
  model.metadata = {{"framework", "torch"}};
  c.input_artifacts["model"] = model;
  RuntimeArtifact metrics;
  metrics.name = "metrics";
  metrics.uri = "/runs/p/eval/metrics";
  metrics.path = "/runs/p/eval/metrics";
  metrics.type = {"system.Metrics", "0.0.1"};
  c.output_artifacts["metrics"] = metrics;
  c.output_parameter_files["degraded"] = "/runs/p/eval/.kfp-local/parameters/degraded";
  c.executor_output_file = "/runs/p/eval/.kfp-local/executor_output.json";
  return c;
}

std::string one(const std::string& arg) {
  const auto words = expand_argument(arg, context());
  REQUIRE(words.size() == 1);
  return words[0];
}

TEST_CASE("placeholders: every kind is substituted", "[placeholders]") {
  CHECK(one("{{$.inputs.parameters['eps']}}") == "0.15");
  CHECK(one("{{$.inputs.parameters['steps']}}") == "10");
  CHECK(one("{{$.inputs.parameters['flag']}}") == "true");
  CHECK(one("{{$.inputs.parameters['tags']}}") == "[\"a\",\"b\"]");
  CHECK(one("{{$.inputs.parameters['text']}}") == "two words");
  CHECK(one("{{$.inputs.parameters[\"eps\"]}}") == "0.15");
  CHECK(one("{{$.inputs.artifacts['model'].path}}") == "/runs/p/train/model");
  CHECK(one("{{$.inputs.artifacts['model'].uri}}") == "/runs/p/train/model");
  CHECK(one("{{$.outputs.artifacts['metrics'].path}}") == "/runs/p/eval/metrics");
  CHECK(one("{{$.outputs.artifacts['metrics'].uri}}") == "/runs/p/eval/metrics");
  CHECK(one("{{$.outputs.parameters['degraded'].output_file}}") ==
        "/runs/p/eval/.kfp-local/parameters/degraded");
  CHECK(Json::parse(one("{{$}}")) == executor_input(context()));
}

TEST_CASE("placeholders: embedded in longer strings, several per string", "[placeholders]") {
  CHECK(one("--eps={{$.inputs.parameters['eps']}}") == "--eps=0.15");
  CHECK(one("{{$.inputs.artifacts['model'].path}}/model.pt") == "/runs/p/train/model/model.pt");
  CHECK(one("{{$.inputs.parameters['steps']}}x{{$.inputs.parameters['flag']}}") == "10xtrue");
  CHECK(one("--executor-input={{$}}").rfind("--executor-input={\"inputs\"", 0) == 0);
  CHECK(one("no placeholder") == "no placeholder");
  CHECK(one("{{not one}} {plain}") == "{{not one}} {plain}");
  CHECK(one("{\"json\": 1}") == "{\"json\": 1}");
}

TEST_CASE("placeholders: unknown or misspelt placeholders are errors", "[placeholders]") {
  const Interface i = interface();
  for (const char* bad :
       {"{{$.inputs.parameter['eps']}}", "{{$.inputs.parameters['eps'].path}}",
        "{{$.inputs.artifacts['model']}}", "{{$.inputs.artifacts['model'].value}}",
        "{{$.outputs.parameters['degraded']}}", "{{$.pipeline_job_name}}", "{{$.inputs}}",
        "x{{$.inputs.parameters[eps]}}", "{{$.inputs.parameters['']}}"}) {
    INFO(bad);
    CHECK_THROWS_WITH(check_placeholders(bad, i), Catch::Contains("unknown placeholder"));
    CHECK_THROWS_AS(expand_argument(bad, context()), Error);
  }
  CHECK_THROWS_WITH(check_placeholders("{{$.outputs.output_file}}", i),
                    Catch::Contains("not substituted by the KFP launcher"));
  CHECK_THROWS_WITH(check_placeholders("a {{$.inputs.parameters['eps']", i),
                    Catch::Contains("unterminated placeholder"));
}

TEST_CASE("placeholders: names must be declared by the component", "[placeholders]") {
  const Interface i = interface();
  CHECK_NOTHROW(check_placeholders("{{$.inputs.parameters['eps']}} {{$}}", i));
  CHECK_NOTHROW(check_placeholders("{{$.outputs.artifacts['metrics'].uri}}", i));
  CHECK_THROWS_WITH(check_placeholders("{{$.inputs.parameters['epsilon']}}", i),
                    Catch::Contains("names no input parameter 'epsilon'"));
  CHECK_THROWS_WITH(check_placeholders("{{$.inputs.artifacts['eps'].path}}", i),
                    Catch::Contains("names no input artifact 'eps'"));
  CHECK_THROWS_WITH(check_placeholders("{{$.outputs.artifacts['model'].path}}", i),
                    Catch::Contains("names no output artifact 'model'"));
  CHECK_THROWS_WITH(check_placeholders("{{$.outputs.parameters['metrics'].output_file}}", i),
                    Catch::Contains("names no output parameter 'metrics'"));
}

TEST_CASE("placeholders: an absent optional input is an error outside IfPresent",
          "[placeholders]") {
  CHECK_THROWS_WITH(one("{{$.inputs.parameters['note']}}"),
                    Catch::Contains("'note' has no value") && Catch::Contains("IfPresent"));
}

TEST_CASE("placeholders: IfPresent and Concat", "[placeholders]") {
  const std::string if_present = R"({"IfPresent": {"InputName": "note", )"
                                 R"("Then": ["--note", "{{$.inputs.parameters['note']}}"]}})";
  CHECK(expand_argument(if_present, context()).empty());
  ExecutorContext with_note = context();
  with_note.parameters["note"] = "hi";
  CHECK(expand_argument(if_present, with_note) == std::vector<std::string>{"--note", "hi"});

  const std::string with_else =
      R"({"IfPresent": {"InputName": "note", "Then": "yes", "Else": ["no", "note"]}})";
  CHECK(expand_argument(with_else, context()) == std::vector<std::string>{"no", "note"});
  CHECK(expand_argument(with_else, with_note) == std::vector<std::string>{"yes"});

  const std::string concat = R"({"Concat": ["--eps=", "{{$.inputs.parameters['eps']}}", )"
                             R"({"IfPresent": {"InputName": "note", "Then": ",note"}}]})";
  CHECK(expand_argument(concat, context()) == std::vector<std::string>{"--eps=0.15"});
  CHECK(expand_argument(concat, with_note) == std::vector<std::string>{"--eps=0.15,note"});

  const Interface i = interface();
  CHECK_NOTHROW(check_placeholders(if_present, i));
  CHECK_NOTHROW(check_placeholders(concat, i));
  CHECK_THROWS_WITH(check_placeholders(R"({"IfPresent": {"InputName": "nope", "Then": "x"}})", i),
                    Catch::Contains("names no input 'nope'"));
  CHECK_THROWS_WITH(check_placeholders(R"({"Concat": ["{{$.inputs.parameters['x']}}"]})", i),
                    Catch::Contains("names no input parameter 'x'"));
  CHECK_THROWS_WITH(check_placeholders(R"({"IfPresent": {"InputName": "note", "Than": "x"}})", i),
                    Catch::Contains("unknown field 'Than'"));
  CHECK_THROWS_WITH(check_placeholders(R"({"Concat": "x"})", i), Catch::Contains("list of items"));
}

TEST_CASE("placeholders: IfPresent treats a null value as absent", "[placeholders]") {
  ExecutorContext c = context();
  c.parameters["note"] = nullptr;
  CHECK(expand_argument(R"({"IfPresent": {"InputName": "note", "Then": "yes", "Else": "no"}})",
                        c) == std::vector<std::string>{"no"});
}

TEST_CASE("placeholders: f-string constants over task inputs", "[placeholders]") {
  const std::map<std::string, Json> values = {{"pipelinechannel--n", 7}, {"x", "a"}};
  const std::string text =
      "n={{$.inputs.parameters['pipelinechannel--n']}}, {{$.inputs.parameters['x']}}!";
  CHECK(substitute_input_parameters(text, values) == "n=7, a!");
  CHECK(input_parameter_references(text) == std::vector<std::string>{"pipelinechannel--n", "x"});
  CHECK(substitute_input_parameters("{{$}} and {{$.pipeline_job_name}}", values) ==
        "{{$}} and {{$.pipeline_job_name}}");  // only input parameters are resolved here
  CHECK_THROWS_WITH(substitute_input_parameters("{{$.inputs.parameters['y']}}", values),
                    Catch::Contains("has no value"));
}

TEST_CASE("placeholders: ExecutorInput has the launcher's shape", "[placeholders]") {
  const Json j = executor_input(context());
  CHECK(j["inputs"]["parameterValues"]["eps"] == 0.15);
  CHECK(j["inputs"]["parameterValues"]["steps"] == 10);
  const Json& model = j["inputs"]["artifacts"]["model"]["artifacts"][0];
  CHECK(model["name"] == "model");
  CHECK(model["uri"] == "/runs/p/train/model");
  CHECK(model["type"]["schemaTitle"] == "system.Model");
  CHECK(model["type"]["schemaVersion"] == "0.0.1");
  CHECK(model["metadata"]["framework"] == "torch");
  CHECK(j["outputs"]["artifacts"]["metrics"]["artifacts"][0]["uri"] == "/runs/p/eval/metrics");
  CHECK(j["outputs"]["parameters"]["degraded"]["outputFile"] ==
        "/runs/p/eval/.kfp-local/parameters/degraded");
  CHECK(j["outputs"]["outputFile"] == "/runs/p/eval/.kfp-local/executor_output.json");
}

}  // namespace
}  // namespace advkfp::kfp_local
