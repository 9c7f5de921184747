// A small CEL lexer, recursive-descent parser and evaluator for KFP trigger conditions.
#include "kfp_local/cel.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <utility>
#include <vector>

#include "common/error.h"
#include "common/text.h"
#include "kfp_local/parameters.h"

namespace advkfp::kfp_local {

using Json = nlohmann::json;
using NodePtr = std::shared_ptr<const CelExpression::Node>;

struct CelExpression::Node {
  enum class Kind { kLiteral, kParameter, kCall, kNot, kNegate, kAnd, kOr, kCompare };
  Kind kind = Kind::kLiteral;
  Json literal;      // kLiteral
  std::string name;  // kParameter: parameter name; kCall: function; kCompare: operator
  std::vector<NodePtr> operands;
};

namespace {

using Node = CelExpression::Node;

// ---------------------------------------------------------------------------------------------
// Lexer

enum class Tok {
  kEnd,
  kInt,
  kDouble,
  kString,
  kIdent,
  kLParen,
  kRParen,
  kLBracket,
  kRBracket,
  kDot,
  kComma,
  kNot,
  kMinus,
  kAnd,
  kOr,
  kEq,
  kNe,
  kLt,
  kLe,
  kGt,
  kGe,
};

struct Token {
  Tok kind = Tok::kEnd;
  std::string text;   // identifier or operator spelling
  Json value;         // literal value
  size_t column = 0;  // 1-based
};

[[noreturn]] void syntax_error(const std::string& problem, size_t column) {
  throw Error("invalid condition: " + problem + " at column " + std::to_string(column));
}

bool is_ident_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool is_ident_char(char c) {
  return is_ident_start(c) || std::isdigit(static_cast<unsigned char>(c));
}
bool is_digit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }

class Lexer {
 public:
  explicit Lexer(const std::string& text) : s_(text) {}

  std::vector<Token> tokens() {
    std::vector<Token> out;
    while (true) {
      while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
      if (i_ == s_.size()) break;
      out.push_back(next());
    }
    Token end;
    end.column = s_.size() + 1;
    out.push_back(end);
    return out;
  }

 private:
  Token next() {
    Token t;
    t.column = i_ + 1;
    const char c = s_[i_];
    if (is_digit(c) || (c == '.' && i_ + 1 < s_.size() && is_digit(s_[i_ + 1]))) return number(t);
    if (c == '\'' || c == '"') return string_literal(t);
    if (is_ident_start(c)) {
      const size_t start = i_;
      while (i_ < s_.size() && is_ident_char(s_[i_])) ++i_;
      t.kind = Tok::kIdent;
      t.text = s_.substr(start, i_ - start);
      return t;
    }
    static const std::pair<const char*, Tok> kOperators[] = {
        {"&&", Tok::kAnd},     {"||", Tok::kOr},      {"==", Tok::kEq},    {"!=", Tok::kNe},
        {"<=", Tok::kLe},      {">=", Tok::kGe},      {"<", Tok::kLt},     {">", Tok::kGt},
        {"!", Tok::kNot},      {"-", Tok::kMinus},    {"(", Tok::kLParen}, {")", Tok::kRParen},
        {"[", Tok::kLBracket}, {"]", Tok::kRBracket}, {".", Tok::kDot},    {",", Tok::kComma},
    };
    for (const auto& [spelling, kind] : kOperators) {
      if (s_.compare(i_, std::char_traits<char>::length(spelling), spelling) == 0) {
        t.kind = kind;
        t.text = spelling;
        i_ += t.text.size();
        return t;
      }
    }
    syntax_error(std::string("unexpected character '") + c + "'", t.column);
  }

