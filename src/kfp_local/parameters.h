// KFP parameter values: the six parameter types, Go-like text parsing, coercion and formatting.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace advkfp::kfp_local {

using Json = nlohmann::json;

/// `parameterType` of an IR parameter definition.
enum class ParameterType { kNumberDouble, kNumberInteger, kString, kBoolean, kList, kStruct };

/// The IR spelling: "NUMBER_DOUBLE", "NUMBER_INTEGER", "STRING", "BOOLEAN", "LIST", "STRUCT".
const char* parameter_type_name(ParameterType type);

/// Parses the IR spelling of a parameter type. Throws advkfp::Error "unknown parameter type 'X'".
ParameterType parse_parameter_type(const std::string& name);

/// Parses a value written as text, the way the KFP launcher reads output parameter files:
/// STRING is taken verbatim (not trimmed); NUMBER_INTEGER, NUMBER_DOUBLE and BOOLEAN are trimmed
/// and parsed like Go's strconv.ParseInt (base 10, 64 bits), ParseFloat (finite values only) and
/// ParseBool (1 t T TRUE true True 0 f F FALSE false False); LIST and STRUCT must be a JSON array
/// or object. Returns an int64 for NUMBER_INTEGER and a double for NUMBER_DOUBLE. Throws
/// advkfp::Error describing the problem (without naming the parameter; callers add the name).
Json parse_parameter_text(const std::string& text, ParameterType type);

/// Checks that a JSON value (an IR constant or default, a value read from ExecutorOutput, or an
/// upstream output) fits `type` and normalises it: NUMBER_INTEGER becomes an int64 (an integral
/// double is accepted), NUMBER_DOUBLE a double. Throws advkfp::Error "expected NUMBER_INTEGER, got
/// string \"x\"" when it does not fit.
Json coerce_parameter(const Json& value, ParameterType type);

/// Formats a value for a command line as the KFP launcher does: strings verbatim, booleans
/// `true`/`false`, integers in decimal, doubles in the shortest round-trip decimal form without
/// exponent (0.15, 10, 0.00001), lists and structs as compact JSON, null as `null`.
std::string format_parameter(const Json& value);

/// A short human description of a value for error messages: its JSON type and JSON text, e.g.
/// `string "abc"`, `number 3`.
std::string describe_value(const Json& value);

}  // namespace advkfp::kfp_local
