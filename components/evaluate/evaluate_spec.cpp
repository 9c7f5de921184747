// evaluate: the component's declaration (flags, defaults, KFP interface), torch-free so the
// pipeline compiler links it without the run code.
#include "evaluate.h"

namespace advkfp::evaluate {

const cli::Spec<Options>& spec() {
  static const auto s =
      cli::Spec<Options>("evaluate",
                         "Measure a model's accuracy on a dataset, optionally under a white-box "
                         "FGSM, PGD or APGD-CE attack crafted against that model.")
          .input("model", &Options::model, cli::types::kModel,
                 "Model folder from train or pgd-train.")
          .input("dataset", &Options::dataset, cli::types::kDataset,
                 "Dataset folder (clean or adversarial).")
          .output("metrics", &Options::metrics, cli::types::kMetrics,
                  "Metrics JSON: accuracy, loss, per-class accuracy, confusion matrix, mean "
                  "confidence; with an attack also clean accuracy, success rate, perturbation.")
          .output("confusion_matrix", &Options::confusion_matrix,
                  cli::types::kClassificationMetrics,
                  "Confusion matrix with class names (KFP ClassificationMetrics).", true)
          .param("attack", &Options::attack,
                 "Attack the inputs first: none, fgsm, pgd or apgd (APGD-CE: step 2 eps halved "
                 "at checkpoints, momentum 0.75; white-box, on this model).",
                 {"none", "fgsm", "pgd", "apgd"})
          .param("epsilon", &Options::epsilon, "Attack L-inf budget, 0 < eps <= 1.",
                 attacks::epsilon_range())
          .param("steps", &Options::steps, "PGD / APGD iterations.", attacks::steps_range())
          .param("step_size", &Options::step_size, "PGD step; 0 uses 2.5 * epsilon / steps.",
                 attacks::step_size_range())
          .param("restarts", &Options::restarts,
                 "PGD / APGD restarts (the strongest per image is kept).", attacks::steps_range())
          .param("random_start", &Options::random_start,
                 "PGD / APGD start at a random point of the ball.")
          .param("sweep_epsilons", &Options::sweep_epsilons,
                 "Also measure accuracy against eps: comma-separated budgets, e.g. "
                 "0,0.05,0.1,0.15,0.2,0.25,0.3 (empty: no sweep). Written as robustness_curve.")
          .param("sweep_attacks", &Options::sweep_attacks,
                 "Attacks of the sweep, comma-separated: fgsm, pgd, apgd (PGD and APGD use "
                 "--steps, --restarts, --random-start; PGD also --step-size).")
          .param("batch_size", &Options::batch_size,
                 "Images per pass, attacks included (0: about 100,000 input values a pass, 128 "
                 "images of 1x28x28, 32 of 3x32x32).",
                 cli::at_least(0))
          .param("limit", &Options::limit, "Use only the first N images (0: all).",
                 cli::at_least(0))
          .param("sweep_limit", &Options::sweep_limit,
                 "Run the eps sweep on only the first N images (0: all of them).", cli::at_least(0))
          .common()
          .loads_models();
  return s;
}

}  // namespace advkfp::evaluate