  Token number(Token& t) {
    const size_t start = i_;
    bool is_double = false;
    while (i_ < s_.size() && is_digit(s_[i_])) ++i_;
    if (i_ + 1 < s_.size() && s_[i_] == '.' && is_digit(s_[i_ + 1])) {
      is_double = true;
      ++i_;
      while (i_ < s_.size() && is_digit(s_[i_])) ++i_;
    }
    if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
      size_t j = i_ + 1;
      if (j < s_.size() && (s_[j] == '+' || s_[j] == '-')) ++j;
      if (j < s_.size() && is_digit(s_[j])) {
        is_double = true;
        i_ = j;
        while (i_ < s_.size() && is_digit(s_[i_])) ++i_;
      }
    }
    if (i_ < s_.size() && is_ident_char(s_[i_])) {
      syntax_error("unsupported number literal '" + s_.substr(start, i_ - start + 1) + "'",
                   t.column);
    }
    const std::string text = s_.substr(start, i_ - start);
    if (is_double) {
      t.kind = Tok::kDouble;
      t.value = std::strtod(text.c_str(), nullptr);
      return t;
    }
    int64_t value = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || ptr != text.data() + text.size()) {
      syntax_error("integer literal " + text + " is out of the int64 range", t.column);
    }
    t.kind = Tok::kInt;
    t.value = value;
    return t;
  }

  Token string_literal(Token& t) {
    const char quote = s_[i_++];
    if (s_.compare(i_, 2, std::string(2, quote)) == 0) {
      syntax_error("triple-quoted strings are not supported", t.column);
    }
    std::string value;
    while (true) {
      if (i_ >= s_.size()) syntax_error("unterminated string", t.column);
      const char c = s_[i_++];
      if (c == quote) break;
      if (c == '\n') syntax_error("newline inside a string", t.column);
      if (c != '\\') {
        value += c;
        continue;
      }
      if (i_ >= s_.size()) syntax_error("unterminated string", t.column);
      const char e = s_[i_++];
      switch (e) {
        case '\\':
          value += '\\';
          break;
        case '\'':
          value += '\'';
          break;
        case '"':
          value += '"';
          break;
        case 'n':
          value += '\n';
          break;
        case 'r':
          value += '\r';
          break;
        case 't':
          value += '\t';
          break;
        default:
          syntax_error(std::string("unsupported escape '\\") + e + "'", i_ - 1);
      }
    }
    t.kind = Tok::kString;
    t.value = std::move(value);
    return t;
  }

  const std::string& s_;
  size_t i_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Parser: or := and ('||' and)*; and := rel ('&&' rel)*; rel := unary (relop unary)*;
// unary := '!' unary | '-' unary | primary.

std::shared_ptr<Node> make(Node::Kind kind, std::vector<NodePtr> operands = {},
                           std::string name = {}) {
  auto n = std::make_shared<Node>();
  n->kind = kind;
  n->operands = std::move(operands);
  n->name = std::move(name);
  return n;
}

class Parser {
 public:
  Parser(std::vector<Token> tokens, std::set<std::string>& names)
      : toks_(std::move(tokens)), names_(names) {}

  NodePtr parse() {
    NodePtr root = parse_or();
    if (peek().kind != Tok::kEnd) unexpected("after the end of the expression");
    return root;
  }

 private:
  const Token& peek() const { return toks_[pos_]; }
  const Token& take() { return toks_[pos_++]; }
  bool accept(Tok kind) {
    if (peek().kind != kind) return false;
    ++pos_;
    return true;
  }
  [[noreturn]] void unexpected(const std::string& where) const {
    const Token& t = peek();
    const std::string what = t.kind == Tok::kEnd ? "end of input"
                             : t.text.empty()    ? "'" + t.value.dump() + "'"
                                                 : "'" + t.text + "'";
    syntax_error("unexpected " + what + " " + where, t.column);
  }
  void expect(Tok kind, const std::string& spelling) {
    if (!accept(kind)) unexpected("(expected '" + spelling + "')");
  }

  NodePtr parse_or() {
    NodePtr lhs = parse_and();
    while (accept(Tok::kOr)) lhs = make(Node::Kind::kOr, {lhs, parse_and()});
    return lhs;
  }

  NodePtr parse_and() {
    NodePtr lhs = parse_relation();
    while (accept(Tok::kAnd)) lhs = make(Node::Kind::kAnd, {lhs, parse_relation()});
    return lhs;
  }

  NodePtr parse_relation() {
    NodePtr lhs = parse_unary();
    while (true) {
      const Tok k = peek().kind;
      if (k != Tok::kEq && k != Tok::kNe && k != Tok::kLt && k != Tok::kLe && k != Tok::kGt &&
          k != Tok::kGe) {
        return lhs;
      }
      const std::string op = take().text;
      lhs = make(Node::Kind::kCompare, {lhs, parse_unary()}, op);
    }
  }

  NodePtr parse_unary() {
    if (accept(Tok::kNot)) return make(Node::Kind::kNot, {parse_unary()});
    if (accept(Tok::kMinus)) return make(Node::Kind::kNegate, {parse_unary()});
    return parse_primary();
  }

  NodePtr parse_primary() {
    const Token& t = peek();
    switch (t.kind) {
      case Tok::kInt:
      case Tok::kDouble:
      case Tok::kString: {
        auto n = make(Node::Kind::kLiteral);
        n->literal = take().value;
        return n;
      }
      case Tok::kLParen: {
        take();
        NodePtr inner = parse_or();
        expect(Tok::kRParen, ")");
        return inner;
      }
      case Tok::kIdent:
        return parse_identifier();
      default:
        unexpected("(expected a value)");
    }
  }

