// What the advkfp pipelines share: their components, the defence's parameters, and the
// conditional defence itself (PGD adversarial training only on an attack verdict, then the final
// model evaluated four ways and the report, in whichever arm ran).
#pragma once

#include <optional>

#include "kfp/component.h"
#include "kfp/images.h"
#include "kfp/pipeline.h"

namespace advkfp::pipelines {

/// Every component, built from the same cli::Spec that defines each tool's flags (so a pipeline
/// cannot name an input a tool does not have), with its image from the image config.
struct Components {
  explicit Components(const kfp::ImageConfig& images);
  kfp::ComponentSpec prepare_data, import_model, train, evaluate, fgsm_attack, detect_degradation,
      pgd_train, report;
};

/// Pipeline parameters of the attack, the detection and the defence, declared on `p` with the
/// defaults both pipelines use.
struct DefenceParams {
  explicit DefenceParams(kfp::Pipeline& p);
  kfp::Value epsilon, detection_alpha, pgd_method, pgd_epochs, pgd_steps, pgd_step_size,
      pgd_learning_rate, adversarial_fraction, pgd_from_scratch, pgd_ramp_epochs,
      pgd_validation_size, eval_pgd_steps, eval_apgd_steps, sweep_epsilons, sweep_limit, seed,
      threads;
};

/// An evaluate task named `key` on model `m` and dataset `ds` (clean unless an attack is set on
/// it).
kfp::Task evaluation(kfp::Pipeline& p, const Components& c, const DefenceParams& d,
                     const std::string& key, const kfp::Value& m, const kfp::Value& ds);

/// prepare-data from `source_uri` (empty: the image's Fashion-MNIST): training split, test split
/// and the held-out clean reference.
kfp::Task prepare_data(kfp::Pipeline& p, const Components& c, const kfp::Value& source_uri,
                       const kfp::Value& train_limit, const kfp::Value& test_limit,
                       const kfp::Value& reference_size);

/// The model before any defence: clean on `test_set` (with its robustness curves), and under a
/// white-box FGSM crafted on it, whose set is also the transfer set of the final evaluation.
struct BeforeDefence {
  kfp::Value baseline_metrics, adversarial, attacked_metrics;
};
BeforeDefence evaluate_before_defence(kfp::Pipeline& p, const Components& c, const DefenceParams& d,
                                      const kfp::Value& model, const kfp::Value& test_set);

/// What the defence starts from and what the report compares with.
struct DefenceInputs {
  kfp::Value model;             ///< the deployed (or freshly trained) model
  kfp::Value train_set;         ///< data pgd-train fine-tunes on
  kfp::Value test_set;          ///< labelled held-out data of every final evaluation
  kfp::Value transfer_set;      ///< FGSM inputs crafted on `model` (the transfer evaluation)
  kfp::Value baseline_metrics;  ///< `model` on clean test data
  kfp::Value attacked_metrics;  ///< `model` under attack
  kfp::Value detection_report;  ///< detect-degradation's report
  kfp::Value verdict;           ///< detect-degradation's verdict
  /// A labelled canary set of the new input distribution (pipeline parameters: its URI, empty for
  /// none, and the fine-tuning's epochs and learning rate). Given, a `shift` verdict fine-tunes
  /// the model on it with clean training; without it, a shift keeps the model.
  struct Canary {
    kfp::Value uri, epochs, learning_rate;
  };
  std::optional<Canary> canary;
};

/// if verdict == attack: pgd-train from the model, then evaluate it clean, under a fresh
/// white-box FGSM, under the transfer set, under PGD with its eps sweep and under APGD-CE, and
/// write the report (robust accuracy: the lowest under the attacks run);
/// else: the same evaluations and report for the kept model and, with a canary set, on a `shift`
/// verdict whose canary URI is not empty, also clean fine-tuning of the model on the canary
/// (train --init-model) with the same evaluations and its own report. Both arms end with the
/// report because
/// backends up to 2.16 cannot hand an arm's outputs to a task after the group (dsl.OneOf,
/// kubeflow/pipelines #13436).
void defend_on_attack(kfp::Pipeline& p, const Components& c, const DefenceParams& d,
                      const DefenceInputs& in);

}  // namespace advkfp::pipelines
