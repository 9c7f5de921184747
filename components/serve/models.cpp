// Model location scanning and the hot-swap watcher (see models.h).
#include "models.h"

#include <algorithm>
#include <cctype>
#include <chrono>

#include "common/error.h"
#include "common/log.h"
#include "io/json.h"

namespace advkfp::serve {
namespace fs = std::filesystem;

namespace {

bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

// Version order: numbers by value (above names), names by text.
bool version_less(const std::string& a, const std::string& b) {
  const bool da = all_digits(a), db = all_digits(b);
  if (da != db) return db;
  if (da) {
    const auto ta = a.substr(std::min(a.find_first_not_of('0'), a.size()));
    const auto tb = b.substr(std::min(b.find_first_not_of('0'), b.size()));
    if (ta.size() != tb.size()) return ta.size() < tb.size();
    return ta < tb;
  }
  return a < b;
}

// What identifies the folder's current content without reading model.pt.
std::string content_key(const fs::path& dir) {
  std::string key = dir.string();
  std::error_code ec;
  for (const char* f : {model::kSidecarFile, model::kModelFile}) {
    const auto p = dir / f;
    const auto size = fs::file_size(p, ec);
    const auto time = fs::last_write_time(p, ec).time_since_epoch().count();
    key += "|" + std::to_string(ec ? 0 : size) + ":" + std::to_string(ec ? 0 : time);
  }
  try {
    key += "|" + io::read_json(dir / model::kSidecarFile, "model.json").value("sha256", "");
  } catch (const Error&) {
    key += "|unreadable";
  }
  return key;
}

std::string sidecar_sha(const fs::path& dir) {
  try {
    return io::read_json(dir / model::kSidecarFile, "model.json").value("sha256", "");
  } catch (const Error&) {
    return "";
  }
}

}  // namespace

std::optional<Candidate> newest_model(const fs::path& location) {
  std::error_code ec;
  if (fs::exists(location / model::kSidecarFile, ec)) {
    const auto sha = sidecar_sha(location);
    return Candidate{location, sha.substr(0, 12), content_key(location)};
  }
  std::optional<std::string> best;
  for (fs::directory_iterator it(location, ec), end; !ec && it != end; it.increment(ec)) {
    const auto name = it->path().filename().string();
    if (name.empty() || name[0] == '.' || !it->is_directory(ec)) continue;
    if (!fs::exists(it->path() / model::kSidecarFile, ec)) continue;
    if (!best || version_less(*best, name)) best = name;
  }
  if (!best) return std::nullopt;
  return Candidate{location / *best, *best, content_key(location / *best)};
}

ModelWatcher::ModelWatcher(fs::path location, double interval_s, ModelSlot& slot, Loader load,
                           Gate gate, std::function<void(const ServedModel&)> on_swap,
                           std::function<void(const Candidate&, const std::string&)> on_refuse)
    : location_(std::move(location)),
      interval_s_(interval_s),
      slot_(slot),
      load_(std::move(load)),
      gate_(std::move(gate)),
      on_swap_(std::move(on_swap)),
      on_refuse_(std::move(on_refuse)) {
  if (const auto c = newest_model(location_)) current_key_ = c->key;
  if (interval_s_ <= 0) return;
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mutex_);
    const auto period = std::chrono::duration<double>(interval_s_);
    while (!wake_.wait_for(lock, period, [this] { return stopping_; })) {
      lock.unlock();
      poll();
      lock.lock();
    }
  });
}

ModelWatcher::~ModelWatcher() { stop(); }

void ModelWatcher::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ModelWatcher::poll() {
  const auto c = newest_model(location_);
  if (!c || c->key == current_key_ || refused_.count(c->key)) return;
  const auto current = slot_.get();
  log::info("model watcher: found ", c->dir.string(), " (version ", c->version,
            "); loading it beside version ", current->version);
  std::string reason;
  try {
    auto next = load_(*c);
    const auto& a = current->net.info();
    const auto& b = next->net.info();
    if (b.input_shape != a.input_shape || b.class_names != a.class_names) {
      reason = "its input shape or class names differ from the served model's (clients rely on them)";
    } else if (b.sha256 == a.sha256 && next->version == current->version) {
      current_key_ = c->key;  // the same model touched again: nothing to swap
      return;
    } else if (gate_) {
      if (auto why = gate_(*current, *next)) reason = *why;
    }
    if (reason.empty()) {
      slot_.set(next);
      current_key_ = c->key;
      log::info("model watcher: swapped in version ", next->version, " (sha256 ", b.sha256, ")");
      if (on_swap_) on_swap_(*next);
      return;
    }
  } catch (const std::exception& e) {
    reason = e.what();
  }
  refused_.insert(c->key);
  log::warn("model watcher: refused ", c->dir.string(), ": ", reason, "; still serving version ",
            current->version);
  if (on_refuse_) on_refuse_(*c, reason);
}

}  // namespace advkfp::serve
