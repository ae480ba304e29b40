// edgeloop's own FFT (see README.md, "The FFT", for why and how fast): power-of-two sizes,
// single precision, split real/imaginary arrays, forward transform e^(-2πi kn/N), unscaled.
//
// ComplexFft: the four-step algorithm (N = N1 x N2): N1-point transforms down the columns,
// a twiddle, a transpose, N2-point transforms down the columns again. Every butterfly then
// works on whole rows of N2 (or N1) contiguous floats, which the compiler vectorizes at any
// vector width with no shuffles, and the output comes out in natural order with no bit
// reversal. The column transforms are radix-4 Stockham passes (autosort, out of place).
// RealFft: an N-point real transform as an N/2-point complex one of the even/odd samples,
// unpacked with one pass that also squares (for power spectra).
//
// Not thread-safe (each object owns its work buffers); create one per shard stage.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "core/result.h"
#include "operators/dsp/aligned.h"

namespace edgeloop::dsp {

inline bool is_power_of_two(std::size_t n) { return n != 0 && (n & (n - 1)) == 0; }

class ComplexFft {
 public:
  static constexpr std::size_t kMaxSize = std::size_t{1} << 22;
  // n: a power of two, 1 .. kMaxSize; kInvalidArgument otherwise.
  static Result<std::unique_ptr<ComplexFft>> create(std::size_t n);

  std::size_t size() const { return n_; }
  // Fill these (n values each) before execute().
  float* input_re() { return a_re_.data(); }
  float* input_im() { return a_im_.data(); }

  struct Bins {
    const float* re;
    const float* im;
  };
  // The forward transform of the input buffers: n bins in natural order, valid until the
  // next execute(). The input buffers are overwritten.
  Bins execute();
  // Convenience: forward transform of (re, im) in place. With inverse, e^(+2πi kn/N) and
  // scaled by 1/n (so inverse(forward(x)) = x).
  void transform(float* re, float* im, bool inverse = false);

  // One column-transform plan (public for the kernels in fft.cc).
  struct Pass {
    int radix;        // 4 or 2
    std::size_t m;    // butterflies per block (n / radix of this pass)
    std::size_t block;  // floats per butterfly leg: stride (s) x lanes
    std::size_t tw;   // offset of this pass's twiddles in the plan's table (radix 4, m > 1)
  };
  struct ColumnPlan {
    std::size_t len = 1;
    std::size_t lanes = 1;
    std::vector<Pass> passes;
    AlignedFloats tw;  // per radix-4 pass: w1re, w1im, w2re, w2im, w3re, w3im (m each)
  };

 private:
  explicit ComplexFft(std::size_t n);

  std::size_t n_ = 0;
  std::size_t n1_ = 1, n2_ = 1;  // four-step split (n1 = 1: one column plan, no transpose)
  ColumnPlan first_, second_;
  AlignedFloats mid_re_, mid_im_;  // the four-step twiddles W_n^(n2 k1), laid out [k1][n2]
  AlignedFloats a_re_, a_im_, b_re_, b_im_;
};

class RealFft {
 public:
  static constexpr std::size_t kMaxSize = ComplexFft::kMaxSize * 2;
  // n: a power of two, 4 .. kMaxSize.
  static Result<std::unique_ptr<RealFft>> create(std::size_t n);

  std::size_t size() const { return n_; }
  std::size_t bins() const { return n_ / 2 + 1; }
  // |X[k]|^2, k = 0 .. n/2, of the n samples x[i] * window[i] (window: n values, or null).
  void power(const float* x, const float* window, float* power_out);
  // X[k], k = 0 .. n/2 (n/2 + 1 values to each array), of x[i] * window[i].
  void forward(const float* x, const float* window, float* re, float* im);

 private:
  explicit RealFft(std::size_t n, std::unique_ptr<ComplexFft> half);
  ComplexFft::Bins transform_packed(const float* x, const float* window);

  std::size_t n_;
  std::unique_ptr<ComplexFft> half_;
  AlignedFloats cos_, sin_;  // cos, sin of 2πk/n, k = 0 .. n/4
};

}  // namespace edgeloop::dsp
