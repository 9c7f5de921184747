// What the clients of a v2 server share (traffic, bench-serve, the tests): the request body for a
// batch of images and latency percentiles. Torch-free.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace advkfp::serve::client {

/// The body of POST /v2/models/NAME/infer for images of `shape` ([N,C,H,W]) holding `values` in
/// [0, 1], row-major: UINT8 sends round(v * 255) (exact for images read from 8-bit files), FP32
/// sends the floats themselves (exact through JSON).
std::string infer_request_body(const float* values, const std::vector<int64_t>& shape, bool uint8,
                               const std::optional<std::string>& id = std::nullopt);

/// The nearest-rank percentile (q in [0, 1]) of `values`; 0 for none.
double percentile(std::vector<double> values, double q);

}  // namespace advkfp::serve::client
