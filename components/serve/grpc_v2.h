// KServe's Open Inference Protocol (v2) over gRPC, the message half: a ModelInferRequest checked
// and read into the same InferRequest as a REST body (the same checks and messages, v2.h), the
// output tensors of a response, and the status code of a refused request. Torch-free.
//
// Facts, from kserve/kserve docs/predict-api/v2/grpc_predict_v2.proto (tag v0.15.0) unless said:
// - an input's data is either typed, in `contents` (FP32 in fp32_contents, UINT8 in
//   uint_contents), or raw: `raw_input_contents` holds one bytes entry per input, in the order of
//   `inputs`, the row-major elements without padding; an input then has no `contents`; raw
//   tensor data is little-endian, each element in its datatype's native size (Triton's binary
//   tensor data extension, triton-inference-server/server docs/protocol/extension_binary_data.md,
//   which KServe's docs repeat);
// - a response's outputs are typed in `contents`, or raw in `raw_output_contents`, one entry per
//   output; KServe's server answers raw when the request was raw (python/kserve/kserve/protocol/
//   infer_type.py, InferRequest.use_binary_outputs, v0.20.0), Triton's always answers raw, and
//   tritonclient's InferResult.as_numpy reads only raw_output_contents for numeric outputs
//   (triton-inference-server/client src/python/library/tritonclient/grpc/_infer_result.py);
// - errors are the call's status: KServe's interceptor maps invalid input to INVALID_ARGUMENT, an
//   unknown model to NOT_FOUND (also for ModelReady), a model or server not ready to UNAVAILABLE
//   (python/kserve/kserve/protocol/grpc/interceptors.py, v0.20.0).
#pragma once

#include <grpcpp/support/status.h>

#include <cstdint>
#include <string>
#include <vector>

#include "grpc_predict_v2.pb.h"
#include "v2.h"

namespace advkfp::serve::grpc_v2 {

/// Checks a ModelInferRequest for a model whose input is `input` ([-1, C, H, W]) and whose
/// outputs are `outputs`, as v2::parse_infer_request checks a REST body, and reads its data:
/// FP32 in [0, 1] or UINT8 (0..255, divided by 255), typed or raw. `raw` tells which the request
/// used. Throws v2::RequestError(400) naming the problem.
v2::InferRequest parse_infer_request(const inference::ModelInferRequest& request,
                                     const v2::TensorSpec& input,
                                     const std::vector<std::string>& outputs, int64_t max_images,
                                     bool& raw);

/// Appends an output tensor to `response`, its data typed or raw (little-endian).
void add_output(inference::ModelInferResponse& response, const std::string& name,
                const std::vector<int64_t>& shape, const std::vector<float>& values, bool raw);
void add_output(inference::ModelInferResponse& response, const std::string& name,
                const std::vector<int64_t>& shape, const std::vector<int64_t>& values, bool raw);

/// Fills a ModelMetadataResponse as v2::model_metadata fills the REST body.
void model_metadata(const std::string& name, const std::vector<std::string>& versions,
                    const v2::TensorSpec& input, const std::vector<v2::TensorSpec>& outputs,
                    inference::ModelMetadataResponse& response);

/// The gRPC status of a refused request (v2::RequestError's HTTP status): 400 INVALID_ARGUMENT,
/// 404 NOT_FOUND, 413 RESOURCE_EXHAUSTED, 503 UNAVAILABLE, else INTERNAL.
grpc::StatusCode status_code(int http_status);
/// The code's name as the gRPC documentation writes it ("OK", "INVALID_ARGUMENT", ...).
std::string code_name(grpc::StatusCode code);

}  // namespace advkfp::serve::grpc_v2