  NodePtr parse_identifier() {
    const Token ident = take();
    const std::string& id = ident.text;
    if (id == "true" || id == "false" || id == "null") {
      auto n = make(Node::Kind::kLiteral);
      n->literal = id == "null" ? Json(nullptr) : Json(id == "true");
      return n;
    }
    if (id == "int" || id == "double" || id == "string") {
      if (peek().kind != Tok::kLParen) unexpected("(expected '(' after '" + id + "')");
      take();
      NodePtr arg = parse_or();
      if (peek().kind == Tok::kComma) syntax_error(id + "() takes one argument", peek().column);
      expect(Tok::kRParen, ")");
      return make(Node::Kind::kCall, {arg}, id);
    }
    if (id == "inputs") {
      expect(Tok::kDot, ".");
      const Token& field = peek();
      if (field.kind != Tok::kIdent || field.text != "parameter_values") {
        syntax_error("only inputs.parameter_values is supported", field.column);
      }
      take();
      expect(Tok::kLBracket, "[");
      if (peek().kind != Tok::kString) {
        syntax_error("expected a quoted parameter name inside inputs.parameter_values[...]",
                     peek().column);
      }
      std::string name = take().value.get<std::string>();
      expect(Tok::kRBracket, "]");
      names_.insert(name);
      return make(Node::Kind::kParameter, {}, std::move(name));
    }
    if (peek().kind == Tok::kLParen) syntax_error("unknown function '" + id + "'", ident.column);
    syntax_error("unknown identifier '" + id + "'", ident.column);
  }

  std::vector<Token> toks_;
  size_t pos_ = 0;
  std::set<std::string>& names_;
};

// ---------------------------------------------------------------------------------------------
// Evaluation. Values are JSON: bool, int64, double, string, null, array, object.

std::string cel_type(const Json& v) {
  switch (v.type()) {
    case Json::value_t::boolean:
      return "bool";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
      return "int";
    case Json::value_t::number_float:
      return "double";
    case Json::value_t::string:
      return "string";
    case Json::value_t::null:
      return "null_type";
    case Json::value_t::array:
      return "list";
    case Json::value_t::object:
      return "map";
    default:
      return "unknown";
  }
}

// JSON parsing yields unsigned integers for positive numbers; CEL has one signed int type here.
Json normalize(const Json& v) {
  if (v.is_number_unsigned()) {
    const auto u = v.get<uint64_t>();
    if (u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return static_cast<int64_t>(u);
    }
    return static_cast<double>(u);
  }
  return v;
}

[[noreturn]] void no_overload(const std::string& op, const Json& a) {
  throw Error("no such overload: " + op + cel_type(a));
}
[[noreturn]] void no_overload(const std::string& op, const Json& a, const Json& b) {
  throw Error("no such overload: " + cel_type(a) + " " + op + " " + cel_type(b));
}

bool values_equal(const Json& a, const Json& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_number_integer() && b.is_number_integer()) return a.get<int64_t>() == b.get<int64_t>();
    return a.get<double>() == b.get<double>();
  }
  if (a.type() != b.type()) return false;  // CEL heterogeneous equality
  return a == b;
}

// Returns <0, 0, >0; throws for types without an ordering.
int compare_ordered(const std::string& op, const Json& a, const Json& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_number_integer() && b.is_number_integer()) {
      const auto x = a.get<int64_t>(), y = b.get<int64_t>();
      return x < y ? -1 : (x > y ? 1 : 0);
    }
    const double x = a.get<double>(), y = b.get<double>();
    if (std::isnan(x) || std::isnan(y)) return 2;  // every ordering with NaN is false
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  if (a.is_string() && b.is_string()) {
    const int c = a.get_ref<const std::string&>().compare(b.get_ref<const std::string&>());
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  if (a.is_boolean() && b.is_boolean()) return int(a.get<bool>()) - int(b.get<bool>());
  no_overload(op, a, b);
}

Json compare(const std::string& op, const Json& a, const Json& b) {
  if (op == "==") return values_equal(a, b);
  if (op == "!=") return !values_equal(a, b);
  const int c = compare_ordered(op, a, b);
  if (c == 2) return false;
  if (op == "<") return c < 0;
  if (op == "<=") return c <= 0;
  if (op == ">") return c > 0;
  return c >= 0;  // ">="
}

