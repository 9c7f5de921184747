// The body of a KServe v2 inference request (POST v2/models/NAME/infer):
// serve::v2::parse_infer_request, as serve parses each request for a model taking [-1,1,4,4]
// images and returning logits and class_index. A refused request is a RequestError (HTTP 4xx).
#include "fuzz.h"
#include "v2.h"

using namespace advkfp::serve;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const v2::TensorSpec input{v2::kInputName, "FP32", {-1, 1, 4, 4}};
  static const std::vector<std::string> outputs = {v2::kLogitsName, v2::kClassName};
  try {
    const auto r = v2::parse_infer_request(advkfp::fuzz::text(data, size), input, outputs, 16);
    if (r.data.size() != static_cast<size_t>(r.batch) * 16) __builtin_trap();
  } catch (const v2::RequestError& e) {
    if (e.status() < 400 || e.status() > 499) __builtin_trap();
  }
  return 0;
}
