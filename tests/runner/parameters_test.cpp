// Tests of parameter types: Go-like text parsing, coercion of JSON values, command-line formatting.
#include "kfp_local/parameters.h"

#include <catch2/catch.hpp>

#include "common/error.h"

namespace advkfp::kfp_local {
namespace {

Json parse(const std::string& text, ParameterType type) { return parse_parameter_text(text, type); }

TEST_CASE("parameter types: IR names round-trip and unknown names fail", "[parameters]") {
  for (auto t :
       {ParameterType::kNumberDouble, ParameterType::kNumberInteger, ParameterType::kString,
        ParameterType::kBoolean, ParameterType::kList, ParameterType::kStruct}) {
    CHECK(parse_parameter_type(parameter_type_name(t)) == t);
  }
  CHECK_THROWS_WITH(parse_parameter_type("FLOAT"),
                    Catch::Contains("unknown parameter type 'FLOAT'"));
}

TEST_CASE("parameters: STRING is taken verbatim", "[parameters]") {
  CHECK(parse(" a b \n", ParameterType::kString) == " a b \n");
  CHECK(parse("", ParameterType::kString) == "");
  CHECK(parse("42", ParameterType::kString) == "42");
}

TEST_CASE("parameters: NUMBER_INTEGER like strconv.ParseInt after trimming", "[parameters]") {
  CHECK(parse("42", ParameterType::kNumberInteger) == 42);
  CHECK(parse(" -7\n", ParameterType::kNumberInteger) == -7);
  CHECK(parse("+5", ParameterType::kNumberInteger) == 5);
  CHECK(parse("9223372036854775807", ParameterType::kNumberInteger) == INT64_MAX);
  CHECK(parse("42", ParameterType::kNumberInteger).is_number_integer());
  for (const char* bad : {"", "1.5", "abc", "1e3", "0x10", "+-1", "12abc"}) {
    INFO(bad);
    CHECK_THROWS_WITH(parse(bad, ParameterType::kNumberInteger), Catch::Contains("not an integer"));
  }
  CHECK_THROWS_WITH(parse("9223372036854775808", ParameterType::kNumberInteger),
                    Catch::Contains("out of the int64 range"));
}

TEST_CASE("parameters: NUMBER_DOUBLE like strconv.ParseFloat, finite only", "[parameters]") {
  CHECK(parse("0.15", ParameterType::kNumberDouble) == 0.15);
  CHECK(parse(" 1e-3\n", ParameterType::kNumberDouble) == 0.001);
  CHECK(parse("10", ParameterType::kNumberDouble).is_number_float());
  CHECK(parse("-.5", ParameterType::kNumberDouble) == -0.5);
  CHECK_THROWS_WITH(parse("abc", ParameterType::kNumberDouble), Catch::Contains("not a number"));
  CHECK_THROWS_WITH(parse("", ParameterType::kNumberDouble), Catch::Contains("not a number"));
  CHECK_THROWS_WITH(parse("0.5x", ParameterType::kNumberDouble), Catch::Contains("not a number"));
  CHECK_THROWS_WITH(parse("inf", ParameterType::kNumberDouble), Catch::Contains("finite"));
  CHECK_THROWS_WITH(parse("1e999", ParameterType::kNumberDouble), Catch::Contains("finite"));
}

TEST_CASE("parameters: BOOLEAN like strconv.ParseBool", "[parameters]") {
  for (const char* t : {"1", "t", "T", "TRUE", "true", "True", " true\n"}) {
    CHECK(parse(t, ParameterType::kBoolean) == true);
  }
  for (const char* f : {"0", "f", "F", "FALSE", "false", "False"}) {
    CHECK(parse(f, ParameterType::kBoolean) == false);
  }
  for (const char* bad : {"yes", "no", "", "tRuE", "2"}) {
    INFO(bad);
    CHECK_THROWS_WITH(parse(bad, ParameterType::kBoolean), Catch::Contains("not a boolean"));
  }
}

TEST_CASE("parameters: LIST and STRUCT are JSON of the right shape", "[parameters]") {
  CHECK(parse("[1, \"a\"]", ParameterType::kList) == Json::array({1, "a"}));
  CHECK(parse("{\"k\": [1]}", ParameterType::kStruct) == Json{{"k", {1}}});
  CHECK_THROWS_WITH(parse("{\"k\": 1}", ParameterType::kList),
                    Catch::Contains("expected a JSON array"));
  CHECK_THROWS_WITH(parse("[1]", ParameterType::kStruct),
                    Catch::Contains("expected a JSON object"));
  CHECK_THROWS_WITH(parse("[1,", ParameterType::kList), Catch::Contains("not valid JSON"));
}

TEST_CASE("parameters: coercion of JSON values to declared types", "[parameters]") {
  CHECK(coerce_parameter(2.0, ParameterType::kNumberInteger) == 2);
  CHECK(coerce_parameter(2.0, ParameterType::kNumberInteger).is_number_integer());
  CHECK(coerce_parameter(Json::parse("5"), ParameterType::kNumberInteger).is_number_integer());
  CHECK(coerce_parameter(3, ParameterType::kNumberDouble).is_number_float());
  CHECK(coerce_parameter("x", ParameterType::kString) == "x");
  CHECK(coerce_parameter(true, ParameterType::kBoolean) == true);
  CHECK_THROWS_WITH(coerce_parameter(2.5, ParameterType::kNumberInteger),
                    Catch::Contains("expected NUMBER_INTEGER, got number 2.5"));
  CHECK_THROWS_WITH(coerce_parameter("1", ParameterType::kNumberDouble),
                    Catch::Contains("expected NUMBER_DOUBLE, got string \"1\""));
  CHECK_THROWS_AS(coerce_parameter(1, ParameterType::kString), Error);
  CHECK_THROWS_AS(coerce_parameter("true", ParameterType::kBoolean), Error);
  CHECK_THROWS_AS(coerce_parameter(Json::object(), ParameterType::kList), Error);
  CHECK_THROWS_AS(coerce_parameter(Json::array(), ParameterType::kStruct), Error);
}

TEST_CASE("parameters: formatting for command lines", "[parameters]") {
  CHECK(format_parameter(0.15) == "0.15");
  CHECK(format_parameter(10.0) == "10");
  CHECK(format_parameter(1e-5) == "0.00001");
  CHECK(format_parameter(0.1 + 0.2) == "0.30000000000000004");
  CHECK(format_parameter(10) == "10");
  CHECK(format_parameter(-3) == "-3");
  CHECK(format_parameter(true) == "true");
  CHECK(format_parameter(false) == "false");
  CHECK(format_parameter("a \"b\"") == "a \"b\"");
  CHECK(format_parameter(Json::array({1, "a"})) == "[1,\"a\"]");
  CHECK(format_parameter(Json{{"k", 1}}) == "{\"k\":1}");
}

// Found by fuzz/fuzz_parameters: a value that is not UTF-8 was taken as a STRING, and a number's
// error message, which quotes the text as JSON, threw nlohmann::json's type_error 316.
TEST_CASE("parameters: text that is not UTF-8 is refused", "[parameters][fuzz]") {
  CHECK_THROWS_AS(parse_parameter_text("ab\xff", ParameterType::kString), Error);
  CHECK_THROWS_WITH(parse_parameter_text("ab\xff", ParameterType::kString),
                    Catch::Contains("not UTF-8") && Catch::Contains("byte 2"));
  CHECK_THROWS_WITH(parse_parameter_text("0\xb7\xb7.15", ParameterType::kNumberDouble),
                    Catch::Contains("not UTF-8"));  // its error message quoted it as JSON
  CHECK(parse_parameter_text("\xe2\x82\xac", ParameterType::kString) == "\xe2\x82\xac");
}

}  // namespace
}  // namespace advkfp::kfp_local
