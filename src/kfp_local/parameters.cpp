// Parameter types and values, following the KFP launcher's text conversions.
#include "kfp_local/parameters.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>

#include "common/error.h"
#include "common/text.h"

namespace advkfp::kfp_local {
namespace {

struct TypeName {
  ParameterType type;
  const char* name;
};
constexpr TypeName kTypeNames[] = {
    {ParameterType::kNumberDouble, "NUMBER_DOUBLE"},
    {ParameterType::kNumberInteger, "NUMBER_INTEGER"},
    {ParameterType::kString, "STRING"},
    {ParameterType::kBoolean, "BOOLEAN"},
    {ParameterType::kList, "LIST"},
    {ParameterType::kStruct, "STRUCT"},
};


std::string quoted(const std::string& text) { return Json(text).dump(); }

int64_t parse_int(const std::string& text) {
  const std::string t = trim_space(text);
  // from_chars rejects a leading '+', which ParseInt accepts.
  const size_t start = (!t.empty() && t[0] == '+') ? 1 : 0;
  int64_t value = 0;
  const char* first = t.data() + start;
  const char* last = t.data() + t.size();
  const auto [ptr, ec] = std::from_chars(first, last, value);
  if (first == last || ec == std::errc::invalid_argument || ptr != last ||
      (start == 1 && t.size() > 1 && t[1] == '-')) {
    throw Error(quoted(text) + " is not an integer");
  }
  if (ec == std::errc::result_out_of_range) {
    throw Error(quoted(text) + " is out of the int64 range");
  }
  return value;
}

double parse_double(const std::string& text) {
  const std::string t = trim_space(text);
  if (t.empty()) throw Error(quoted(text) + " is not a number");
  char* end = nullptr;
  const double value = std::strtod(t.c_str(), &end);
  if (end != t.c_str() + t.size()) throw Error(quoted(text) + " is not a number");
  // JSON (and so the run summary and ExecutorInput) cannot carry NaN or infinities.
  if (!std::isfinite(value)) throw Error(quoted(text) + " is not a finite number");
  return value;
}

bool parse_bool(const std::string& text) {
  const std::string t = trim_space(text);
  for (const char* s : {"1", "t", "T", "TRUE", "true", "True"}) {
    if (t == s) return true;
  }
  for (const char* s : {"0", "f", "F", "FALSE", "false", "False"}) {
    if (t == s) return false;
  }
  throw Error(quoted(text) + " is not a boolean (use true or false)");
}

Json parse_json(const std::string& text, Json::value_t expected, const char* kind) {
  Json value;
  try {
    value = Json::parse(text);
  } catch (const Json::parse_error& e) {
    throw Error(std::string("not valid JSON for a ") + kind + " (byte " + std::to_string(e.byte) +
                ")");
  } catch (const Json::out_of_range&) {  // 406: a number beyond a double, e.g. 1e999
    throw Error(std::string("not valid JSON for a ") + kind + " (a number too large for a double)");
  }
  if (value.type() != expected) {
    throw Error(std::string("expected a JSON ") + kind + ", got " + describe_value(value));
  }
  return value;
}

[[noreturn]] void mismatch(const Json& value, ParameterType type) {
  throw Error(std::string("expected ") + parameter_type_name(type) + ", got " +
              describe_value(value));
}

}  // namespace

const char* parameter_type_name(ParameterType type) {
  for (const auto& t : kTypeNames) {
    if (t.type == type) return t.name;
  }
  return "?";
}

ParameterType parse_parameter_type(const std::string& name) {
  for (const auto& t : kTypeNames) {
    if (name == t.name) return t.type;
  }
  throw Error("unknown parameter type '" + name +
              "' (expected NUMBER_DOUBLE, NUMBER_INTEGER, STRING, BOOLEAN, LIST or STRUCT)");
}

Json parse_parameter_text(const std::string& text, ParameterType type) {
  // Parameter values travel as protobuf strings (and JSON), which must be UTF-8.
  if (const size_t at = invalid_utf8_at(text); at != std::string::npos) {
    throw Error("is not UTF-8 text (byte " + std::to_string(at) + ")");
  }
  switch (type) {
    case ParameterType::kString:
      return text;
    case ParameterType::kNumberInteger:
      return parse_int(text);
    case ParameterType::kNumberDouble:
      return parse_double(text);
    case ParameterType::kBoolean:
      return parse_bool(text);
    case ParameterType::kList:
      return parse_json(text, Json::value_t::array, "array");
    case ParameterType::kStruct:
      return parse_json(text, Json::value_t::object, "object");
  }
  throw Error("unknown parameter type");
}

Json coerce_parameter(const Json& value, ParameterType type) {
  switch (type) {
    case ParameterType::kString:
      if (!value.is_string()) mismatch(value, type);
      return value;
    case ParameterType::kBoolean:
      if (!value.is_boolean()) mismatch(value, type);
      return value;
    case ParameterType::kList:
      if (!value.is_array()) mismatch(value, type);
      return value;
    case ParameterType::kStruct:
      if (!value.is_object()) mismatch(value, type);
      return value;
    case ParameterType::kNumberDouble:
      if (!value.is_number()) mismatch(value, type);
      return value.get<double>();
    case ParameterType::kNumberInteger:
      if (value.is_number_unsigned()) {
        if (value.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
          mismatch(value, type);
        }
        return value.get<int64_t>();
      }
      if (value.is_number_integer()) return value.get<int64_t>();
      if (value.is_number_float()) {
        // Protobuf Values carry every number as a double, so 3.0 is a valid integer.
        const double d = value.get<double>();
        if (std::trunc(d) == d && std::abs(d) < 9.2e18) return static_cast<int64_t>(d);
      }
      mismatch(value, type);
  }
  throw Error("unknown parameter type");
}

std::string format_parameter(const Json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number_float()) {
    char buf[400];
    const auto result =
        std::to_chars(buf, buf + sizeof(buf), value.get<double>(), std::chars_format::fixed);
    return std::string(buf, result.ptr);
  }
  return value.dump();
}

std::string describe_value(const Json& value) {
  std::string text = value.dump();
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  return std::string(value.type_name()) + " " + text;
}

}  // namespace advkfp::kfp_local
