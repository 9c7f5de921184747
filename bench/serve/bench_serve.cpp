// bench-serve: throughput and latency of `serve` under concurrent clients. For each batching
// setting (max batch size, and the batcher's longest wait for company) it starts the serve binary
// next to this one on loopback (port 0), then for each client count runs closed-loop clients (each
// sends its next request when the last was answered) for a fixed time over real HTTP, and reports
// requests/s, images/s, latency percentiles and failures (with their reasons: the HTTP status, or
// httplib's transport error). With --repeats N every setting runs N times, repeats outermost, and
// the table shows min / median / max over them.
// The server and the clients share the machine: on 2 cores, client threads take CPU from it.
#include <httplib.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>
#include <tuple>

#include "cli/run.h"
#include "client.h"
#include "common/error.h"
#include "common/log.h"
#include "data/dataset.h"
#include "io/files.h"
#include "io/json.h"

extern char** environ;

namespace advkfp::bench_serve {
namespace {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct Options : cli::CommonOptions {
  std::filesystem::path model, dataset, results, reference;
  std::string clients = "1,8,64";
  std::string max_batch_sizes = "1,32";
  std::string max_batch_delays_ms = "2";
  int64_t repeats = 1;
  double duration_s = 5;
  int64_t images_per_request = 1;
  int64_t serve_threads = 0;
  int64_t http_threads = 64;
};

std::vector<int64_t> parse_list(const std::string& csv, const std::string& what) {
  std::vector<int64_t> out;
  std::istringstream in(csv);
  for (std::string item; std::getline(in, item, ',');) {
    try {
      out.push_back(std::stoll(item));
    } catch (const std::exception&) {
      throw UsageError(describe(what, "'" + item + "' is not an integer"));
    }
    if (out.back() < 1) throw UsageError(describe(what, "values must be at least 1"));
  }
  if (out.empty()) throw UsageError(describe(what, "is empty"));
  return out;
}

std::vector<double> parse_delays(const std::string& csv) {
  std::vector<double> out;
  std::istringstream in(csv);
  for (std::string item; std::getline(in, item, ',');) {
    size_t used = 0;
    double v = -1;
    try {
      v = std::stod(item, &used);
    } catch (const std::exception&) {
    }
    if (used != item.size() || !(v >= 0 && v <= 1000)) {
      throw UsageError(
          describe("max_batch_delays_ms", "'" + item + "' is not a delay in [0, 1000] ms"));
    }
    out.push_back(v);
  }
  if (out.empty()) throw UsageError(describe("max_batch_delays_ms", "is empty"));
  return out;
}

std::string format_ms(double ms) {
  std::ostringstream out;
  out << ms;
  return out.str();
}

// One request body per image group of the dataset (UINT8, as a camera would send them).
std::vector<std::string> request_bodies(const data::Dataset& ds, int64_t per_request) {
  std::vector<std::string> bodies;
  auto shape = ds.image_shape();
  shape.insert(shape.begin(), per_request);
  for (int64_t i = 0; i + per_request <= ds.size() && bodies.size() < 256; i += per_request) {
    const auto images = ds.images.narrow(0, i, per_request).contiguous();
    bodies.push_back(serve::client::infer_request_body(images.data_ptr<float>(), shape, true));
  }
  if (bodies.empty()) throw UsageError(describe("dataset", "has fewer images than one request"));
  return bodies;
}

struct Server {
  pid_t pid = -1;
  int port = 0;
};

Server start_server(const Options& o, int64_t max_batch, double delay_ms, const fs::path& work) {
  static int started = 0;
  const fs::path self = fs::read_symlink("/proc/self/exe");
  const fs::path exe = self.parent_path() / "serve";
  const fs::path port_file = work / ("port-" + std::to_string(++started));
  std::vector<std::string> args = {exe.string(), "--model", o.model.string(), "--host", "127.0.0.1",
                                   "--port", "0", "--port-file", port_file.string(),
                                   "--max-batch-size", std::to_string(max_batch),
                                   "--max-batch-delay-ms", format_ms(delay_ms),
                                   "--http-threads", std::to_string(o.http_threads),
                                   "--queue-size", "4096", "--watch-interval-s", "0",
                                   "--threads", std::to_string(o.serve_threads)};
  if (!o.reference.empty()) {
    for (const auto& a : {std::string("--reference"), o.reference.string()}) args.push_back(a);
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  Server s;
  if (posix_spawn(&s.pid, exe.c_str(), nullptr, nullptr, argv.data(), environ) != 0) {
    throw Error(describe("serve", "cannot start '" + exe.string() + "'"));
  }
  const auto until = Clock::now() + std::chrono::seconds(300);
  while (Clock::now() < until) {
    if (fs::exists(port_file)) {
      s.port = std::stoi(io::read_file(port_file, "port"));
      return s;
    }
    int status = 0;
    if (waitpid(s.pid, &status, WNOHANG) == s.pid) throw Error(describe("serve", "exited at start"));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(s.pid, SIGKILL);
  throw Error(describe("serve", "did not listen within 300 s"));
}

void stop_server(const Server& s) {
  ::kill(s.pid, SIGTERM);
  int status = 0;
  waitpid(s.pid, &status, 0);
}

io::Json run_load(int port, const std::vector<std::string>& bodies, int64_t clients,
                  double duration_s, int64_t images_per_request) {
  std::vector<std::vector<double>> latencies(clients);
  // Why each failed request failed: "status 503", "transport Read", ... with counts, per client.
  std::vector<std::map<std::string, int64_t>> failures(clients);
  const auto start = Clock::now();
  const auto stop = start + std::chrono::duration_cast<Clock::duration>(
                                std::chrono::duration<double>(duration_s));
  std::vector<std::thread> threads;
  for (int64_t t = 0; t < clients; ++t) {
    threads.emplace_back([&, t] {
      httplib::Client c("127.0.0.1", port);
      c.set_keep_alive(true);
      c.set_tcp_nodelay(true);  // httplib sends headers and body apart: no Nagle wait between
      c.set_read_timeout(60, 0);
      for (size_t i = static_cast<size_t>(t); Clock::now() < stop; i += clients) {
        const auto t0 = Clock::now();
        const auto r = c.Post("/v2/models/fashion-cnn/infer", bodies[i % bodies.size()],
                              "application/json");
        if (!r || r->status != 200) {
          ++failures[t][r ? "status " + std::to_string(r->status)
                          : "transport " + httplib::to_string(r.error())];
          continue;
        }
        latencies[t].push_back(std::chrono::duration<double>(Clock::now() - t0).count());
      }
    });
  }
  for (auto& th : threads) th.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  std::vector<double> all;
  for (const auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  const double rps = static_cast<double>(all.size()) / elapsed;
  int64_t failed = 0;
  io::Json reasons = io::Json::object();
  for (const auto& f : failures) {
    for (const auto& [reason, n] : f) {
      failed += n;
      reasons[reason] = reasons.value(reason, int64_t{0}) + n;
    }
  }
  return {{"clients", clients},
          {"requests", all.size()},
          {"failed", failed},
          {"failures", reasons},
          {"seconds", elapsed},
          {"requests_per_s", rps},
          {"images_per_s", rps * static_cast<double>(images_per_request)},
          {"p50_ms", 1000 * serve::client::percentile(all, 0.50)},
          {"p99_ms", 1000 * serve::client::percentile(all, 0.99)}};
}

// min / median / max of `key` over rows, as "a / b / c" with `precision` decimals.
std::string spread(const std::vector<io::Json>& rows, const char* key, int precision) {
  std::vector<double> v;
  for (const auto& r : rows) v.push_back(r[key].get<double>());
  std::sort(v.begin(), v.end());
  const double median =
      v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
  std::ostringstream out;
  out << std::fixed << std::setprecision(precision);
  if (v.size() == 1) {
    out << v[0];
  } else {
    out << v.front() << " / " << median << " / " << v.back();
  }
  return out.str();
}

void run(const Options& o) {
  const auto clients = parse_list(o.clients, "clients");
  const auto batches = parse_list(o.max_batch_sizes, "max_batch_sizes");
  const auto delays = parse_delays(o.max_batch_delays_ms);
  auto ds = data::load_dataset(o.dataset, "dataset");
  const auto bodies = request_bodies(ds, o.images_per_request);
  const fs::path work = fs::temp_directory_path() / ("bench-serve-" + std::to_string(::getpid()));
  fs::create_directories(work);
  // Every run, in the order run; then grouped by setting for the table.
  io::Json rows = io::Json::array();
  std::vector<std::tuple<int64_t, double, int64_t>> settings;
  std::map<std::tuple<int64_t, double, int64_t>, std::vector<io::Json>> runs;
  for (int64_t repeat = 0; repeat < o.repeats; ++repeat) {
    for (const auto b : batches) {
      // Without batching (max batch 1) the batcher never waits: one server stands for every delay.
      for (const auto d : b == 1 ? std::vector<double>{delays.front()} : delays) {
        const auto server = start_server(o, b, d, work);
        try {
          run_load(server.port, bodies, 1, std::min(1.0, o.duration_s),
                   o.images_per_request);  // warm-up
          for (const auto c : clients) {
            auto row = run_load(server.port, bodies, c, o.duration_s, o.images_per_request);
            row["max_batch_size"] = b;
            row["max_batch_delay_ms"] = d;
            row["repeat"] = repeat;
            std::cerr << "bench-serve: run " << repeat + 1 << "/" << o.repeats << ", max batch "
                      << b << ", delay " << format_ms(d) << " ms, " << c
                      << " clients: " << std::fixed << std::setprecision(1)
                      << row["requests_per_s"].get<double>() << " requests/s, p50 "
                      << std::setprecision(2) << row["p50_ms"].get<double>() << " ms" << std::endl;
            for (const auto& [reason, n] : row["failures"].items()) {
              std::cerr << "bench-serve: max batch " << b << ", delay " << format_ms(d) << " ms, "
                        << c << " clients: " << n.get<int64_t>() << " failed with " << reason
                        << std::endl;
            }
            const auto key = std::make_tuple(b, d, c);
            if (!runs.count(key)) settings.push_back(key);
            runs[key].push_back(row);
            rows.push_back(row);
          }
        } catch (...) {
          stop_server(server);
          throw;
        }
        stop_server(server);
      }
    }
  }
  std::error_code ec;
  fs::remove_all(work, ec);
  std::cout << "| max batch | delay ms | clients | requests/s | images/s | p50 ms | p99 ms | failed |\n"
            << "|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const auto& key : settings) {
    const auto& [b, d, c] = key;
    const auto& rs = runs[key];
    int64_t failed = 0;
    for (const auto& r : rs) failed += r["failed"].get<int64_t>();
    std::cout << "| " << b << " | " << (b == 1 ? std::string("-") : format_ms(d)) << " | " << c
              << " | " << spread(rs, "requests_per_s", 1) << " | " << spread(rs, "images_per_s", 1)
              << " | " << spread(rs, "p50_ms", 2) << " | " << spread(rs, "p99_ms", 2) << " | "
              << failed << " |" << std::endl;
  }
  io::write_json(o.results, {{"images_per_request", o.images_per_request},
                             {"duration_s", o.duration_s},
                             {"repeats", o.repeats},
                             {"detection", !o.reference.empty()},
                             {"rows", rows}},
                 "results");
}

}  // namespace

const cli::Spec<Options>& spec() {
  static const auto s =
      cli::Spec<Options>("bench-serve",
                         "Measure serve's requests/s and latency percentiles under 1..N "
                         "concurrent closed-loop HTTP clients, with and without dynamic batching.")
          .input("model", &Options::model, cli::types::kModel, "Model folder to serve.")
          .input("dataset", &Options::dataset, cli::types::kDataset,
                 "Images the requests carry (UINT8).")
          .output("results", &Options::results, cli::types::kMetrics, "JSON: one row per setting.")
          .input("reference", &Options::reference, cli::types::kDataset,
                 "Pass to serve to measure with live detection on.", true)
          .param("clients", &Options::clients, "Concurrent clients, comma-separated.")
          .param("max_batch_sizes", &Options::max_batch_sizes,
                 "serve's --max-batch-size values, comma-separated (1: no batching).")
          .param("max_batch_delays_ms", &Options::max_batch_delays_ms,
                 "serve's --max-batch-delay-ms values, comma-separated (each with every max batch "
                 "size above 1).")
          .param("repeats", &Options::repeats,
                 "Runs of every setting, repeats outermost; the table shows min / median / max.",
                 cli::in_range(1, 100))
          .param("duration_s", &Options::duration_s, "Seconds of load per row.",
                 cli::in_range(0, 3600, true))
          .param("images_per_request", &Options::images_per_request, "Images per request.",
                 cli::at_least(1))
          .param("serve_threads", &Options::serve_threads, "serve's --threads (0: every core).",
                 cli::at_least(0))
          .param("http_threads", &Options::http_threads, "serve's --http-threads.",
                 cli::at_least(1))
          .common()
          .run(&run);
  return s;
}

}  // namespace advkfp::bench_serve

int main(int argc, char** argv) { return advkfp::cli::run(argc, argv, advkfp::bench_serve::spec()); }
