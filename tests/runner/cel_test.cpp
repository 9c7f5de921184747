// Tests of the CEL subset used by triggerPolicy.condition.
#include "kfp_local/cel.h"

#include <catch2/catch.hpp>

#include "common/error.h"

namespace advkfp::kfp_local {
namespace {

using Json = nlohmann::json;

const Json kValues = {
    {"pipelinechannel--detect-degradation-degraded", true},
    {"flag_text", "true"},
    {"count", 7},
    {"ratio", 0.25},
    {"count_as_double", 7.0},
    {"name", "pgd"},
    {"none", nullptr},
};

Json eval(const std::string& text) { return CelExpression::parse(text).evaluate(kValues); }
bool check(const std::string& text) {
  return CelExpression::parse(text).evaluate_condition(kValues);
}

TEST_CASE("CEL: the conditions the KFP SDK compiles dsl.If into", "[cel]") {
  CHECK(check("inputs.parameter_values['pipelinechannel--detect-degradation-degraded'] == true"));
  CHECK(check("inputs.parameter_values['flag_text'] == 'true'"));
  CHECK(check("int(inputs.parameter_values['count']) > 5"));
  CHECK(check("int(inputs.parameter_values['count_as_double']) == 7"));
  CHECK(check("double(inputs.parameter_values['ratio']) <= 0.5"));
  CHECK_FALSE(
      check("!(inputs.parameter_values['pipelinechannel--detect-degradation-degraded'] == "
            "true)"));
  CHECK(
      check("!(inputs.parameter_values['count'] == 1) && inputs.parameter_values['name'] != 'x'"));
}

TEST_CASE("CEL: comparison operators on ints, doubles, strings and bools", "[cel]") {
  CHECK(check("1 == 1"));
  CHECK(check("1 != 2"));
  CHECK(check("1 < 2"));
  CHECK_FALSE(check("2 < 2"));
  CHECK(check("2 <= 2"));
  CHECK(check("3 > 2"));
  CHECK_FALSE(check("2 > 3"));
  CHECK(check("3 >= 3"));
  CHECK(check("0.5 < 0.75"));
  CHECK(check("1 == 1.0"));  // numbers compare by value
  CHECK(check("2 > 1.5"));
  CHECK(check("'abc' < 'abd'"));
  CHECK(check("\"x\" == 'x'"));
  CHECK(check("false < true"));
  CHECK(check("null == null"));
  CHECK(check("inputs.parameter_values['none'] == null"));
  CHECK_FALSE(check("'1' == 1"));  // different types are never equal
  CHECK(check("'1' != 1"));
}

TEST_CASE("CEL: logic, negation, precedence and parentheses", "[cel]") {
  CHECK(check("true && true"));
  CHECK_FALSE(check("true && false"));
  CHECK(check("false || true"));
  CHECK_FALSE(check("false || false"));
  CHECK(check("!false"));
  CHECK(check("!!true"));
  CHECK(check("true || false && false"));  // && binds tighter
  CHECK_FALSE(check("(true || false) && false"));
  CHECK(check("1 < 2 == true"));  // relations are left-associative
  CHECK(eval("-3") == -3);
  CHECK(eval("-(0.5)") == -0.5);
  CHECK(check("-1 < 0"));
}

TEST_CASE("CEL: literals", "[cel]") {
  CHECK(eval("42") == 42);
  CHECK(eval("42").is_number_integer());
  CHECK(eval("1.5") == 1.5);
  CHECK(eval(".5") == 0.5);
  CHECK(eval("1e3") == 1000.0);
  CHECK(eval("1e3").is_number_float());
  CHECK(eval("'it\\'s'") == "it's");
  CHECK(eval("\"a\\tb\\n\"") == "a\tb\n");
  CHECK(eval("null").is_null());
}

TEST_CASE("CEL: int(), double() and string() conversions", "[cel]") {
  CHECK(eval("int(2.9)") == 2);
  CHECK(eval("int(-2.9)") == -2);
  CHECK(eval("int('12')") == 12);
  CHECK(eval("int(inputs.parameter_values['count'])") == 7);
  CHECK(eval("double(3)") == 3.0);
  CHECK(eval("double(3)").is_number_float());
  CHECK(eval("double('0.125')") == 0.125);
  CHECK(eval("string(5)") == "5");
  CHECK(eval("string(0.5)") == "0.5");
  CHECK(eval("string(true)") == "true");
  CHECK_THROWS_WITH(eval("int('abc')"), Catch::Contains("int()"));
  CHECK_THROWS_WITH(eval("int(true)"), Catch::Contains("no such overload"));
  CHECK_THROWS_WITH(eval("double('x')"), Catch::Contains("double()"));
  CHECK_THROWS_WITH(eval("int(1e30)"), Catch::Contains("out of the int64 range"));
}

TEST_CASE("CEL: && and || absorb an error on the side that does not decide", "[cel]") {
  CHECK_FALSE(check("false && inputs.parameter_values['missing'] == 1"));
  CHECK_FALSE(check("inputs.parameter_values['missing'] == 1 && false"));
  CHECK(check("inputs.parameter_values['missing'] == 1 || true"));
  CHECK_THROWS_WITH(check("true && inputs.parameter_values['missing'] == 1"),
                    Catch::Contains("no such key"));
}

TEST_CASE("CEL: evaluation errors name the problem", "[cel]") {
  CHECK_THROWS_AS(eval("inputs.parameter_values['missing']"), Error);
  CHECK_THROWS_WITH(eval("inputs.parameter_values['missing']"), Catch::Contains("'missing'"));
  CHECK_THROWS_WITH(eval("'a' < 1"), Catch::Contains("no such overload: string < int"));
  CHECK_THROWS_WITH(eval("!1"), Catch::Contains("no such overload"));
  CHECK_THROWS_WITH(eval("-'a'"), Catch::Contains("no such overload"));
  CHECK_THROWS_WITH(eval("1 && true"), Catch::Contains("no such overload"));
  CHECK_THROWS_WITH(check("inputs.parameter_values['count']"), Catch::Contains("not a bool"));
}

TEST_CASE("CEL: syntax outside the subset is rejected at parse time", "[cel]") {
  const auto rejects = [](const std::string& text, const std::string& part) {
    INFO(text);
    CHECK_THROWS_WITH(CelExpression::parse(text),
                      Catch::Contains("invalid condition") && Catch::Contains(part));
  };
  rejects("", "unexpected end of input");
  rejects("1 +", "unexpected character '+'");
  rejects("a == 1", "unknown identifier 'a'");
  rejects("size('x') > 1", "unknown function 'size'");
  rejects("(1 == 1", "expected ')'");
  rejects("1 == 1)", "after the end of the expression");
  rejects("'abc", "unterminated string");
  rejects("'a\\qb'", "unsupported escape");
  rejects("inputs.artifacts['x']", "only inputs.parameter_values");
  rejects("inputs.parameter_values[name]", "quoted parameter name");
  rejects("1 = 1", "unexpected character '='");
  rejects("true ? 1 : 2", "unexpected character '?'");
  rejects("99999999999999999999 > 1", "out of the int64 range");
  rejects("int(1, 2)", "takes one argument");
  rejects("3u > 1", "unsupported number literal");
  rejects("1 == 1 && ", "unexpected end of input");
  CHECK_THROWS_WITH(CelExpression::parse("1 == 1 &&& 2"), Catch::Contains("column 10"));
}

TEST_CASE("CEL: parameter_names lists what the condition reads", "[cel]") {
  const auto e = CelExpression::parse(
      "int(inputs.parameter_values['a']) > 1 || inputs.parameter_values[\"b\"] == 'x'");
  CHECK(e.parameter_names() == std::set<std::string>{"a", "b"});
  CHECK(e.text().find("int(") == 0);
}

// Found by fuzz/fuzz_cel: a string literal that was not UTF-8 parsed, and the error naming its
// value threw nlohmann::json's type_error 316 instead of advkfp::Error.
TEST_CASE("CEL: source that is not UTF-8 is a syntax error", "[cel][fuzz]") {
  CHECK_THROWS_AS(CelExpression::parse("'\xdf\xdf' != 'x'"), Error);
  CHECK_THROWS_WITH(CelExpression::parse("'a\xdf' != 'x'"),
                    Catch::Contains("invalid condition") && Catch::Contains("column 3"));
  CHECK(CelExpression::parse("'\xc3\xa9' != 'x'").evaluate_condition(Json::object()));
}

}  // namespace
}  // namespace advkfp::kfp_local