Json call(const std::string& fn, const Json& v) {
  if (fn == "int") {
    if (v.is_number_integer()) return v;
    if (v.is_number_float()) {
      const double d = v.get<double>();
      // [-2^63, 2^63): the values a truncation can turn into an int64.
      if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0)) {
        throw Error("int(): " + format_parameter(v) + " is out of the int64 range");
      }
      return static_cast<int64_t>(d);
    }
    if (v.is_string()) {
      try {
        return parse_parameter_text(v.get<std::string>(), ParameterType::kNumberInteger);
      } catch (const Error& e) {
        throw Error(std::string("int(): ") + e.what());
      }
    }
    no_overload("int(", v);
  }
  if (fn == "double") {
    if (v.is_number()) return v.get<double>();
    if (v.is_string()) {
      try {
        return parse_parameter_text(v.get<std::string>(), ParameterType::kNumberDouble);
      } catch (const Error& e) {
        throw Error(std::string("double(): ") + e.what());
      }
    }
    no_overload("double(", v);
  }
  // string()
  if (v.is_string() || v.is_number() || v.is_boolean()) return format_parameter(v);
  no_overload("string(", v);
}

Json eval(const Node& n, const Json& params);

// One side of && or ||: its boolean value, or the error it produced (CEL may absorb it).
struct Side {
  bool value = false;
  std::optional<Error> error;
};

Side eval_side(const Node& n, const Json& params, const std::string& op) {
  try {
    const Json v = eval(n, params);
    if (v.is_boolean()) return {v.get<bool>(), std::nullopt};
    return {false, Error("no such overload: " + cel_type(v) + " " + op + " ...")};
  } catch (const Error& e) {
    return {false, e};
  }
}

Json eval_logical(const Node& n, const Json& params, bool is_and) {
  const std::string op = is_and ? "&&" : "||";
  const bool decisive = !is_and;  // false decides &&, true decides ||
  const Side lhs = eval_side(*n.operands[0], params, op);
  if (!lhs.error && lhs.value == decisive) return decisive;
  const Side rhs = eval_side(*n.operands[1], params, op);
  if (!rhs.error && rhs.value == decisive) return decisive;
  if (lhs.error) throw *lhs.error;
  if (rhs.error) throw *rhs.error;
  return !decisive;
}

Json eval(const Node& n, const Json& params) {
  switch (n.kind) {
    case Node::Kind::kLiteral:
      return n.literal;
    case Node::Kind::kParameter: {
      const auto it = params.find(n.name);
      if (it == params.end()) {
        throw Error("no such key: inputs.parameter_values['" + n.name + "'] has no value");
      }
      return normalize(*it);
    }
    case Node::Kind::kCall:
      return call(n.name, eval(*n.operands[0], params));
    case Node::Kind::kNot: {
      const Json v = eval(*n.operands[0], params);
      if (!v.is_boolean()) no_overload("!", v);
      return !v.get<bool>();
    }
    case Node::Kind::kNegate: {
      const Json v = eval(*n.operands[0], params);
      if (v.is_number_integer()) {
        const auto i = v.get<int64_t>();
        if (i == std::numeric_limits<int64_t>::min()) throw Error("int overflow in -x");
        return -i;
      }
      if (v.is_number_float()) return -v.get<double>();
      no_overload("-", v);
    }
    case Node::Kind::kAnd:
      return eval_logical(n, params, true);
    case Node::Kind::kOr:
      return eval_logical(n, params, false);
    case Node::Kind::kCompare:
      return compare(n.name, eval(*n.operands[0], params), eval(*n.operands[1], params));
  }
  throw Error("unknown expression node");
}

}  // namespace

CelExpression CelExpression::parse(const std::string& text) {
  CelExpression expr;
  // CEL source is Unicode text; a string literal that is not UTF-8 could not become a value.
  if (const size_t at = invalid_utf8_at(text); at != std::string::npos) {
    syntax_error("bytes that are not UTF-8", at + 1);
  }
  expr.text_ = text;
  Parser parser(Lexer(text).tokens(), expr.names_);
  expr.root_ = parser.parse();
  return expr;
}

Json CelExpression::evaluate(const Json& parameter_values) const {
  return eval(*root_, parameter_values);
}

bool CelExpression::evaluate_condition(const Json& parameter_values) const {
  const Json v = evaluate(parameter_values);
  if (!v.is_boolean()) {
    throw Error("condition evaluates to " + cel_type(v) + " " + v.dump() + ", not a bool");
  }
  return v.get<bool>();
}

}  // namespace advkfp::kfp_local
