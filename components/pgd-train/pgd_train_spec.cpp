// pgd-train: the component's declaration (flags, defaults, KFP interface), torch-free so the
// pipeline compiler links it without the run code.
#include "pgd_train.h"

namespace advkfp::pgd_train {

const cli::Spec<Options>& spec() {
  static const auto s =
      cli::Spec<Options>("pgd-train",
                         "Adversarially train a model (Madry PGD, fast FGSM, free or TRADES), "
                         "fine-tuning it or from scratch, and keep the weights with the best "
                         "robust accuracy on a held-out slice.")
          .input("model", &Options::model, cli::types::kModel, "Model folder to start from.")
          .input("dataset", &Options::dataset, cli::types::kDataset, "Labelled training set.")
          .output("robust_model", &Options::robust_model, cli::types::kModel,
                  "Adversarially trained model folder.")
          .output("metrics", &Options::metrics, cli::types::kMetrics,
                  "Settings and per-epoch history (loss, held-out clean and robust accuracy).")
          .param("method", &Options::method,
                 "madry: PGD examples (steps, step_size) for a share of each batch; fast: FGSM "
                 "from a uniform random start with step fast_step_factor * epsilon; free: each "
                 "batch replayed free_replays times, the perturbation carried across replays and "
                 "batches; trades: CE(clean) + trades_beta * KL(clean || adversarial), PGD on the "
                 "KL.",
                 {"madry", "fast", "free", "trades"})
          .param("epsilon", &Options::epsilon, "L-inf budget of the training attack.",
                 attacks::epsilon_range())
          .param("step_size", &Options::step_size, "PGD step; 0 uses 2.5 * epsilon / steps.",
                 attacks::step_size_range())
          .param("steps", &Options::steps, "PGD iterations per batch (madry, trades).",
                 attacks::steps_range())
          .param("random_start", &Options::random_start, "Start PGD at a random point of the ball.")
          .param("epochs", &Options::epochs, "Passes over the training set.",
                 training::epochs_range())
          .param("batch_size", &Options::batch_size, "Images per optimisation step.",
                 training::batch_size_range())
          .param("learning_rate", &Options::learning_rate, "Adam learning rate (the paper fine-tunes at 1e-4, which recovers "
                 "much less in a few epochs).",
                 training::learning_rate_range())
          .param("lr_schedule", &Options::lr_schedule,
                 "step: StepLR (lr_step, lr_gamma); one-cycle: linear up to learning_rate at 40% "
                 "of the batches, then down to 0; auto: one-cycle for fast, step otherwise.",
                 {"auto", "step", "one-cycle"})
          .param("lr_step", &Options::lr_step, "StepLR: epochs between learning-rate decays.",
                 training::lr_step_range())
          .param("lr_gamma", &Options::lr_gamma, "StepLR: decay factor.",
                 training::lr_gamma_range())
          .param("adversarial_fraction", &Options::adversarial_fraction,
                 "Share of each batch replaced by PGD examples (1: Madry, adversarial only; the "
                 "default 0.5 keeps clean accuracy far higher at equal robustness); madry and "
                 "fast.",
                 training::fraction_range())
          .param("fast_step_factor", &Options::fast_step_factor,
                 "fast: the FGSM step as a multiple of epsilon.",
                 training::fast_step_factor_range())
          .param("free_replays", &Options::free_replays, "free: replays of each batch.",
                 training::free_replays_range())
          .param("trades_beta", &Options::trades_beta, "trades: weight of the KL term.",
                 training::trades_beta_range())
          .param("ramp_epochs", &Options::ramp_epochs,
                 "Raise the training budget linearly from 0 to epsilon over this many epochs "
                 "(0: full budget from the start).",
                 training::count_range())
          .param("from_scratch", &Options::from_scratch,
                 "Train fresh weights (drawn from the seed) of the model's architecture instead "
                 "of fine-tuning its weights.")
          .param("validation_size", &Options::validation_size,
                 "Images held out from the end of the set for the per-epoch robust check.",
                 cli::at_least(0))
          .param("validation_steps", &Options::validation_steps,
                 "Iterations of the held-out robust check's attack.", attacks::steps_range())
          .param("validation_attack", &Options::validation_attack,
                 "The held-out robust check's attack: pgd (step 2.5 * epsilon / steps) or apgd "
                 "(APGD-CE, no step size to tune; keeping the best weights by a stronger attack "
                 "keeps fewer weights that only resist PGD).",
                 {"pgd", "apgd"})
          .param("keep_best", &Options::keep_best,
                 "Keep the weights of the check (the starting model's included) with the best "
                 "held-out robust accuracy.")
          .param("collapse_drop", &Options::collapse_drop,
                 "Stop and keep the best weights when a check's robust accuracy falls this far "
                 "below the best (catastrophic overfitting); 0 never stops.",
                 training::fraction_range())
          .param("target_robust_accuracy", &Options::target_robust_accuracy,
                 "Stop once the held-out robust accuracy reaches this (0: train all epochs); the "
                 "wall time to it is in the metrics.",
                 training::fraction_range())
          .param("check_every", &Options::check_every,
                 "Also run the held-out check every N batches (0: after each epoch only).",
                 training::count_range())
          .param("limit", &Options::limit, "Use only the first N images (0: all).",
                 cli::at_least(0))
          .checkpoints()
          .signs_models()
          .common()
          .loads_models();
  return s;
}

}  // namespace advkfp::pgd_train
