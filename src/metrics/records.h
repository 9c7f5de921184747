// The JSON files components hand to each other, as typed records: evaluate's metrics,
// detect-degradation's report, pgd-train's and train's metrics. Every reader (detect-degradation,
// report, print-results) goes through these, so a field is looked up in one place, and a file
// that lacks a field or has it mistyped gets one line naming the input and the field. Torch-free.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace advkfp::metrics {

/// An attack as a metrics file records it (attacks::to_json of its AttackConfig).
struct AttackRecord {
  std::string method;  ///< fgsm, pgd or apgd
  double epsilon = 0;
  int64_t steps = 0;  ///< pgd, apgd

  /// "PGD-20", "APGD-CE-100" or "FGSM".
  std::string name() const;
  /// "PGD-20 (eps 0.15)".
  std::string label() const;
};

/// One point of an evaluation's robustness curve.
struct CurvePoint {
  std::string attack;
  double epsilon = 0;
  double accuracy = 0;
};

/// evaluate's metrics file (its `metrics` output).
struct EvaluationRecord {
  std::string model_sha256;        ///< model.sha256: which model was evaluated
  int64_t count = 0;               ///< images evaluated
  std::optional<double> accuracy;  ///< in [0, 1]; null in the file for an unlabelled set
  std::vector<std::string> class_names;
  std::vector<std::vector<int64_t>> confusion_matrix;  ///< [true][predicted]; empty if unlabelled
  /// model.training.method: how the evaluated model was made ("clean", "clean-fine-tune",
  /// "pgd-adversarial"); empty for a model without a training record (an imported one).
  std::string training_method;
  std::optional<AttackRecord> attack;          ///< the attack evaluated under (null: clean)
  std::optional<AttackRecord> dataset_attack;  ///< dataset.provenance.attack: a crafted set's
  std::vector<CurvePoint> robustness_curve;
  int64_t robustness_curve_count = 0;  ///< images each curve point ran over
  nlohmann::json json;                 ///< the whole file, for settings shown as they are

  /// The accuracy; throws advkfp::Error naming `what` when the set was unlabelled.
  double labelled_accuracy(const std::string& what) const;
};

/// Reads an evaluate metrics document. Throws advkfp::Error "<what>: <problem>" naming the missing
/// or mistyped field (e.g. "clean_metrics: field 'model.sha256' is missing (not an evaluate metrics
/// file)"), an accuracy outside [0, 1], or a confusion matrix that is not K x K.
EvaluationRecord read_evaluation(const nlohmann::json& j, const std::string& what);
/// The same from a file; `what` then also names the path.
EvaluationRecord read_evaluation_file(const std::filesystem::path& path, const std::string& what);

/// The accuracy of an evaluate metrics document, all the labelled degradation rule needs: a number
/// in [0, 1]. Throws advkfp::Error naming `what` when it is missing, null (an unlabelled set), not
/// a number or out of range.
double read_accuracy(const nlohmann::json& j, const std::string& what);
/// The same from a file; `what` then also names the path.
double read_accuracy_file(const std::filesystem::path& path, const std::string& what);

/// detect-degradation's report (its `report` output), as far as other components read it.
struct DetectionRecord {
  bool degraded = false;
  std::string mode;     ///< labeled, unlabeled or both
  std::string verdict;  ///< clean, shift or attack (a report without one: attack when degraded)
  nlohmann::json json;  ///< the whole report: windows, reasons, calibration
};

/// Reads a detect-degradation report. Throws advkfp::Error naming `what` and the field.
DetectionRecord read_detection(const nlohmann::json& j, const std::string& what);

/// One of pgd-train's held-out checks (an element of its metrics' `curve`).
struct TrainingCheck {
  int64_t epoch = 0, batches = 0;
  double seconds = 0;  ///< wall time since training started, checks included
  double epsilon = 0;  ///< the training eps at the time (the ramp)
  double clean = 0;    ///< held-out clean accuracy
  double robust = 0;   ///< held-out accuracy under check_attack
};

/// pgd-train's metrics file, as far as the report reads it: the time-to-robustness curve.
struct TrainingRecord {
  std::string method = "adversarial training";  ///< adversarial_method.name: madry, fast, ...
  std::optional<AttackRecord> check_attack;     ///< validation_attack: the checks' attack
  std::vector<TrainingCheck> checks;
  std::optional<double> target;          ///< target_robust_accuracy
  std::optional<double> time_to_target;  ///< time_to_target_seconds, when reached
  int64_t best = -1;                     ///< best_check: the index of the kept check, or -1
  int64_t train_count = 0;               ///< training images (the held-out slice excluded)
  int64_t epochs = 0;  ///< epochs trained: history's entries after the starting model's

  /// check_attack's label ("PGD-10 (eps 0.15)"), or "PGD" when the file names none.
  std::string check_attack_label() const;
};

/// Reads pgd-train's metrics. Throws advkfp::Error naming `what` for metrics of another tool
/// (its `tool`), a missing curve, or a check value that is not a number in its range.
TrainingRecord read_training(const nlohmann::json& j, const std::string& what);

/// train's metrics file, as far as a run's summary reads it.
struct CleanTrainingRecord {
  int64_t count = 0;   ///< training images
  int64_t epochs = 0;  ///< epochs trained (history's entries)
  double images_per_second = 0;
};

/// Reads train's metrics. Throws advkfp::Error naming `what` for metrics of another tool or a
/// missing or mistyped field.
CleanTrainingRecord read_clean_training(const nlohmann::json& j, const std::string& what);

/// The images a tool's metrics say it processed, epochs counted: train and pgd-train (training
/// images x epochs trained), evaluate, fgsm-attack and prepare-data (images). Nothing for metrics
/// of another tool. Throws advkfp::Error naming `what` and the field for a missing or mistyped
/// field.
std::optional<int64_t> images_processed(const nlohmann::json& j, const std::string& what);

/// One second of a live episode as `traffic` records it.
struct TimelineSecond {
  int64_t t = 0;                   ///< the second [t, t + 1) since traffic started
  bool attacked = false;           ///< inputs crafted by the attack from this second on
  int64_t requests = 0;            ///< requests sent in it
  int64_t failed = 0;              ///< of which not answered 200
  std::optional<double> accuracy;  ///< of the answered images; none when nothing was answered
  double p50_ms = 0, p99_ms = 0;   ///< answer latency
  std::vector<std::string> model_versions;  ///< the versions that answered
};

/// A server event seen in its /metrics: "alarm", "alarm cleared", "defence started",
/// "defence finished", "model swapped" (detail "1 -> 2").
struct TimelineEvent {
  double t = 0;
  std::string kind, detail;
};

/// `traffic --timeline`: a live episode second by second. `traffic` writes it through to_json and
/// `report --traffic-timeline` reads it through read_timeline.
struct TimelineRecord {
  nlohmann::json settings = nlohmann::json::object();  ///< attack, rate, concurrency, ...
  int64_t requests = 0, failed = 0;
  double attack_at_s = 0;
  std::optional<double> alarm_at_s, defence_started_at_s, model_swapped_at_s;  ///< first ones
  std::vector<TimelineEvent> events;
  std::vector<TimelineSecond> seconds;

  /// Accuracy over the whole seconds inside [from, to), weighted by answered requests; none when
  /// no request in them was answered.
  std::optional<double> accuracy_between(double from, double to) const;
};

nlohmann::json to_json(const TimelineRecord& r);
TimelineRecord read_timeline(const nlohmann::json& j, const std::string& what);

}  // namespace advkfp::metrics
