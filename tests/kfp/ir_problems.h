// Every problem the project finds in a compiled pipeline: the strict schema (kfp/ir_schema.h),
// then the reference checker, kfp-local's loader, which reports the first dangling reference.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "kfp/ir_schema.h"
#include "kfp_local/ir.h"

namespace advkfp::test {

inline std::vector<std::string> ir_problems(const nlohmann::json& ir) {
  auto problems = kfp::check_pipeline_ir(ir);
  try {
    kfp_local::parse_pipeline(ir.dump(), "ir");
  } catch (const std::exception& e) {
    problems.push_back(e.what());
  }
  return problems;
}

}  // namespace advkfp::test
