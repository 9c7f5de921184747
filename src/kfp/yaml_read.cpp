// YAML -> JSON with yaml-cpp, keeping the distinction between quoted and plain scalars.
#include "kfp/yaml_read.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <regex>
#include <sstream>

#include "common/error.h"
#include "common/text.h"
#include "io/files.h"

namespace advkfp::kfp {
namespace {

nlohmann::json scalar(const YAML::Node& node) {
  const std::string& s = node.Scalar();
  if (node.Tag() == "!") return s;  // quoted: always a string
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  if (s.empty() || s == "null" || s == "Null" || s == "NULL" || s == "~") return nullptr;
  static const std::regex kInt(R"(^[-+]?[0-9]+$)");
  static const std::regex kFloat(R"(^[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$)");
  try {
    if (std::regex_match(s, kInt)) return std::stoll(s);
    if (std::regex_match(s, kFloat)) return std::stod(s);
  } catch (const std::out_of_range&) {
  }
  return s;
}

// A document may not expand to more nodes than this. Aliases let a few hundred bytes stand for
// 10^8 nodes ("billion laughs"); the committed pipelines have about 4,000.
constexpr size_t kMaxNodes = 100000;

nlohmann::json convert(const YAML::Node& node, size_t& budget, const std::string& what) {
  if (budget-- == 0) {
    throw Error(describe(what, "expands to more than " + std::to_string(kMaxNodes) +
                                   " nodes (aliases repeating aliases?)"));
  }
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
    case YAML::NodeType::Scalar:
      // Checked again after yaml-cpp: it takes a stream starting with NULs for UTF-16 or UTF-32
      // and converts it, into bytes that need not be UTF-8.
      if (invalid_utf8_at(node.Scalar()) != std::string::npos) {
        throw Error(describe(what, "line " + std::to_string(node.Mark().line + 1) +
                                       " holds text that is not UTF-8"));
      }
      return scalar(node);
    case YAML::NodeType::Sequence: {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& item : node) out.push_back(convert(item, budget, what));
      return out;
    }
    case YAML::NodeType::Map: {
      nlohmann::json out = nlohmann::json::object();
      for (const auto& kv : node) {
        const auto key = kv.first.as<std::string>();
        if (invalid_utf8_at(key) != std::string::npos) {
          throw Error(describe(what, "line " + std::to_string(kv.first.Mark().line + 1) +
                                         " holds a key that is not UTF-8"));
        }
        out[key] = convert(kv.second, budget, what);
      }
      return out;
    }
  }
  return nullptr;
}

// yaml-cpp 0.7's parser leaves a token that cannot start a node (a ',' at a document's top
// level, as in ", a") in its queue and reports an empty document without consuming it, so
// YAML::LoadAll adds empty documents until memory runs out (jbeder/yaml-cpp#1040, fixed upstream
// after 0.8 by jbeder/yaml-cpp#1318 and #1319; Debian 12 ships 0.7.0). This handler sees the
// parser's events in a first pass and stops at a document that starts where the previous one did.
class ProgressCheck : public YAML::EventHandler {
 public:
  ProgressCheck(const std::string& text, const std::string& what) : text_(text), what_(what) {}

  void OnDocumentStart(const YAML::Mark& mark) override {
    if (documents_++ > 0 && mark.pos == last_start_) {
      const std::string token = mark.pos >= 0 && static_cast<size_t>(mark.pos) < text_.size()
                                    ? "'" + text_.substr(static_cast<size_t>(mark.pos), 1) + "'"
                                    : "this token";
      throw Error(describe(what_, "invalid YAML at line " + std::to_string(mark.line + 1) + ": " +
                                      token + " cannot start a node here"));
    }
    last_start_ = mark.pos;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}

 private:
  const std::string& text_;
  const std::string& what_;
  size_t documents_ = 0;
  int last_start_ = -1;
};

}  // namespace

std::vector<nlohmann::json> parse_yaml_documents(const std::string& text, const std::string& what) {
  // YAML streams are Unicode (YAML 1.2, 5.2); yaml-cpp passes any bytes through, and a scalar
  // that is not UTF-8 cannot become a JSON string.
  if (const size_t at = invalid_utf8_at(text); at != std::string::npos) {
    throw Error(describe(what, "is not UTF-8 text (byte " + std::to_string(at) + ")"));
  }
  std::vector<nlohmann::json> docs;
  try {
    std::istringstream stream(text);
    YAML::Parser parser(stream);
    ProgressCheck check(text, what);
    while (parser.HandleNextDocument(check)) {
    }
    for (const auto& node : YAML::LoadAll(text)) {
      size_t budget = kMaxNodes;
      docs.push_back(convert(node, budget, what));
    }
  } catch (const YAML::Exception& e) {
    throw Error(describe(what, "invalid YAML at line " + std::to_string(e.mark.line + 1) + ": " +
                                   e.msg));
  }
  return docs;
}

nlohmann::json load_yaml(const std::filesystem::path& path, const std::string& what) {
  auto docs = parse_yaml_documents(io::read_file(path, what), what + " '" + path.string() + "'");
  if (docs.empty()) throw Error(describe(what, "'" + path.string() + "' is empty"));
  return docs.front();
}

}  // namespace advkfp::kfp
