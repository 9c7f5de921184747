// fgsm-attack: the component's declaration (flags, defaults, KFP interface), torch-free so the
// pipeline compiler links it without the run code.
#include "fgsm_attack.h"

namespace advkfp::fgsm_attack {

const cli::Spec<Options>& spec() {
  static const auto s =
      cli::Spec<Options>("fgsm-attack",
                         "Craft FGSM adversarial examples x' = clamp(x + eps * sign(grad), 0, 1) "
                         "against a trained model.")
          .input("model", &Options::model, cli::types::kModel, "Model folder to attack.")
          .input("dataset", &Options::dataset, cli::types::kDataset, "Clean dataset folder.")
          .output("adversarial_dataset", &Options::adversarial_dataset, cli::types::kDataset,
                  "Perturbed copy of the dataset (float32 IDX, lossless), labels kept.")
          .output("metrics", &Options::metrics, cli::types::kMetrics,
                  "Clean and adversarial accuracy, attack success rate, perturbation norms.")
          .param("epsilon", &Options::epsilon, "L-inf budget in pixel units, 0 < eps <= 1.",
                 attacks::epsilon_range())
          .param("use_predictions", &Options::use_predictions,
                 "Craft against the model's predictions instead of the labels (as for unlabelled "
                 "traffic).")
          .param("batch_size", &Options::batch_size,
                 "Images per gradient computation (0: about 100,000 input values a pass, 128 "
                 "images of 1x28x28, 32 of 3x32x32).",
                 cli::at_least(0))
          .param("limit", &Options::limit, "Attack only the first N images (0: all).",
                 cli::at_least(0))
          .common()
          .loads_models();
  return s;
}

}  // namespace advkfp::fgsm_attack
