// Placeholders in IR command and argument strings, as kfp-local validates them at load time
// (kfp_local::check_placeholders) and substitutes them at run time (kfp_local::expand_argument),
// and the f-string constants the driver resolves (kfp_local::substitute_input_parameters). The
// input is one string; the component interface and the execution's values are fixed.
#include "fuzz.h"
#include "kfp_local/placeholders.h"

using namespace advkfp;
using namespace advkfp::kfp_local;

namespace {

Interface make_interface() {
  Interface i;
  i.input_parameters["p"] = {ParameterType::kString, std::nullopt, false};
  i.input_parameters["n"] = {ParameterType::kNumberInteger, std::nullopt, false};
  i.input_parameters["x"] = {ParameterType::kNumberDouble, std::nullopt, false};
  i.input_parameters["l"] = {ParameterType::kList, std::nullopt, false};
  i.input_parameters["opt"] = {ParameterType::kString, std::nullopt, true};
  i.input_artifacts["a"] = {{"system.Dataset", "0.0.1"}, false};
  i.input_artifacts["maybe"] = {{"system.Model", "0.0.1"}, true};
  i.output_parameters["o"] = ParameterType::kString;
  i.output_artifacts["out"] = {{"system.Model", "0.0.1"}, Json::object()};
  return i;
}

ExecutorContext make_context() {
  const auto dir = fuzz::work_dir();
  ExecutorContext c;
  c.parameters = {{"p", "text"}, {"n", 3}, {"x", 0.15}, {"l", Json::array({1, "a"})}};
  c.input_artifacts["a"] = {"a", (dir / "a").string(), dir / "a", {"system.Dataset", "0.0.1"}};
  c.output_artifacts["out"] = {"out", (dir / "out").string(), dir / "out",
                               {"system.Model", "0.0.1"}};
  c.output_parameter_files["o"] = dir / "o";
  c.executor_output_file = dir / "executor_output.json";
  return c;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Interface interface = make_interface();
  static const ExecutorContext context = make_context();
  const std::string arg = fuzz::text(data, size);
  bool valid = false;
  fuzz::expect_clean_refusal([&] {
    check_placeholders(arg, interface);
    valid = true;
  });
  if (valid) fuzz::expect_clean_refusal([&] { expand_argument(arg, context); });
  input_parameter_references(arg);
  fuzz::expect_clean_refusal([&] { substitute_input_parameters(arg, context.parameters); });
  return 0;
}
