// Range checks shared by flags and configs.
#include "common/checks.h"

#include <sstream>

#include "common/error.h"

namespace advkfp::checks {

Check in_range(double lo, double hi, bool lo_open, bool hi_open) {
  return [=](double v) -> std::optional<std::string> {
    const bool ok = (lo_open ? v > lo : v >= lo) && (hi_open ? v < hi : v <= hi);
    if (ok) return std::nullopt;
    std::ostringstream os;
    os << v << " is outside " << (lo_open ? '(' : '[') << lo << ", " << hi << (hi_open ? ')' : ']');
    return os.str();
  };
}

Check at_least(double lo) {
  return [=](double v) -> std::optional<std::string> {
    if (v >= lo) return std::nullopt;
    std::ostringstream os;
    os << v << " must be >= " << lo;
    return os.str();
  };
}

void require(const std::string& name, double value, const Check& check) {
  if (auto problem = check(value)) throw UsageError(describe(name, *problem));
}

}  // namespace advkfp::checks
