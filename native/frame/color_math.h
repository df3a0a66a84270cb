// Per-pixel colour arithmetic shared by the CPU implementations and the CUDA kernels, so that both
// paths give bit-identical results. Integer BT.601 limited-range ("studio swing") conversion with
// the same fixed-point coefficients libswscale uses for its default matrix.
#pragma once

#include <cstdint>

#if defined(__CUDACC__)
#define TRICKLE_HD __host__ __device__ __forceinline__
#else
#define TRICKLE_HD inline
#endif

namespace trickle {

TRICKLE_HD uint8_t ClampToByte(int v) { return static_cast<uint8_t>(v < 0 ? 0 : (v > 255 ? 255 : v)); }

// Y in [16,235], Cb/Cr in [16,240] -> full-range RGB. Coefficients scaled by 2^16.
TRICKLE_HD void Bt601LimitedToRgb(uint8_t y, uint8_t u, uint8_t v, uint8_t* rgb) {
  const int c = (static_cast<int>(y) - 16) * 76309;  // 1.164383 * 65536
  const int d = static_cast<int>(u) - 128;
  const int e = static_cast<int>(v) - 128;
  rgb[0] = ClampToByte((c + 104597 * e + 32768) >> 16);              // 1.596027
  rgb[1] = ClampToByte((c - 25675 * d - 53279 * e + 32768) >> 16);   // 0.391762, 0.812968
  rgb[2] = ClampToByte((c + 132201 * d + 32768) >> 16);              // 2.017232
}

}  // namespace trickle
