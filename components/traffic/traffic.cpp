// traffic: replays a labelled dataset against a v2 server at a given rate and concurrency, switches
// at a given time to adversarial inputs crafted white-box against the deployed model file (FGSM or
// PGD), and records, second by second, the accuracy of the answers (it knows the labels), the
// latency percentiles, the model version that answered, and the server's events read from its
// /metrics (alarm raised, defence started and finished, model swapped). Writes a JSON timeline
// and an SVG chart of accuracy over time: clean traffic, attack, detection, defence, recovery.
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <mutex>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "attacks/attacks.h"
#include "cli/run.h"
#include "client.h"
#include "common/error.h"
#include "common/log.h"
#include "data/dataset.h"
#include "io/files.h"
#include "io/json.h"
#include "metrics/records.h"
#include "model/classifier.h"

namespace advkfp::traffic {
namespace {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;

struct Options : cli::CommonOptions {
  std::filesystem::path model, dataset, timeline, chart;
  std::string host = "127.0.0.1";
  int64_t port = 8080;
  std::string model_name = "fashion-cnn";
  double rate = 50;
  int64_t concurrency = 4;
  int64_t images_per_request = 1;
  double duration_s = 60;
  double attack_at_s = 20;
  std::string attack = "fgsm";
  double epsilon = attacks::kDefaultEpsilon;
  int64_t steps = 10;
  int64_t batch_size = 256;
};

struct Sample {
  double t = 0, latency = 0;
  bool ok = false, attacked = false;
  int64_t correct = 0, images = 0;
  std::string version;
};

// A server event as the timeline records it (alarm, defence started, model swapped, ...).
using Event = metrics::TimelineEvent;

std::string body_for(const torch::Tensor& images, bool uint8) {
  const auto flat = images.contiguous();
  return serve::client::infer_request_body(flat.data_ptr<float>(), flat.sizes().vec(), uint8);
}

// The server state traffic watches, from one /metrics scrape.
struct ServerState {
  bool ok = false;
  double alarm = 0, defence_running = 0, triggers = 0;
  std::string version;
};

ServerState scrape(httplib::Client& c) {
  ServerState s;
  const auto r = c.Get("/metrics");
  if (!r || r->status != 200) return s;
  s.ok = true;
  static const std::regex kVersion(R"re(^advkfp_serve_model_info\{.*version="([^"]*)".*\} 1)re");
  std::istringstream in(r->body);
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    const auto value = [&] { return std::stod(line.substr(line.rfind(' ') + 1)); };
    if (std::regex_search(line, m, kVersion)) s.version = m[1];
    if (line.rfind("advkfp_detect_alarm ", 0) == 0) s.alarm = value();
    if (line.rfind("advkfp_defence_running ", 0) == 0) s.defence_running = value();
    if (line.rfind("advkfp_defence_triggers_total{result=\"started\"} ", 0) == 0) s.triggers = value();
  }
  return s;
}

// The accuracy-over-time chart: one point per second, the attacked span shaded, events marked.
std::string chart_svg(const Json& seconds, const std::vector<Event>& events, double duration,
                      double attack_at) {
  const double w = 760, h = 320, left = 50, right = 20, top = 20, bottom = 40;
  const auto x = [&](double t) { return left + (w - left - right) * t / duration; };
  const auto y = [&](double a) { return top + (h - top - bottom) * (1 - a); };
  std::ostringstream s;
  s << std::fixed;
  s.precision(1);
  s << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << w << "\" height=\"" << h
    << "\" font-family=\"sans-serif\" font-size=\"11\">\n";
  s << "<rect x=\"" << x(attack_at) << "\" y=\"" << top << "\" width=\"" << x(duration) - x(attack_at)
    << "\" height=\"" << h - top - bottom << "\" fill=\"#fde2e2\"/>\n";
  for (int i = 0; i <= 4; ++i) {
    const double a = i / 4.0;
    s << "<line x1=\"" << left << "\" x2=\"" << w - right << "\" y1=\"" << y(a) << "\" y2=\"" << y(a)
      << "\" stroke=\"#ddd\"/><text x=\"" << left - 6 << "\" y=\"" << y(a) + 4
      << "\" text-anchor=\"end\">" << static_cast<int>(a * 100) << "%</text>\n";
  }
  s << "<text x=\"" << (left + w - right) / 2 << "\" y=\"" << h - 8
    << "\" text-anchor=\"middle\">seconds (shaded: adversarial traffic)</text>\n";
  std::string points;
  for (const auto& b : seconds) {
    if (b["accuracy"].is_null()) continue;
    std::ostringstream p;
    p << std::fixed;
    p.precision(1);
    p << x(b["t"].get<double>() + 0.5) << "," << y(b["accuracy"].get<double>()) << " ";
    points += p.str();
  }
  s << "<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"2\" points=\"" << points << "\"/>\n";
  int row = 0;
  for (const auto& e : events) {
    s << "<line x1=\"" << x(e.t) << "\" x2=\"" << x(e.t) << "\" y1=\"" << top << "\" y2=\""
      << h - bottom << "\" stroke=\"#555\" stroke-dasharray=\"3,3\"/><text x=\"" << x(e.t) + 3
      << "\" y=\"" << top + 12 + 12 * (row++ % 4) << "\">" << e.kind << "</text>\n";
  }
  s << "</svg>\n";
  return s.str();
}

void run(const Options& o) {
  if (o.attack_at_s > o.duration_s) {
    throw UsageError(describe("attack_at_s", "is after the end (duration_s)"));
  }
  auto ds = data::load_dataset(o.dataset, "dataset");
  if (!ds.has_labels()) throw Error(describe("dataset", "has no labels (traffic scores the answers)"));
  auto net = model::load_model(o.model, "model");
  data::check_compatible(ds, net.info().input_shape, net.info().num_classes(), "dataset");
  attacks::AttackConfig cfg;
  cfg.method = attacks::parse_method(o.attack);
  cfg.epsilon = o.epsilon;
  cfg.steps = o.steps;
  cfg.validate();
  log::info("crafting ", cfg.describe(), " on ", ds.size(), " images against ", o.model.string());
  const auto adversarial =
      attacks::attack_all(net, ds.images, ds.labels, cfg, o.batch_size, o.seed, 0);
  const int64_t per = o.images_per_request;
  const int64_t groups = ds.size() / per;
  if (groups < 1) throw UsageError(describe("images_per_request", "exceeds the dataset's size"));
  std::vector<std::string> clean_bodies, adv_bodies;
  for (int64_t g = 0; g < groups; ++g) {
    clean_bodies.push_back(body_for(ds.images.narrow(0, g * per, per), true));
    adv_bodies.push_back(body_for(adversarial.narrow(0, g * per, per), false));
  }

  const auto label_tensor = ds.labels.contiguous();
  const std::vector<int64_t> labels(label_tensor.data_ptr<int64_t>(),
                                    label_tensor.data_ptr<int64_t>() + label_tensor.numel());
  std::mutex mutex;
  std::vector<Sample> samples;
  std::vector<Event> events;
  const auto start = Clock::now();
  const auto since = [&] { return std::chrono::duration<double>(Clock::now() - start).count(); };
  const auto end = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.duration_s));
  std::atomic<int64_t> next{0};
  // Requests are scheduled at a fixed global rate (0: as fast as the clients go).
  const auto due = [&](int64_t i) {
    return start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(i / o.rate));
  };
  std::vector<std::thread> clients;
  for (int64_t c = 0; c < o.concurrency; ++c) {
    clients.emplace_back([&] {
      httplib::Client client(o.host, static_cast<int>(o.port));
      client.set_keep_alive(true);
      client.set_tcp_nodelay(true);  // httplib sends headers and body apart: no Nagle wait between
      client.set_read_timeout(30, 0);
      for (int64_t i = next++;; i = next++) {
        if (o.rate > 0) std::this_thread::sleep_until(due(i));
        if (Clock::now() >= end) return;
        const double t = since();
        const bool attacked = t >= o.attack_at_s;
        const int64_t g = i % groups;
        const auto r = client.Post("/v2/models/" + o.model_name + "/infer",
                                   attacked ? adv_bodies[g] : clean_bodies[g], "application/json");
        Sample s{t, since() - t, false, attacked, 0, per, ""};
        if (r && r->status == 200) {
          const auto j = Json::parse(r->body);
          s.ok = true;
          s.version = j.value("model_version", "");
          for (const auto& out : j["outputs"]) {
            if (out["name"] != "class_index") continue;
            const auto cls = out["data"].get<std::vector<int64_t>>();
            for (int64_t k = 0; k < per; ++k) s.correct += cls[k] == labels[g * per + k];
          }
        }
        std::lock_guard<std::mutex> lock(mutex);
        samples.push_back(std::move(s));
      }
    });
  }
  // The server's events, from /metrics twice a second.
  std::thread watcher([&] {
    httplib::Client client(o.host, static_cast<int>(o.port));
    ServerState last = scrape(client);
    while (Clock::now() < end) {
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      const auto now = scrape(client);
      if (!now.ok) continue;
      const double t = since();
      std::lock_guard<std::mutex> lock(mutex);
      if (now.alarm > last.alarm) events.push_back({t, "alarm", "detector alarm raised"});
      if (now.alarm < last.alarm) events.push_back({t, "alarm cleared", ""});
      if (now.triggers > last.triggers) events.push_back({t, "defence started", ""});
      if (now.defence_running < last.defence_running) events.push_back({t, "defence finished", ""});
      if (!last.version.empty() && now.version != last.version) {
        events.push_back({t, "model swapped", last.version + " -> " + now.version});
      }
      last = now;
    }
  });
  for (auto& c : clients) c.join();
  watcher.join();

  // Per-second buckets.
  metrics::TimelineRecord timeline;
  const auto n_seconds = static_cast<int64_t>(std::ceil(o.duration_s));
  for (const auto& s : samples) timeline.failed += !s.ok;
  timeline.requests = static_cast<int64_t>(samples.size());
  for (int64_t sec = 0; sec < n_seconds; ++sec) {
    metrics::TimelineSecond bucket;
    bucket.t = sec;
    bucket.attacked = static_cast<double>(sec) >= o.attack_at_s;
    int64_t images = 0, correct = 0;
    std::vector<double> lat;
    std::set<std::string> versions;
    for (const auto& s : samples) {
      if (static_cast<int64_t>(s.t) != sec) continue;
      ++bucket.requests;
      if (!s.ok) {
        ++bucket.failed;
        continue;
      }
      images += s.images;
      correct += s.correct;
      lat.push_back(s.latency);
      versions.insert(s.version);
    }
    if (images > 0) bucket.accuracy = static_cast<double>(correct) / static_cast<double>(images);
    bucket.p50_ms = 1000 * serve::client::percentile(lat, 0.5);
    bucket.p99_ms = 1000 * serve::client::percentile(lat, 0.99);
    bucket.model_versions.assign(versions.begin(), versions.end());
    timeline.seconds.push_back(std::move(bucket));
  }
  const auto first = [&](const std::string& kind) -> std::optional<double> {
    for (const auto& e : events) {
      if (e.kind == kind) return e.t;
    }
    return std::nullopt;
  };
  timeline.events = events;
  timeline.attack_at_s = o.attack_at_s;
  timeline.alarm_at_s = first("alarm");
  timeline.defence_started_at_s = first("defence started");
  timeline.model_swapped_at_s = first("model swapped");
  timeline.settings = {{"attack", attacks::to_json(cfg)},
                       {"rate", o.rate},
                       {"concurrency", o.concurrency},
                       {"images_per_request", per},
                       {"duration_s", o.duration_s}};
  const Json written = metrics::to_json(timeline);
  io::write_json(o.timeline, written, "timeline");
  if (!o.chart.empty()) {
    io::write_atomically(
        o.chart, chart_svg(written["seconds"], events, o.duration_s, o.attack_at_s), "chart");
  }
  log::info(timeline.requests, " requests, ", timeline.failed,
            " failed; events: ", written["events"].dump());
}

}  // namespace

