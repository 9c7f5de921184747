// A model folder's sidecar (model.json) read alone, before the model it describes.
#pragma once

#include <filesystem>
#include <string>

#include "model/classifier.h"

namespace advkfp::model {

/// Reads and checks a model folder's sidecar (model.json) alone: format, architecture, input
/// shape [C,H,W], non-empty class names. info.sha256 is the sha256 it records for model.pt (not
/// checked here). load_model() runs it first. Throws advkfp::Error naming `what`'s sidecar.
ModelInfo read_sidecar(const std::filesystem::path& sidecar, const std::string& what);
/// The same on the sidecar's bytes already read (`sidecar` names the file in errors): load_model()
/// verifies a signature over exactly these bytes before parsing them.
ModelInfo parse_sidecar(const std::string& text, const std::filesystem::path& sidecar,
                        const std::string& what);

}  // namespace advkfp::model
