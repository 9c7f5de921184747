// detect-degradation: -> degraded (true/false), verdict (clean/shift/attack) + report JSON, by one
// of three modes:
//   labeled    baseline metrics + current metrics -> accuracy-drop rule;
//   unlabeled  model + clean reference set + incoming window, no labels -> KS tests on softmax
//              confidence and feature squeezing (src/detection), with hysteresis over windows;
//              how many inputs squeezing moves further than any calibrated benign shift does
//              tells an attack from a benign shift;
//   both       degraded when either fires.
// "Degraded" is a result, not an error: the tool exits 0 either way.
#include "detect_degradation.h"

#include <algorithm>
#include <chrono>

#include "cli/component.h"
#include "common/error.h"
#include "common/log.h"
#include "data/dataset.h"
#include "detection/detection.h"
#include "detection/shifts.h"
#include "io/files.h"
#include "io/json.h"
#include "metrics/metrics.h"
#include "metrics/records.h"
#include "model/classifier.h"

namespace advkfp::detect_degradation {
namespace {

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
// reference set and on its shifted copies.
detection::Calibration get_calibration(const Options& o, model::Classifier& net) {
  const auto shifts = detection::parse_shifts(o.calibration_shifts, "calibration_shifts");
  if (!o.calibration_in.empty()) {
    auto c = detection::load_calibration(o.calibration_in, "calibration_in");
    detection::check_same_model(c, net.info().sha256, "calibration_in");
    std::vector<std::string> shift_names;
    for (const auto& sh : shifts) shift_names.push_back(sh.name());
    if (c.fpr != o.fpr || c.squeeze_bits != o.squeeze_bits || c.shifts != shift_names) {
      const auto settings = [](double fpr, int64_t bits, const std::string& sh) {
        return "fpr " + std::to_string(fpr) + ", squeeze_bits " + std::to_string(bits) +
               ", calibration_shifts '" + sh + "'";
      };
      std::string made;
      for (const auto& n : c.shifts) made += (made.empty() ? "" : ",") + n;
      throw UsageError(describe(
          "calibration_in", "was made with " + settings(c.fpr, c.squeeze_bits, made) + ", but " +
                                settings(o.fpr, o.squeeze_bits, o.calibration_shifts) +
                                " were asked for; pass the same values or recalibrate"));
    }
    if (!o.reference.empty()) log::info("reference not read: using calibration_in");
    log::info("calibration from ", o.calibration_in.string(), " (", c.reference_count,
              " reference inputs)");
    return c;
  }
  const auto ref = load_images(o.reference, net, "reference");
  log::info("calibrating on ", ref.size(), " reference inputs and ", shifts.size(),
            " shifted copies at fpr ", o.fpr);
  return detection::calibrate_on_reference(net, ref.images, shifts, o.fpr, o.squeeze_bits,
                                           static_cast<uint64_t>(o.seed), o.batch_size);
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
    detection::parse_shifts(o.calibration_shifts, "calibration_shifts");  // usage errors first
    require_inputs({{"model", &o.model}, {"window", &o.window}}, why);
    if (o.calibration_in.empty()) {
      require_inputs({{"reference", &o.reference}}, why + " (or give calibration_in)");
    }
  }

  io::Json report = {{"tool", "detect-degradation"}, {"mode", o.mode}};
  io::Json metadata = io::Json::object();
  bool degraded = false;
  // Labelled metrics carry no adversarial evidence: the accuracy-drop rule keeps the paper's
  // reading that a drop on the attacked, labelled set is an attack.
  auto verdict = detection::Verdict::kClean;

