// Self-contained SVG charts for the HTML report: no scripts, no fonts or styles from the network,
// so the KFP UI (and a browser offline) renders them as they are.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace advkfp::report {

/// Escapes &, <, >, " and ' for HTML and SVG text and attributes.
std::string escape(const std::string& text);

struct Series {
  std::string name;
  std::vector<double> y;  ///< one value per x; NaN leaves a gap
  std::string color;
};

/// Vertical bars of values in [0, 1] (accuracies), each labelled with its value.
std::string bar_chart(const std::string& title, const std::vector<std::string>& labels,
                      const std::vector<double>& values, const std::vector<std::string>& colors);

/// Lines of values in [0, 1] over shared x positions: numeric (`x` given, spaced by value) or
/// categorical (`x` empty, evenly spaced), with a legend.
std::string line_chart(const std::string& title, const std::vector<std::string>& x_labels,
                       const std::vector<double>& x, const std::vector<Series>& series,
                       const std::string& x_title);

/// A confusion matrix: rows are true classes, columns predictions; cells show counts, shaded by
/// the share of their row.
std::string heatmap(const std::string& title, const std::vector<std::string>& labels,
                    const std::vector<std::vector<int64_t>>& counts);

}  // namespace advkfp::report
