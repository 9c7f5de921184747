// The v2 REST JSON without a server: what a request may hold and what is refused (facts from
// kserve/kserve docs/predict-api/v2/required_api.md, commit 00c99416).
#include <catch2/catch.hpp>

#include "v2.h"

using namespace advkfp::serve;
using Json = nlohmann::json;

namespace {

const v2::TensorSpec kInput{"input", "FP32", {-1, 1, 2, 2}};
const std::vector<std::string> kOutputs = {"logits", "class_index"};

v2::InferRequest parse(const Json& j, int64_t max_images = 8) {
  return v2::parse_infer_request(j.dump(), kInput, kOutputs, max_images);
}

Json request(Json data, Json shape = {1, 1, 2, 2}, std::string datatype = "FP32") {
  return {{"inputs", {{{"name", "input"}, {"shape", shape}, {"datatype", datatype}, {"data", data}}}}};
}

int status_of(const std::string& body, int64_t max_images = 8) {
  try {
    v2::parse_infer_request(body, kInput, kOutputs, max_images);
  } catch (const v2::RequestError& e) {
    return e.status();
  }
  return 200;
}

}  // namespace

TEST_CASE("v2: tensor data may be flat or nested, row-major (required_api.md 'Tensor Data')",
          "[serve][v2]") {
  const auto flat = parse(request({0.0, 0.25, 0.5, 1.0}));
  const auto nested = parse(request(Json::parse("[[[[0.0, 0.25], [0.5, 1.0]]]]")));
  CHECK(flat.data == std::vector<float>{0.0f, 0.25f, 0.5f, 1.0f});
  CHECK(nested.data == flat.data);
  CHECK(flat.batch == 1);
  CHECK(flat.outputs == kOutputs);  // no "outputs": every output
  CHECK_FALSE(flat.id.has_value());
}

TEST_CASE("v2: UINT8 data is divided by 255 as a uint8 dataset is read", "[serve][v2]") {
  const auto r = parse(request({0, 51, 128, 255}, {1, 1, 2, 2}, "UINT8"));
  CHECK(r.data == std::vector<float>{0.0f, 51.0f / 255.0f, 128.0f / 255.0f, 1.0f});
}

TEST_CASE("v2: the request id and the requested outputs are kept", "[serve][v2]") {
  auto j = request({0, 0, 0, 0, 0, 0, 0, 0}, {2, 1, 2, 2});
  j["id"] = "42";
  j["outputs"] = {{{"name", "class_index"}}};
  const auto r = parse(j);
  REQUIRE(r.id.has_value());
  CHECK(*r.id == "42");
  CHECK(r.batch == 2);
  CHECK(r.outputs == std::vector<std::string>{"class_index"});
}

TEST_CASE("v2: a bad request is a 400 naming the problem", "[serve][v2]") {
  const auto message = [](const Json& j) {
    try {
      parse(j);
    } catch (const v2::RequestError& e) {
      CHECK(e.status() == 400);
      return std::string(e.what());
    }
    FAIL("accepted: " << j.dump());
    return std::string();
  };
  CHECK(status_of("{\"inputs\": [") == 400);
  CHECK(status_of("[1, 2]") == 400);
  CHECK_THAT(message(request({0, 0, 0})), Catch::Contains("3 elements"));
  CHECK_THAT(message(request({0, 0, 0, 0, 0})), Catch::Contains("more elements"));
  CHECK_THAT(message(request({0, 0, 0, 0}, {1, 1, 4, 1})), Catch::Contains("shape [1, 1, 4, 1]"));
  CHECK_THAT(message(request({0, 0, 0, 0}, {1, 2, 2})), Catch::Contains("shape"));
  CHECK_THAT(message(request({0, 0, 0, 0}, {1, 1, 2, 2}, "FP64")), Catch::Contains("FP32 or UINT8"));
  CHECK_THAT(message(request({0, 0, 0, 1.5})), Catch::Contains("outside [0, 1]"));
  CHECK_THAT(message(request({0, 0, 0, "x"})), Catch::Contains("not a number"));
  CHECK_THAT(message(request({0, 0, 0, 256}, {1, 1, 2, 2}, "UINT8")), Catch::Contains("0..255"));
  CHECK_THAT(message(request({0, 0, 0, 0.5}, {1, 1, 2, 2}, "UINT8")), Catch::Contains("not an integer"));
  CHECK_THAT(message(request(Json::array(), {0, 1, 2, 2})), Catch::Contains("1 to 8"));
  CHECK_THAT(message(request(Json::parse("[[[[[0, 0, 0, 0]]]]]"))), Catch::Contains("nested deeper"));
  CHECK(status_of(request(std::vector<int>(9 * 4, 0), {9, 1, 2, 2}).dump(), 8) == 400);
  auto wrong_name = request({0, 0, 0, 0});
  wrong_name["inputs"][0]["name"] = "x";
  CHECK_THAT(message(wrong_name), Catch::Contains("unknown input 'x'"));
  auto two = request({0, 0, 0, 0});
  two["inputs"].push_back(two["inputs"][0]);
  CHECK_THAT(message(two), Catch::Contains("has 2 tensors"));
  auto unknown_output = request({0, 0, 0, 0});
  unknown_output["outputs"] = {{{"name", "probabilities"}}};
  CHECK_THAT(message(unknown_output), Catch::Contains("unknown output 'probabilities'"));
}

TEST_CASE("v2: metadata, response and error bodies have the required fields", "[serve][v2]") {
  const auto m = v2::model_metadata("m", {"3"}, kInput, {{"logits", "FP32", {-1, 10}}});
  CHECK(m["name"] == "m");
  CHECK(m["versions"] == Json::array({"3"}));
  CHECK(m["platform"] == "pytorch_torchscript");
  CHECK(m["inputs"][0] == Json{{"name", "input"}, {"datatype", "FP32"}, {"shape", {-1, 1, 2, 2}}});
  CHECK(m["outputs"][0]["shape"] == Json{-1, 10});
  const auto r = v2::infer_response("m", "3", std::string("7"), {{"class_index", "INT64", {2}, {1, 4}}});
  CHECK(r["model_name"] == "m");
  CHECK(r["model_version"] == "3");
  CHECK(r["id"] == "7");
  CHECK(r["outputs"][0] == Json{{"name", "class_index"}, {"datatype", "INT64"}, {"shape", {2}}, {"data", {1, 4}}});
  CHECK_FALSE(v2::infer_response("m", "3", std::nullopt, {}).contains("id"));
  CHECK(v2::error_body("boom") == Json{{"error", "boom"}});
}

// Found by fuzz/fuzz_serve_v2: a number beyond a double (1e999) made nlohmann::json throw
// out_of_range 406, not the parse_error that was caught, so the request did not get its 400.
TEST_CASE("v2: a number too large for a double is a bad request", "[serve][v2][fuzz]") {
  CHECK(status_of(R"({"inputs": [{"name": "input", "shape": [1, 1, 2, 2], "datatype": "FP32",
                                   "data": [1e999, 0, 0, 0]}]})") == 400);
  CHECK(status_of(R"({"id": 5111111111111111101111110072e494940})") == 400);
}
