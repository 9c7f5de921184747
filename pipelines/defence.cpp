#include "defence.h"

#include <optional>

#include "attacks/settings.h"
#include "cli/component.h"
#include "detect_degradation.h"
#include "evaluate.h"
#include "fgsm_attack.h"
#include "import_model.h"
#include "pgd_train.h"
#include "prepare_data.h"
#include "report.h"
#include "train.h"

namespace advkfp::pipelines {
namespace {

template <typename S>
kfp::ComponentSpec component(const S& spec, const kfp::ImageConfig& images) {
  return cli::to_component(spec, images.image_for(spec.name()));
}

}  // namespace

Components::Components(const kfp::ImageConfig& images)
    : prepare_data(component(prepare_data::spec(), images)),
      import_model(component(import_model::spec(), images)),
      train(component(train::spec(), images)),
      evaluate(component(evaluate::spec(), images)),
      fgsm_attack(component(fgsm_attack::spec(), images)),
      detect_degradation(component(detect_degradation::spec(), images)),
      pgd_train(component(pgd_train::spec(), images)),
      report(component(report::spec(), images)) {}

// Defaults are the tools' own (their Options structs), except where the pipeline chooses
// otherwise: PGD training is shortened to 3 epochs and, to recover more in them, fine-tunes at
// lr 1e-3 on half-adversarial batches (the paper: lr 1e-4, adversarial only, 20 epochs; measured
// in the README); the evaluations of the final model use 20 steps.
DefenceParams::DefenceParams(kfp::Pipeline& p)
    : epsilon(p.input("epsilon", "Float", attacks::kDefaultEpsilon,
                      "L-inf budget of attacks and defence.")),
      detection_alpha(p.input("detection_alpha", "Float", detect_degradation::Options{}.alpha,
                              "Significance level of the label-free tests.")),
      pgd_method(p.input(
          "pgd_method", "String", pgd_train::Options{}.method,
          "Adversarial training method of the defence: madry, fast, free or trades (pgd-train).")),
      pgd_epochs(p.input("pgd_epochs", "Integer", 3, "PGD adversarial training epochs.")),
      pgd_steps(p.input("pgd_steps", "Integer", pgd_train::Options{}.steps,
                        "PGD steps per training batch.")),
      pgd_step_size(p.input("pgd_step_size", "Float", pgd_train::Options{}.step_size,
                            "PGD step (0: 2.5 * epsilon / steps).")),
      pgd_learning_rate(p.input("pgd_learning_rate", "Float", pgd_train::Options{}.learning_rate,
                                "Adam learning rate of the fine-tuning.")),
      adversarial_fraction(p.input(
          "adversarial_fraction", "Float", pgd_train::Options{}.adversarial_fraction,
          "Share of each PGD-training batch that is adversarial (1: Madry, adversarial only).")),
      pgd_from_scratch(p.input(
          "pgd_from_scratch", "Boolean", pgd_train::Options{}.from_scratch,
          "Train the defended model from fresh weights of the model's architecture instead of "
          "fine-tuning it: more robust at equal training time on Fashion-MNIST, less clean "
          "accuracy (README, Time to robustness); not for imported models.")),
      pgd_ramp_epochs(p.input("pgd_ramp_epochs", "Integer", pgd_train::Options{}.ramp_epochs,
                              "Epochs over which the defence's training eps rises from 0 "
                              "(0: the full eps from the start).")),
      pgd_validation_size(p.input("pgd_validation_size", "Integer",
                                  pgd_train::Options{}.validation_size,
                                  "Training images held out for pgd-train's per-epoch robust "
                                  "check.")),
      eval_pgd_steps(p.input("eval_pgd_steps", "Integer", evaluate::Options{}.steps,
                             "Steps of the PGD evaluation of the defended model.")),
      eval_apgd_steps(p.input(
          "eval_apgd_steps", "Integer", 20,
          "Iterations of the APGD-CE evaluation of the final model (AutoAttack uses 100).")),
      sweep_epsilons(p.input("sweep_epsilons", "String", "0,0.05,0.1,0.15,0.2,0.25,0.3",
                             "Budgets of the robustness curves in the report.")),
      sweep_limit(p.input("sweep_limit", "Integer", 1000,
                          "Test images of each robustness curve (0: all).")),
      seed(p.input("seed", "Integer", cli::CommonOptions{}.seed, "Seed of every random choice.")),
      threads(p.input("threads", "Integer", cli::CommonOptions{}.threads,
                      "CPU threads per task (0: all cores).")) {}

// Tasks are named by their key, which is also what the KFP UI shows.
kfp::Task evaluation(kfp::Pipeline& p, const Components& c, const DefenceParams& d,
                     const std::string& key, const kfp::Value& m, const kfp::Value& ds) {
  return p.task(c.evaluate, key)
      .set("model", m)
      .set("dataset", ds)
      .set("threads", d.threads)
      .resources("1", "2G");
}

kfp::Task prepare_data(kfp::Pipeline& p, const Components& c, const kfp::Value& source_uri,
                       const kfp::Value& train_limit, const kfp::Value& test_limit,
                       const kfp::Value& reference_size) {
  return p.task(c.prepare_data)
      .set("source_uri", source_uri)
      .set("train_limit", train_limit)
      .set("test_limit", test_limit)
      .set("reference_size", reference_size)
      .resources("1", "2G");
}

BeforeDefence evaluate_before_defence(kfp::Pipeline& p, const Components& c, const DefenceParams& d,
                                      const kfp::Value& model, const kfp::Value& test_set) {
  auto baseline = evaluation(p, c, d, "evaluate-clean", model, test_set)
                      .set("sweep_epsilons", d.sweep_epsilons)
                      .set("sweep_limit", d.sweep_limit)
                      .set("steps", d.eval_pgd_steps)
                      .set("seed", d.seed);
  auto attack = p.task(c.fgsm_attack)
                    .set("model", model)
                    .set("dataset", test_set)
                    .set("epsilon", d.epsilon)
                    .set("seed", d.seed)
                    .set("threads", d.threads)
                    .resources("1", "2G");
  const auto adversarial = attack.output("adversarial_dataset");
  auto attacked = evaluation(p, c, d, "evaluate-under-attack", model, adversarial);
  return {baseline.output("metrics"), adversarial, attacked.output("metrics")};
}

void defend_on_attack(kfp::Pipeline& p, const Components& c, const DefenceParams& d,
                      const DefenceInputs& in) {
  // The final model, evaluated five ways: clean, under a fresh white-box FGSM, under the transfer
  // FGSM set crafted on the original model, under white-box PGD with its eps sweep (FGSM alone
  // overstates robustness) and under APGD-CE; then the report, whose robust accuracy is the
  // lowest under these attacks.
  const auto evaluate_and_report = [&](const kfp::Value& final_model, const std::string& arm,
                                       const std::optional<kfp::Value>& training_metrics) {
    const std::string prefix = "evaluate-" + arm;
    auto clean = evaluation(p, c, d, prefix + "-clean", final_model, in.test_set);
    auto fgsm = evaluation(p, c, d, prefix + "-fgsm", final_model, in.test_set)
                    .set("attack", "fgsm")
                    .set("epsilon", d.epsilon);
    auto transfer = evaluation(p, c, d, prefix + "-transfer", final_model, in.transfer_set);
    auto pgd = evaluation(p, c, d, prefix + "-pgd", final_model, in.test_set)
                   .set("attack", "pgd")
                   .set("epsilon", d.epsilon)
                   .set("steps", d.eval_pgd_steps)
                   .set("sweep_epsilons", d.sweep_epsilons)
                   .set("sweep_limit", d.sweep_limit)
                   .set("seed", d.seed)
                   .resources("2", "2G");
    auto apgd = evaluation(p, c, d, prefix + "-apgd", final_model, in.test_set)
                    .set("attack", "apgd")
                    .set("epsilon", d.epsilon)
                    .set("steps", d.eval_apgd_steps)
                    .set("seed", d.seed)
                    .resources("2", "2G");
    auto report = p.task(c.report, "report-" + arm);
    report.set("clean_metrics", in.baseline_metrics)
        .set("attacked_metrics", in.attacked_metrics)
        .set("detection_report", in.detection_report)
        .set("final_clean_metrics", clean.output("metrics"))
        .set("final_fgsm_metrics", fgsm.output("metrics"))
        .set("final_transfer_metrics", transfer.output("metrics"))
        .set("final_pgd_metrics", pgd.output("metrics"))
        .set("final_apgd_metrics", apgd.output("metrics"));
    if (training_metrics) report.set("training_metrics", *training_metrics);
    report.resources("0.5", "512M");
  };

  // Only on an attack verdict: PGD adversarial training from the deployed model. A benign shift
  // (verdict shift: the inputs changed, but not the way adversarial inputs do) or no change keeps
  // the model, evaluated the same four ways, so the report compares like with like; adversarial
  // retraining does not help against a shift and costs clean accuracy.
  p.begin_if(in.verdict == "attack");
  auto robust = p.task(c.pgd_train)
                    .set("model", in.model)
                    .set("dataset", in.train_set)
                    .set("method", d.pgd_method)
                    .set("epsilon", d.epsilon)
                    .set("steps", d.pgd_steps)
                    .set("step_size", d.pgd_step_size)
                    .set("epochs", d.pgd_epochs)
                    .set("learning_rate", d.pgd_learning_rate)
                    .set("adversarial_fraction", d.adversarial_fraction)
                    .set("from_scratch", d.pgd_from_scratch)
                    .set("ramp_epochs", d.pgd_ramp_epochs)
                    .set("validation_size", d.pgd_validation_size)
                    .set("seed", d.seed)
                    .set("threads", d.threads)
                    .resources("2", "4G");
  evaluate_and_report(robust.output("robust_model"), "robust", robust.output("metrics"));
  p.begin_else();
  evaluate_and_report(in.model, "kept", std::nullopt);
  if (in.canary) {
    // A benign shift with labelled data of the new distribution: clean fine-tuning on it, as
    // nested dsl.If blocks (the SDK's form; every backend runs nested conditions). The kept arm's
    // report above stays: what the deployed model does, beside what the fine-tuned one would.
    p.begin_branch(in.verdict == "shift");
    p.begin_branch(in.canary->uri != "");
    auto canary = p.importer(in.canary->uri, "Dataset", "import-canary");
    auto tuned = p.task(c.train, "fine-tune")
                     .set("init_model", in.model)
                     .set("dataset", canary.output("artifact"))
                     .set("epochs", in.canary->epochs)
                     .set("learning_rate", in.canary->learning_rate)
                     .set("seed", d.seed)
                     .set("threads", d.threads)
                     .resources("2", "4G");
    evaluate_and_report(tuned.output("model"), "tuned", std::nullopt);
    p.end_branch();
    p.end_branch();
  }
  p.end_if();
}

}  // namespace advkfp::pipelines
