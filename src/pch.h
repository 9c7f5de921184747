// Precompiled header: the expensive third-party headers every torch-using file needs.
#pragma once
#include <torch/script.h>
#include <torch/torch.h>

#include <nlohmann/json.hpp>
