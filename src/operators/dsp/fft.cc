#include "operators/dsp/fft.h"

#include <cmath>
#include <cstring>
#include <numbers>
#include <string>
#include <utility>

namespace edgeloop::dsp {

namespace {

// One radix-4 butterfly row: legs a..d (block floats each) to y0..y3, twiddled by w1..w3.
// A function of its own so that every pointer is a restrict parameter (the vectorizer then
// needs no alias checks); always inlined into the pass.
__attribute__((always_inline)) inline void radix4_row(std::size_t block, const float* __restrict ar, const float* __restrict ai,
                                                      const float* __restrict br, const float* __restrict bi,
                                                      const float* __restrict cr, const float* __restrict ci,
                                                      const float* __restrict dr, const float* __restrict di,
                                                      float* __restrict y0r, float* __restrict y0i, float* __restrict y1r,
                                                      float* __restrict y1i, float* __restrict y2r, float* __restrict y2i,
                                                      float* __restrict y3r, float* __restrict y3i, float c1, float s1, float c2,
                                                      float s2, float c3, float s3) {
  for (std::size_t t = 0; t < block; ++t) {
    const float apc_r = ar[t] + cr[t], apc_i = ai[t] + ci[t];
    const float amc_r = ar[t] - cr[t], amc_i = ai[t] - ci[t];
    const float bpd_r = br[t] + dr[t], bpd_i = bi[t] + di[t];
    const float bmd_r = br[t] - dr[t], bmd_i = bi[t] - di[t];
    y0r[t] = apc_r + bpd_r;
    y0i[t] = apc_i + bpd_i;
    const float t1r = amc_r + bmd_i, t1i = amc_i - bmd_r;  // (a - c) - i(b - d)
    const float t2r = apc_r - bpd_r, t2i = apc_i - bpd_i;  // (a + c) - (b + d)
    const float t3r = amc_r - bmd_i, t3i = amc_i + bmd_r;  // (a - c) + i(b - d)
    y1r[t] = c1 * t1r - s1 * t1i;
    y1i[t] = c1 * t1i + s1 * t1r;
    y2r[t] = c2 * t2r - s2 * t2i;
    y2i[t] = c2 * t2i + s2 * t2r;
    y3r[t] = c3 * t3r - s3 * t3i;
    y3i[t] = c3 * t3i + s3 * t3r;
  }
}

// One radix-4 decimation-in-frequency Stockham pass over `m` butterfly groups whose legs
// are `block` contiguous floats: legs p, p+m, p+2m, p+3m of x go to legs 4p..4p+3 of y,
// the last three multiplied by W^p, W^2p, W^3p. The inner loop runs over whole rows.
EDGELOOP_DSP_CLONES
void radix4_pass(std::size_t m, std::size_t block, const float* tw, const float* xr, const float* xi, float* yr,
                 float* yi) {
  const std::size_t leg = m * block;
  for (std::size_t p = 0; p < m; ++p) {
    const float* a_r = xr + p * block;
    const float* a_i = xi + p * block;
    float* y_r = yr + 4 * p * block;
    float* y_i = yi + 4 * p * block;
    radix4_row(block, a_r, a_i, a_r + leg, a_i + leg, a_r + 2 * leg, a_i + 2 * leg, a_r + 3 * leg, a_i + 3 * leg, y_r, y_i,
               y_r + block, y_i + block, y_r + 2 * block, y_i + 2 * block, y_r + 3 * block, y_i + 3 * block, tw[p],
               tw[m + p], tw[2 * m + p], tw[3 * m + p], tw[4 * m + p], tw[5 * m + p]);
  }
}

// The last radix-4 pass (m = 1): the same butterfly, twiddles 1.
EDGELOOP_DSP_CLONES
void radix4_last(std::size_t block, const float* xr, const float* xi, float* yr, float* yi) {
  radix4_row(block, xr, xi, xr + block, xi + block, xr + 2 * block, xi + 2 * block, xr + 3 * block, xi + 3 * block, yr,
             yi, yr + block, yi + block, yr + 2 * block, yi + 2 * block, yr + 3 * block, yi + 3 * block, 1.0f, 0.0f, 1.0f,
             0.0f, 1.0f, 0.0f);
}

// The last pass when the length is 2 x 4^k.
EDGELOOP_DSP_CLONES
void radix2_last(std::size_t block, const float* __restrict xr, const float* __restrict xi, float* __restrict yr,
                 float* __restrict yi) {
  for (std::size_t t = 0; t < block; ++t) {
    const float ar = xr[t], ai = xi[t], br = xr[block + t], bi = xi[block + t];
    yr[t] = ar + br;
    yi[t] = ai + bi;
    yr[block + t] = ar - br;
    yi[block + t] = ai - bi;
  }
}

// The helpers below pass vectors by value but are always inlined, so no call ever uses the
// ABI GCC warns about for targets without AVX.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpsabi"

// Eight floats as one GCC vector (lowered to whatever the target has: one AVX register, two
// SSE ones, NEON pairs).
typedef float V8 __attribute__((vector_size(32)));
typedef int I8 __attribute__((vector_size(32)));

__attribute__((always_inline)) inline V8 load8(const float* p) {
  V8 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
__attribute__((always_inline)) inline void store8(float* p, const V8& v) { std::memcpy(p, &v, sizeof v); }

// Two-source shuffle with constant indices (GCC and Clang spell it differently).
#if defined(__clang__)
#define EDGELOOP_SHUFFLE(a, b, i0, i1, i2, i3, i4, i5, i6, i7) __builtin_shufflevector(a, b, i0, i1, i2, i3, i4, i5, i6, i7)
#else
#define EDGELOOP_SHUFFLE(a, b, i0, i1, i2, i3, i4, i5, i6, i7) __builtin_shuffle(a, b, I8{i0, i1, i2, i3, i4, i5, i6, i7})
#endif

// Transposes the 8x8 tile r[0..7] (rows) in registers: unpack pairs, then quads, then halves.
__attribute__((always_inline)) inline void transpose8(V8 (&r)[8]) {
  V8 t[8], u[8];
  for (int i = 0; i < 8; i += 2) {
    t[i] = EDGELOOP_SHUFFLE(r[i], r[i + 1], 0, 8, 1, 9, 4, 12, 5, 13);
    t[i + 1] = EDGELOOP_SHUFFLE(r[i], r[i + 1], 2, 10, 3, 11, 6, 14, 7, 15);
  }
  for (int i = 0; i < 8; i += 4) {
    u[i] = EDGELOOP_SHUFFLE(t[i], t[i + 2], 0, 1, 8, 9, 4, 5, 12, 13);
    u[i + 1] = EDGELOOP_SHUFFLE(t[i], t[i + 2], 2, 3, 10, 11, 6, 7, 14, 15);
    u[i + 2] = EDGELOOP_SHUFFLE(t[i + 1], t[i + 3], 0, 1, 8, 9, 4, 5, 12, 13);
    u[i + 3] = EDGELOOP_SHUFFLE(t[i + 1], t[i + 3], 2, 3, 10, 11, 6, 7, 14, 15);
  }
  for (int i = 0; i < 4; ++i) {
    r[i] = EDGELOOP_SHUFFLE(u[i], u[i + 4], 0, 1, 2, 3, 8, 9, 10, 11);
    r[i + 4] = EDGELOOP_SHUFFLE(u[i], u[i + 4], 4, 5, 6, 7, 12, 13, 14, 15);
  }
}

// The four-step middle: C[j][k1] = B[k1][j] * W^(j k1), B being n1 rows of n2, C n2 rows of
// n1 (both multiples of 8), in 8x8 tiles transposed in registers.
EDGELOOP_DSP_CLONES
void twiddle_transpose(std::size_t n1, std::size_t n2, const float* __restrict br, const float* __restrict bi,
                       const float* __restrict twr, const float* __restrict twi, float* __restrict cr,
                       float* __restrict ci) {
  for (std::size_t k0 = 0; k0 < n1; k0 += 8) {
    for (std::size_t j0 = 0; j0 < n2; j0 += 8) {
      V8 re[8], im[8];
      for (std::size_t i = 0; i < 8; ++i) {
        const std::size_t from = (k0 + i) * n2 + j0;
        const V8 xr = load8(br + from), xi = load8(bi + from), wr = load8(twr + from), wi = load8(twi + from);
        re[i] = xr * wr - xi * wi;
        im[i] = xr * wi + xi * wr;
      }
      transpose8(re);
      transpose8(im);
      for (std::size_t i = 0; i < 8; ++i) {
        store8(cr + (j0 + i) * n1 + k0, re[i]);
        store8(ci + (j0 + i) * n1 + k0, im[i]);
      }
    }
  }
}

#pragma GCC diagnostic pop

void run_column_plan(const ComplexFft::ColumnPlan& plan, float*& xr, float*& xi, float*& yr, float*& yi) {
  for (const ComplexFft::Pass& pass : plan.passes) {
    if (pass.radix == 2) {
      radix2_last(pass.block, xr, xi, yr, yi);
    } else if (pass.m == 1) {
      radix4_last(pass.block, xr, xi, yr, yi);
    } else {
      radix4_pass(pass.m, pass.block, plan.tw.data() + pass.tw, xr, xi, yr, yi);
    }
    std::swap(xr, yr);
    std::swap(xi, yi);
  }
}

ComplexFft::ColumnPlan make_column_plan(std::size_t len, std::size_t lanes) {
  ComplexFft::ColumnPlan plan;
  plan.len = len;
  plan.lanes = lanes;
  std::size_t n = len, s = 1;
  while (n > 1) {
    ComplexFft::Pass pass;
    pass.block = s * lanes;
    if (n == 2) {
      pass.radix = 2;
      pass.m = 1;
      n = 1;
    } else {
      pass.radix = 4;
      pass.m = n / 4;
      pass.tw = plan.tw.size();
      if (pass.m > 1) {
        plan.tw.resize(plan.tw.size() + 6 * pass.m);
        float* w = plan.tw.data() + pass.tw;
        for (std::size_t p = 0; p < pass.m; ++p) {
          for (std::size_t k = 1; k <= 3; ++k) {
            // W_n^(kp) = e^(-2πi kp / n), in double, rounded once.
            const double angle = -2.0 * std::numbers::pi * static_cast<double>(k * p) / static_cast<double>(n);
            w[(2 * (k - 1)) * pass.m + p] = static_cast<float>(std::cos(angle));
            w[(2 * (k - 1) + 1) * pass.m + p] = static_cast<float>(std::sin(angle));
          }
        }
      }
      n /= 4;
      s *= 4;
    }
    plan.passes.push_back(pass);
  }
  return plan;
}

}  // namespace

Result<std::unique_ptr<ComplexFft>> ComplexFft::create(std::size_t n) {
  if (!is_power_of_two(n) || n > kMaxSize)
    return make_error(Errc::kInvalidArgument,
                      "FFT size " + std::to_string(n) + " is not a power of two from 1 to " + std::to_string(kMaxSize));
  return std::unique_ptr<ComplexFft>(new ComplexFft(n));
}

ComplexFft::ComplexFft(std::size_t n) : n_(n) {
  // Below 256 points the columns would be narrower than a vector: one plain Stockham plan.
  if (n >= 256) {
    int bits = 0;
    while ((std::size_t{1} << bits) < n) ++bits;
    n1_ = std::size_t{1} << (bits / 2);
    n2_ = n / n1_;
    first_ = make_column_plan(n1_, n2_);
    second_ = make_column_plan(n2_, n1_);
    mid_re_.resize(n);
    mid_im_.resize(n);
    for (std::size_t k1 = 0; k1 < n1_; ++k1) {
      for (std::size_t j = 0; j < n2_; ++j) {
        const double angle = -2.0 * std::numbers::pi * static_cast<double>(k1 * j) / static_cast<double>(n);
        mid_re_[k1 * n2_ + j] = static_cast<float>(std::cos(angle));
        mid_im_[k1 * n2_ + j] = static_cast<float>(std::sin(angle));
      }
    }
  } else {
    first_ = make_column_plan(n, 1);
  }
  a_re_.assign(n, 0.0f);
  a_im_.assign(n, 0.0f);
  b_re_.assign(n, 0.0f);
  b_im_.assign(n, 0.0f);
}

ComplexFft::Bins ComplexFft::execute() {
  float* xr = a_re_.data();
  float* xi = a_im_.data();
  float* yr = b_re_.data();
  float* yi = b_im_.data();
  run_column_plan(first_, xr, xi, yr, yi);
  if (n1_ > 1) {
    twiddle_transpose(n1_, n2_, xr, xi, mid_re_.data(), mid_im_.data(), yr, yi);
    std::swap(xr, yr);
    std::swap(xi, yi);
    run_column_plan(second_, xr, xi, yr, yi);
  }
  // The next execute() reads its input from a_: if the result landed there, the caller's
  // view stays valid until it refills the input, as documented.
  return {xr, xi};
}

void ComplexFft::transform(float* re, float* im, bool inverse) {
  // The inverse is the forward transform with re and im swapped on the way in and out.
  float* in_re = inverse ? a_im_.data() : a_re_.data();
  float* in_im = inverse ? a_re_.data() : a_im_.data();
  for (std::size_t i = 0; i < n_; ++i) {
    in_re[i] = re[i];
    in_im[i] = im[i];
  }
  const Bins out = execute();
  const float scale = inverse ? 1.0f / static_cast<float>(n_) : 1.0f;
  const float* out_re = inverse ? out.im : out.re;
  const float* out_im = inverse ? out.re : out.im;
  for (std::size_t i = 0; i < n_; ++i) {
    re[i] = out_re[i] * scale;
    im[i] = out_im[i] * scale;
  }
}

// ---- RealFft ----

namespace {

// z[j] = x[2j] w[2j] + i x[2j+1] w[2j+1]
EDGELOOP_DSP_CLONES
void pack_windowed(std::size_t half, const float* __restrict x, const float* __restrict w, float* __restrict zr,
                   float* __restrict zi) {
  for (std::size_t j = 0; j < half; ++j) {
    zr[j] = x[2 * j] * w[2 * j];
    zi[j] = x[2 * j + 1] * w[2 * j + 1];
  }
}

EDGELOOP_DSP_CLONES
void pack_plain(std::size_t half, const float* __restrict x, float* __restrict zr, float* __restrict zi) {
  for (std::size_t j = 0; j < half; ++j) {
    zr[j] = x[2 * j];
    zi[j] = x[2 * j + 1];
  }
}

// The real-input unpacking of the half-size transform Z, for k = 1 .. M/2 and M - k together:
//   X[k] = E + (-i W^k) O,   E = (Z[k] + conj Z[M-k]) / 2,   O = (Z[k] - conj Z[M-k]) / 2,
// and X[M-k] = conj(E) - conj(-i W^k O) by symmetry (derivation in README.md). `lo` and `hi`
// are the same array seen from its start and from index M: they never meet (k < M - k but
// for k = M/2, which writes the same value through both).
EDGELOOP_DSP_CLONES
void unpack_power(std::size_t half, const float* __restrict zr, const float* __restrict zi, const float* __restrict cs,
                  const float* __restrict sn, float* __restrict lo, float* __restrict hi) {
  for (std::size_t k = 1; k < half / 2; ++k) {
    const float a = zr[k], b = zi[k], c = zr[half - k], d = zi[half - k];
    const float er = 0.5f * (a + c), ei = 0.5f * (b - d), orr = 0.5f * (a - c), oi = 0.5f * (b + d);
    const float u = cs[k] * oi - sn[k] * orr;
    const float v = -(cs[k] * orr + sn[k] * oi);
    lo[k] = (er + u) * (er + u) + (ei + v) * (ei + v);
    *(hi - k) = (er - u) * (er - u) + (ei - v) * (ei - v);
  }
}

EDGELOOP_DSP_CLONES
void unpack_complex(std::size_t half, const float* __restrict zr, const float* __restrict zi,
                    const float* __restrict cs, const float* __restrict sn, float* __restrict lo_re,
                    float* __restrict lo_im, float* __restrict hi_re, float* __restrict hi_im) {
  for (std::size_t k = 1; k < half / 2; ++k) {
    const float a = zr[k], b = zi[k], c = zr[half - k], d = zi[half - k];
    const float er = 0.5f * (a + c), ei = 0.5f * (b - d), orr = 0.5f * (a - c), oi = 0.5f * (b + d);
    const float u = cs[k] * oi - sn[k] * orr;
    const float v = -(cs[k] * orr + sn[k] * oi);
    lo_re[k] = er + u;
    lo_im[k] = ei + v;
    *(hi_re - k) = er - u;
    *(hi_im - k) = -(ei - v);
  }
}

}  // namespace

Result<std::unique_ptr<RealFft>> RealFft::create(std::size_t n) {
  if (!is_power_of_two(n) || n < 4 || n > kMaxSize)
    return make_error(Errc::kInvalidArgument,
                      "real FFT size " + std::to_string(n) + " is not a power of two from 4 to " + std::to_string(kMaxSize));
  auto half = ComplexFft::create(n / 2);
  if (!half.ok()) return half.take_error();
  return std::unique_ptr<RealFft>(new RealFft(n, std::move(half).value()));
}

RealFft::RealFft(std::size_t n, std::unique_ptr<ComplexFft> half) : n_(n), half_(std::move(half)) {
  cos_.resize(n / 4 + 1);
  sin_.resize(n / 4 + 1);
  for (std::size_t k = 0; k <= n / 4; ++k) {
    const double angle = 2.0 * std::numbers::pi * static_cast<double>(k) / static_cast<double>(n);
    cos_[k] = static_cast<float>(std::cos(angle));
    sin_[k] = static_cast<float>(std::sin(angle));
  }
}

ComplexFft::Bins RealFft::transform_packed(const float* x, const float* window) {
  const std::size_t half = n_ / 2;
  if (window) {
    pack_windowed(half, x, window, half_->input_re(), half_->input_im());
  } else {
    pack_plain(half, x, half_->input_re(), half_->input_im());
  }
  return half_->execute();
}

void RealFft::power(const float* x, const float* window, float* power_out) {
  const std::size_t half = n_ / 2;
  const ComplexFft::Bins z = transform_packed(x, window);
  power_out[0] = (z.re[0] + z.im[0]) * (z.re[0] + z.im[0]);
  power_out[half] = (z.re[0] - z.im[0]) * (z.re[0] - z.im[0]);
  unpack_power(half, z.re, z.im, cos_.data(), sin_.data(), power_out, power_out + half);
  // k = M/2 pairs with itself: X[M/2] = conj(Z[M/2]) (cos = 0, sin = 1 in the formula).
  const std::size_t q = half / 2;
  power_out[q] = z.re[q] * z.re[q] + z.im[q] * z.im[q];
}

void RealFft::forward(const float* x, const float* window, float* re, float* im) {
  const std::size_t half = n_ / 2;
  const ComplexFft::Bins z = transform_packed(x, window);
  re[0] = z.re[0] + z.im[0];
  im[0] = 0.0f;
  re[half] = z.re[0] - z.im[0];
  im[half] = 0.0f;
  unpack_complex(half, z.re, z.im, cos_.data(), sin_.data(), re, im, re + half, im + half);
  const std::size_t q = half / 2;
  re[q] = z.re[q];
  im[q] = -z.im[q];
}

}  // namespace edgeloop::dsp
