// KServe's Open Inference Protocol (v2) over REST, the JSON half: model metadata, parsing an
// inference request into the model's one input tensor, and the response and error bodies.
// Torch-free, so it is tested without a model.
//
// Facts from kserve/kserve docs/predict-api/v2/required_api.md (commit 00c99416):
// - health (v2/health/live, v2/health/ready, v2/models/NAME[/versions/V]/ready): 200 is true, a
//   4xx status is false, the body should be empty;
// - v2/models/NAME metadata: {"name", "versions" (optional), "platform", "inputs", "outputs"},
//   each tensor {"name", "datatype", "shape"} with -1 for a variable-size dimension; platform
//   "pytorch_torchscript" for a TorchScript model;
// - POST v2/models/NAME/infer: {"id"?, "parameters"?, "inputs": [{"name", "shape", "datatype",
//   "parameters"?, "data"}], "outputs"?: [{"name", "parameters"?}]}; no "outputs": every output;
//   data row-major, nested or flattened;
// - response {"model_name", "model_version"?, "id" (the request's), "parameters"?, "outputs":
//   [{"name", "shape", "datatype", "data"}]};
// - a failed request: an HTTP error status (typically 400) and {"error": <message>}.
// kserve/kserve python/kserve/kserve/errors.py (commit 01606518): an unknown model is 404 with
// "Model with name NAME does not exist.", invalid input 400.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace advkfp::serve::v2 {

/// A tensor as model metadata describes it; -1 for a variable-size dimension.
struct TensorSpec {
  std::string name;
  std::string datatype;
  std::vector<int64_t> shape;
};

inline constexpr const char* kServerName = "advkfp-serve";
inline constexpr const char* kPlatform = "pytorch_torchscript";
inline constexpr const char* kInputName = "input";
inline constexpr const char* kLogitsName = "logits";        ///< FP32 [N, classes]
inline constexpr const char* kClassName = "class_index";   ///< INT64 [N], argmax of the logits

/// A request the server refuses: the HTTP status and the message of {"error": ...}.
class RequestError : public std::runtime_error {
 public:
  RequestError(int status, const std::string& message)
      : std::runtime_error(message), status_(status) {}
  int status() const { return status_; }

 private:
  int status_;
};

/// {"error": message}
nlohmann::json error_body(const std::string& message);

/// The metadata response of a model taking `input` and producing `outputs`.
nlohmann::json model_metadata(const std::string& name, const std::vector<std::string>& versions,
                              const TensorSpec& input, const std::vector<TensorSpec>& outputs);

/// A parsed inference request: `batch` images as float32 values in [0, 1], row-major.
struct InferRequest {
  std::optional<std::string> id;
  int64_t batch = 0;
  std::vector<float> data;
  std::vector<std::string> outputs;  ///< the outputs to return, in the order asked
};

// The checks both protocols (REST JSON, gRPC) apply, with the same messages.

/// Checks an input tensor's name, datatype and shape against the model's `input` ([-1, C, H, W])
/// and the limit of `max_images` per request; returns the number of elements the data must hold.
/// Throws RequestError(400).
size_t check_input(const std::string& name, const std::string& datatype,
                   const std::vector<int64_t>& shape, const TensorSpec& input, int64_t max_images);
/// Throws RequestError(400) unless the input `name` of `shape` holds `expected` elements
/// (`count` of `unit`, e.g. "elements" or "bytes", as sent).
void check_count(const std::string& name, size_t count, const std::string& unit,
                 const std::vector<int64_t>& shape, size_t expected);
/// A UINT8 element (0..255, divided by 255 as a uint8 dataset is read) as a model input;
/// `where` names the data ("input 'data'") in the error.
float uint8_pixel(int64_t value, size_t index, const std::string& where);
/// An FP32 element, finite and in [0, 1], as a model input; `text` is the value as sent.
float fp32_pixel(double value, const std::string& text, size_t index, const std::string& where);
/// The requested output names, each one of `outputs`; none requested: every output.
std::vector<std::string> check_outputs(const std::vector<std::string>& requested,
                                       const std::vector<std::string>& outputs);

/// Parses and checks an inference request body for a model whose input is `input` (shape
/// [-1, C, H, W]) and whose outputs are `outputs`. Accepts FP32 data in [0, 1] and UINT8 data
/// (0..255, divided by 255 exactly as a uint8 dataset is read), nested or flat. Throws
/// RequestError(400) naming the problem: not JSON, missing or mistyped field, wrong input name,
/// datatype, shape or element count, a value out of range, more than `max_images` images.
InferRequest parse_infer_request(const std::string& body, const TensorSpec& input,
                                 const std::vector<std::string>& outputs, int64_t max_images);

/// One output tensor of a response.
struct OutputTensor {
  std::string name;
  std::string datatype;
  std::vector<int64_t> shape;
  nlohmann::json data;  ///< flat array
};

nlohmann::json infer_response(const std::string& model_name, const std::string& model_version,
                              const std::optional<std::string>& id,
                              const std::vector<OutputTensor>& outputs);

}  // namespace advkfp::serve::v2
