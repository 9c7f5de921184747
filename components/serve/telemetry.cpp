// Prometheus metrics (see telemetry.h).
#include "telemetry.h"

#include <prometheus/text_serializer.h>

namespace advkfp::serve {

namespace p = prometheus;

namespace {
p::Histogram::BucketBoundaries batch_buckets(int64_t max_batch) {
  p::Histogram::BucketBoundaries b;
  for (int64_t v = 1; v < max_batch; v *= 2) b.push_back(static_cast<double>(v));
  b.push_back(static_cast<double>(max_batch));
  return b;
}
}  // namespace

Telemetry::Telemetry(int64_t max_batch)
    : registry_(std::make_shared<p::Registry>()),
      requests_(
          p::BuildCounter()
              .Name("advkfp_serve_requests_total")
              .Help(
                  "Requests answered, by endpoint and status (HTTP status code, or gRPC code name)")
              .Register(*registry_)),
      latency_(p::BuildHistogram()
                   .Name("advkfp_serve_request_duration_seconds")
                   .Help("Time from a request's arrival to its answer, by endpoint and status code")
                   .Register(*registry_)),
      batch_size_(p::BuildHistogram()
                      .Name("advkfp_serve_batch_size")
                      .Help("Images per forward pass of the dynamic batcher")
                      .Register(*registry_)
                      .Add({}, batch_buckets(max_batch))),
      queue_depth_(p::BuildGauge()
                       .Name("advkfp_serve_queue_depth")
                       .Help("Requests waiting for the batcher")
                       .Register(*registry_)
                       .Add({})),
      model_info_(p::BuildGauge()
                      .Name("advkfp_serve_model_info")
                      .Help("The served model: 1 for its version and sha256")
                      .Register(*registry_)),
      swaps_(p::BuildCounter()
                 .Name("advkfp_serve_model_swaps_total")
                 .Help("New models found at the watched location, swapped in or refused")
                 .Register(*registry_)),
      windows_(p::BuildCounter()
                   .Name("advkfp_detect_windows_total")
                   .Help("Windows of served inputs judged by the label-free detector, by verdict")
                   .Register(*registry_)),
      last_window_(p::BuildGauge()
                       .Name("advkfp_detect_last_window")
                       .Help("Statistics of the last judged window")
                       .Register(*registry_)),
      windows_dropped_(p::BuildCounter()
                           .Name("advkfp_detect_windows_dropped_total")
                           .Help("Windows not judged because the detector was behind")
                           .Register(*registry_)
                           .Add({})),
      alarm_(p::BuildGauge()
                 .Name("advkfp_detect_alarm")
                 .Help("1 while the last `consecutive` windows were all bad")
                 .Register(*registry_)
                 .Add({})),
      bad_run_(p::BuildGauge()
                   .Name("advkfp_detect_bad_run")
                   .Help("Bad windows in a row so far")
                   .Register(*registry_)
                   .Add({})),
      triggers_(p::BuildCounter()
                    .Name("advkfp_defence_triggers_total")
                    .Help("Alarms that reached the defence command, by result")
                    .Register(*registry_)),
      defence_running_(p::BuildGauge()
                           .Name("advkfp_defence_running")
                           .Help("1 while the defence command or KFP run is going on")
                           .Register(*registry_)
                           .Add({})),
      outcomes_(p::BuildCounter()
                    .Name("advkfp_defence_outcomes_total")
                    .Help("Started defences that ended, by how they ended")
                    .Register(*registry_)) {}

void Telemetry::request(const std::string& endpoint, int status, double seconds) {
  request(endpoint, std::to_string(status), seconds);
}

void Telemetry::request(const std::string& endpoint, const std::string& status, double seconds) {
  const std::map<std::string, std::string> labels = {{"endpoint", endpoint}, {"status", status}};
  requests_.Add(labels).Increment();
  static const p::Histogram::BucketBoundaries kBuckets = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  latency_.Add(labels, kBuckets).Observe(seconds);
}

void Telemetry::batch(int64_t images) { batch_size_.Observe(static_cast<double>(images)); }
void Telemetry::queue_depth(int64_t n) { queue_depth_.Set(static_cast<double>(n)); }

void Telemetry::model(const std::string& version, const std::string& sha256) {
  std::lock_guard<std::mutex> lock(model_mutex_);
  if (model_gauge_) model_info_.Remove(model_gauge_);
  model_gauge_ = &model_info_.Add({{"version", version}, {"sha256", sha256}});
  model_gauge_->Set(1);
}

void Telemetry::swap(bool accepted) {
  swaps_.Add({{"result", accepted ? "swapped" : "refused"}}).Increment();
}

void Telemetry::window(const std::string& verdict, double p_max_probability, double p_entropy,
                       double squeeze_p, double squeeze_fraction, double adversarial_p,
                       double adversarial_fraction) {
  windows_.Add({{"verdict", verdict}}).Increment();
  last_window_.Add({{"statistic", "ks_max_probability_p"}}).Set(p_max_probability);
  last_window_.Add({{"statistic", "ks_entropy_p"}}).Set(p_entropy);
  last_window_.Add({{"statistic", "squeeze_binomial_p"}}).Set(squeeze_p);
  last_window_.Add({{"statistic", "squeeze_flagged_fraction"}}).Set(squeeze_fraction);
  last_window_.Add({{"statistic", "far_moved_binomial_p"}}).Set(adversarial_p);
  last_window_.Add({{"statistic", "far_moved_fraction"}}).Set(adversarial_fraction);
}

void Telemetry::windows_dropped(int64_t n) { windows_dropped_.Increment(static_cast<double>(n)); }

void Telemetry::alarm(bool on, int64_t bad_run) {
  alarm_.Set(on ? 1 : 0);
  bad_run_.Set(static_cast<double>(bad_run));
}

void Telemetry::trigger(const std::string& result) {
  triggers_.Add({{"result", result}}).Increment();
}

void Telemetry::defence_running(bool on) { defence_running_.Set(on ? 1 : 0); }

void Telemetry::defence_outcome(const std::string& result) {
  outcomes_.Add({{"result", result}}).Increment();
}

std::string Telemetry::scrape() const {
  return p::TextSerializer().Serialize(registry_->Collect());
}

}  // namespace advkfp::serve
