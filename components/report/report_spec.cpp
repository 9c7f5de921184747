// report: the component's declaration (flags, defaults, KFP interface), torch-free so the
// pipeline compiler links it without the run code.
#include "report.h"

namespace advkfp::report {

const cli::Spec<Options>& spec() {
  static const auto s =
      cli::Spec<Options>("report",
                         "Gather one run's metrics into an HTML report (inline SVG charts: "
                         "accuracy evolution, confusion matrices, robust accuracy against eps, the "
                         "defence's training curve; "
                         "detection and settings) and a Markdown summary.")
          .input("clean_metrics", &Options::clean_metrics, cli::types::kMetrics,
                 "evaluate metrics of the original model on clean data (with its eps sweep).")
          .input("attacked_metrics", &Options::attacked_metrics, cli::types::kMetrics,
                 "evaluate metrics of the original model on the FGSM set crafted on it.")
          .input("detection_report", &Options::detection_report, cli::types::kMetrics,
                 "detect-degradation's report.")
          .input("final_clean_metrics", &Options::final_clean_metrics, cli::types::kMetrics,
                 "evaluate metrics of the final model (defended, or the original when kept) on "
                 "clean data.", true)
          .input("final_fgsm_metrics", &Options::final_fgsm_metrics, cli::types::kMetrics,
                 "... under white-box FGSM.", true)
          .input("final_transfer_metrics", &Options::final_transfer_metrics, cli::types::kMetrics,
                 "... on the FGSM set crafted on the original model.", true)
          .input("final_pgd_metrics", &Options::final_pgd_metrics, cli::types::kMetrics,
                 "... under white-box PGD (with its eps sweep).", true)
          .input("final_apgd_metrics", &Options::final_apgd_metrics, cli::types::kMetrics,
                 "... under white-box APGD-CE; the robust accuracy reported is the lowest "
                 "accuracy under the attacks given.", true)
          .input("training_metrics", &Options::training_metrics, cli::types::kMetrics,
                 "pgd-train's metrics of the defended model: its held-out checks (clean and "
                 "robust accuracy against wall time) and the time to its target.", true)
          .input("traffic_timeline", &Options::traffic_timeline, cli::types::kMetrics,
                 "traffic's timeline of a live episode (serve + traffic): shown as accuracy over "
                 "time with the server's events (alarm, defence, swap).",
                 true)
          .output("report", &Options::report, cli::types::kHtml,
                  "Self-contained HTML page (no scripts, no network), shown by the KFP UI.")
          .output("summary", &Options::summary, cli::types::kMarkdown, "Markdown summary table.")
          .param("title", &Options::title, "Title of the report.")
          .common(false);
  return s;
}

}  // namespace advkfp::report
