// 64-byte aligned float buffers for the DSP kernels: whole cache lines, so that vector loads
// never split a line (AVX-512 loads are a cache line wide).
#pragma once

#include <cstddef>
#include <new>
#include <vector>

namespace edgeloop::dsp {

template <class T>
struct AlignedAllocator {
  using value_type = T;
  static constexpr std::align_val_t kAlign{64};

  AlignedAllocator() = default;
  template <class U>
  AlignedAllocator(const AlignedAllocator<U>&) {}  // NOLINT: rebinding, as the standard asks

  T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), kAlign)); }
  void deallocate(T* p, std::size_t) { ::operator delete(p, kAlign); }
  template <class U>
  bool operator==(const AlignedAllocator<U>&) const {
    return true;
  }
};

using AlignedFloats = std::vector<float, AlignedAllocator<float>>;

// On x86-64, the hot kernels are compiled three times (AVX-512, AVX2+FMA, baseline SSE2) and
// the loader picks one for the CPU it runs on (GCC function multiversioning). Elsewhere (ARM),
// the compiler's own target is used.
// Defining EDGELOOP_DSP_CLONES (empty) on the command line builds one version for -march.
// Not under the sanitizers: the loader runs the ifunc resolvers before the TSan runtime is
// up, and the process dies before main.
#ifndef EDGELOOP_DSP_CLONES
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_THREAD__) && \
    !defined(__SANITIZE_ADDRESS__)
#define EDGELOOP_DSP_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define EDGELOOP_DSP_CLONES
#endif
#endif

}  // namespace edgeloop::dsp
