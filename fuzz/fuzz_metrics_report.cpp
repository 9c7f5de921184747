// Metrics and detection-report JSON as their readers take them: detect-degradation's labeled
// mode (metrics::read_accuracy_file on baseline and current metrics) and report
// (io::read_json of each input, then report::render, which reads them as metrics records). The input holds up to eight JSON files
// separated by "@@" lines, in the order of report's inputs: clean, attacked, detection report,
// then the optional final clean, FGSM, transfer, PGD and APGD metrics.
#include <torch/torch.h>

#include "fuzz.h"
#include "io/json.h"
#include "metrics/records.h"
#include "report.h"

using namespace advkfp;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  torch::set_num_threads(1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const char* kNames[] = {"clean_metrics",       "attacked_metrics",  "detection_report",
                                 "final_clean_metrics", "final_fgsm_metrics",
                                 "final_transfer_metrics", "final_pgd_metrics",
                                 "final_apgd_metrics"};
  const auto parts = fuzz::split(fuzz::text(data, size), 8);
  std::vector<std::filesystem::path> files;
  for (size_t i = 0; i < parts.size(); ++i) {
    files.push_back(fuzz::write_file(std::string(kNames[i]) + ".json", parts[i]));
  }
  fuzz::expect_clean_refusal(
      [&] { metrics::read_accuracy_file(files[0], "baseline_metrics"); });
  if (files.size() > 1) {
    fuzz::expect_clean_refusal(
        [&] { metrics::read_accuracy_file(files[1], "current_metrics"); });
  }
  if (files.size() < 3) return 0;
  fuzz::expect_clean_refusal([&] {
    report::Inputs in;
    in.title = "fuzz";
    in.clean = io::read_json(files[0], kNames[0]);
    in.attacked = io::read_json(files[1], kNames[1]);
    in.detection = io::read_json(files[2], kNames[2]);
    std::optional<nlohmann::json>* finals[] = {&in.final_clean, &in.final_fgsm,
                                               &in.final_transfer, &in.final_pgd,
                                               &in.final_apgd};
    for (size_t i = 3; i < files.size(); ++i) *finals[i - 3] = io::read_json(files[i], kNames[i]);
    report::render(in);
  });
  return 0;
}
