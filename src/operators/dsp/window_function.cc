#include "operators/dsp/window_function.h"

#include <cmath>
#include <numbers>
#include <string>

namespace edgeloop::dsp {

Result<WindowKind> parse_window_kind(std::string_view text) {
  if (text == "none") return WindowKind::kNone;
  if (text == "hann") return WindowKind::kHann;
  if (text == "flattop") return WindowKind::kFlattop;
  return make_error(Errc::kInvalidArgument, "unknown window '" + std::string(text) + "' (none, hann, flattop)");
}

const char* window_kind_name(WindowKind kind) {
  switch (kind) {
    case WindowKind::kNone: return "none";
    case WindowKind::kHann: return "hann";
    case WindowKind::kFlattop: return "flattop";
  }
  return "?";
}

AlignedFloats make_window(WindowKind kind, std::size_t n) {
  AlignedFloats w(n, 1.0f);
  // scipy.signal.windows.flattop's coefficients.
  constexpr double kFlat[5] = {0.21557895, 0.41663158, 0.277263158, 0.083578947, 0.006947368};
  for (std::size_t i = 0; i < n && kind != WindowKind::kNone; ++i) {
    const double x = 2.0 * std::numbers::pi * static_cast<double>(i) / static_cast<double>(n);
    double v = 1.0;
    if (kind == WindowKind::kHann) {
      v = 0.5 - 0.5 * std::cos(x);
    } else {
      v = kFlat[0] - kFlat[1] * std::cos(x) + kFlat[2] * std::cos(2 * x) - kFlat[3] * std::cos(3 * x) +
          kFlat[4] * std::cos(4 * x);
    }
    w[i] = static_cast<float>(v);
  }
  return w;
}

}  // namespace edgeloop::dsp
