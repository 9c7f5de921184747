// Prometheus metrics of the server (prometheus-cpp's core library; /metrics is served by the
// same HTTP server in the text exposition format).
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace advkfp::serve {

class Telemetry {
 public:
  explicit Telemetry(int64_t max_batch);

  /// One answered HTTP request: `endpoint` is the route's name (live, ready, server_metadata,
  /// model_metadata, model_ready, infer, metrics, other), never the raw path.
  void request(const std::string& endpoint, int status, double seconds);
  /// One answered gRPC call: `endpoint` is grpc_<rpc> (grpc_live, grpc_ready, grpc_model_ready,
  /// grpc_server_metadata, grpc_model_metadata, grpc_infer), `status` the code's name ("OK").
  void request(const std::string& endpoint, const std::string& status, double seconds);
  void batch(int64_t images);
  void queue_depth(int64_t n);
  /// The served model: advkfp_serve_model_info{version, sha256} 1 (the previous one removed).
  void model(const std::string& version, const std::string& sha256);
  void swap(bool accepted);

  // Live detection.
  void window(const std::string& verdict, double p_max_probability, double p_entropy,
              double squeeze_p, double squeeze_fraction, double adversarial_p,
              double adversarial_fraction);
  void windows_dropped(int64_t n);
  void alarm(bool on, int64_t bad_run);
  void trigger(const std::string& result);  ///< started, skipped_running, skipped_cooldown, failed
  void defence_running(bool on);
  /// How a started defence ended: succeeded, failed (a command's non-zero exit; a KFP run FAILED),
  /// skipped, canceled (KFP run states), unfollowed (a KFP run not final within the follow time).
  void defence_outcome(const std::string& result);

  /// The text exposition format of every metric.
  std::string scrape() const;

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& latency_;
  prometheus::Histogram& batch_size_;
  prometheus::Gauge& queue_depth_;
  prometheus::Family<prometheus::Gauge>& model_info_;
  prometheus::Family<prometheus::Counter>& swaps_;
  prometheus::Family<prometheus::Counter>& windows_;
  prometheus::Family<prometheus::Gauge>& last_window_;
  prometheus::Counter& windows_dropped_;
  prometheus::Gauge& alarm_;
  prometheus::Gauge& bad_run_;
  prometheus::Family<prometheus::Counter>& triggers_;
  prometheus::Gauge& defence_running_;
  prometheus::Family<prometheus::Counter>& outcomes_;
  std::mutex model_mutex_;
  prometheus::Gauge* model_gauge_ = nullptr;
};

}  // namespace advkfp::serve
