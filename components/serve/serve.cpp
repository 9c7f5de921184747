// serve: wiring of the v2 REST routes (cpp-httplib), the v2 gRPC service, the batcher, live
// detection, the model watcher and graceful shutdown.
#include "serve.h"

#include <httplib.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <limits>
#include <regex>

#include "attacks/attacks.h"
#include "batcher.h"
#include "common/error.h"
#include "common/log.h"
#include "common/version.h"
#include "data/dataset.h"
#include "detection/detection.h"
#include "detection/shifts.h"
#include "frontend.h"
#include "grpc_server.h"
#include "io/files.h"
#include "kfp_run.h"
#include "metrics/metrics.h"
#include "models.h"
#include "monitor.h"
#include "telemetry.h"
#include "v2.h"

namespace advkfp::serve {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

// SIGTERM/SIGINT: the handler only writes to a pipe; a thread reading it stops the server.
int g_signal_pipe[2] = {-1, -1};
extern "C" void on_signal(int sig) {
  const unsigned char b = static_cast<unsigned char>(sig);
  [[maybe_unused]] const auto n = ::write(g_signal_pipe[1], &b, 1);
}

// The route's name for metrics: never the raw path (its model names are unbounded).
std::string endpoint_name(const std::string& path) {
  static const std::regex kModel(R"(/v2/models/[^/]+(/versions/[^/]+)?)");
  static const std::regex kReady(R"(/v2/models/[^/]+(/versions/[^/]+)?/ready)");
  static const std::regex kInfer(R"(/v2/models/[^/]+(/versions/[^/]+)?/infer)");
  if (path == "/v2/health/live") return "live";
  if (path == "/v2/health/ready") return "ready";
  if (path == "/v2" || path == "/v2/") return "server_metadata";
  if (path == "/metrics") return "metrics";
  if (std::regex_match(path, kInfer)) return "infer";
  if (std::regex_match(path, kReady)) return "model_ready";
  if (std::regex_match(path, kModel)) return "model_metadata";
  return "other";
}

bool is_health(const std::string& endpoint) {
  return endpoint == "live" || endpoint == "ready" || endpoint == "model_ready";
}

void reply_json(httplib::Response& res, int status, const Json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

void reply_error(httplib::Response& res, int status, const std::string& message) {
  reply_json(res, status, v2::error_body(message));
}

thread_local Clock::time_point t_request_start{};

}  // namespace

namespace {

void run(const Options& o) {
  if (!o.on_alarm.empty() && o.windows_dir.empty()) {
    throw UsageError(describe("on_alarm", "needs windows_dir (the command gets the saved window)"));
  }
  std::optional<KfpRunConfig> kfp;
  if (!o.kfp_endpoint.empty()) {
    if (!o.on_alarm.empty()) throw UsageError(describe("kfp_endpoint", "and on_alarm exclude each other"));
    if (o.windows_dir.empty()) throw UsageError(describe("kfp_endpoint", "needs windows_dir (the run gets the saved window)"));
    if (o.kfp_pipeline_id.empty()) throw UsageError(describe("kfp_endpoint", "needs kfp_pipeline_id"));
    if (o.kfp_endpoint.rfind("http://", 0) != 0 && o.kfp_endpoint.rfind("https://", 0) != 0) {
      throw UsageError(describe("kfp_endpoint", "'" + o.kfp_endpoint + "' is not an http:// or https:// URL"));
    }
    kfp = KfpRunConfig{};
    kfp->endpoint = o.kfp_endpoint;
    kfp->pipeline_id = o.kfp_pipeline_id;
    kfp->pipeline_version_id = o.kfp_pipeline_version_id;
    kfp->experiment_id = o.kfp_experiment_id;
    kfp->token_file = o.kfp_token_file;
    kfp->window_parameter = o.kfp_window_parameter;
    kfp->poll_s = o.kfp_poll_s;
    try {
      kfp->parameters = Json::parse(o.kfp_parameters);
    } catch (const Json::exception&) {
      throw UsageError(describe("kfp_parameters", "'" + o.kfp_parameters + "' is not JSON"));
    }
    if (!kfp->parameters.is_object()) throw UsageError(describe("kfp_parameters", "is not a JSON object"));
  }
  const bool detect = !o.calibration.empty() || !o.reference.empty();
  if (!detect && (!o.on_alarm.empty() || !o.windows_dir.empty() || kfp)) {
    throw UsageError(describe(kfp ? "kfp_endpoint" : o.on_alarm.empty() ? "windows_dir" : "on_alarm",
                              "needs live detection: give calibration or reference"));
  }
  const auto shifts = detection::parse_shifts(o.calibration_shifts, "calibration_shifts");

  // What live detection is calibrated with.
  std::optional<detection::Calibration> calibration_file;
  if (!o.calibration.empty()) calibration_file = detection::load_calibration(o.calibration, "calibration");
  torch::Tensor reference;
  if (!o.reference.empty()) {
    auto ds = data::load_dataset(o.reference, "reference");
    reference = ds.images;
  }
  const Loader load = [&](const Candidate& c) {
    auto m = std::make_shared<ServedModel>(
        ServedModel{model::load_model(c.dir, "model"), c.version, c.dir, std::nullopt});
    const auto& info = m->net.info();
    if (m->version.empty()) m->version = info.sha256.substr(0, 12);
    if (calibration_file && calibration_file->model_sha256 == info.sha256) {
      m->calibration = calibration_file;
    } else if (reference.defined()) {
      data::Dataset ref{reference, {}, info.class_names, {}};
      data::check_compatible(ref, info.input_shape, info.num_classes(), "reference");
      const auto t0 = Clock::now();
      m->calibration = detection::calibrate_on_reference(m->net, reference, shifts, o.fpr,
                                                         o.squeeze_bits,
                                                         static_cast<uint64_t>(o.seed), o.batch_size);
      log::info("calibrated live detection for version ", m->version, " on ", reference.size(0),
                " reference inputs in ",
                std::chrono::duration<double>(Clock::now() - t0).count(), " s");
    } else if (calibration_file) {
      log::warn("calibration is for model ", calibration_file->model_sha256.substr(0, 12),
                ", not version ", m->version, ": live detection is off for it (give reference to "
                "calibrate every model)");
    }
    return m;
  };

  const auto first = newest_model(o.model);
  if (!first) {
    throw Error(describe("model", "'" + o.model.string() +
                                      "' holds no model folder (model.json), nor <version>/ folders "
                                      "holding one"));
  }
  ModelSlot slot;
  {
    auto m = load(*first);
    if (calibration_file && !m->calibration) {
      detection::check_same_model(*calibration_file, m->net.info().sha256, "calibration");
    }
    slot.set(m);
  }
  const auto served = slot.get();
  log::info("serving '", o.model_name, "' version ", served->version, " from ",
            served->dir.string(), ", live detection ", served->calibration ? "on" : "off");

  auto telemetry = std::make_shared<Telemetry>(o.max_batch_size);
  telemetry->model(served->version, served->net.info().sha256);

  std::unique_ptr<Monitor> monitor;
  if (detect) {
    MonitorConfig mc;
    mc.window_size = o.window_size;
    mc.consecutive = o.consecutive;
    mc.alpha = o.alpha;
    mc.attack_only = o.alarm_on == "attack";
    mc.batch_size = o.batch_size;
    mc.windows_dir = o.windows_dir;
    mc.command = o.on_alarm;
    mc.kfp = kfp;
    mc.kfp_windows_uri = o.kfp_windows_uri;
    mc.cooldown_s = o.cooldown_s;
    monitor = std::make_unique<Monitor>(mc, telemetry);
  }

  BatcherConfig bc;
  bc.max_batch = o.max_batch_size;
  bc.max_delay = std::chrono::microseconds(static_cast<int64_t>(o.max_batch_delay_ms * 1000));
  bc.queue_capacity = o.queue_size;
  // The batch is counted before its requests are answered: a client that got its answer and then
  // reads /metrics sees its batch.
  Batcher batcher(
      bc, slot,
      [&](const torch::Tensor& images, const torch::Tensor&, const ModelPtr&) {
        telemetry->batch(images.size(0));
        telemetry->queue_depth(batcher.queued());
      },
      [&](const torch::Tensor& images, const torch::Tensor&, const ModelPtr& m) {
        if (monitor) monitor->observe(images, m);
      });

  // The optional rollout gate: accuracy under white-box FGSM on a labelled canary set.
  Gate gate;
  data::Dataset canary;
  attacks::AttackConfig gate_attack;
  const auto robust_on_canary = [&](model::Classifier& net) {
    const auto adv = attacks::attack_all(net, canary.images, canary.labels, gate_attack,
                                         o.batch_size, o.seed, 0);
    return metrics::evaluate(net, adv, canary.labels, o.batch_size).accuracy;
  };
  double served_score = 0, candidate_score = 0;  // watcher thread only, once serving
  if (!o.gate_dataset.empty()) {
    canary = data::load_dataset(o.gate_dataset, "gate_dataset");
    if (!canary.has_labels()) throw Error(describe("gate_dataset", "has no labels"));
    data::check_compatible(canary, served->net.info().input_shape, served->net.info().num_classes(),
                           "gate_dataset");
    gate_attack.epsilon = o.gate_epsilon;
    // The gate never attacks the model being served: an attack freezes its parameters'
    // requires_grad flags for its duration (model::FrozenParameters), a write the batcher's
    // forward passes on other threads would race with. A model's score is taken before it serves:
    // here, before any request can come, for the first one; as the candidate it was, for the rest.
    served_score = robust_on_canary(served->net);
    gate = [&](ServedModel&, ServedModel& next) -> std::optional<std::string> {
      const double before = served_score, after = robust_on_canary(next.net);
      log::info("rollout gate: accuracy under ", gate_attack.describe(), " on ", canary.size(),
                " canary images: served ", before, ", new ", after);
      if (after < before) {
        return "accuracy under " + gate_attack.describe() + " on gate_dataset is " +
               std::to_string(after) + ", below the served model's " + std::to_string(before);
      }
      candidate_score = after;
      return std::nullopt;
    };
  }
  ModelWatcher watcher(
      o.model, o.watch_interval_s, slot, load, gate,
      [&](const ServedModel& m) {
        served_score = candidate_score;  // the gate passed `m` with this score
        telemetry->swap(true);
        telemetry->model(m.version, m.net.info().sha256);
      },
      [&](const Candidate&, const std::string&) { telemetry->swap(false); });

  const auto timeout = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(o.request_timeout_s));
  Frontend frontend(o.model_name, served->net.info().input_shape, served->net.info().num_classes(),
                    o.max_request_images, timeout, slot, batcher, *telemetry);

