// detect-degradation: -> degraded (true/false) + report JSON, by one of three modes:
//   labeled    baseline metrics + current metrics -> accuracy-drop rule;
//   unlabeled  model + clean reference set + incoming window, no labels -> KS tests on softmax
//              confidence and feature squeezing (src/detection), with hysteresis over windows;
//   both       degraded when either fires.
// "Degraded" is a result, not an error: the tool exits 0 either way.
#include "detect_degradation.h"

#include "cli/component.h"
#include "common/error.h"
#include "common/log.h"
#include "data/dataset.h"
#include "detection/detection.h"
#include "io/files.h"
#include "io/json.h"
#include "metrics/metrics.h"
#include "model/classifier.h"

namespace advkfp::detect_degradation {
namespace {

double read_accuracy(const std::filesystem::path& path, const std::string& what) {
  const auto j = io::read_json(path, what);
  if (!j.is_object() || !j.contains("accuracy")) {
    throw Error(describe(what, "'" + path.string() + "' has no 'accuracy' field"));
  }
  if (!j["accuracy"].is_number()) {
    throw Error(describe(
        what, "'accuracy' in '" + path.string() + "' is not a number (was the set unlabelled?)"));
  }
  return j["accuracy"].get<double>();
}

// Usage error naming every input the chosen mode needs but did not get.
void require_inputs(const std::vector<std::pair<const char*, const std::filesystem::path*>>& inputs,
                    const std::string& why) {
  std::string missing;
  for (const auto& [name, path] : inputs) {
    if (path->empty()) missing += (missing.empty() ? "" : ", ") + std::string(name);
  }
  if (!missing.empty()) throw UsageError(describe(missing, "required " + why));
}

// An image set for the model, labels dropped: the detector never reads them, so an unlabelled
// window (or one whose labels are stale) is as good as a labelled one.
data::Dataset load_images(const std::filesystem::path& dir, model::Classifier& net,
                          const std::string& what) {
  auto ds = data::load_dataset(dir, what);
  ds.labels = torch::Tensor();
  data::check_compatible(ds, net.info().input_shape, net.info().num_classes(), what);
  return ds;
}

// The calibration: loaded from calibration_in (same model, same settings) or computed on the
// reference set.
detection::Calibration get_calibration(const Options& o, model::Classifier& net) {
  if (!o.calibration_in.empty()) {
    auto c = detection::load_calibration(o.calibration_in, "calibration_in");
    detection::check_same_model(c, net.info().sha256, "calibration_in");
    if (c.fpr != o.fpr || c.squeeze_bits != o.squeeze_bits) {
      throw UsageError(
          describe("calibration_in", "was made with fpr " + std::to_string(c.fpr) +
                                         " and squeeze_bits " + std::to_string(c.squeeze_bits) +
                                         ", but fpr " + std::to_string(o.fpr) +
                                         " and squeeze_bits " + std::to_string(o.squeeze_bits) +
                                         " were asked for; pass the same values or recalibrate"));
    }
    if (!o.reference.empty()) log::info("reference not read: using calibration_in");
    log::info("calibration from ", o.calibration_in.string(), " (", c.reference_count,
              " reference inputs)");
    return c;
  }
  const auto ref = load_images(o.reference, net, "reference");
  log::info("calibrating on ", ref.size(), " reference inputs at fpr ", o.fpr);
  const auto scores = detection::score_inputs(net, ref.images, o.squeeze_bits, o.batch_size);
  return detection::calibrate(scores, net.info().sha256, o.fpr, o.squeeze_bits);
}

// The calibration as the report shows it: everything but the reference samples.
io::Json calibration_summary(const detection::Calibration& c, const std::string& source) {
  io::Json j = detection::to_json(c);
  j.erase("reference");
  j["source"] = source;
  return j;
}

void run(const Options& o) {
  const bool labeled = o.mode != "unlabeled";
  const bool unlabeled = o.mode != "labeled";
  const std::string why = "with --mode " + o.mode;
  if (labeled) {
    require_inputs(
        {{"baseline_metrics", &o.baseline_metrics}, {"current_metrics", &o.current_metrics}}, why);
  }
  if (unlabeled) {
    require_inputs({{"model", &o.model}, {"window", &o.window}}, why);
    if (o.calibration_in.empty()) {
      require_inputs({{"reference", &o.reference}}, why + " (or give calibration_in)");
    }
  }

  io::Json report = {{"tool", "detect-degradation"}, {"mode", o.mode}};
  io::Json metadata = io::Json::object();
  bool degraded = false;

  // Labelled rule: today's accuracy drop, fields at the top level as before.
  if (labeled) {
    metrics::DegradationRule rule;
    rule.max_absolute_drop = o.max_absolute_drop;
    rule.max_relative_drop = o.max_relative_drop;
    const double baseline = read_accuracy(o.baseline_metrics, "baseline_metrics");
    const double current = read_accuracy(o.current_metrics, "current_metrics");
    const auto d = metrics::decide_degradation(baseline, current, rule);
    report.update(metrics::to_json(d, rule));
    report["labeled_degraded"] = d.degraded;
    degraded = degraded || d.degraded;
    metadata.update({{"baseline_accuracy", d.baseline_accuracy},
                     {"current_accuracy", d.current_accuracy},
                     {"absolute_drop", d.absolute_drop},
                     {"relative_drop", d.relative_drop}});
    log::info(d.degraded ? "labeled: DEGRADED: " : "labeled: not degraded: ", d.reasons[0], "; ",
              d.reasons[1]);
  }

  // Written whatever the mode, as KFP requires every declared output; labeled mode calibrates
  // nothing and says so.
  io::Json calibration_artifact = detection::uncalibrated_json("mode labeled calibrates nothing");
  if (unlabeled) {
    auto net = model::load_model(o.model, "model");
    const auto window = load_images(o.window, net, "window");  // checked before calibrating
    const auto calibration = get_calibration(o, net);
    calibration_artifact = detection::to_json(calibration);
    const auto scores = detection::score_inputs(net, window.images, o.squeeze_bits, o.batch_size);
    const auto s =
        detection::decide_stream(calibration, scores, o.alpha, o.window_size, o.consecutive);
    if (static_cast<int64_t>(s.windows.size()) < o.consecutive) {
      log::warn("consecutive (", o.consecutive, ") exceeds the ", s.windows.size(),
                " windows in window: it cannot fire");
    }
    io::Json u = detection::to_json(s);
    u["alpha"] = o.alpha;
    u["input_count"] = scores.size();
    u["calibration"] =
        calibration_summary(calibration, o.calibration_in.empty() ? "reference" : "calibration_in");
    report["unlabeled"] = u;
    report["unlabeled_degraded"] = s.degraded;
    degraded = degraded || s.degraded;
    // The worst window's numbers: what a dashboard wants at a glance.
    double p_max = 1, p_ent = 1, p_bin = 1, flagged = 0;
    for (const auto& w : s.windows) {
      p_max = std::min(p_max, w.p_max_probability);
      p_ent = std::min(p_ent, w.p_entropy);
      p_bin = std::min(p_bin, w.binomial_p_value);
      flagged = std::max(flagged, static_cast<double>(w.flagged_count) / w.count);
    }
    metadata.update({{"ks_max_probability_p", p_max},
                     {"ks_entropy_p", p_ent},
                     {"squeeze_binomial_p", p_bin},
                     {"squeeze_flagged_fraction", flagged},
                     {"bad_windows", s.bad_windows},
                     {"windows", static_cast<int64_t>(s.windows.size())}});
    for (const auto& w : s.windows) {
      log::info("window ", w.index, " (", w.count,
                " inputs): ", w.degraded ? "BAD: " : "ok: ", w.reasons[0], "; ", w.reasons[1], "; ",
                w.reasons[2]);
    }
    log::info(s.degraded ? "unlabeled: DEGRADED: " : "unlabeled: not degraded: ", s.bad_windows,
              " of ", s.windows.size(), " windows bad, longest run ", s.longest_bad_run, ", needs ",
              o.consecutive, " in a row");
  }
  report["degraded"] = degraded;
  metadata["degraded"] = degraded ? 1 : 0;

  if (!o.calibration.empty()) io::write_json(o.calibration, calibration_artifact, "calibration");
  io::write_json(o.report, report, "report");
  io::write_output_parameter(o.degraded, degraded ? "true" : "false", "degraded");
  cli::publish_metadata("report", metadata);
  log::info(degraded ? "DEGRADED" : "not degraded", " (mode ", o.mode, ")");
}

}  // namespace

const cli::Spec<Options>& spec() {
  static const auto s =
      cli::Spec<Options>(
          "detect-degradation",
          "Decide whether the model is degraded; exits 0 either way. labeled: accuracy drop "
          "between two metrics files. unlabeled: no labels, from the model's outputs on a window "
          "of incoming inputs against a clean reference set (KS tests on softmax max-probability "
          "and entropy, Bonferroni over the two; feature squeezing with a per-input threshold at "
          "fpr on the reference and a binomial test of the flagged count). both: degraded when "
          "either fires.")
          .param("mode", &Options::mode,
                 "labeled (baseline/current metrics), unlabeled (model, reference, window) or "
                 "both (degraded when either fires).",
                 {"labeled", "unlabeled", "both"})
          .input("baseline_metrics", &Options::baseline_metrics, cli::types::kMetrics,
                 "labeled/both: metrics JSON of the reference run (evaluate on clean data).", true)
          .input("current_metrics", &Options::current_metrics, cli::types::kMetrics,
                 "labeled/both: metrics JSON of the run to judge (evaluate on attacked data).",
                 true)
          .input("model", &Options::model, cli::types::kModel,
                 "unlabeled/both: the deployed model whose outputs are tested.", true)
          .input("reference", &Options::reference, cli::types::kDataset,
                 "unlabeled/both: clean held-out inputs (not training data) to calibrate on; "
                 "labels unused.",
                 true)
          .input("window", &Options::window, cli::types::kDataset,
                 "unlabeled/both: the incoming inputs to judge; labels, if any, are ignored.", true)
          .input("calibration_in", &Options::calibration_in, cli::types::kArtifact,
                 "unlabeled/both: a calibration written earlier for this model (its calibration "
                 "output); used instead of recomputing it from reference.",
                 true)
          .output_parameter("degraded", &Options::degraded, cli::types::kBoolean,
                            "true when the mode's rule fires (file holds true or false).")
          .output("report", &Options::report, cli::types::kMetrics,
                  "JSON report: each statistic, p-value and threshold, flagged input indices per "
                  "window, and which rule fired.")
          .output("calibration", &Options::calibration, cli::types::kArtifact,
                  "unlabeled/both: the calibration (thresholds, reference samples, model sha256) "
                  "for reuse as calibration_in; labeled: a stub saying nothing was calibrated.",
                  true)
          .param("max_absolute_drop", &Options::max_absolute_drop,
                 "labeled: degraded when baseline - current accuracy exceeds this (0: any drop).",
                 cli::in_range(0, 1))
          .param("max_relative_drop", &Options::max_relative_drop,
                 "labeled: degraded when (baseline - current) / baseline exceeds this.",
                 cli::in_range(0, 1))
          .param("alpha", &Options::alpha,
                 "unlabeled: significance level; a window is bad when a Bonferroni-corrected KS "
                 "p-value or the binomial p-value is below it.",
                 cli::in_range(0, 1, true, true))
          .param("fpr", &Options::fpr,
                 "unlabeled: per-input false-positive rate of the squeezing threshold on the "
                 "reference set.",
                 cli::in_range(0, 1, true, true))
          .param("squeeze_bits", &Options::squeeze_bits,
                 "unlabeled: bit depth of the bit-reduction squeezer.", cli::in_range(1, 8))
          .param("window_size", &Options::window_size,
                 "unlabeled: split window into consecutive windows of this many inputs (0: one "
                 "window).",
                 cli::at_least(0))
          .param("consecutive", &Options::consecutive,
                 "unlabeled: degraded only after this many bad windows in a row.", cli::at_least(1))
          .param("batch_size", &Options::batch_size, "Inputs per forward pass.", cli::at_least(1))
          .common(false)
          .run(&run);
  return s;
}

}  // namespace advkfp::detect_degradation
