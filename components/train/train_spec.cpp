// train: the component's declaration (flags, defaults, KFP interface), torch-free so the
// pipeline compiler links it without the run code.
#include "train.h"

namespace advkfp::train {

const cli::Spec<Options>& spec() {
  static const auto s =
      cli::Spec<Options>("train",
                         "Train a new model (the paper CNN or a small ResNet) on a labelled "
                         "dataset, or fine-tune an existing one (Adam, StepLR, "
                         "cross-entropy).")
          .input("dataset", &Options::dataset, cli::types::kDataset,
                 "Labelled training set (a dataset folder from prepare-data).")
          .input("init_model", &Options::init_model, cli::types::kModel,
                 "A model folder to fine-tune (clean training from its weights, e.g. on labelled "
                 "data of a shifted input distribution) instead of a new model of "
                 "`architecture`.",
                 true)
          .output("model", &Options::model, cli::types::kModel,
                  "Trained model folder: TorchScript model.pt + model.json sidecar.")
          .output("metrics", &Options::metrics, cli::types::kMetrics,
                  "Training metrics JSON with the per-epoch history.")
          .param("architecture", &Options::architecture,
                 "paper-cnn (1x28x28 grey, the paper's) or resnet-small (BatchNorm and residual "
                 "blocks, for colour images such as 3x32x32; takes the dataset's image shape). "
                 "With init_model the model's own; another value than the default is refused.",
                 {"paper-cnn", "resnet-small"})
          .param("epochs", &Options::epochs, "Passes over the training set.",
                 training::epochs_range())
          .param("batch_size", &Options::batch_size, "Images per optimisation step.",
                 training::batch_size_range())
          .param("learning_rate", &Options::learning_rate, "Adam learning rate.",
                 training::learning_rate_range())
          .param("lr_step", &Options::lr_step, "StepLR: epochs between learning-rate decays.",
                 training::lr_step_range())
          .param("lr_gamma", &Options::lr_gamma, "StepLR: decay factor.",
                 training::lr_gamma_range())
          .param("limit", &Options::limit, "Use only the first N images (0: all).",
                 cli::at_least(0))
          .checkpoints()
          .signs_models()
          .common();
  return s;
}

}  // namespace advkfp::train
