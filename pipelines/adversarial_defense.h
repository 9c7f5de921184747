// The adversarial-defense pipeline: train, evaluate, attack, detect, and only when degraded,
// PGD adversarial training and re-evaluation.
#pragma once

#include "kfp/images.h"
#include "kfp/pipeline.h"

namespace advkfp::pipelines {

inline constexpr const char* kAdversarialDefenseName = "adversarial-defense";

/// Builds the pipeline with component images taken from `images`.
kfp::Pipeline adversarial_defense(const kfp::ImageConfig& images);

}  // namespace advkfp::pipelines
