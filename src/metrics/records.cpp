// Typed records of the metrics and detection files.
#include "metrics/records.h"

#include <algorithm>
#include <sstream>

#include "common/error.h"
#include "io/json.h"

namespace advkfp::metrics {
namespace {

using io::Json;

using io::at_path;
using io::bad_field;

// The number v, which must lie in [lo, hi]; else one line naming `what` and the field `name`.
double number_in(const Json& v, const std::string& what, const std::string& name, double lo,
                 double hi) {
  if (!v.is_number() || !(v.get<double>() >= lo && v.get<double>() <= hi)) {
    std::ostringstream range;
    range << '[' << lo << ", " << hi << ']';
    bad_field(what, name, "is not a number in " + range.str());
  }
  return v.get<double>();
}

// j is an object written by `tool` (its "tool" field); else one line naming `what`.
void require_tool(const Json& j, const std::string& tool, const std::string& what) {
  const std::string kind = tool + "'s metrics";
  if (!j.is_object()) throw Error(describe(what, "is not a JSON object (not " + kind + ")"));
  const Json& t = at_path(j, "tool");
  if (!t.is_string() || t.get<std::string>() != tool) {
    throw Error(describe(
        what, "is not " + kind + " (tool " +
                  (t.is_string() ? "'" + t.get<std::string>() + "'" : std::string("missing")) +
                  ")"));
  }
}

// The length of the list at `path`; else one line naming `what` and the field.
int64_t list_size(const Json& j, const std::string& path, const std::string& what) {
  const Json& v = at_path(j, path);
  if (!v.is_array()) bad_field(what, path, v.is_null() ? "is missing" : "is not a list");
  return static_cast<int64_t>(v.size());
}

std::optional<AttackRecord> attack_at(const Json& j, const std::string& path,
                                      const std::string& what) {
  const Json& a = at_path(j, path);
  if (a.is_null()) return std::nullopt;
  if (!a.is_object()) bad_field(what, path, "is not an object");
  AttackRecord r;
  r.method = io::require<std::string>(j, path + ".method", what);
  if (r.method != "fgsm" && r.method != "pgd" && r.method != "apgd") {
    bad_field(what, path + ".method", "is '" + r.method + "', not fgsm, pgd or apgd");
  }
  r.epsilon = io::require<double>(j, path + ".epsilon", what);
  if (r.method != "fgsm") r.steps = io::require<int64_t>(j, path + ".steps", what);
  return r;
}

}  // namespace

std::string AttackRecord::name() const {
  if (method == "pgd") return "PGD-" + std::to_string(steps);
  if (method == "apgd") return "APGD-CE-" + std::to_string(steps);
  return "FGSM";
}

std::string AttackRecord::label() const {
  std::ostringstream s;
  s << name() << " (eps " << epsilon << ")";
  return s.str();
}

double EvaluationRecord::labelled_accuracy(const std::string& what) const {
  if (!accuracy) {
    throw Error(describe(what, "field 'accuracy' is null (the evaluated set was unlabelled)"));
  }
  return *accuracy;
}

double read_accuracy(const Json& j, const std::string& what) {
  if (!j.is_object() || !j.contains("accuracy")) {
    bad_field(what, "accuracy", "is missing (not an evaluate metrics file)");
  }
  if (j["accuracy"].is_null()) {
    bad_field(what, "accuracy", "is null (the evaluated set was unlabelled)");
  }
  const double a = io::require<double>(j, "accuracy", what);
  if (!(a >= 0 && a <= 1))
    bad_field(what, "accuracy", "is " + j["accuracy"].dump() + ", not in [0, 1]");
  return a;
}

double read_accuracy_file(const std::filesystem::path& path, const std::string& what) {
  return read_accuracy(io::read_json(path, what), what + ": '" + path.string() + "'");
}

EvaluationRecord read_evaluation(const Json& j, const std::string& what) {
  if (!j.is_object())
    throw Error(describe(what, "is not a JSON object (not an evaluate metrics file)"));
  EvaluationRecord r;
  r.json = j;
  r.model_sha256 = io::require<std::string>(j, "model.sha256", what, "a string",
                                            " (not an evaluate metrics file)");
  if (j.contains("count")) r.count = io::require<int64_t>(j, "count", what);
  if (!j.contains("accuracy"))
    bad_field(what, "accuracy", "is missing (not an evaluate metrics file)");
  if (!j["accuracy"].is_null()) r.accuracy = read_accuracy(j, what);
  r.class_names =
      io::require<std::vector<std::string>>(j, "class_names", what, "a list of strings");
  if (r.accuracy) {
    r.confusion_matrix = io::require<std::vector<std::vector<int64_t>>>(j, "confusion_matrix", what,
                                                                        "a matrix of integers");
    const size_t n = r.class_names.size();
    bool square = r.confusion_matrix.size() == n;
    for (const auto& row : r.confusion_matrix) square = square && row.size() == n;
    if (!square) {
      bad_field(what, "confusion_matrix",
                "is not " + std::to_string(n) + " x " + std::to_string(n) + " (one row per class)");
    }
  }
  const Json& method = at_path(j, "model.training.method");
  if (!method.is_null()) {
    r.training_method = io::require<std::string>(j, "model.training.method", what);
  }
  r.attack = attack_at(j, "attack", what);
  r.dataset_attack = attack_at(j, "dataset.provenance.attack", what);
  const Json& curve = at_path(j, "robustness_curve");
  if (!curve.is_null()) {
    if (!curve.is_array()) bad_field(what, "robustness_curve", "is not a list");
    for (size_t i = 0; i < curve.size(); ++i) {
      const Json& p = curve[i];
      if (!p.is_object() || !p.value("attack", Json()).is_string() ||
          !p.value("epsilon", Json()).is_number() || !p.value("accuracy", Json()).is_number()) {
        throw Error(describe(
            what, "robustness_curve point " + p.dump() + " lacks attack, epsilon or accuracy"));
      }
      r.robustness_curve.push_back({p["attack"].get<std::string>(), p["epsilon"].get<double>(),
                                    p["accuracy"].get<double>()});
    }
    if (j.contains("robustness_curve_count")) {
      r.robustness_curve_count = io::require<int64_t>(j, "robustness_curve_count", what);
    }
  }
  return r;
}

EvaluationRecord read_evaluation_file(const std::filesystem::path& path, const std::string& what) {
  const std::string named = what + ": '" + path.string() + "'";
  return read_evaluation(io::read_json(path, what), named);
}

DetectionRecord read_detection(const Json& j, const std::string& what) {
  DetectionRecord r;
  r.json = j;
  const Json& degraded = at_path(j, "degraded");
  if (!degraded.is_boolean()) {
    throw Error(describe(what, "has no boolean 'degraded' (not a detect-degradation report)"));
  }
  r.degraded = degraded.get<bool>();
  r.mode = j.contains("mode") ? io::require<std::string>(j, "mode", what) : "labeled";
  const Json& verdict = at_path(j, "verdict");
  if (!verdict.is_null() && !verdict.is_string()) {
    throw Error(describe(what, "'verdict' is not a string"));
  }
  // A report from before the three-way verdict read a degradation as an attack.
  r.verdict = verdict.is_string() ? verdict.get<std::string>() : r.degraded ? "attack" : "clean";
  if (r.verdict != "clean" && r.verdict != "shift" && r.verdict != "attack") {
    throw Error(describe(what, "verdict '" + r.verdict + "' is not clean, shift or attack"));
  }
  return r;
}

std::string TrainingRecord::check_attack_label() const {
  return check_attack ? check_attack->label() : "PGD";
}

TrainingRecord read_training(const Json& j, const std::string& what) {
  require_tool(j, "pgd-train", what);
  const auto number = [&](const Json& v, const std::string& name, double lo, double hi) {
    return number_in(v, what, name, lo, hi);
  };
  TrainingRecord t;
  const Json& name = at_path(j, "adversarial_method.name");
  if (name.is_string()) t.method = name.get<std::string>();
  t.check_attack = attack_at(j, "validation_attack", what);
  const Json& curve = at_path(j, "curve");
  if (!curve.is_array()) bad_field(what, "curve", "is not a list (no held-out checks)");
  constexpr double kMaxSeconds = 1e9;
  for (size_t i = 0; i < curve.size(); ++i) {
    const Json& c = curve[i];
    const std::string at = "curve[" + std::to_string(i) + "].";
    const auto value = [&](const char* key) { return c.is_object() ? at_path(c, key) : Json(); };
    TrainingCheck k;
    k.epoch = static_cast<int64_t>(number(value("epoch"), at + "epoch", 0, 1e9));
    k.batches = static_cast<int64_t>(number(value("batches"), at + "batches", 0, 1e15));
    k.seconds = number(value("seconds"), at + "seconds", 0, kMaxSeconds);
    k.epsilon = number(value("epsilon"), at + "epsilon", 0, 1);
    k.clean = number(value("clean_accuracy"), at + "clean_accuracy", 0, 1);
    k.robust = number(value("robust_accuracy"), at + "robust_accuracy", 0, 1);
    t.checks.push_back(k);
  }
  const Json& best = at_path(j, "best_check");
  if (best.is_number_integer() && best.get<int64_t>() >= 0 &&
      best.get<int64_t>() < static_cast<int64_t>(t.checks.size())) {
    t.best = best.get<int64_t>();
  }
  const Json& target = at_path(j, "target_robust_accuracy");
  if (!target.is_null()) t.target = number(target, "target_robust_accuracy", 0, 1);
  const Json& reached = at_path(j, "time_to_target_seconds");
  if (!reached.is_null()) {
    t.time_to_target = number(reached, "time_to_target_seconds", 0, kMaxSeconds);
  }
  t.train_count = static_cast<int64_t>(number(at_path(j, "train_count"), "train_count", 0, 1e15));
  // history[0] is the starting model's check, before any training.
  t.epochs = std::max<int64_t>(0, list_size(j, "history", what) - 1);
  return t;
}

CleanTrainingRecord read_clean_training(const Json& j, const std::string& what) {
  require_tool(j, "train", what);
  CleanTrainingRecord t;
  t.count = static_cast<int64_t>(number_in(at_path(j, "count"), what, "count", 0, 1e15));
  t.epochs = list_size(j, "history", what);
  t.images_per_second =
      number_in(at_path(j, "images_per_second"), what, "images_per_second", 0, 1e15);
  return t;
}

std::optional<int64_t> images_processed(const Json& j, const std::string& what) {
  const Json& tool = at_path(j, "tool");
  const std::string name = tool.is_string() ? tool.get<std::string>() : "";
  if (name == "train") {
    const auto t = read_clean_training(j, what);
    return t.count * t.epochs;
  }
  if (name == "pgd-train") {
    const auto t = read_training(j, what);
    return t.train_count * t.epochs;
  }
  if (name == "evaluate") return read_evaluation(j, what).count;
  if (name == "fgsm-attack" || name == "prepare-data") {
    return static_cast<int64_t>(number_in(at_path(j, "count"), what, "count", 0, 1e15));
  }
  return std::nullopt;
}

std::optional<double> TimelineRecord::accuracy_between(double from, double to) const {
  double sum = 0, weight = 0;
  for (const TimelineSecond& s : seconds) {
    if (!s.accuracy || static_cast<double>(s.t) < from || static_cast<double>(s.t) + 1 > to) {
      continue;
    }
    const auto answered = static_cast<double>(s.requests - s.failed);
    sum += *s.accuracy * answered;
    weight += answered;
  }
  if (weight <= 0) return std::nullopt;
  return sum / weight;
}

Json to_json(const TimelineRecord& r) {
  const auto optional = [](const std::optional<double>& v) { return v ? Json(*v) : Json(); };
  Json events = Json::array();
  for (const TimelineEvent& e : r.events) {
    events.push_back({{"t", e.t}, {"kind", e.kind}, {"detail", e.detail}});
  }
  Json seconds = Json::array();
  for (const TimelineSecond& s : r.seconds) {
    seconds.push_back({{"t", s.t},
                       {"attacked", s.attacked},
                       {"requests", s.requests},
                       {"failed", s.failed},
                       {"accuracy", optional(s.accuracy)},
                       {"p50_ms", s.p50_ms},
                       {"p99_ms", s.p99_ms},
                       {"model_versions", s.model_versions}});
  }
  return {{"settings", r.settings},
          {"summary",
           {{"requests", r.requests},
            {"failed", r.failed},
            {"attack_at_s", r.attack_at_s},
            {"alarm_at_s", optional(r.alarm_at_s)},
            {"defence_started_at_s", optional(r.defence_started_at_s)},
            {"model_swapped_at_s", optional(r.model_swapped_at_s)}}},
          {"events", events},
          {"seconds", seconds}};
}

TimelineRecord read_timeline(const Json& j, const std::string& what) {
  if (!j.is_object() || !j.contains("summary") || !j.contains("seconds")) {
    throw Error(describe(what, "has no 'summary' and 'seconds' (not a traffic timeline)"));
  }
  constexpr double kMaxSeconds = 1e9;
  const auto number = [&](const Json& v, const std::string& name, double lo, double hi) {
    return number_in(v, what, name, lo, hi);
  };
  const auto count = [&](const Json& v, const std::string& name) {
    if (!v.is_number_integer() || v.get<int64_t>() < 0) {
      bad_field(what, name, "is not a count (an integer >= 0)");
    }
    return v.get<int64_t>();
  };
  const auto text = [&](const Json& v, const std::string& name) {
    if (!v.is_string()) bad_field(what, name, "is not a string");
    return v.get<std::string>();
  };
  const auto optional_time = [&](const std::string& name) -> std::optional<double> {
    const Json& v = at_path(j, name);
    if (v.is_null()) return std::nullopt;
    return number(v, name, 0, kMaxSeconds);
  };
  TimelineRecord r;
  if (j.contains("settings")) r.settings = j["settings"];
  r.requests = count(at_path(j, "summary.requests"), "summary.requests");
  r.failed = count(at_path(j, "summary.failed"), "summary.failed");
  if (r.failed > r.requests) bad_field(what, "summary.failed", "is more than summary.requests");
  r.attack_at_s = number(at_path(j, "summary.attack_at_s"), "summary.attack_at_s", 0, kMaxSeconds);
  r.alarm_at_s = optional_time("summary.alarm_at_s");
  r.defence_started_at_s = optional_time("summary.defence_started_at_s");
  r.model_swapped_at_s = optional_time("summary.model_swapped_at_s");
  const Json& events = at_path(j, "events");
  if (!events.is_null() && !events.is_array()) bad_field(what, "events", "is not a list");
  for (size_t i = 0; events.is_array() && i < events.size(); ++i) {
    const std::string at = "events[" + std::to_string(i) + "].";
    const Json& e = events[i];
    TimelineEvent ev;
    ev.t = number(at_path(e, "t"), at + "t", 0, kMaxSeconds);
    ev.kind = text(at_path(e, "kind"), at + "kind");
    if (!at_path(e, "detail").is_null()) ev.detail = text(at_path(e, "detail"), at + "detail");
    r.events.push_back(std::move(ev));
  }
  const Json& seconds = at_path(j, "seconds");
  if (!seconds.is_array()) bad_field(what, "seconds", "is not a list");
  for (size_t i = 0; i < seconds.size(); ++i) {
    const std::string at = "seconds[" + std::to_string(i) + "].";
    const Json& s = seconds[i];
    const auto value = [&](const char* key) { return s.is_object() ? at_path(s, key) : Json(); };
    TimelineSecond sec;
    sec.t = static_cast<int64_t>(number(value("t"), at + "t", 0, kMaxSeconds));
    if (!value("attacked").is_boolean()) bad_field(what, at + "attacked", "is not true or false");
    sec.attacked = value("attacked").get<bool>();
    sec.requests = count(value("requests"), at + "requests");
    sec.failed = count(value("failed"), at + "failed");
    if (sec.failed > sec.requests) bad_field(what, at + "failed", "is more than its requests");
    if (!value("accuracy").is_null())
      sec.accuracy = number(value("accuracy"), at + "accuracy", 0, 1);
    sec.p50_ms = number(value("p50_ms"), at + "p50_ms", 0, 1e12);
    sec.p99_ms = number(value("p99_ms"), at + "p99_ms", 0, 1e12);
    const Json& versions = value("model_versions");
    if (!versions.is_null() && !versions.is_array()) {
      bad_field(what, at + "model_versions", "is not a list");
    }
    for (size_t k = 0; versions.is_array() && k < versions.size(); ++k) {
      sec.model_versions.push_back(
          text(versions[k], at + "model_versions[" + std::to_string(k) + "]"));
    }
    r.seconds.push_back(std::move(sec));
  }
  return r;
}

}  // namespace advkfp::metrics
