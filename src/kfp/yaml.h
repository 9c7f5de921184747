// A small, deterministic YAML emitter for JSON documents (block style, keys in insertion order).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace advkfp::kfp {

/// Renders `doc` as block-style YAML. Strings are quoted whenever a YAML reader could take them for
/// anything but that string (numbers, booleans, null, special characters, placeholders).
std::string to_yaml(const nlohmann::ordered_json& doc);

}  // namespace advkfp::kfp
