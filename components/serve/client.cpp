// Shared client-side helpers (see client.h).
#include "client.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "v2.h"

namespace advkfp::serve::client {

std::string infer_request_body(const float* values, const std::vector<int64_t>& shape, bool uint8,
                               const std::optional<std::string>& id) {
  int64_t n = 1;
  for (const auto d : shape) n *= d;
  nlohmann::json data = nlohmann::json::array();
  for (int64_t i = 0; i < n; ++i) {
    if (uint8) {
      data.push_back(static_cast<int>(std::lround(values[i] * 255.0f)));
    } else {
      data.push_back(values[i]);
    }
  }
  nlohmann::json input = {{"name", v2::kInputName},
                          {"shape", shape},
                          {"datatype", uint8 ? "UINT8" : "FP32"},
                          {"data", std::move(data)}};
  nlohmann::json j = {{"inputs", nlohmann::json::array({std::move(input)})}};
  if (id) j["id"] = *id;
  return j.dump();
}

double percentile(std::vector<double> values, double q) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const double rank = std::ceil(q * static_cast<double>(values.size())) - 1;
  return values[static_cast<size_t>(std::clamp(rank, 0.0, static_cast<double>(values.size() - 1)))];
}

}  // namespace advkfp::serve::client