  // Labelled rule: today's accuracy drop, fields at the top level as before.
  if (labeled) {
    metrics::DegradationRule rule;
    rule.max_absolute_drop = o.max_absolute_drop;
    rule.max_relative_drop = o.max_relative_drop;
    const double baseline = metrics::read_accuracy_file(o.baseline_metrics, "baseline_metrics");
    const double current = metrics::read_accuracy_file(o.current_metrics, "current_metrics");
    const auto d = metrics::decide_degradation(baseline, current, rule);
    report.update(metrics::to_json(d, rule));
    report["labeled_degraded"] = d.degraded;
    degraded = degraded || d.degraded;
    if (d.degraded) verdict = detection::Verdict::kAttack;
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
    const auto t0 = std::chrono::steady_clock::now();
    const auto calibration = get_calibration(o, net);
    const double calibration_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    calibration_artifact = detection::to_json(calibration);
    const auto scores =
        detection::score_inputs(net, window.images, o.squeeze_bits, o.batch_size);
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
    u["calibration"]["seconds"] = calibration_s;
    report["unlabeled"] = u;
    report["unlabeled_degraded"] = s.degraded;
    report["unlabeled_verdict"] = detection::verdict_name(s.verdict);
    degraded = degraded || s.degraded;
    verdict = std::max(verdict, s.verdict);
    // The worst window's numbers: what a dashboard wants at a glance.
    double p_max = 1, p_ent = 1, p_bin = 1, flagged = 0, p_adv = 1, adv_flagged = 0;
    for (const auto& w : s.windows) {
      p_max = std::min(p_max, w.p_max_probability);
      p_ent = std::min(p_ent, w.p_entropy);
      p_bin = std::min(p_bin, w.binomial_p_value);
      flagged = std::max(flagged, static_cast<double>(w.flagged_count) / w.count);
      p_adv = std::min(p_adv, w.adversarial_p_value);
      adv_flagged = std::max(adv_flagged, static_cast<double>(w.adversarial_count) / w.count);
    }
    metadata.update({{"ks_max_probability_p", p_max},
                     {"ks_entropy_p", p_ent},
                     {"squeeze_binomial_p", p_bin},
                     {"squeeze_flagged_fraction", flagged},
                     {"far_moved_binomial_p", p_adv},
                     {"far_moved_fraction", adv_flagged},
                     {"bad_windows", s.bad_windows},
                     {"attack_windows", s.attack_windows},
                     {"shift_windows", s.shift_windows},
                     {"windows", static_cast<int64_t>(s.windows.size())}});
    for (const auto& w : s.windows) {
      std::string reasons;
      for (const auto& r : w.reasons) reasons += (reasons.empty() ? "" : "; ") + r;
      log::info("window ", w.index, " (", w.count, " inputs): ", w.degraded ? "BAD: " : "ok: ",
                reasons);
    }
    log::info(s.degraded ? "unlabeled: DEGRADED: " : "unlabeled: not degraded: ", s.bad_windows,
              " of ", s.windows.size(), " windows bad, longest run ", s.longest_bad_run, ", needs ",
              o.consecutive, " in a row");
  }
  report["degraded"] = degraded;
  report["verdict"] = detection::verdict_name(verdict);
  metadata["degraded"] = degraded ? 1 : 0;
  // KFP keeps artifact metadata as numbers: the verdict itself is the output parameter.
  metadata["verdict_shift"] = verdict == detection::Verdict::kShift ? 1 : 0;
  metadata["verdict_attack"] = verdict == detection::Verdict::kAttack ? 1 : 0;

  if (!o.calibration.empty()) io::write_json(o.calibration, calibration_artifact, "calibration");
  io::write_json(o.report, report, "report");
  io::write_output_parameter(o.degraded, degraded ? "true" : "false", "degraded");
  if (!o.verdict.empty()) {
    io::write_output_parameter(o.verdict, detection::verdict_name(verdict), "verdict");
  }
  cli::publish_metadata("report", metadata);
  log::info(degraded ? "DEGRADED" : "not degraded", ", verdict ", detection::verdict_name(verdict),
            " (mode ", o.mode, ")");
}

}  // namespace

const cli::Spec<Options>& tool() {
  static const auto s = cli::Spec<Options>(spec()).run(&run);
  return s;
}

}  // namespace advkfp::detect_degradation
