// Range checks on numeric settings, shared by the tools' flags (cli::Spec) and the library's
// configs (validate()), so each range is written once, beside the default it guards.
#pragma once

#include <functional>
#include <optional>
#include <string>

namespace advkfp::checks {

/// A value check: returns the problem (without the setting's name), or nothing when the value is
/// fine. NaN fails every range.
using Check = std::function<std::optional<std::string>(double)>;

/// lo <= v <= hi; `lo_open`/`hi_open` exclude the bound. Problem: "1.5 is outside (0, 1]".
Check in_range(double lo, double hi, bool lo_open = false, bool hi_open = false);
/// v >= lo. Problem: "-1 must be >= 0".
Check at_least(double lo);

/// Throws advkfp::UsageError "<name>: <problem>" when `check` finds a problem with `value`.
void require(const std::string& name, double value, const Check& check);

}  // namespace advkfp::checks
