// report: the metrics of one pipeline run -> an HTML page with inline SVG charts (the paper's
// accuracy evolution, confusion matrices before and after, robust accuracy against eps, the
// detection and the settings) and a Markdown summary. Reads JSON only; no model, no data.
#include "report.h"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <limits>
#include <map>
#include <set>
#include <sstream>

#include "charts.h"
#include "cli/component.h"
#include "common/error.h"
#include "common/log.h"
#include "io/files.h"
#include "io/json.h"
#include "metrics/records.h"

namespace advkfp::report {
namespace {

using io::Json;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
const char* const kOriginalColor = "#4878a8";
const char* const kAttackColor = "#d1495b";
const char* const kFinalColor = "#2e933c";
const char* const kTransferColor = "#edae49";

// j[key], or null when j is not an object or has no such key (inputs are read, not trusted).
const Json& member(const Json& j, const char* key) {
  static const Json kNull;
  return j.is_object() && j.contains(key) ? j[key] : kNull;
}

std::string short_sha(const std::string& sha) { return sha.substr(0, 12); }

std::string pct(double v) {
  if (!std::isfinite(v)) return "n/a";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f%%", 100.0 * v);
  return buf;
}

// What changed on a shift verdict, from the label-free report: how far the model's confidence
// moved (the largest KS D), how many inputs feature squeezing flagged, and how many looked
// adversarial against the share the calibration allows.
std::string shift_summary(const Json& detection) {
  const Json& windows = member(member(detection, "unlabeled"), "windows");
  if (!windows.is_array() || windows.empty()) return "no label-free statistics in the report";
  double d = 0;
  int64_t n = 0, squeezed = 0, adversarial = 0, shifted = 0;
  for (const auto& w : windows) {
    for (const char* k : {"max_probability", "entropy"}) {
      const Json& s = member(member(member(w, "ks"), k), "statistic");
      if (s.is_number()) d = std::max(d, s.get<double>());
    }
    const auto count = [&](const char* test) {
      const Json& c = member(member(w, test), "flagged_count");
      return c.is_number_integer() ? c.get<int64_t>() : 0;
    };
    n += member(w, "count").is_number_integer() ? w["count"].get<int64_t>() : 0;
    squeezed += count("squeeze");
    adversarial += count("adversarial");
    shifted += member(w, "verdict") == "shift" ? 1 : 0;
  }
  char buf[320];
  std::snprintf(buf, sizeof buf,
                "%lld of %zu windows shifted; largest KS D on confidence %.3f; %lld of %lld "
                "inputs flagged by feature squeezing, %lld with adversarial evidence",
                static_cast<long long>(shifted), windows.size(), d,
                static_cast<long long>(squeezed), static_cast<long long>(n),
                static_cast<long long>(adversarial));
  return buf;
}

// Scalars of a JSON tree as dotted key -> text rows; long lists are summarised.
void flatten(const Json& j, const std::string& prefix, int depth,
             std::vector<std::pair<std::string, std::string>>& rows) {
  if (j.is_object() && depth < 6) {
    for (const auto& [k, v] : j.items())
      flatten(v, prefix.empty() ? k : prefix + "." + k, depth + 1, rows);
  } else if (j.is_array() && (j.size() > 12 || depth >= 6)) {
    rows.emplace_back(prefix, "[" + std::to_string(j.size()) + " values]");
  } else if (j.is_array()) {
    std::string text;
    for (size_t i = 0; i < j.size(); ++i) {
      const Json& v = j[i];
      if (!v.is_primitive()) {  // a short list of records: one block of rows per record
        for (size_t k = 0; k < j.size(); ++k) {
          flatten(j[k], prefix + "[" + std::to_string(k) + "]", depth + 1, rows);
        }
        return;
      }
      text += (text.empty() ? "" : ", ") + (v.is_string() ? v.get<std::string>() : v.dump());
    }
    rows.emplace_back(prefix, text);
  } else if (!j.is_null()) {
    rows.emplace_back(prefix, j.is_string() ? j.get<std::string>() : j.dump());
  }
}

// Every "reasons" list of strings in a JSON tree, in document order: why a check fired or not.
void collect_reasons(const Json& j, std::vector<std::string>& out) {
  if (j.is_object()) {
    for (const auto& [k, v] : j.items()) {
      if (k == "reasons" && v.is_array()) {
        for (const auto& r : v) {
          if (r.is_string()) out.push_back(r.get<std::string>());
        }
      } else {
        collect_reasons(v, out);
      }
    }
  } else if (j.is_array()) {
    for (const auto& v : j) collect_reasons(v, out);
  }
}

std::string html_table(const std::vector<std::pair<std::string, std::string>>& rows) {
  std::ostringstream s;
  s << "<table class=\"kv\">\n";
  for (const auto& [k, v] : rows) {
    s << "<tr><th>" << escape(k) << "</th><td>" << escape(v) << "</td></tr>\n";
  }
  s << "</table>\n";
  return s.str();
}

const char* const kStyle = R"(<style>
body { font-family: sans-serif; margin: 24px; color: #222; max-width: 1200px; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 28px; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 8px 0; } th, td { border: 1px solid #ccc; padding: 4px 8px; }
th { background: #f4f4f4; text-align: left; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.kv th { font-weight: normal; font-family: monospace; } .kv td { font-family: monospace; }
.outcome { font-size: 16px; padding: 8px 12px; border-left: 4px solid #4878a8; background: #f4f8fb; }
.charts { display: flex; flex-wrap: wrap; gap: 24px; align-items: flex-start; }
.note { color: #555; font-size: 13px; }
tr.kept td { font-weight: bold; background: #eef7ef; }
</style>
)";

// robustness_curve -> attack -> eps -> accuracy.
using Curve = std::map<std::string, std::map<double, double>>;

Curve curve(const std::optional<metrics::EvaluationRecord>& m) {
  Curve out;
  if (!m) return out;
  for (const auto& p : m->robustness_curve) out[p.attack][p.epsilon] = p.accuracy;
  return out;
}

std::string attack_label(const std::optional<metrics::AttackRecord>& a) {
  return a ? a->label() : "no attack";
}

std::string seconds_text(double s) {
  std::ostringstream o;
  o << static_cast<int64_t>(std::llround(s)) << " s";
  return o.str();
}

// One sentence: the method, the kept check and the target.
std::string training_summary(const metrics::TrainingRecord& t) {
  std::ostringstream o;
  o << t.method << ": " << t.checks.size() << " held-out checks under " << t.check_attack_label();
  if (t.best >= 0) {
    const metrics::TrainingCheck& b = t.checks[static_cast<size_t>(t.best)];
    o << "; kept the check after " << seconds_text(b.seconds) << " (epoch " << b.epoch
      << "): clean " << pct(b.clean) << ", robust " << pct(b.robust);
  }
  if (t.target) {
    o << "; target " << pct(*t.target) << " "
      << (t.time_to_target ? "reached after " + seconds_text(*t.time_to_target) : "not reached");
  }
  o << '.';
  return o.str();
}

std::string seconds1(double s) {
  std::ostringstream o;
  o << std::fixed << std::setprecision(1) << s << " s";
  return o.str();
}

// One paragraph: the episode's timings and accuracies, as far as they happened.
std::string live_summary(const metrics::TimelineRecord& t) {
  std::ostringstream o;
  o << t.requests << " requests, " << t.failed << " failed. ";
  if (const auto a = t.accuracy_between(0, t.attack_at_s)) {
    o << "Accuracy of the answers before the attack: " << pct(*a) << ". ";
  }
  o << "The attack began at " << seconds1(t.attack_at_s);
  if (!t.alarm_at_s) {
    o << "; no alarm was raised.";
    return o.str();
  }
  o << "; the alarm came " << seconds1(*t.alarm_at_s - t.attack_at_s) << " later";
  if (t.defence_started_at_s) o << ", the defence started at " << seconds1(*t.defence_started_at_s);
  if (!t.model_swapped_at_s) {
    o << "; no new model was swapped in.";
    return o.str();
  }
  const double swap = *t.model_swapped_at_s;
  o << ", and the new model answered from " << seconds1(swap) << ", "
    << seconds1(swap - *t.alarm_at_s) << " after the alarm.";
  const auto before = t.accuracy_between(std::max(t.attack_at_s, swap - 60), swap);
  const auto after = t.accuracy_between(swap, swap + 60);
  if (before && after) {
    o << " Accuracy under attack in the minute before the swap: " << pct(*before)
      << "; in the minute after: " << pct(*after) << ".";
  }
  return o.str();
}

}  // namespace

Rendered render(const Inputs& in) {
  // --- The inputs as typed records: a missing or mistyped field names its input here.
  using metrics::EvaluationRecord;
  const EvaluationRecord clean = metrics::read_evaluation(in.clean, "clean_metrics");
  const EvaluationRecord attacked = metrics::read_evaluation(in.attacked, "attacked_metrics");
  const metrics::DetectionRecord detection =
      metrics::read_detection(in.detection, "detection_report");
  const auto optional_record = [](const std::optional<Json>& j, const std::string& what) {
    return j ? std::optional<EvaluationRecord>(metrics::read_evaluation(*j, what)) : std::nullopt;
  };
  const auto final_clean_m = optional_record(in.final_clean, "final_clean_metrics");
  const auto final_fgsm_m = optional_record(in.final_fgsm, "final_fgsm_metrics");
  const auto final_transfer_m = optional_record(in.final_transfer, "final_transfer_metrics");
  const auto final_pgd_m = optional_record(in.final_pgd, "final_pgd_metrics");
  const auto final_apgd_m = optional_record(in.final_apgd, "final_apgd_metrics");
  const std::optional<metrics::TrainingRecord> training =
      in.training ? std::optional(metrics::read_training(*in.training, "training_metrics"))
                  : std::nullopt;
  const std::optional<metrics::TimelineRecord> timeline =
      in.timeline ? std::optional(metrics::read_timeline(*in.timeline, "traffic_timeline"))
                  : std::nullopt;

  // --- What happened, checked for consistency between the inputs.
  const std::string& original = clean.model_sha256;
  if (attacked.model_sha256 != original) {
    throw Error(describe("attacked_metrics", "evaluates model " + short_sha(attacked.model_sha256) +
                                                 ", not the original " + short_sha(original)));
  }
  const bool degraded = detection.degraded;
  const std::string& mode = detection.mode;
  const std::string& verdict = detection.verdict;
  const std::vector<std::pair<const std::optional<EvaluationRecord>*, std::string>> finals = {
      {&final_clean_m, "final_clean_metrics"},
      {&final_fgsm_m, "final_fgsm_metrics"},
      {&final_transfer_m, "final_transfer_metrics"},
      {&final_pgd_m, "final_pgd_metrics"},
      {&final_apgd_m, "final_apgd_metrics"}};
  std::string final_sha;
  for (const auto& [m, what] : finals) {
    if (!*m) continue;
    const std::string& sha = (*m)->model_sha256;
    if (!final_sha.empty() && sha != final_sha) {
      throw Error(describe(what, "evaluates model " + short_sha(sha) +
                                     ", the other final "
                                     "metrics model " +
                                     short_sha(final_sha)));
    }
    final_sha = sha;
  }
  const bool have_final = !final_sha.empty();
  const bool retrained = have_final && final_sha != original;
  // A final model made by clean fine-tuning (on a canary set of a shifted distribution) rather
  // than by the PGD defence; its evaluate metrics carry the model's training record.
  bool fine_tuned = false;
  for (const auto& [m, what] : finals) {
    if (*m && (*m)->training_method == "clean-fine-tune") fine_tuned = retrained;
  }
  // What the final model is.
  const std::string fin = !retrained ? "kept" : fine_tuned ? "fine-tuned" : "defended";
  const std::string fin_title = !retrained ? "Final" : fine_tuned ? "Fine-tuned" : "Defended";
  const auto& names = clean.class_names;
  if (final_clean_m && final_clean_m->class_names != names) {
    throw Error(describe("final_clean_metrics", "names other classes than clean_metrics"));
  }

  const double clean_acc = clean.labelled_accuracy("clean_metrics");
  const double attacked_acc = attacked.labelled_accuracy("attacked_metrics");
  const auto acc_or_nan = [](const std::optional<EvaluationRecord>& m, const std::string& what) {
    return m ? m->labelled_accuracy(what) : kNaN;
  };
  const double final_clean = acc_or_nan(final_clean_m, "final_clean_metrics");
  const double final_fgsm = acc_or_nan(final_fgsm_m, "final_fgsm_metrics");
  const double final_transfer = acc_or_nan(final_transfer_m, "final_transfer_metrics");
  const double final_pgd = acc_or_nan(final_pgd_m, "final_pgd_metrics");
  const std::string pgd_label = final_pgd_m ? attack_label(final_pgd_m->attack) : "PGD";
  const double final_apgd = acc_or_nan(final_apgd_m, "final_apgd_metrics");
  const std::string apgd_label = final_apgd_m ? attack_label(final_apgd_m->attack) : "APGD-CE";
  // Robust accuracy: the lowest accuracy under the attacks run on the final model.
  double robust = kNaN;
  for (const double a : {final_fgsm, final_transfer, final_pgd, final_apgd}) {
    if (!std::isnan(a) && (std::isnan(robust) || a < robust)) robust = a;
  }

  std::string outcome;
  if (degraded) {
    outcome = "Degradation detected (" + mode + " check), verdict " + verdict +
              ": accuracy under FGSM fell from " + pct(clean_acc) + " to " + pct(attacked_acc) +
              ". ";
    if (verdict == "shift") {
      outcome += "The inputs changed, but not the way adversarial inputs do (" +
                 shift_summary(in.detection) +
                 "): a benign distribution shift, against which adversarial retraining does not "
                 "help. ";
    }
    outcome += !retrained ? "The final model was not retrained."
               : fine_tuned
                   ? "Clean fine-tuning on the labelled canary set ran; the final model is " +
                         short_sha(final_sha) + ", fine-tuned from " + short_sha(original) + "."
                   : "PGD adversarial training ran; the final model is " + short_sha(final_sha) +
                         ", trained from " + short_sha(original) + ".";
  } else {
    outcome =
        "No degradation detected (" + mode + " check); the model " + short_sha(original) +
        " was kept" +
        (retrained ? " (yet a different final model was evaluated: " + short_sha(final_sha) + ")."
                   : ".");
  }
  const std::string after = !retrained   ? "kept (not retrained)"
                            : fine_tuned ? "after clean fine-tuning"
                                         : "after PGD defence";

  // --- Charts.
  const std::vector<std::string> stages = {"clean", "under FGSM", after};
  std::vector<Series> evolution = {
      {"white-box FGSM", {clean_acc, attacked_acc, final_fgsm}, kAttackColor},
      {"transfer FGSM", {clean_acc, attacked_acc, final_transfer}, kTransferColor}};
  const std::string evolution_svg =
      line_chart("Accuracy evolution", stages, {}, evolution, "stage");
  const std::vector<std::string> bar_labels = {
      "original clean",
      "original under FGSM",
      fin + " clean",
      fin + " white-box FGSM",
      fin + " transfer FGSM",
      fin + " " + (final_pgd_m && final_pgd_m->attack ? final_pgd_m->attack->name() : "PGD")};
  const std::string bars_svg = bar_chart(
      "Accuracy by model and attack", bar_labels,
      {clean_acc, attacked_acc, final_clean, final_fgsm, final_transfer, final_pgd},
      {kOriginalColor, kAttackColor, kFinalColor, kAttackColor, kTransferColor, "#7b4b94"});

  const Curve before_curve = curve(clean);
  const Curve final_curve = curve(final_pgd_m);
  const Curve final_apgd_curve = curve(final_apgd_m);
  std::set<double> eps_set;
  for (const Curve* c : {&before_curve, &final_curve, &final_apgd_curve}) {
    for (const auto& [attack, points] : *c) {
      for (const auto& [eps, acc] : points) eps_set.insert(eps);
    }
  }
  const std::vector<double> eps(eps_set.begin(), eps_set.end());
  std::vector<std::string> eps_labels;
  for (double e : eps) {
    std::ostringstream s;
    s << e;
    eps_labels.push_back(s.str());
  }
  std::vector<Series> sweep;
  const auto add_series = [&](const Curve& c, const std::string& attack, const std::string& name,
                              const std::string& color) {
    if (!c.count(attack)) return;
    Series s{name, {}, color};
    for (double e : eps) s.y.push_back(c.at(attack).count(e) ? c.at(attack).at(e) : kNaN);
    sweep.push_back(s);
  };
  add_series(before_curve, "fgsm", "original, FGSM", "#9ec5e8");
  add_series(before_curve, "pgd", "original, PGD", kOriginalColor);
  if (retrained) {  // a kept model's curves are the original's
    add_series(final_curve, "fgsm", fin + ", FGSM", "#9fd8a8");
    add_series(final_curve, "pgd", fin + ", PGD", kFinalColor);
    add_series(final_apgd_curve, "apgd", fin + ", APGD-CE", "#1b5e20");
  }

  // --- HTML.
  std::ostringstream h;
  h << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>"
    << escape(in.title) << "</title>\n"
    << kStyle << "</head>\n<body>\n<h1>" << escape(in.title) << "</h1>\n<p class=\"outcome\">"
    << escape(outcome) << "</p>\n";

  h << "<h2>Accuracy</h2>\n<table>\n<tr><th>model</th><th>inputs</th><th>accuracy</th></tr>\n";
  const auto row = [&](const std::string& model, const std::string& inputs, double acc) {
    h << "<tr><td>" << escape(model) << "</td><td>" << escape(inputs) << "</td><td class=\"num\">"
      << pct(acc) << "</td></tr>\n";
  };
  row("original", "clean test set", clean_acc);
  row("original", "FGSM set crafted on it (" + attack_label(attacked.dataset_attack) + ")",
      attacked_acc);
  if (have_final) {
    row(fin, "clean test set", final_clean);
    row(fin, "white-box " + (final_fgsm_m ? attack_label(final_fgsm_m->attack) : "FGSM"),
        final_fgsm);
    row(fin, "transfer: the FGSM set crafted on the original", final_transfer);
    row(fin, "white-box " + pgd_label, final_pgd);
    if (final_apgd_m) row(fin, "white-box " + apgd_label, final_apgd);
    if (final_apgd_m) row(fin, "robust accuracy: the lowest under the attacks above", robust);
  }
  h << "</table>\n<div class=\"charts\">\n" << evolution_svg << bars_svg << "</div>\n";
  h << "<p class=\"note\">White-box: the attack is crafted on the model it is evaluated on. "
       "Transfer: the inputs attacked on the original model are fed to the final one. PGD is the "
       "stronger, iterative attack; FGSM alone overstates robustness.</p>\n";

  h << "<h2>Robust accuracy against eps</h2>\n";
  if (sweep.empty()) {
    h << "<p class=\"note\">No eps sweep in the inputs (evaluate --sweep-epsilons).</p>\n";
  } else {
    h << line_chart("Accuracy under attack against the L-inf budget", eps_labels, eps, sweep, "eps")
      << "<table>\n<tr><th>eps</th>";
    for (const auto& s : sweep) h << "<th>" << escape(s.name) << "</th>";
    h << "</tr>\n";
    for (size_t i = 0; i < eps.size(); ++i) {
      h << "<tr><td class=\"num\">" << escape(eps_labels[i]) << "</td>";
      for (const auto& s : sweep) h << "<td class=\"num\">" << pct(s.y[i]) << "</td>";
      h << "</tr>\n";
    }
    h << "</table>\n<p class=\"note\">Each curve runs over the first "
      << clean.robustness_curve_count
      << " test images; PGD uses the step count of the final PGD evaluation.</p>\n";
  }

  if (training && retrained && !training->checks.empty()) {
    // The defence's held-out checks against wall time: how soon robustness came back.
    const auto& checks = training->checks;
    std::vector<double> xs;
    std::vector<std::string> x_labels;
    Series clean_s{"held-out clean", {}, kOriginalColor};
    Series robust_s{"held-out robust", {}, kFinalColor};  // the attack is in the sentence
    const size_t every = (checks.size() + 7) / 8;         // at most 8 labels under the axis
    for (size_t i = 0; i < checks.size(); ++i) {
      xs.push_back(checks[i].seconds);
      x_labels.push_back(i % every == 0 || i + 1 == checks.size()
                             ? std::to_string(static_cast<int64_t>(std::llround(checks[i].seconds)))
                             : std::string());
      clean_s.y.push_back(checks[i].clean);
      robust_s.y.push_back(checks[i].robust);
    }
    std::vector<Series> lines = {clean_s, robust_s};
    if (training->target) {
      lines.push_back({"target", std::vector<double>(checks.size(), *training->target), "#888888"});
    }
    h << "<h2>Defence training</h2>\n<p>" << escape(training_summary(*training)) << "</p>\n"
      << line_chart("Held-out accuracy during adversarial training", x_labels, xs, lines,
                    "wall seconds")
      << "<table>\n<tr><th>check</th><th>epoch</th><th>batches</th><th>s</th><th>eps</th>"
         "<th>clean</th><th>robust</th></tr>\n";
    for (size_t i = 0; i < checks.size(); ++i) {
      const metrics::TrainingCheck& c = checks[i];
      std::ostringstream eps_text;
      eps_text << c.epsilon;
      h << "<tr" << (static_cast<int64_t>(i) == training->best ? " class=\"kept\"" : "")
        << "><td class=\"num\">" << i << "</td><td class=\"num\">" << c.epoch
        << "</td><td class=\"num\">" << c.batches << "</td><td class=\"num\">"
        << static_cast<int64_t>(std::llround(c.seconds)) << "</td><td class=\"num\">"
        << escape(eps_text.str()) << "</td><td class=\"num\">" << pct(c.clean)
        << "</td><td class=\"num\">" << pct(c.robust) << "</td></tr>\n";
    }
    h << "</table>\n<p class=\"note\">Checks on images held out from the training set, with the "
         "same random starts each time; the defended model is the kept check's weights.</p>\n";
  }

  if (timeline) {
    std::vector<std::string> x_labels;
    std::vector<double> xs;
    Series accuracy_s{"accuracy of the answers", {}, kFinalColor};
    const size_t n = timeline->seconds.size();
    const size_t every = std::max<size_t>(1, n / 8);
    for (size_t i = 0; i < n; ++i) {
      const metrics::TimelineSecond& sec = timeline->seconds[i];
      xs.push_back(static_cast<double>(sec.t));
      x_labels.push_back(i % every == 0 ? std::to_string(sec.t) : std::string());
      accuracy_s.y.push_back(sec.accuracy ? *sec.accuracy : kNaN);
    }
    h << "<h2>Live episode</h2>\n<p>" << escape(live_summary(*timeline)) << "</p>\n"
      << line_chart("Accuracy of the served answers over time", x_labels, xs, {accuracy_s},
                    "seconds since the traffic started")
      << "<table>\n<tr><th>s</th><th>event</th><th>detail</th></tr>\n<tr><td class=\"num\">"
      << escape(seconds1(timeline->attack_at_s)) << "</td><td>attack began</td><td></td></tr>\n";
    for (const metrics::TimelineEvent& e : timeline->events) {
      h << "<tr><td class=\"num\">" << escape(seconds1(e.t)) << "</td><td>" << escape(e.kind)
        << "</td><td>" << escape(e.detail) << "</td></tr>\n";
    }
    h << "</table>\n";
  }

  h << "<h2>Confusion matrices</h2>\n<div class=\"charts\">\n"
    << heatmap("Original model, clean test set", names, clean.confusion_matrix);
  if (final_clean_m) {
    h << heatmap(fin_title + " model, clean test set", names, final_clean_m->confusion_matrix);
  }
  h << "</div>\n";

  h << "<h2>Detection</h2>\n<p>Mode <b>" << escape(mode)
    << "</b>: " << (degraded ? "degraded" : "not degraded") << ", verdict <b>" << escape(verdict)
    << "</b>.</p>\n";
  std::vector<std::string> reasons;
  collect_reasons(in.detection, reasons);
  if (!reasons.empty()) {
    h << "<ul>\n";
    for (size_t i = 0; i < reasons.size() && i < 20; ++i)
      h << "<li>" << escape(reasons[i]) << "</li>\n";
    if (reasons.size() > 20) h << "<li>... " << reasons.size() - 20 << " more</li>\n";
    h << "</ul>\n";
  }
  std::vector<std::pair<std::string, std::string>> detection_rows;
  flatten(in.detection, "", 0, detection_rows);
  h << html_table(detection_rows);

  h << "<h2>Settings</h2>\n";
  std::vector<std::pair<std::string, std::string>> settings;
  settings.emplace_back("original model sha256", original);
  flatten(member(member(in.clean, "model"), "training"), "original training", 1, settings);
  flatten(member(member(member(in.attacked, "dataset"), "provenance"), "attack"),
          "attack at inference", 1, settings);
  if (have_final) {
    settings.emplace_back("final model sha256", final_sha);
    if (retrained) {
      flatten(in.final_clean ? member(member(*in.final_clean, "model"), "training") : Json(),
              fine_tuned ? "fine-tuning" : "defence training", 1, settings);
    }
    if (in.final_pgd) flatten(member(*in.final_pgd, "attack"), "final PGD evaluation", 1, settings);
    if (in.final_apgd) {
      flatten(member(*in.final_apgd, "attack"), "final APGD-CE evaluation", 1, settings);
    }
  }
  flatten(member(member(in.clean, "dataset"), "provenance"), "test set", 1, settings);
  h << html_table(settings) << "</body>\n</html>\n";

  // --- Markdown.
  std::ostringstream md;
  md << "# " << in.title << "\n\n"
     << outcome << "\n\n"
     << "| model | inputs | accuracy |\n|---|---|---:|\n"
     << "| original | clean | " << pct(clean_acc) << " |\n"
     << "| original | FGSM (crafted on it) | " << pct(attacked_acc) << " |\n";
  if (have_final) {
    md << "| " << fin << " | clean | " << pct(final_clean) << " |\n"
       << "| " << fin << " | white-box FGSM | " << pct(final_fgsm) << " |\n"
       << "| " << fin << " | transfer FGSM | " << pct(final_transfer) << " |\n"
       << "| " << fin << " | white-box " << pgd_label << " | " << pct(final_pgd) << " |\n";
    if (final_apgd_m) {
      md << "| " << fin << " | white-box " << apgd_label << " | " << pct(final_apgd) << " |\n"
         << "| " << fin << " | robust (lowest under the attacks above) | " << pct(robust) << " |\n";
    }
  }
  if (!sweep.empty()) {
    md << "\n| eps |";
    for (const auto& s : sweep) md << ' ' << s.name << " |";
    md << "\n|---:|";
    for (size_t k = 0; k < sweep.size(); ++k) md << "---:|";
    md << '\n';
    for (size_t i = 0; i < eps.size(); ++i) {
      md << "| " << eps_labels[i] << " |";
      for (const auto& s : sweep) md << ' ' << pct(s.y[i]) << " |";
      md << '\n';
    }
  }
  if (training && retrained) md << "\nDefence training: " << training_summary(*training) << "\n";
  if (timeline) md << "\nLive episode: " << live_summary(*timeline) << "\n";
  md << "\nModels: original `" << short_sha(original) << "`"
     << (have_final ? ", " + fin + " `" + short_sha(final_sha) + "`" : std::string()) << ".\n";
  return {h.str(), md.str()};
}

namespace {

std::optional<Json> read_optional(const std::filesystem::path& p, const std::string& what) {
  if (p.empty()) return std::nullopt;
  return io::read_json(p, what);
}

void run(const Options& o) {
  Inputs in;
  in.title = o.title;
  in.clean = io::read_json(o.clean_metrics, "clean_metrics");
  in.attacked = io::read_json(o.attacked_metrics, "attacked_metrics");
  in.detection = io::read_json(o.detection_report, "detection_report");
  in.final_clean = read_optional(o.final_clean_metrics, "final_clean_metrics");
  in.final_fgsm = read_optional(o.final_fgsm_metrics, "final_fgsm_metrics");
  in.final_transfer = read_optional(o.final_transfer_metrics, "final_transfer_metrics");
  in.final_pgd = read_optional(o.final_pgd_metrics, "final_pgd_metrics");
  in.final_apgd = read_optional(o.final_apgd_metrics, "final_apgd_metrics");
  in.training = read_optional(o.training_metrics, "training_metrics");
  in.timeline = read_optional(o.traffic_timeline, "traffic_timeline");
  const Rendered r = render(in);
  io::write_atomically(o.report, r.html, "report");
  io::write_atomically(o.summary, r.markdown, "summary");
  log::info("report: ", o.report.string(), " (", r.html.size() / 1024,
            " KiB), summary: ", o.summary.string());
}

}  // namespace

const cli::Spec<Options>& tool() {
  static const auto s = cli::Spec<Options>(spec()).run(&run);
  return s;
}

}  // namespace advkfp::report
