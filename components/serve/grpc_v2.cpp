// v2 gRPC messages: request checking and reading, response outputs, status codes (see grpc_v2.h).
#include "grpc_v2.h"

#include <cstring>

namespace advkfp::serve::grpc_v2 {
namespace {

[[noreturn]] void bad(const std::string& message) { throw v2::RequestError(400, message); }

// Little-endian bytes <-> values, whatever the host's byte order.
template <class U>
U load_le(const char* p) {
  U v = 0;
  for (size_t b = 0; b < sizeof(U); ++b) v |= static_cast<U>(static_cast<unsigned char>(p[b])) << (8 * b);
  return v;
}
template <class U>
void store_le(U v, std::string& out) {
  for (size_t b = 0; b < sizeof(U); ++b) out.push_back(static_cast<char>((v >> (8 * b)) & 0xff));
}

float float_of_bits(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

uint32_t bits_of_float(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  return bits;
}

inference::ModelInferResponse::InferOutputTensor& add_tensor(
    inference::ModelInferResponse& response, const std::string& name, const char* datatype,
    const std::vector<int64_t>& shape) {
  auto& t = *response.add_outputs();
  t.set_name(name);
  t.set_datatype(datatype);
  for (const auto d : shape) t.add_shape(d);
  return t;
}

}  // namespace

v2::InferRequest parse_infer_request(const inference::ModelInferRequest& request,
                                     const v2::TensorSpec& input,
                                     const std::vector<std::string>& outputs, int64_t max_images,
                                     bool& raw) {
  v2::InferRequest r;
  if (!request.id().empty()) r.id = request.id();
  if (request.inputs_size() != 1) {
    bad("'inputs' has " + std::to_string(request.inputs_size()) + " tensors; the model takes one, '" +
        input.name + "'");
  }
  const auto& in = request.inputs(0);
  const std::vector<int64_t> shape(in.shape().begin(), in.shape().end());
  const size_t expected = v2::check_input(in.name(), in.datatype(), shape, input, max_images);
  r.batch = shape[0];
  const bool uint8 = in.datatype() == "UINT8";
  raw = request.raw_input_contents_size() > 0;
  r.data.reserve(expected);
  if (raw) {
    if (request.raw_input_contents_size() != 1) {
      bad("'raw_input_contents' has " + std::to_string(request.raw_input_contents_size()) +
          " entries for 1 input");
    }
    if (in.has_contents()) {
      bad("input '" + in.name() + "' has 'contents' although the request uses 'raw_input_contents'");
    }
    const std::string& bytes = request.raw_input_contents(0);
    const size_t width = uint8 ? 1 : 4;
    v2::check_count(in.name(), bytes.size(), "bytes of raw_input_contents", shape, expected * width);
    const std::string where = "input '" + in.name() + "' raw_input_contents";
    for (size_t i = 0; i < expected; ++i) {
      if (uint8) {
        r.data.push_back(v2::uint8_pixel(static_cast<unsigned char>(bytes[i]), i, where));
      } else {
        const float f = float_of_bits(load_le<uint32_t>(bytes.data() + 4 * i));
        r.data.push_back(v2::fp32_pixel(f, std::to_string(f), i, where));
      }
    }
  } else if (uint8) {
    const auto& values = in.contents().uint_contents();
    v2::check_count(in.name(), static_cast<size_t>(values.size()), "uint_contents (UINT8)", shape, expected);
    const std::string where = "input '" + in.name() + "' uint_contents";
    for (size_t i = 0; i < expected; ++i) r.data.push_back(v2::uint8_pixel(values[static_cast<int>(i)], i, where));
  } else {
    const auto& values = in.contents().fp32_contents();
    v2::check_count(in.name(), static_cast<size_t>(values.size()), "fp32_contents (FP32)", shape, expected);
    const std::string where = "input '" + in.name() + "' fp32_contents";
    for (size_t i = 0; i < expected; ++i) {
      const float f = values[static_cast<int>(i)];
      r.data.push_back(v2::fp32_pixel(f, std::to_string(f), i, where));
    }
  }
  std::vector<std::string> requested;
  for (const auto& o : request.outputs()) requested.push_back(o.name());
  r.outputs = v2::check_outputs(requested, outputs);
  return r;
}

void add_output(inference::ModelInferResponse& response, const std::string& name,
                const std::vector<int64_t>& shape, const std::vector<float>& values, bool raw) {
  auto& t = add_tensor(response, name, "FP32", shape);
  if (!raw) {
    t.mutable_contents()->mutable_fp32_contents()->Add(values.begin(), values.end());
    return;
  }
  std::string& bytes = *response.add_raw_output_contents();
  bytes.reserve(4 * values.size());
  for (const float v : values) store_le(bits_of_float(v), bytes);
}

void add_output(inference::ModelInferResponse& response, const std::string& name,
                const std::vector<int64_t>& shape, const std::vector<int64_t>& values, bool raw) {
  auto& t = add_tensor(response, name, "INT64", shape);
  if (!raw) {
    t.mutable_contents()->mutable_int64_contents()->Add(values.begin(), values.end());
    return;
  }
  std::string& bytes = *response.add_raw_output_contents();
  bytes.reserve(8 * values.size());
  for (const int64_t v : values) store_le(static_cast<uint64_t>(v), bytes);
}

void model_metadata(const std::string& name, const std::vector<std::string>& versions,
                    const v2::TensorSpec& input, const std::vector<v2::TensorSpec>& outputs,
                    inference::ModelMetadataResponse& response) {
  const auto fill = [](const v2::TensorSpec& spec,
                       inference::ModelMetadataResponse::TensorMetadata& t) {
    t.set_name(spec.name);
    t.set_datatype(spec.datatype);
    for (const auto d : spec.shape) t.add_shape(d);
  };
  response.set_name(name);
  for (const auto& v : versions) response.add_versions(v);
  response.set_platform(v2::kPlatform);
  fill(input, *response.add_inputs());
  for (const auto& o : outputs) fill(o, *response.add_outputs());
}

grpc::StatusCode status_code(int http_status) {
  switch (http_status) {
    case 400: return grpc::StatusCode::INVALID_ARGUMENT;
    case 404: return grpc::StatusCode::NOT_FOUND;
    case 413: return grpc::StatusCode::RESOURCE_EXHAUSTED;
    case 503: return grpc::StatusCode::UNAVAILABLE;
    default: return grpc::StatusCode::INTERNAL;
  }
}

std::string code_name(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK: return "OK";
    case grpc::StatusCode::CANCELLED: return "CANCELLED";
    case grpc::StatusCode::INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND: return "NOT_FOUND";
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::UNAVAILABLE: return "UNAVAILABLE";
    case grpc::StatusCode::INTERNAL: return "INTERNAL";
    default: return "CODE_" + std::to_string(static_cast<int>(code));
  }
}

}  // namespace advkfp::serve::grpc_v2
