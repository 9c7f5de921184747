// pgd-train: the component's declaration (flags, defaults, KFP interface), torch-free so the
// pipeline compiler links it without the run code.
#include "pgd_train.h"

namespace advkfp::pgd_train {

const cli::Spec<Options>& spec() {
  static const auto s =
      cli::Spec<Options>("pgd-train",
                         "Fine-tune a model with Madry PGD adversarial training and keep the epoch "
                         "with the best robust accuracy on a held-out slice.")
          .input("model", &Options::model, cli::types::kModel, "Model folder to start from.")
          .input("dataset", &Options::dataset, cli::types::kDataset, "Labelled training set.")
          .output("robust_model", &Options::robust_model, cli::types::kModel,
                  "Adversarially trained model folder.")
          .output("metrics", &Options::metrics, cli::types::kMetrics,
                  "Settings and per-epoch history (loss, held-out clean and PGD accuracy).")
          .param("epsilon", &Options::epsilon, "L-inf budget of the training attack.",
                 cli::in_range(0, 1, true, false))
          .param("step_size", &Options::step_size, "PGD step; 0 uses 2.5 * epsilon / steps.",
                 cli::in_range(0, 1))
          .param("steps", &Options::steps, "PGD iterations per batch.", cli::at_least(1))
          .param("random_start", &Options::random_start, "Start PGD at a random point of the ball.")
          .param("epochs", &Options::epochs, "Passes over the training set.", cli::at_least(0))
          .param("batch_size", &Options::batch_size, "Images per optimisation step.",
                 cli::at_least(1))
          .param("learning_rate", &Options::learning_rate, "Adam learning rate (the paper fine-tunes at 1e-4, which recovers "
                 "much less in a few epochs).",
                 cli::in_range(0, 10, true, true))
          .param("lr_step", &Options::lr_step, "StepLR: epochs between learning-rate decays.",
                 cli::at_least(1))
          .param("lr_gamma", &Options::lr_gamma, "StepLR: decay factor.",
                 cli::in_range(0, 1, true, false))
          .param("adversarial_fraction", &Options::adversarial_fraction,
                 "Share of each batch replaced by PGD examples (1: Madry, adversarial only; the "
                 "default 0.5 keeps clean accuracy far higher at equal robustness).",
                 cli::in_range(0, 1))
          .param("validation_size", &Options::validation_size,
                 "Images held out from the end of the set for the per-epoch robust check.",
                 cli::at_least(0))
          .param("validation_steps", &Options::validation_steps,
                 "PGD iterations of the per-epoch robust check.", cli::at_least(1))
          .param("keep_best", &Options::keep_best,
                 "Keep the epoch (0 = the starting model) with the best held-out PGD accuracy.")
          .param("limit", &Options::limit, "Use only the first N images (0: all).",
                 cli::at_least(0))
          .common();
  return s;
}

}  // namespace advkfp::pgd_train
