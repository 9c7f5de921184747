// SVG charts: fixed-size viewBoxes, y from 0 to 1 (accuracy), text in the document's font.
#include "charts.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace advkfp::report {
namespace {

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

std::string percent(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", 100.0 * v);
  return buf;
}

// Plot area of every chart with a y axis: accuracy 0..1 with gridlines every 0.2.
struct Frame {
  double left = 56, top = 34, width, height;
  double y(double v) const { return top + height * (1.0 - std::clamp(v, 0.0, 1.0)); }
};

void open_svg(std::ostringstream& s, double w, double h, const std::string& title) {
  s << "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " << num(w) << ' ' << num(h)
    << "\" width=\"" << num(w) << "\" height=\"" << num(h) << "\" role=\"img\" aria-label=\""
    << escape(title) << "\" font-family=\"sans-serif\" font-size=\"12\">\n"
    << "<title>" << escape(title) << "</title>\n"
    << "<text x=\"" << num(w / 2) << "\" y=\"18\" text-anchor=\"middle\" font-size=\"14\" "
    << "font-weight=\"bold\">" << escape(title) << "</text>\n";
}

void y_axis(std::ostringstream& s, const Frame& f) {
  for (int i = 0; i <= 5; ++i) {
    const double v = i / 5.0, y = f.y(v);
    s << "<line x1=\"" << num(f.left) << "\" x2=\"" << num(f.left + f.width) << "\" y1=\""
      << num(y) << "\" y2=\"" << num(y) << "\" stroke=\"#ddd\"/>\n"
      << "<text x=\"" << num(f.left - 6) << "\" y=\"" << num(y + 4)
      << "\" text-anchor=\"end\">" << 20 * i << "%</text>\n";
  }
  s << "<text transform=\"translate(14 " << num(f.top + f.height / 2)
    << ") rotate(-90)\" text-anchor=\"middle\">accuracy</text>\n";
}

}  // namespace

std::string escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string bar_chart(const std::string& title, const std::vector<std::string>& labels,
                      const std::vector<double>& values, const std::vector<std::string>& colors) {
  const double slot = 110, w = 56 + slot * static_cast<double>(labels.size()) + 16, h = 330;
  Frame f{56, 34, w - 72, 210};
  std::ostringstream s;
  open_svg(s, w, h, title);
  y_axis(s, f);
  for (size_t i = 0; i < labels.size(); ++i) {
    const double x = f.left + slot * static_cast<double>(i) + 18, bw = slot - 36;
    const std::string color = colors.empty() ? "#4878a8" : colors[i % colors.size()];
    if (std::isfinite(values[i])) {
      const double y = f.y(values[i]);
      s << "<rect x=\"" << num(x) << "\" y=\"" << num(y) << "\" width=\"" << num(bw)
        << "\" height=\"" << num(f.top + f.height - y) << "\" fill=\"" << color << "\"><title>"
        << escape(labels[i]) << ": " << percent(values[i]) << "</title></rect>\n"
        << "<text x=\"" << num(x + bw / 2) << "\" y=\"" << num(y - 4)
        << "\" text-anchor=\"middle\">" << percent(values[i]) << "</text>\n";
    } else {
      s << "<text x=\"" << num(x + bw / 2) << "\" y=\"" << num(f.top + f.height - 4)
        << "\" text-anchor=\"middle\" fill=\"#888\">n/a</text>\n";
    }
    // Labels wrap on spaces into at most three lines under the bar.
    std::istringstream words(labels[i]);
    std::string word, line;
    std::vector<std::string> lines;
    while (words >> word) {
      if (!line.empty() && line.size() + word.size() > 14) {
        lines.push_back(line);
        line.clear();
      }
      line += (line.empty() ? "" : " ") + word;
    }
    if (!line.empty()) lines.push_back(line);
    for (size_t l = 0; l < lines.size() && l < 3; ++l) {
      s << "<text x=\"" << num(x + bw / 2) << "\" y=\""
        << num(f.top + f.height + 16 + 14 * static_cast<double>(l))
        << "\" text-anchor=\"middle\">" << escape(lines[l]) << "</text>\n";
    }
  }
  s << "</svg>\n";
  return s.str();
}

