// Spectral window functions (periodic, as for spectral analysis: the n-point window is the
// first n points of the (n+1)-point symmetric one).
#pragma once

#include <cstddef>
#include <string_view>

#include "core/result.h"
#include "operators/dsp/aligned.h"

namespace edgeloop::dsp {

enum class WindowKind {
  kNone,     // rectangular: every weight 1
  kHann,     // 0.5 - 0.5 cos(2π i / n)
  kFlattop,  // the five-term flat top of SciPy (amplitude-accurate peaks)
};

// "none", "hann", "flattop".
Result<WindowKind> parse_window_kind(std::string_view text);
const char* window_kind_name(WindowKind kind);

// The n weights (computed in double, rounded once to float).
AlignedFloats make_window(WindowKind kind, std::size_t n);

}  // namespace edgeloop::dsp
