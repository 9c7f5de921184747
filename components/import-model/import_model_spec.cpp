// import-model: the component's declaration (flags, defaults, KFP interface), torch-free so the
// pipeline compiler links it without the run code.
#include "import_model.h"

namespace advkfp::import_model {

const cli::Spec<Options>& spec() {
  static const auto s =
      cli::Spec<Options>("import-model",
                         "Turn a TorchScript image classifier saved elsewhere (e.g. by Python's "
                         "torch.jit.save), or a model folder, into a model folder, after checking "
                         "that it is one.")
          .param("source_uri", &Options::source_uri,
                 "A TorchScript file whose forward maps float32 [N,C,H,W] to logits [N,K], or a "
                 "model folder (path, file://, or gs://, s3://, minio:// as mounted by the KFP "
                 "launcher).")
          .param("class_names", &Options::class_names,
                 "Comma-separated class names in logit order (K names; required for a "
                 "TorchScript file, checked against a model folder's).")
          .param("input_shape", &Options::input_shape,
                 "Shape C,H,W of one input image, e.g. 3,32,32 (required for a TorchScript "
                 "file, checked against a model folder's).")
          .param("mean", &Options::mean,
                 "Per-channel mean the model expects its inputs normalised with, comma-separated "
                 "(empty: none). Applied inside the model folder's forward, so its inputs stay "
                 "pixels in [0,1].")
          .param("std", &Options::std_dev,
                 "Per-channel standard deviation for the normalisation (with mean).")
          .output("model", &Options::model, cli::types::kModel,
                  "Model folder: model.pt (TorchScript) + model.json (class names, input shape, "
                  "normalisation, sha256 of the source file).")
          .signs_models()
          .common(false)
          .loads_models();
  return s;
}

}  // namespace advkfp::import_model