  // ------------------------------------------------------------------------------------------
  // HTTP
  httplib::Server svr;
  svr.new_task_queue = [n = o.http_threads] { return new httplib::ThreadPool(static_cast<size_t>(n)); };
  svr.set_payload_max_length(static_cast<size_t>(o.max_body_bytes));
  // cpp-httplib (0.11.4, Server::write_response_core) writes a response's headers and its body
  // in two send() calls and leaves Nagle's algorithm on: the body then waits for the client's
  // delayed ACK of the headers, ~40 ms per keep-alive request on Linux loopback.
  svr.set_tcp_nodelay(true);
  // cpp-httplib 0.11.4 closes a keep-alive connection after 5 requests
  // (CPPHTTPLIB_KEEPALIVE_MAX_COUNT), so busy clients reconnect every 5 requests: ~600 times a
  // second at 3,000 requests/s, each through the listen queue (below). An idle connection still
  // closes after the keep-alive timeout (5 s), and stop() still ends every connection after its
  // request.
  svr.set_keep_alive_max_count(std::numeric_limits<size_t>::max());
  // Debian's cpp-httplib is a compiled library that listens with a backlog of 5
  // (CPPHTTPLIB_LISTEN_BACKLOG, fixed when it was built). When more clients than that connect at
  // once, the kernel drops their handshakes (TcpExtListenOverflows) and answers with SYN cookies;
  // bench-serve's 400 clients saw 11-16 requests a row fail with a read error. The socket
  // options hook sees the listening socket before bind (its default, SO_REUSEPORT, is kept);
  // listen() again on it once bound raises the backlog (Linux updates a listening socket's).
  int listen_fd = -1;
  svr.set_socket_options([&listen_fd](int sock) {
    httplib::default_socket_options(sock);
    listen_fd = sock;
  });
  const auto read_us = static_cast<int64_t>(o.read_timeout_s * 1e6);
  svr.set_read_timeout(read_us / 1000000, read_us % 1000000);
  svr.set_pre_routing_handler([](const httplib::Request&, httplib::Response&) {
    t_request_start = Clock::now();
    return httplib::Server::HandlerResponse::Unhandled;
  });
  // Errors that httplib answers by itself (404 route, 413 body, 400 parse) get the v2 error body;
  // health answers keep their empty body.
  svr.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty() || is_health(endpoint_name(req.path))) return;
    std::string message = "HTTP status " + std::to_string(res.status);
    if (res.status == 400) message = "malformed HTTP request";
    if (res.status == 413) message = "request body too large";
    if (res.status == 404) message = "no such endpoint: " + req.method + " " + req.path;
    if (res.status == 500) message = "internal error";
    reply_error(res, res.status, message);
  });
  // Counted in the post-routing handler, which cpp-httplib (0.11.4, Server::write_response_core)
  // calls with the final status just before it writes the response, not in the logger, which it
  // calls after the body is sent: a client that scrapes /metrics after its answer arrived must
  // find that answer counted. The latency therefore excludes the time spent writing the body.
  svr.set_post_routing_handler([&](const httplib::Request& req, httplib::Response& res) {
    const std::string endpoint = endpoint_name(req.path);
    double seconds = 0;
    if (t_request_start != Clock::time_point{}) {
      seconds = std::chrono::duration<double>(Clock::now() - t_request_start).count();
      t_request_start = Clock::time_point{};
    }
    telemetry->request(endpoint, res.status, seconds);
    if (res.status >= 400 && !is_health(endpoint)) {
      std::string message;
      try {
        message = Json::parse(res.body).value("error", "");
      } catch (const Json::exception&) {
      }
      log::warn(req.method, " ", req.path, " ", res.status, ": ", message);
    }
  });

  // Model name (and version, when the URL has one) -> the served model, or a 404 answer.
  const auto find_model = [&](const httplib::Request& req, httplib::Response& res) -> ModelPtr {
    try {
      return frontend.find(req.matches[1], req.matches.size() > 2 ? std::string(req.matches[2]) : "");
    } catch (const v2::RequestError& e) {
      reply_error(res, e.status(), e.what());
      return nullptr;
    }
  };

  svr.Get("/v2/health/live", [](const httplib::Request&, httplib::Response& res) { res.status = 200; });
  svr.Get("/v2/health/ready", [&](const httplib::Request&, httplib::Response& res) {
    res.status = frontend.ready ? 200 : 400;  // required_api.md: 200 true, 4xx false, empty body
  });
  svr.Get("/v2", [](const httplib::Request&, httplib::Response& res) {
    reply_json(res, 200, {{"name", v2::kServerName}, {"version", kVersion}, {"extensions", Json::array()}});
  });
  const std::string model_re = R"(/v2/models/([^/]+)(?:/versions/([^/]+))?)";
  svr.Get(model_re + "/ready", [&](const httplib::Request& req, httplib::Response& res) {
    if (find_model(req, res)) res.status = frontend.ready ? 200 : 400;
  });
  svr.Get(model_re, [&](const httplib::Request& req, httplib::Response& res) {
    if (const auto m = find_model(req, res)) {
      reply_json(res, 200, v2::model_metadata(o.model_name, {m->version}, frontend.input, frontend.outputs));
    }
  });
  svr.Post(model_re + "/infer", [&](const httplib::Request& req, httplib::Response& res) {
    if (!find_model(req, res)) return;
    try {
      auto r = v2::parse_infer_request(req.body, frontend.input, frontend.output_names,
                                       o.max_request_images);
      const auto answer = frontend.infer(r);
      const auto& logits = answer.logits;
      std::vector<v2::OutputTensor> outs;
      for (const auto& name : r.outputs) {
        if (name == v2::kLogitsName) {
          const float* p = logits.data_ptr<float>();
          outs.push_back({name, "FP32", {logits.size(0), logits.size(1)},
                          Json(std::vector<float>(p, p + logits.numel()))});
        } else {
          const auto cls = logits.argmax(1).contiguous();
          const int64_t* p = cls.data_ptr<int64_t>();
          outs.push_back({name, "INT64", {cls.size(0)}, Json(std::vector<int64_t>(p, p + cls.numel()))});
        }
      }
      reply_json(res, 200, v2::infer_response(o.model_name, answer.model->version, r.id, outs));
    } catch (const v2::RequestError& e) {
      reply_error(res, e.status(), e.what());
    }
  });
  svr.Get("/metrics", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(telemetry->scrape(), "text/plain; version=0.0.4");
  });

  // ------------------------------------------------------------------------------------------
  // Listen, and stop on SIGTERM/SIGINT after the requests in flight.
  int port = static_cast<int>(o.port);
  if (port == 0) {
    port = svr.bind_to_any_port(o.host);
    if (port < 0) throw Error(describe("host", "cannot listen on '" + o.host + "'"));
  } else if (!svr.bind_to_port(o.host, port)) {
    throw Error(describe("port", "cannot listen on " + o.host + ":" + std::to_string(port) +
                                     " (in use, or not an address of this machine)"));
  }
  if (listen_fd < 0 || ::listen(listen_fd, SOMAXCONN) != 0) {
    log::warn("could not raise the listen backlog above cpp-httplib's 5: ", std::strerror(errno));
  }
  // The backlog the kernel applies (SOMAXCONN capped by net.core.somaxconn): TCP_INFO of a
  // listening socket carries it in tcpi_sacked (Linux tcp_get_info).
  tcp_info listen_info{};
  socklen_t info_size = sizeof(listen_info);
  const int64_t backlog = listen_fd >= 0 && ::getsockopt(listen_fd, IPPROTO_TCP, TCP_INFO,
                                                         &listen_info, &info_size) == 0
                              ? static_cast<int64_t>(listen_info.tcpi_sacked)
                              : -1;
  // gRPC on its own port, through the same frontend; on SIGTERM it finishes its calls in flight
  // (cancelled after the request timeout and 30 s more) before the batcher stops.
  const auto grace = std::chrono::seconds(static_cast<int64_t>(o.request_timeout_s) + 30);
  std::unique_ptr<GrpcServer> grpc;
  if (o.grpc_port >= 0) {
    grpc = std::make_unique<GrpcServer>(frontend, *telemetry, o.host, static_cast<int>(o.grpc_port),
                                        o.max_body_bytes, o.http_threads);
  }
  if (::pipe(g_signal_pipe) != 0) throw Error(std::string("cannot create a pipe: ") + std::strerror(errno));
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  std::thread stopper([&] {
    unsigned char sig = 0;
    while (::read(g_signal_pipe[0], &sig, 1) < 0 && errno == EINTR) {
    }
    if (sig == 0) return;  // closed: the server stopped by itself
    log::info("signal ", static_cast<int>(sig), ": not ready; finishing the requests in flight");
    frontend.ready = false;
    svr.stop();
    if (grpc) grpc->shutdown(grace);
  });
  if (grpc) {
    if (!o.grpc_port_file.empty()) {
      io::write_output_parameter(o.grpc_port_file, std::to_string(grpc->port()), "grpc_port_file");
    }
    log::info("listening on ", o.host, ":", grpc->port(), " (v2 gRPC, inference.GRPCInferenceService)");
  }
  if (!o.port_file.empty()) io::write_output_parameter(o.port_file, std::to_string(port), "port_file");
  log::info("listening on http://", o.host, ":", port, " (v2 REST, /metrics; connection backlog ",
            backlog, ")");
  const bool clean = svr.listen_after_bind();
  ::close(g_signal_pipe[1]);
  stopper.join();
  ::close(g_signal_pipe[0]);
  if (grpc) grpc->shutdown(grace);
  watcher.stop();
  batcher.stop();
  if (monitor) monitor->stop();
  if (!clean && frontend.ready) throw Error("the HTTP server stopped unexpectedly");
  log::info("stopped");
}

}  // namespace

const cli::Spec<Options>& tool() {
  static const auto s = cli::Spec<Options>(spec()).run(&run);
  return s;
}

}  // namespace advkfp::serve
