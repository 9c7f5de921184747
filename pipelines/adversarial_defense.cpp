// The pipeline, written top to bottom as its DAG. Components come from the same cli::Spec that
// defines each tool's flags, so the pipeline cannot name an input a tool does not have.
#include "adversarial_defense.h"

#include "cli/component.h"
#include "detect_degradation.h"
#include "evaluate.h"
#include "fgsm_attack.h"
#include "pgd_train.h"
#include "prepare_data.h"
#include "train.h"

namespace advkfp::pipelines {

kfp::Pipeline adversarial_defense(const kfp::ImageConfig& images) {
  using kfp::Pipeline;
  const auto component = [&](const auto& spec) {
    return cli::to_component(spec, images.image_for(spec.name()));
  };
  const auto prepare_data = component(prepare_data::spec());
  const auto train = component(train::spec());
  const auto evaluate = component(evaluate::spec());
  const auto fgsm_attack = component(fgsm_attack::spec());
  const auto detect_degradation = component(detect_degradation::spec());
  const auto pgd_train = component(pgd_train::spec());

  Pipeline p(kAdversarialDefenseName,
             "Train a classifier, attack it with FGSM, detect the accuracy degradation and, only "
             "when degraded, retrain it with PGD adversarial training and re-evaluate it.");
  // Parameters. Defaults: the paper's clean training and eps on Fashion-MNIST; PGD training is
  // shortened to 3 epochs and, to recover more in them, fine-tunes at lr 1e-3 on half-adversarial
  // batches (the paper: lr 1e-4, adversarial only, 20 epochs; measured in the README).
  const auto dataset_uri = p.input("dataset_uri", "String", "",
                                   "IDX folder to use instead of the image's Fashion-MNIST.");
  const auto train_limit = p.input("train_limit", "Integer", 0, "Training images (0: all).");
  const auto test_limit = p.input("test_limit", "Integer", 0, "Test images (0: all).");
  const auto epochs = p.input("epochs", "Integer", 10, "Clean training epochs.");
  const auto epsilon = p.input("epsilon", "Float", 0.15, "L-inf budget of attacks and defence.");
  const auto max_absolute_drop = p.input("max_absolute_drop", "Float", 0.05,
                                         "Degraded when accuracy under attack drops more.");
  const auto max_relative_drop = p.input("max_relative_drop", "Float", 0.10,
                                         "Degraded when the relative drop is larger.");
  const auto pgd_epochs = p.input("pgd_epochs", "Integer", 3, "PGD adversarial training epochs.");
  const auto pgd_steps = p.input("pgd_steps", "Integer", 7, "PGD steps per training batch.");
  const auto pgd_step_size = p.input("pgd_step_size", "Float", 0.0,
                                     "PGD step (0: 2.5 * epsilon / steps).");
  const auto pgd_learning_rate = p.input("pgd_learning_rate", "Float", 1e-3,
                                         "Adam learning rate of the fine-tuning.");
  const auto adversarial_fraction = p.input(
      "adversarial_fraction", "Float", 0.5,
      "Share of each PGD-training batch that is adversarial (1: Madry, adversarial only).");
  const auto pgd_validation_size = p.input(
      "pgd_validation_size", "Integer", 1000,
      "Training images held out for pgd-train's per-epoch robust check.");
  const auto eval_pgd_steps = p.input("eval_pgd_steps", "Integer", 20,
                                      "Steps of the PGD evaluation of the defended model.");
  const auto seed = p.input("seed", "Integer", 0, "Seed of every random choice.");
  const auto threads = p.input("threads", "Integer", 0, "CPU threads per task (0: all cores).");

  // 1. Data: Fashion-MNIST from inside the image (no object storage needed) or the user's IDX.
  auto data = p.task(prepare_data)
                  .set("source_uri", dataset_uri)
                  .set("train_limit", train_limit)
                  .set("test_limit", test_limit)
                  .resources("1", "2G");
  const auto train_set = data.output("train_dataset");
  const auto test_set = data.output("test_dataset");

  // 2. Clean training and the clean baseline.
  auto model = p.task(train)
                   .set("dataset", train_set)
                   .set("epochs", epochs)
                   .set("seed", seed)
                   .set("threads", threads)
                   .resources("2", "4G");
  auto baseline = p.task(evaluate)
                      .display_name("evaluate-clean")
                      .set("model", model.output("model"))
                      .set("dataset", test_set)
                      .set("threads", threads)
                      .resources("1", "2G");

  // 3. The attack at inference time, and the model's accuracy on the attacked inputs.
  auto attack = p.task(fgsm_attack)
                    .set("model", model.output("model"))
                    .set("dataset", test_set)
                    .set("epsilon", epsilon)
                    .set("seed", seed)
                    .set("threads", threads)
                    .resources("1", "2G");
  auto attacked = p.task(evaluate)
                      .display_name("evaluate-under-attack")
                      .set("model", model.output("model"))
                      .set("dataset", attack.output("adversarial_dataset"))
                      .set("threads", threads)
                      .resources("1", "2G");

  // 4. Detection.
  auto detect = p.task(detect_degradation)
                    .set("baseline_metrics", baseline.output("metrics"))
                    .set("current_metrics", attacked.output("metrics"))
                    .set("max_absolute_drop", max_absolute_drop)
                    .set("max_relative_drop", max_relative_drop)
                    .resources("0.5", "1G");

  // 5. Only when degraded: PGD adversarial training from the deployed model, then evaluation
  //    clean, under a fresh white-box FGSM, under the transfer FGSM set crafted on the original
  //    model, and under white-box PGD (FGSM alone overstates robustness).
  p.begin_branch(detect.output("degraded") == true);
  {
    auto robust = p.task(pgd_train)
                      .set("model", model.output("model"))
                      .set("dataset", train_set)
                      .set("epsilon", epsilon)
                      .set("steps", pgd_steps)
                      .set("step_size", pgd_step_size)
                      .set("epochs", pgd_epochs)
                      .set("learning_rate", pgd_learning_rate)
                      .set("adversarial_fraction", adversarial_fraction)
                      .set("validation_size", pgd_validation_size)
                      .set("seed", seed)
                      .set("threads", threads)
                      .resources("2", "4G");
    const auto robust_model = robust.output("robust_model");
    p.task(evaluate)
        .display_name("evaluate-robust-clean")
        .set("model", robust_model)
        .set("dataset", test_set)
        .set("threads", threads)
        .resources("1", "2G");
    p.task(evaluate)
        .display_name("evaluate-robust-fgsm")
        .set("model", robust_model)
        .set("dataset", test_set)
        .set("attack", "fgsm")
        .set("epsilon", epsilon)
        .set("threads", threads)
        .resources("1", "2G");
    p.task(evaluate)
        .display_name("evaluate-robust-transfer")
        .set("model", robust_model)
        .set("dataset", attack.output("adversarial_dataset"))
        .set("threads", threads)
        .resources("1", "2G");
    p.task(evaluate)
        .display_name("evaluate-robust-pgd")
        .set("model", robust_model)
        .set("dataset", test_set)
        .set("attack", "pgd")
        .set("epsilon", epsilon)
        .set("steps", eval_pgd_steps)
        .set("seed", seed)
        .set("threads", threads)
        .resources("2", "2G");
  }
  p.end_branch();
  return p;
}

}  // namespace advkfp::pipelines
