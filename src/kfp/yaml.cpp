// YAML emission. Output is parsed back by yaml-cpp in tests, which checks the quoting rules.
#include "kfp/yaml.h"

#include <regex>
#include <sstream>

namespace advkfp::kfp {
namespace {

using Json = nlohmann::ordered_json;

bool needs_quotes(const std::string& s) {
  if (s.empty()) return true;
  static const std::regex kPlain(R"(^[A-Za-z_/][A-Za-z0-9_./ ()+-]*$)");
  if (!std::regex_match(s, kPlain) || s.back() == ' ') return true;
  static const std::regex kReserved(
      R"(^(true|false|yes|no|on|off|y|n|null|~|True|False|Yes|No|On|Off|TRUE|FALSE|NULL|Null)$)");
  return std::regex_match(s, kReserved);
}

std::string scalar(const Json& v) {
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    // JSON string syntax is valid YAML double-quoted syntax.
    return needs_quotes(s) ? Json(s).dump() : s;
  }
  if (v.is_null()) return "null";
  return v.dump();
}

bool is_scalar(const Json& v) { return !v.is_object() && !v.is_array(); }

void emit(std::ostringstream& os, const Json& v, int indent);

void emit_key(std::ostringstream& os, const std::string& key, const Json& value, int indent) {
  os << std::string(indent, ' ') << scalar(Json(key)) << ':';
  if (is_scalar(value)) {
    os << ' ' << scalar(value) << '\n';
  } else if (value.empty()) {
    os << (value.is_object() ? " {}\n" : " []\n");
  } else {
    os << '\n';
    emit(os, value, value.is_array() ? indent : indent + 2);
  }
}

void emit(std::ostringstream& os, const Json& v, int indent) {
  if (v.is_object()) {
    for (auto it = v.begin(); it != v.end(); ++it) emit_key(os, it.key(), it.value(), indent);
    return;
  }
  for (const auto& item : v) {
    os << std::string(indent, ' ') << "- ";
    if (is_scalar(item)) {
      os << scalar(item) << '\n';
    } else if (item.empty()) {
      os << (item.is_object() ? "{}\n" : "[]\n");
    } else if (item.is_object()) {
      // First key on the dash line, the rest aligned under it.
      bool first = true;
      for (auto it = item.begin(); it != item.end(); ++it) {
        std::ostringstream one;
        emit_key(one, it.key(), it.value(), indent + 2);
        std::string text = one.str();
        if (first) text = text.substr(static_cast<size_t>(indent + 2));
        os << text;
        first = false;
      }
    } else {
      os << '\n';
      emit(os, item, indent + 2);
    }
  }
}

}  // namespace

std::string to_yaml(const nlohmann::ordered_json& doc) {
  std::ostringstream os;
  emit(os, doc, 0);
  return os.str();
}

}  // namespace advkfp::kfp
