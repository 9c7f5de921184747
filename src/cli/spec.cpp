// Non-template parts of cli::Spec: flag names and value checks (torch-free).
#include "cli/spec.h"

#include <sstream>

namespace advkfp::cli {

std::string flag_name(const std::string& name) {
  std::string out = name;
  for (auto& c : out) {
    if (c == '_') c = '-';
  }
  return out;
}

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

}  // namespace advkfp::cli
