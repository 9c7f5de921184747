// detect-degradation: the component's declaration (flags, defaults, KFP interface), torch-free so the
// pipeline compiler links it without the run code.
#include "detect_degradation.h"

namespace advkfp::detect_degradation {

const cli::Spec<Options>& spec() {
  static const auto s =
      cli::Spec<Options>(
          "detect-degradation",
          "Decide whether the model is degraded; exits 0 either way. labeled: accuracy drop "
          "between two metrics files. unlabeled: no labels, from the model's outputs on a window "
          "of incoming inputs against a clean reference set (KS tests on softmax max-probability "
          "and entropy, Bonferroni over the two; feature squeezing with a per-input threshold at "
          "fpr on the reference and a binomial test of the flagged count). both: degraded when "
          "either fires. verdict: clean, shift (the inputs changed) or attack (they changed and "
          "more of them than on clean and calibrated benign shifts moved far: a squeezing score "
          "above what those shifts reach).")
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
          .output_parameter("verdict", &Options::verdict, cli::types::kString,
                            "clean, shift or attack. unlabeled: attack when the window changed "
                            "and too many inputs have a squeezing score above the calibrated "
                            "shifts' threshold, shift when only the change tests fire; labeled: attack when the accuracy-drop rule fires. "
                            "Optional on the command line.",
                            true)
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
          .param("calibration_shifts", &Options::calibration_shifts,
                 "unlabeled: benign shifts of the reference set that set the attack threshold "
                 "(the squeezing score they keep at most fpr of their inputs above), kind:value comma-separated (kinds: brightness, gain, "
                 "contrast, gamma, translate, rotate, blur, downscale, noise, uniform-noise, "
                 "salt-pepper); empty: clean reference only.")
          .param("batch_size", &Options::batch_size, "Inputs per forward pass.", cli::at_least(1))
          .common()
          .loads_models();
  return s;
}

}  // namespace advkfp::detect_degradation
