// JSON file helpers.
#include "io/json.h"

#include <sstream>

#include "common/error.h"
#include "io/files.h"

namespace advkfp::io {

Json read_json(const std::filesystem::path& path, const std::string& what) {
  return parse_json(read_file(path, what), path, what);
}

Json parse_json(const std::string& text, const std::filesystem::path& path, const std::string& what) {
  try {
    return Json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw Error(describe(what, "'" + path.string() + "' is not valid JSON (byte " +
                                   std::to_string(e.byte) + ")"));
  } catch (const nlohmann::json::out_of_range&) {  // 406: a number beyond a double, e.g. 1e999
    throw Error(describe(what, "'" + path.string() + "' holds a number too large for a double"));
  }
}

void write_json(const std::filesystem::path& path, const Json& value, const std::string& what) {
  write_atomically(path, value.dump(2) + "\n", what);
}

const Json& at_path(const Json& j, const std::string& path) {
  static const Json kNull;
  const Json* cur = &j;
  std::istringstream parts(path);
  for (std::string key; std::getline(parts, key, '.');) {
    if (!cur->is_object() || !cur->contains(key)) return kNull;
    cur = &(*cur)[key];
  }
  return *cur;
}

void bad_field(const std::string& what, const std::string& field, const std::string& problem) {
  throw Error(describe(what, "field '" + field + "' " + problem));
}

}  // namespace advkfp::io
