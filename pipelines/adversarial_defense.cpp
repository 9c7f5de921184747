// The paper's pipeline, written top to bottom as its DAG.
#include "adversarial_defense.h"

#include "defence.h"
#include "metrics/degradation_rule.h"
#include "train.h"

namespace advkfp::pipelines {

kfp::Pipeline adversarial_defense(const kfp::ImageConfig& images) {
  const Components c(images);
  kfp::Pipeline p(kAdversarialDefenseName,
                  "Train a classifier, attack it with FGSM, detect the degradation (label-free by "
                  "default), tell an attack from a benign shift and, only on an attack, retrain it "
                  "with PGD adversarial training; "
                  "evaluate the final model and write a report either way.");
  // Parameters. Defaults: the paper's clean training and eps on Fashion-MNIST.
  const auto dataset_uri = p.input("dataset_uri", "String", "",
                                   "IDX folder to use instead of the image's Fashion-MNIST.");
  const auto train_limit = p.input("train_limit", "Integer", 0, "Training images (0: all).");
  const auto test_limit = p.input("test_limit", "Integer", 0, "Test images (0: all).");
  const auto epochs =
      p.input("epochs", "Integer", train::Options{}.epochs, "Clean training epochs.");
  const auto reference_size =
      p.input("reference_size", "Integer", 5000,
              "Training images held out (never trained on) as the clean reference for detection.");
  const auto detection_mode = p.input(
      "detection_mode", "String", "unlabeled",
      "unlabeled: from the model's outputs on the incoming inputs; labeled: accuracy drop on a "
      "labelled canary set; both: either fires.");
  const auto max_absolute_drop =
      p.input("max_absolute_drop", "Float", metrics::DegradationRule{}.max_absolute_drop,
              "labeled: degraded when accuracy drops more.");
  const auto max_relative_drop =
      p.input("max_relative_drop", "Float", metrics::DegradationRule{}.max_relative_drop,
              "labeled: degraded when the relative drop is larger.");
  const DefenceParams d(p);

  // 1. Data: Fashion-MNIST from inside the image (no object storage needed) or the user's IDX.
  auto data = prepare_data(p, c, dataset_uri, train_limit, test_limit, reference_size);
  const auto train_set = data.output("train_dataset");
  const auto test_set = data.output("test_dataset");

  // 2. Clean training.
  auto model = p.task(c.train)
                   .set("dataset", train_set)
                   .set("epochs", epochs)
                   .set("seed", d.seed)
                   .set("threads", d.threads)
                   .resources("2", "4G");

  // 3. The clean baseline with the model's robustness curve, the attack at inference time, and
  //    the model's accuracy on the attacked inputs.
  const auto before = evaluate_before_defence(p, c, d, model.output("model"), test_set);

  // 4. Detection: by default label-free, from the model's outputs on the attacked stream against
  //    a clean held-out reference; the labelled accuracy-drop rule is kept as an option.
  auto detect = p.task(c.detect_degradation)
                    .set("mode", detection_mode)
                    .set("model", model.output("model"))
                    .set("reference", data.output("reference_dataset"))
                    .set("window", before.adversarial)
                    .set("alpha", d.detection_alpha)
                    .set("baseline_metrics", before.baseline_metrics)
                    .set("current_metrics", before.attacked_metrics)
                    .set("max_absolute_drop", max_absolute_drop)
                    .set("max_relative_drop", max_relative_drop)
                    .set("seed", d.seed)
                    .set("threads", d.threads)
                    .resources("1", "2G");

  // 5. Only on an attack verdict, the defence; the report either way.
  defend_on_attack(
      p, c, d,
      {model.output("model"), train_set, test_set, before.adversarial, before.baseline_metrics,
       before.attacked_metrics, detect.output("report"), detect.output("verdict"), std::nullopt});
  return p;
}

}  // namespace advkfp::pipelines
