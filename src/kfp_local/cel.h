// The subset of CEL that KFP writes into triggerPolicy.condition: parse once, evaluate per run.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

namespace advkfp::kfp_local {

/// A parsed CEL condition. The accepted subset is what the KFP SDK compiles `dsl.If` into:
/// - literals: integers (`5`, `-3`), doubles (`0.5`, `1e-3`, `.5`), single- or double-quoted
///   strings (escapes \\ \' \" \n \r \t), `true`, `false`, `null`;
/// - `inputs.parameter_values['name']`: the value of the task's resolved input parameter `name`;
/// - calls `int(x)` (truncates doubles, parses strings), `double(x)` and `string(x)`;
/// - `!x`, unary `-x`, `== != < <= > >=`, `&&`, `||` and parentheses, with CEL precedence.
/// Integers and doubles compare by numeric value; `==` between unrelated types is false; ordering
/// works on numbers, strings and booleans. `&&` and `||` short-circuit both ways as in CEL (an
/// error on one side is absorbed when the other side decides the result).
class CelExpression {
 public:
  /// Parses `text`. Throws advkfp::Error "invalid condition: <problem> at column N" for anything
  /// outside the subset (unknown identifiers or functions, stray characters, unbalanced
  /// parentheses, bad escapes, out-of-range integer literals).
  static CelExpression parse(const std::string& text);

  /// Evaluates the expression over `parameter_values` (a JSON object: name -> value). Throws
  /// advkfp::Error naming the operation on a missing parameter, a type mismatch ("no such overload:
  /// string < int") or a failed conversion.
  nlohmann::json evaluate(const nlohmann::json& parameter_values) const;

  /// evaluate() that also requires a boolean result. Throws advkfp::Error otherwise.
  bool evaluate_condition(const nlohmann::json& parameter_values) const;

  /// The source text as parsed.
  const std::string& text() const { return text_; }

  /// Every name read through inputs.parameter_values['name'], for validation before a run.
  const std::set<std::string>& parameter_names() const { return names_; }

  struct Node;

 private:
  std::string text_;
  std::shared_ptr<const Node> root_;
  std::set<std::string> names_;
};

}  // namespace advkfp::kfp_local
