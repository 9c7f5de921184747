// CEL trigger conditions (dsl.If): kfp_local::CelExpression::parse, then evaluate_condition over
// parameter values. The input is the expression, then an "@@" line, then the parameter values as
// a JSON object (when it is not one, a fixed set of values is used).
#include "fuzz.h"
#include "kfp_local/cel.h"

using namespace advkfp;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto parts = fuzz::split(fuzz::text(data, size), 2);
  nlohmann::json values = {{"a", 1}, {"b", 0.5}, {"s", "text"}, {"t", true},
                           {"l", {1, 2}}, {"m", {{"k", "v"}}}, {"n", nullptr}};
  if (parts.size() > 1) {
    auto j = nlohmann::json::parse(parts[1], nullptr, /*allow_exceptions=*/false);
    if (j.is_object()) values = std::move(j);
  }
  fuzz::expect_clean_refusal([&] {
    const auto e = kfp_local::CelExpression::parse(parts[0]);
    e.evaluate_condition(values);
  });
  return 0;
}
