// The defend-model pipeline, written top to bottom as its DAG.
#include "defend_model.h"

#include "defence.h"

namespace advkfp::pipelines {

kfp::Pipeline defend_model(const kfp::ImageConfig& images) {
  const Components c(images);
  kfp::Pipeline p(kDefendModelName,
                  "Defend a deployed model: run label-free detection on a window of its recent "
                  "traffic and, only when the window is an attack, fine-tune the model with PGD "
                  "adversarial training; evaluate the final model and write a report either way.");
  const auto model_uri = p.required_input(
      "model_uri", "String",
      "The deployed model: an advkfp model folder, or a TorchScript file (then give class_names "
      "and input_shape). A path or file:// locally; gs://, s3://, minio:// as the KFP launcher "
      "mounts them (/gcs, /s3, /minio) on a cluster.");
  const auto window_uri = p.required_input(
      "window_uri", "String",
      "A dataset folder (labels not needed) holding the recent traffic to judge, e.g. the window "
      "a server saved. Imported as is (dsl.importer): a path or file:// locally, an object-store "
      "URI on a cluster.");
  const auto data_uri = p.input(
      "data_uri", "String", "",
      "Labelled data in any layout prepare-data reads (IDX, .npz, .npy, image folders): its "
      "training split trains the defence and gives the clean reference for detection, its test "
      "split every evaluation. Empty: the image's Fashion-MNIST.");
  const auto class_names = p.input("class_names", "String", "",
                                   "TorchScript model_uri only: class names in logit order.");
  const auto input_shape =
      p.input("input_shape", "String", "", "TorchScript model_uri only: C,H,W of one input.");
  const auto mean =
      p.input("mean", "String", "", "TorchScript model_uri only: per-channel normalisation mean.");
  const auto std_dev =
      p.input("std", "String", "", "TorchScript model_uri only: per-channel normalisation std.");
  const auto train_limit = p.input("train_limit", "Integer", 0, "Training images (0: all).");
  const auto test_limit = p.input("test_limit", "Integer", 0, "Test images (0: all).");
  const auto reference_size =
      p.input("reference_size", "Integer", 5000,
              "Training images held out (never trained on) as the clean reference for detection.");
  const auto canary_uri = p.input(
      "canary_uri", "String", "",
      "Optional: a small labelled dataset folder of recent traffic (e.g. a labelled sample of the "
      "window). On a shift verdict the deployed model is fine-tuned on it (clean training), "
      "evaluated and reported beside the kept model. Empty: a shift keeps the model.");
  const auto canary_epochs =
      p.input("canary_epochs", "Integer", 3, "Epochs of the fine-tuning on the canary set.");
  const auto canary_learning_rate = p.input(
      "canary_learning_rate", "Float", 1e-4,
      "Adam learning rate of the fine-tuning on the canary set (small: it starts from a trained "
      "model and should not forget the training distribution).");
  const DefenceParams d(p);

  // 1. The deployed model, checked as every tool checks a model it loads; the data; the window.
  auto model = p.task(c.import_model, "import-model")
                   .set("source_uri", model_uri)
                   .set("class_names", class_names)
                   .set("input_shape", input_shape)
                   .set("mean", mean)
                   .set("std", std_dev)
                   .resources("1", "2G");
  const auto deployed = model.output("model");
  auto data = prepare_data(p, c, data_uri, train_limit, test_limit, reference_size);
  const auto train_set = data.output("train_dataset");
  const auto test_set = data.output("test_dataset");
  auto window = p.importer(window_uri, "Dataset", "import-window");

  // 2. The deployed model before any defence: clean (with its robustness curve) and under a
  //    white-box FGSM crafted on it, which is also the transfer set of the final evaluation.
  const auto before = evaluate_before_defence(p, c, d, deployed, test_set);

  // 3. Label-free detection on the traffic window against the clean held-out reference.
  auto detect = p.task(c.detect_degradation)
                    .set("mode", "unlabeled")
                    .set("model", deployed)
                    .set("reference", data.output("reference_dataset"))
                    .set("window", window.output("artifact"))
                    .set("alpha", d.detection_alpha)
                    .set("seed", d.seed)
                    .set("threads", d.threads)
                    .resources("1", "2G");

  // 4. Only on an attack verdict, the defence from the deployed model; on a shift with a canary
  //    set, clean fine-tuning on it; the report either way.
  defend_on_attack(p, c, d,
                   {deployed, train_set, test_set, before.adversarial, before.baseline_metrics,
                    before.attacked_metrics, detect.output("report"), detect.output("verdict"),
                    DefenceInputs::Canary{canary_uri, canary_epochs, canary_learning_rate}});
  return p;
}

}  // namespace advkfp::pipelines
