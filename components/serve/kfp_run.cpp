// Creating a KFP run through the v2beta1 REST API (see kfp_run.h).
#include "kfp_run.h"

#include <httplib.h>

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

std::string create_run(const KfpRunConfig& c, const std::string& display_name,
                       const std::string& window_uri) {
  // endpoint = scheme://host[:port][/prefix]
  const auto scheme_end = c.endpoint.find("://");
  const auto path_start = c.endpoint.find('/', scheme_end == std::string::npos ? 0 : scheme_end + 3);
  const std::string base = c.endpoint.substr(0, path_start);
  std::string prefix = path_start == std::string::npos ? "" : c.endpoint.substr(path_start);
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  httplib::Client client(base);
  if (!client.is_valid()) throw Error(describe("kfp_endpoint", "'" + c.endpoint + "' is not an http(s) URL"));
  const auto us = static_cast<int64_t>(c.timeout_s * 1e6);
  client.set_connection_timeout(us / 1000000, us % 1000000);
  client.set_read_timeout(us / 1000000, us % 1000000);
  client.set_write_timeout(us / 1000000, us % 1000000);
  httplib::Headers headers;
  if (!c.token_file.empty()) {
    std::string token = io::read_file(c.token_file, "kfp_token_file");
    while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) {
      token.pop_back();
    }
    if (token.empty()) throw Error(describe("kfp_token_file", "'" + c.token_file.string() + "' is empty"));
    headers.emplace("Authorization", "Bearer " + token);
  }
  const std::string path = prefix + "/apis/v2beta1/runs";
  const auto r = client.Post(path, headers, create_run_body(c, display_name, window_uri).dump(),
                             "application/json");
  if (!r) {
    throw Error(describe("kfp_endpoint", "POST " + c.endpoint + path + " failed: " +
                                             httplib::to_string(r.error())));
  }
  if (r->status != 200) {
    throw Error(describe("kfp_endpoint", "POST " + c.endpoint + path + " answered " +
                                             std::to_string(r->status) + ": " + r->body.substr(0, 300)));
  }
  nlohmann::json run;
  try {
    run = nlohmann::json::parse(r->body);
  } catch (const nlohmann::json::exception&) {
    throw Error(describe("kfp_endpoint", "POST " + c.endpoint + path + " answered 200 with a body that is not JSON"));
  }
  if (!run.is_object() || !run.contains("run_id") || !run["run_id"].is_string()) {
    throw Error(describe("kfp_endpoint", "POST " + c.endpoint + path + " answered 200 without a run_id"));
  }
  return run["run_id"].get<std::string>();
}

}  // namespace advkfp::serve
