// JSON files: strict reading with errors that name the input, atomic pretty writing.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "common/error.h"

namespace advkfp::io {

using Json = nlohmann::json;

/// Parses JSON text read from `path`. Throws advkfp::Error as read_json does.
Json parse_json(const std::string& text, const std::filesystem::path& path, const std::string& what);

/// Parses a JSON file. Throws advkfp::Error "<what>: '<path>' is not valid JSON: ..." on bad input.
Json read_json(const std::filesystem::path& path, const std::string& what);

/// Writes `value` pretty-printed (2 spaces, trailing newline) through write_atomically().
void write_json(const std::filesystem::path& path, const Json& value, const std::string& what);

/// Reads a required field of an object, with the error naming `what` and the key.
template <class T>
T require(const Json& obj, const std::string& key, const std::string& what) {
  if (!obj.is_object() || !obj.contains(key)) {
    throw Error(what + ": missing field '" + key + "'");
  }
  try {
    return obj.at(key).get<T>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(what + ": field '" + key + "' has the wrong type");
  }
}

}  // namespace advkfp::io
