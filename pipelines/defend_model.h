// The defend-model pipeline: the production case. It starts from the deployed model and a window
// of its recent unlabelled traffic, and defends the model only when that traffic is an attack.
#pragma once

#include "kfp/images.h"
#include "kfp/pipeline.h"

namespace advkfp::pipelines {

inline constexpr const char* kDefendModelName = "defend-model";

/// Builds the pipeline with component images taken from `images`.
kfp::Pipeline defend_model(const kfp::ImageConfig& images);

}  // namespace advkfp::pipelines
