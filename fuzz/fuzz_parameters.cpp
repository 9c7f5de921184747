// KFP parameter values as text (--param NAME=VALUE of kfp-local, output parameter files of a
// task): kfp_local::parse_parameter_text for each of the six types, and, for the JSON values it
// accepts, kfp_local::coerce_parameter, format_parameter and describe_value.
#include "fuzz.h"
#include "kfp_local/parameters.h"

using namespace advkfp;
using namespace advkfp::kfp_local;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text = fuzz::text(data, size);
  for (auto type : {ParameterType::kNumberDouble, ParameterType::kNumberInteger,
                    ParameterType::kString, ParameterType::kBoolean, ParameterType::kList,
                    ParameterType::kStruct}) {
    fuzz::expect_clean_refusal([&] {
      const Json v = parse_parameter_text(text, type);
      format_parameter(v);
      describe_value(v);
      for (auto to : {ParameterType::kNumberDouble, ParameterType::kNumberInteger,
                      ParameterType::kString, ParameterType::kBoolean}) {
        fuzz::expect_clean_refusal([&] { format_parameter(coerce_parameter(v, to)); });
      }
    });
  }
  return 0;
}
