// Benign shifts of image batches (see shifts.h).
#include "detection/shifts.h"

#include <torch/torch.h>

#include <cmath>
#include <sstream>

#include "common/error.h"
#include "detection/detection.h"
#include "model/classifier.h"

namespace advkfp::detection {
namespace {

namespace F = torch::nn::functional;

struct Kind {
  const char* name;
  const char* family;
  double lo, hi;  ///< allowed values, inclusive
};

constexpr Kind kKinds[] = {
    {"brightness", "photometric", -1, 1},  {"gain", "photometric", 0, 4},
    {"contrast", "photometric", 0, 4},     {"gamma", "photometric", 0.1, 10},
    {"translate", "geometric", -27, 27},   {"rotate", "geometric", -180, 180},
    {"blur", "blur", 0.05, 10},            {"downscale", "blur", 2, 14},
    {"noise", "noise", 0, 1},              {"uniform-noise", "noise", 0, 1},
    {"salt-pepper", "noise", 0, 1},
};

const Kind* find_kind(const std::string& name) {
  for (const auto& k : kKinds) {
    if (name == k.name) return &k;
  }
  return nullptr;
}

std::string number(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

torch::Tensor translate(const torch::Tensor& x, int64_t p) {
  // Right and down by p (left and up for p < 0), zero fill: pad on one side, crop the other.
  const int64_t h = x.size(2), w = x.size(3), a = std::abs(p);
  const auto padded = F::pad(x, F::PadFuncOptions({a, a, a, a}));
  const int64_t start = a - p;
  return padded.slice(2, start, start + h).slice(3, start, start + w).contiguous();
}

torch::Tensor rotate(const torch::Tensor& x, double degrees) {
  const double r = degrees * 3.14159265358979323846 / 180.0;
  const auto n = x.size(0);
  const auto theta = torch::tensor({std::cos(r), -std::sin(r), 0.0, std::sin(r), std::cos(r), 0.0},
                                   torch::kFloat)
                         .view({1, 2, 3})
                         .expand({n, 2, 3});
  const auto grid = F::affine_grid(theta, x.sizes().vec(), false);
  return F::grid_sample(x, grid,
                        F::GridSampleFuncOptions().mode(torch::kBilinear).padding_mode(torch::kZeros)
                            .align_corners(false));
}

torch::Tensor gaussian_blur(const torch::Tensor& x, double sigma) {
  const int64_t c = x.size(1);
  auto k1 = torch::arange(-2, 3, torch::kFloat);
  k1 = (-(k1 * k1) / (2 * sigma * sigma)).exp();
  k1 = k1 / k1.sum();
  const auto kernel = torch::outer(k1, k1).view({1, 1, 5, 5}).repeat({c, 1, 1, 1});
  const auto padded = F::pad(x, F::PadFuncOptions({2, 2, 2, 2}).mode(torch::kReplicate));
  return F::conv2d(padded, kernel, F::Conv2dFuncOptions().groups(c));
}

torch::Tensor downscale(const torch::Tensor& x, int64_t f) {
  const auto small = F::avg_pool2d(x, F::AvgPool2dFuncOptions(f).ceil_mode(true));
  return F::interpolate(small, F::InterpolateFuncOptions()
                                   .size(std::vector<int64_t>{x.size(2), x.size(3)})
                                   .mode(torch::kBilinear)
                                   .align_corners(false));
}

}  // namespace

std::string Shift::name() const { return kind + ":" + number(value); }

std::string Shift::family() const {
  const auto* k = find_kind(kind);
  return k ? k->family : "unknown";
}

Shift parse_shift(const std::string& text, const std::string& what) {
  const auto colon = text.find(':');
  std::string kinds;
  for (const auto& k : kKinds) kinds += (kinds.empty() ? "" : ", ") + std::string(k.name);
  if (colon == std::string::npos) {
    throw UsageError(describe(what, "'" + text + "' is not kind:value (kinds: " + kinds + ")"));
  }
  Shift s;
  s.kind = text.substr(0, colon);
  const auto* k = find_kind(s.kind);
  if (!k) throw UsageError(describe(what, "unknown shift '" + s.kind + "' (kinds: " + kinds + ")"));
  std::istringstream in(text.substr(colon + 1));
  if (!(in >> s.value) || !in.eof() || !(s.value >= k->lo && s.value <= k->hi)) {
    throw UsageError(describe(what, "'" + text + "': the value must be a number in [" +
                                        number(k->lo) + ", " + number(k->hi) + "]"));
  }
  if ((s.kind == "translate" || s.kind == "downscale") && s.value != std::round(s.value)) {
    throw UsageError(describe(what, "'" + text + "': " + s.kind + " takes whole pixels"));
  }
  return s;
}

std::vector<Shift> parse_shifts(const std::string& csv, const std::string& what) {
  std::vector<Shift> out;
  std::istringstream in(csv);
  for (std::string item; std::getline(in, item, ',');) {
    if (item.empty()) throw UsageError(describe(what, "empty entry in '" + csv + "'"));
    out.push_back(parse_shift(item, what));
  }
  return out;
}

std::string to_string(const std::vector<Shift>& shifts) {
  std::string out;
  for (const auto& s : shifts) out += (out.empty() ? "" : ",") + s.name();
  return out;
}

torch::Tensor apply_shift(const torch::Tensor& images, const Shift& shift, uint64_t seed) {
  TORCH_CHECK(images.dim() == 4, "apply_shift: expects [N,C,H,W]");
  torch::NoGradGuard no_grad;
  const auto& x = images;
  const double v = shift.value;
  auto gen = at::detail::createCPUGenerator(seed);
  torch::Tensor y;
  if (shift.kind == "brightness") {
    y = x + v;
  } else if (shift.kind == "gain") {
    y = x * v;
  } else if (shift.kind == "contrast") {
    const auto mean = x.mean({1, 2, 3}, true);
    y = mean + (x - mean) * v;
  } else if (shift.kind == "gamma") {
    y = x.clamp_min(0).pow(v);
  } else if (shift.kind == "translate") {
    y = translate(x, static_cast<int64_t>(std::llround(v)));
  } else if (shift.kind == "rotate") {
    y = rotate(x, v);
  } else if (shift.kind == "blur") {
    y = gaussian_blur(x, v);
  } else if (shift.kind == "downscale") {
    y = downscale(x, static_cast<int64_t>(std::llround(v)));
  } else if (shift.kind == "noise") {
    y = x + torch::randn(x.sizes(), gen) * v;
  } else if (shift.kind == "uniform-noise") {
    y = x + (torch::rand(x.sizes(), gen) * 2 - 1) * v;
  } else if (shift.kind == "salt-pepper") {
    const auto u = torch::rand(x.sizes(), gen);
    const auto salt = torch::rand(x.sizes(), gen) < 0.5;
    y = torch::where(u < v, salt.to(x.dtype()), x);
  } else {
    throw UsageError(describe("shift", "unknown shift '" + shift.kind + "'"));
  }
  return y.clamp(0, 1).contiguous();
}

Calibration calibrate_on_reference(model::Classifier& net, const at::Tensor& reference,
                                   const std::vector<Shift>& shifts, double fpr,
                                   int64_t squeeze_bits, uint64_t seed, int64_t batch_size) {
  const auto score = [&](const at::Tensor& images) {
    return score_inputs(net, images, squeeze_bits, batch_size);
  };
  std::vector<ShiftedScores> shifted;
  for (size_t i = 0; i < shifts.size(); ++i) {
    shifted.push_back({shifts[i].name(), score(apply_shift(reference, shifts[i], seed + 1 + i))});
  }
  return calibrate(score(reference), net.info().sha256, fpr, squeeze_bits, shifted);
}

}  // namespace advkfp::detection
