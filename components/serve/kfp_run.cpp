// Creating a KFP run through the v2beta1 REST API (see kfp_run.h).
#include "kfp_run.h"

#include <httplib.h>

#include <cctype>
#include <chrono>
#include <memory>

#include "common/error.h"
#include "io/files.h"

namespace advkfp::serve {

nlohmann::json create_run_body(const KfpRunConfig& c, const std::string& display_name,
                               const std::string& window_uri) {
  nlohmann::json parameters = c.parameters;
  parameters[c.window_parameter] = window_uri;
  nlohmann::json reference = {{"pipeline_id", c.pipeline_id}};
  if (!c.pipeline_version_id.empty()) reference["pipeline_version_id"] = c.pipeline_version_id;
  nlohmann::json run = {{"display_name", display_name},
                        {"pipeline_version_reference", reference},
                        {"runtime_config", {{"parameters", parameters}}}};
  if (!c.experiment_id.empty()) run["experiment_id"] = c.experiment_id;
  return run;
}

namespace {

// An HTTP client of the endpoint's host, the endpoint's path prefix and the request headers.
struct Connection {
  std::unique_ptr<httplib::Client> client;
  std::string prefix;
  httplib::Headers headers;
};

Connection connect(const KfpRunConfig& c) {
  // endpoint = scheme://host[:port][/prefix]
  const auto scheme_end = c.endpoint.find("://");
  const auto path_start = c.endpoint.find('/', scheme_end == std::string::npos ? 0 : scheme_end + 3);
  Connection k;
  k.client = std::make_unique<httplib::Client>(c.endpoint.substr(0, path_start));
  k.prefix = path_start == std::string::npos ? "" : c.endpoint.substr(path_start);
  while (!k.prefix.empty() && k.prefix.back() == '/') k.prefix.pop_back();
  if (!k.client->is_valid())
    throw Error(describe("kfp_endpoint", "'" + c.endpoint + "' is not an http(s) URL"));
  const auto us = static_cast<int64_t>(c.timeout_s * 1e6);
  k.client->set_connection_timeout(us / 1000000, us % 1000000);
  k.client->set_read_timeout(us / 1000000, us % 1000000);
  k.client->set_write_timeout(us / 1000000, us % 1000000);
  if (!c.token_file.empty()) {
    std::string token = io::read_file(c.token_file, "kfp_token_file");
    while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) {
      token.pop_back();
    }
    if (token.empty()) throw Error(describe("kfp_token_file", "'" + c.token_file.string() + "' is empty"));
    k.headers.emplace("Authorization", "Bearer " + token);
  }
  return k;
}

// The JSON object of a 200 answer to `what`, or an Error naming the endpoint and the problem.
nlohmann::json answer(const httplib::Result& r, const std::string& what) {
  if (!r) throw Error(describe("kfp_endpoint", what + " failed: " + httplib::to_string(r.error())));
  if (r->status != 200) {
    throw Error(describe("kfp_endpoint", what + " answered " + std::to_string(r->status) + ": " +
                                             r->body.substr(0, 300)));
  }
  nlohmann::json body;
  try {
    body = nlohmann::json::parse(r->body);
  } catch (const nlohmann::json::exception&) {
    throw Error(describe("kfp_endpoint", what + " answered 200 with a body that is not JSON"));
  }
  if (!body.is_object())
    throw Error(describe("kfp_endpoint", what + " answered 200 with a body that is not an object"));
  return body;
}

// A run id as one path segment: RFC 3986 unreserved characters as they are, the rest %XX.
std::string path_segment(const std::string& id) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (const unsigned char ch : id) {
    if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
      out += static_cast<char>(ch);
    } else {
      out += '%';
      out += hex[ch >> 4];
      out += hex[ch & 15];
    }
  }
  return out;
}

}  // namespace

std::string create_run(const KfpRunConfig& c, const std::string& display_name,
                       const std::string& window_uri) {
  auto k = connect(c);
  const std::string path = k.prefix + "/apis/v2beta1/runs";
  const auto run =
      answer(k.client->Post(path, k.headers, create_run_body(c, display_name, window_uri).dump(),
                            "application/json"),
             "POST " + c.endpoint + path);
  if (!run.contains("run_id") || !run["run_id"].is_string()) {
    throw Error(describe("kfp_endpoint", "POST " + c.endpoint + path + " answered 200 without a run_id"));
  }
  return run["run_id"].get<std::string>();
}

bool is_final_state(const std::string& state) {
  return state == "SUCCEEDED" || state == "SKIPPED" || state == "FAILED" || state == "CANCELED";
}

RunStatus get_run(const KfpRunConfig& c, const std::string& run_id) {
  auto k = connect(c);
  const std::string path = k.prefix + "/apis/v2beta1/runs/" + path_segment(run_id);
  const auto run = answer(k.client->Get(path, k.headers), "GET " + c.endpoint + path);
  RunStatus s;
  if (run.contains("state")) {
    if (!run["state"].is_string()) {
      throw Error(describe("kfp_endpoint",
                           "GET " + c.endpoint + path + " answered a state that is not a name"));
    }
    s.state = run["state"].get<std::string>();
  }
  if (run.contains("error") && run["error"].is_object() && run["error"].contains("message") &&
      run["error"]["message"].is_string()) {
    s.error = run["error"]["message"].get<std::string>();
  }
  return s;
}

RunStatus follow_run(const KfpRunConfig& c, const std::string& run_id,
                     const std::function<bool(double)>& wait,
                     const std::function<void(const RunStatus&)>& on_change) {
  const auto until = std::chrono::steady_clock::now() +
                     std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                         std::chrono::duration<double>(c.follow_timeout_s));
  std::string last = "\n";  // no state yet (an empty state is a state: unset)
  for (;;) {
    const double left =
        std::chrono::duration<double>(until - std::chrono::steady_clock::now()).count();
    if (left <= 0 || !wait(std::min(c.poll_s, left))) return {};
    RunStatus s;
    try {
      s = get_run(c, run_id);
    } catch (const std::exception& e) {
      on_change({"", e.what()});
      last = "\n";
      continue;
    }
    if (s.state != last) on_change(s);
    last = s.state;
    if (is_final_state(s.state)) return s;
  }
}

}  // namespace advkfp::serve