const cli::Spec<Options>& spec() {
  static const auto s =
      cli::Spec<Options>(
          "traffic",
          "Replay a labelled dataset against a KServe v2 server, switch to white-box adversarial "
          "inputs at attack_at_s, and record per-second accuracy, latency and the server's "
          "events (alarm, defence, model swap) as a JSON timeline and an SVG chart.")
          .input("model", &Options::model, cli::types::kModel,
                 "The deployed model folder: the attacker crafts its inputs against it.")
          .input("dataset", &Options::dataset, cli::types::kDataset, "Labelled images to send.")
          .output("timeline", &Options::timeline, cli::types::kMetrics,
                  "JSON: settings, summary, events and one entry per second.")
          .output("chart", &Options::chart, cli::types::kArtifact,
                  "SVG: accuracy over time with the attack span and the events.", true)
          .param("host", &Options::host, "Server address.")
          .param("port", &Options::port, "Server port.", cli::in_range(1, 65535))
          .param("model_name", &Options::model_name, "The model's name in the v2 URLs.")
          .param("rate", &Options::rate, "Requests per second, all clients together (0: no pacing).",
                 cli::at_least(0))
          .param("concurrency", &Options::concurrency, "Concurrent clients.", cli::at_least(1))
          .param("images_per_request", &Options::images_per_request, "Images per request.",
                 cli::at_least(1))
          .param("duration_s", &Options::duration_s, "Seconds of traffic.",
                 cli::in_range(0, 86400, true))
          .param("attack_at_s", &Options::attack_at_s,
                 "From this second on, the inputs are adversarial.", cli::at_least(0))
          .param("attack", &Options::attack, "fgsm or pgd.", {"fgsm", "pgd"})
          .param("epsilon", &Options::epsilon, "L-inf budget.", attacks::epsilon_range())
          .param("steps", &Options::steps, "PGD iterations.", cli::at_least(1))
          .param("batch_size", &Options::batch_size, "Images per gradient computation.",
                 cli::at_least(1))
          .common()
          .loads_models()
          .run(&run);
  return s;
}

}  // namespace advkfp::traffic

int main(int argc, char** argv) { return advkfp::cli::run(argc, argv, advkfp::traffic::spec()); }
