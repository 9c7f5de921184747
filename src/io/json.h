// JSON files: strict reading with errors that name the input, atomic pretty writing.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <type_traits>

#include "common/error.h"

namespace advkfp::io {

using Json = nlohmann::json;

/// Parses JSON text read from `path`. Throws advkfp::Error as read_json does.
Json parse_json(const std::string& text, const std::filesystem::path& path, const std::string& what);

/// Parses a JSON file. Throws advkfp::Error "<what>: '<path>' is not valid JSON: ..." on bad input.
Json read_json(const std::filesystem::path& path, const std::string& what);

/// Writes `value` pretty-printed (2 spaces, trailing newline) through write_atomically().
void write_json(const std::filesystem::path& path, const Json& value, const std::string& what);

/// The value at a dotted path ("model.sha256") of `j`, or a null value when any part is missing.
const Json& at_path(const Json& j, const std::string& path);

/// Throws advkfp::Error "<what>: field '<field>' <problem>": the one form in which every reader of
/// the project's JSON files (manifests, sidecars, metrics, run summaries) names a bad field.
[[noreturn]] void bad_field(const std::string& what, const std::string& field,
                            const std::string& problem);

/// Reads the required field at dotted `path` of an object as T; a missing field or one of
/// another type is bad_field(): "is missing<missing_hint>", "is <value>, not <kind>".
template <class T>
T require(const Json& obj, const std::string& path, const std::string& what, const char* kind,
          const std::string& missing_hint = "") {
  const Json& v = at_path(obj, path);
  if (v.is_null()) bad_field(what, path, "is missing" + missing_hint);
  try {
    return v.get<T>();
  } catch (const nlohmann::json::exception&) {
    bad_field(what, path, "is " + v.dump().substr(0, 40) + ", not " + kind);
  }
}

/// require() with the JSON kind T needs named from T ("a string", "an integer", ...).
template <class T>
T require(const Json& obj, const std::string& path, const std::string& what) {
  const char* kind = std::is_same_v<T, std::string> ? "a string"
                     : std::is_same_v<T, bool>      ? "a boolean"
                     : std::is_integral_v<T>        ? "an integer"
                     : std::is_arithmetic_v<T>      ? "a number"
                                                    : "of the expected kind";
  return require<T>(obj, path, what, kind);
}

}  // namespace advkfp::io
