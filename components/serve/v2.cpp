// KServe v2 REST JSON: metadata, request parsing and checking, response bodies (see v2.h).
#include "v2.h"

#include <algorithm>
#include <cmath>

namespace advkfp::serve::v2 {
namespace {

using Json = nlohmann::json;

[[noreturn]] void bad(const std::string& message) { throw RequestError(400, message); }

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// Appends the elements of `data` (nested arrays or flat, row-major) as model inputs in [0, 1],
// stopping with an error once more than `expected` are seen or the nesting is deeper than the
// tensor's rank (which also bounds the recursion).
void flatten(const Json& data, bool uint8, size_t expected, size_t depth_left, std::vector<float>& out) {
  if (data.is_array()) {
    if (depth_left == 0) bad("input 'data' is nested deeper than its shape");
    for (const auto& e : data) flatten(e, uint8, expected, depth_left - 1, out);
    return;
  }
  if (out.size() >= expected) {
    bad("input 'data' holds more elements than its shape (" + std::to_string(expected) + ")");
  }
  const size_t index = out.size();
  if (uint8) {
    // An integer 0..255; 3.0 is a JSON float and not a UINT8 value.
    if (!data.is_number_integer()) {
      bad("input 'data' element " + std::to_string(index) + " is not an integer (UINT8)");
    }
    const auto v = data.is_number_unsigned() ? static_cast<int64_t>(data.get<uint64_t>())
                                             : data.get<int64_t>();
    out.push_back(uint8_pixel(v, index, "input 'data'"));
    return;
  }
  if (!data.is_number()) {
    bad("input 'data' element " + std::to_string(index) + " is not a number (FP32)");
  }
  out.push_back(fp32_pixel(data.get<double>(), data.dump(), index, "input 'data'"));
}

}  // namespace

float uint8_pixel(int64_t v, size_t index, const std::string& where) {
  if (v < 0 || v > 255) {
    bad(where + " element " + std::to_string(index) + " = " + std::to_string(v) +
        " is outside 0..255 (UINT8)");
  }
  return static_cast<float>(v) / 255.0f;
}

float fp32_pixel(double v, const std::string& text, size_t index, const std::string& where) {
  const auto f = static_cast<float>(v);
  if (!std::isfinite(v) || f < 0.0f || f > 1.0f) {
    bad(where + " element " + std::to_string(index) + " = " + text +
        " is outside [0, 1] (the model takes FP32 pixels in [0, 1], or UINT8)");
  }
  return f;
}

size_t check_input(const std::string& name, const std::string& datatype,
                   const std::vector<int64_t>& shape, const TensorSpec& input, int64_t max_images) {
  if (name != input.name) bad("unknown input '" + name + "'; the model's input is '" + input.name + "'");
  if (datatype != "FP32" && datatype != "UINT8") {
    bad("input '" + name + "' has datatype '" + datatype + "'; the model takes FP32 or UINT8");
  }
  for (const auto d : shape) {
    if (d < 0) bad("input '" + name + "' has a negative dimension in shape " + shape_text(shape));
  }
  bool fits = shape.size() == input.shape.size();
  for (size_t i = 1; fits && i < shape.size(); ++i) fits = shape[i] == input.shape[i];
  if (!fits) {
    bad("input '" + name + "' has shape " + shape_text(shape) + "; the model takes " +
        shape_text(input.shape));
  }
  if (shape[0] < 1 || shape[0] > max_images) {
    bad("input '" + name + "' holds " + std::to_string(shape[0]) + " images; 1 to " +
        std::to_string(max_images) + " per request");
  }
  size_t expected = 1;
  for (const auto d : shape) expected *= static_cast<size_t>(d);
  return expected;
}

void check_count(const std::string& name, size_t count, const std::string& unit,
                 const std::vector<int64_t>& shape, size_t expected) {
  if (count != expected) {
    bad("input '" + name + "' has " + std::to_string(count) + " " + unit + "; shape " +
        shape_text(shape) + " needs " + std::to_string(expected));
  }
}

std::vector<std::string> check_outputs(const std::vector<std::string>& requested,
                                       const std::vector<std::string>& outputs) {
  for (const auto& out : requested) {
    if (std::find(outputs.begin(), outputs.end(), out) == outputs.end()) {
      bad("unknown output '" + out + "'");
    }
  }
  return requested.empty() ? outputs : requested;  // none asked for: every output
}

Json error_body(const std::string& message) { return Json{{"error", message}}; }

Json model_metadata(const std::string& name, const std::vector<std::string>& versions,
                    const TensorSpec& input, const std::vector<TensorSpec>& outputs) {
  const auto tensor = [](const TensorSpec& t) {
    return Json{{"name", t.name}, {"datatype", t.datatype}, {"shape", t.shape}};
  };
  Json outs = Json::array();
  for (const auto& o : outputs) outs.push_back(tensor(o));
  return Json{{"name", name},
              {"versions", versions},
              {"platform", kPlatform},
              {"inputs", Json::array({tensor(input)})},
              {"outputs", outs}};
}

InferRequest parse_infer_request(const std::string& body, const TensorSpec& input,
                                 const std::vector<std::string>& outputs, int64_t max_images) {
  Json j;
  try {
    j = Json::parse(body);
  } catch (const Json::exception& e) {  // parse_error, or out_of_range 406 for 1e999
    bad(std::string("request body is not valid JSON: ") + e.what());
  }
  if (!j.is_object()) bad("request body is not a JSON object");
  InferRequest r;
  if (j.contains("id")) {
    if (!j["id"].is_string()) bad("'id' is not a string");
    r.id = j["id"].get<std::string>();
  }
  if (j.contains("parameters") && !j["parameters"].is_object()) bad("'parameters' is not an object");
  if (!j.contains("inputs") || !j["inputs"].is_array()) bad("'inputs' is missing or not an array");
  const auto& inputs = j["inputs"];
  if (inputs.size() != 1) {
    bad("'inputs' has " + std::to_string(inputs.size()) + " tensors; the model takes one, '" +
        input.name + "'");
  }
  const auto& in = inputs[0];
  if (!in.is_object()) bad("'inputs[0]' is not an object");
  for (const char* key : {"name", "datatype"}) {
    if (!in.contains(key) || !in[key].is_string()) {
      bad(std::string("'inputs[0].") + key + "' is missing or not a string");
    }
  }
  const auto name = in["name"].get<std::string>();
  const auto datatype = in["datatype"].get<std::string>();
  if (!in.contains("shape") || !in["shape"].is_array()) bad("'inputs[0].shape' is missing or not an array");
  std::vector<int64_t> shape;
  for (const auto& d : in["shape"]) {
    if (!d.is_number_integer() || d.get<int64_t>() < 0) {
      bad("'inputs[0].shape' holds a value that is not a non-negative integer");
    }
    shape.push_back(d.get<int64_t>());
  }
  const size_t expected = check_input(name, datatype, shape, input, max_images);
  r.batch = shape[0];
  if (!in.contains("data")) bad("'inputs[0].data' is missing");
  r.data.reserve(expected);
  flatten(in["data"], datatype == "UINT8", expected, shape.size(), r.data);
  check_count(name, r.data.size(), "elements", shape, expected);
  std::vector<std::string> requested;
  if (j.contains("outputs")) {
    if (!j["outputs"].is_array()) bad("'outputs' is not an array");
    for (const auto& o : j["outputs"]) {
      if (!o.is_object() || !o.contains("name") || !o["name"].is_string()) {
        bad("'outputs' holds an entry without a string 'name'");
      }
      requested.push_back(o["name"].get<std::string>());
    }
  }
  r.outputs = check_outputs(requested, outputs);
  return r;
}

Json infer_response(const std::string& model_name, const std::string& model_version,
                    const std::optional<std::string>& id, const std::vector<OutputTensor>& outputs) {
  Json outs = Json::array();
  for (const auto& o : outputs) {
    outs.push_back(
        Json{{"name", o.name}, {"datatype", o.datatype}, {"shape", o.shape}, {"data", o.data}});
  }
  Json r = {{"model_name", model_name}, {"model_version", model_version}, {"outputs", outs}};
  if (id) r["id"] = *id;
  return r;
}

}  // namespace advkfp::serve::v2
