// Benign distribution shifts of an image batch: the changes a camera, a scanner or a
// preprocessing step makes without anyone attacking the model (photometric, geometric, blur,
// noise). The detector calibrates on some of them so that they do not look adversarial, and the
// benchmark holds others out to measure how it does on shifts it has never seen.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace at {
class Tensor;
}
namespace advkfp::model {
class Classifier;
}

namespace advkfp::detection {

/// One shift: a kind and its strength, written "kind:value" (e.g. "brightness:0.1").
///   brightness:d     x + d                                   (photometric)
///   gain:g           x * g (a darker or brighter exposure)   (photometric)
///   contrast:c       mean + c (x - mean), per image           (photometric)
///   gamma:g          x^g                                      (photometric)
///   translate:p      p pixels right and p down, zero fill      (geometric)
///   rotate:deg       rotation about the centre, bilinear       (geometric)
///   blur:s           Gaussian blur, std s pixels (5x5 kernel)  (blur)
///   downscale:f      average-pool by f, bilinear back up       (blur)
///   noise:s          additive Gaussian noise, std s            (noise)
///   uniform-noise:a  additive uniform noise in [-a, a]         (noise)
///   salt-pepper:p    a share p of the pixels set to 0 or 1     (noise)
/// Every result is clamped to [0, 1].
struct Shift {
  std::string kind;
  double value = 0;

  std::string name() const;    ///< "kind:value", parseable by parse_shift
  std::string family() const;  ///< photometric | geometric | blur | noise
};

/// The benign shifts the detector calibrates on unless told otherwise (detect-degradation, serve).
inline constexpr const char* kDefaultCalibrationShifts =
    "brightness:0.1,translate:2,blur:0.8,noise:0.05";

/// The label-free detector's defaults, shared by detect-degradation and serve.
struct DetectorDefaults {
  double alpha = 0.01;      ///< significance level of the KS and binomial tests
  double fpr = 0.05;        ///< per-input false-positive rate of the calibrated thresholds
  int64_t squeeze_bits = 2; ///< bit depth of the bit-reduction squeezer
};

/// Parses "kind:value". Throws advkfp::UsageError naming `what` for an unknown kind or a value out
/// of its range.
Shift parse_shift(const std::string& text, const std::string& what);
/// Parses a comma-separated list of shifts (may be empty: no shift).
std::vector<Shift> parse_shifts(const std::string& csv, const std::string& what);
/// The comma-separated form of a list, as parse_shifts reads it.
std::string to_string(const std::vector<Shift>& shifts);

/// Applies `shift` to `images` (float32 [N,C,H,W] in [0,1]). The noise kinds draw from a generator
/// seeded with `seed`, the others ignore it: the same seed gives the same images.
at::Tensor apply_shift(const at::Tensor& images, const Shift& shift, uint64_t seed);

struct Calibration;
/// Calibrates the detector for `net` on clean `reference` images (float32 [N,C,H,W] in [0,1]) and
/// on their copies under each of `shifts`, the i-th shift seeded with `seed + 1 + i`: what
/// detect-degradation computes when it is given no calibration_in, and what serve computes for
/// every model it loads. `batch_size` inputs per forward pass.
Calibration calibrate_on_reference(model::Classifier& net, const at::Tensor& reference,
                                   const std::vector<Shift>& shifts, double fpr,
                                   int64_t squeeze_bits, uint64_t seed, int64_t batch_size);

}  // namespace advkfp::detection