std::string line_chart(const std::string& title, const std::vector<std::string>& x_labels,
                       const std::vector<double>& x, const std::vector<Series>& series,
                       const std::string& x_title) {
  const double w = 560, h = 330;
  Frame f{56, 34, 330, 230};
  const size_t n = x_labels.size();
  const double lo = x.empty() ? 0 : *std::min_element(x.begin(), x.end());
  const double hi = x.empty() ? static_cast<double>(n - 1) : *std::max_element(x.begin(), x.end());
  const auto px = [&](size_t i) {
    const double v = x.empty() ? static_cast<double>(i) : x[i];
    return f.left + 14 + (f.width - 28) * (hi > lo ? (v - lo) / (hi - lo) : 0.5);
  };
  std::ostringstream s;
  open_svg(s, w, h, title);
  y_axis(s, f);
  for (size_t i = 0; i < n; ++i) {
    s << "<text x=\"" << num(px(i)) << "\" y=\"" << num(f.top + f.height + 16)
      << "\" text-anchor=\"middle\">" << escape(x_labels[i]) << "</text>\n";
  }
  s << "<text x=\"" << num(f.left + f.width / 2) << "\" y=\"" << num(f.top + f.height + 36)
    << "\" text-anchor=\"middle\">" << escape(x_title) << "</text>\n";
  for (size_t k = 0; k < series.size(); ++k) {
    const Series& se = series[k];
    std::string path;
    bool pen = false;
    for (size_t i = 0; i < n && i < se.y.size(); ++i) {
      if (!std::isfinite(se.y[i])) {
        pen = false;
        continue;
      }
      path += (pen ? " L" : " M") + num(px(i)) + ' ' + num(f.y(se.y[i]));
      pen = true;
    }
    s << "<path d=\"" << path << "\" fill=\"none\" stroke=\"" << se.color
      << "\" stroke-width=\"2.5\"/>\n";
    for (size_t i = 0; i < n && i < se.y.size(); ++i) {
      if (!std::isfinite(se.y[i])) continue;
      s << "<circle cx=\"" << num(px(i)) << "\" cy=\"" << num(f.y(se.y[i]))
        << "\" r=\"3.5\" fill=\"" << se.color << "\"><title>" << escape(se.name) << ", "
        << escape(x_labels[i]) << ": " << percent(se.y[i]) << "</title></circle>\n";
    }
    const double ly = f.top + 10 + 20 * static_cast<double>(k);
    s << "<line x1=\"" << num(f.left + f.width + 16) << "\" x2=\"" << num(f.left + f.width + 40)
      << "\" y1=\"" << num(ly) << "\" y2=\"" << num(ly) << "\" stroke=\"" << se.color
      << "\" stroke-width=\"2.5\"/><text x=\"" << num(f.left + f.width + 46) << "\" y=\""
      << num(ly + 4) << "\">" << escape(se.name) << "</text>\n";
  }
  s << "</svg>\n";
  return s.str();
}

std::string heatmap(const std::string& title, const std::vector<std::string>& labels,
                    const std::vector<std::vector<int64_t>>& counts) {
  const double cell = 38, left = 96, top = 40;
  const double n = static_cast<double>(labels.size());
  const double w = left + cell * n + 44, h = top + cell * n + 96;
  std::ostringstream s;
  open_svg(s, w, h, title);
  for (size_t r = 0; r < counts.size(); ++r) {
    int64_t total = 0;
    for (auto c : counts[r]) total += c;
    for (size_t c = 0; c < counts[r].size(); ++c) {
      const double share = total > 0 ? static_cast<double>(counts[r][c]) / static_cast<double>(total) : 0;
      const int shade = static_cast<int>(std::lround(255 - 200 * share));
      const double x = left + cell * static_cast<double>(c), y = top + cell * static_cast<double>(r);
      s << "<rect x=\"" << num(x) << "\" y=\"" << num(y) << "\" width=\"" << num(cell)
        << "\" height=\"" << num(cell) << "\" fill=\"rgb(" << shade << ',' << shade
        << ",255)\" stroke=\"#fff\"><title>true " << escape(labels[r]) << ", predicted "
        << escape(labels[c]) << ": " << counts[r][c] << "</title></rect>\n"
        << "<text x=\"" << num(x + cell / 2) << "\" y=\"" << num(y + cell / 2 + 4)
        << "\" text-anchor=\"middle\" font-size=\"10\"" << (share > 0.5 ? " fill=\"#fff\"" : "")
        << '>' << counts[r][c] << "</text>\n";
    }
  }
  for (size_t i = 0; i < labels.size(); ++i) {
    const double p = cell * static_cast<double>(i) + cell / 2;
    s << "<text x=\"" << num(left - 4) << "\" y=\"" << num(top + p + 4)
      << "\" text-anchor=\"end\" font-size=\"10\">" << escape(labels[i]) << "</text>\n"
      << "<text transform=\"translate(" << num(left + p + 3) << ' ' << num(top + cell * n + 6)
      << ") rotate(60)\" font-size=\"10\">" << escape(labels[i]) << "</text>\n";
  }
  s << "<text x=\"" << num(left + cell * n / 2) << "\" y=\"" << num(h - 4)
    << "\" text-anchor=\"middle\">predicted class (rows: true class)</text>\n</svg>\n";
  return s.str();
}

}  // namespace advkfp::report
