// What released KFP backends (2.0.3 to 2.17.x) cannot run in an IR that the spec and the SDK
// accept. Read from the backend's driver and launcher at each release tag (kubeflow/pipelines,
// backend/src/v2); each rule in backends.cpp names its source. Used by kfp-local (`validate` and
// `run --kfp-backend`) and by the pipeline builder, which refuses to emit any of these.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace advkfp::kfp {

/// A backend profile: the released KFP backends whose behaviour an IR is checked against.
struct BackendProfile {
  std::string name;          ///< "all", "spec", or a release such as "2.5"
  std::vector<int> minors;   ///< KFP 2.<minor> releases checked; empty for "spec"
};

/// Released KFP 2.x backend lines, oldest first: 0, 1, 2, 3, 4, 5, 14, 15, 16, 17 (there was no
/// 2.6 to 2.13; the backend followed the SDK's numbering from 2.14).
const std::vector<int>& released_backend_minors();

/// Parses --kfp-backend: "all" (every released backend: refuse what any of them cannot run),
/// "spec" (the IR as written, no backend rules), or a release "2.N" / "2.N.P" of a released line.
/// Throws advkfp::UsageError naming kfp_backend otherwise.
BackendProfile backend_profile(const std::string& text);

/// The constructs of `ir` (a PipelineSpec document) that a backend of `profile` cannot run, one
/// line each: the task, the construct, the backend versions it breaks, the upstream issue and the
/// fix. Empty when the IR runs on every backend of the profile. Assumes references in `ir` are
/// valid (check the IR first); unknown shapes are skipped, never thrown on.
std::vector<std::string> backend_problems(const nlohmann::json& ir, const BackendProfile& profile);

}  // namespace advkfp::kfp
