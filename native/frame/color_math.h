// Per-pixel colour arithmetic shared by the CPU implementations and the CUDA kernels, so that both
// paths give bit-identical results. Integer Y'CbCr -> R'G'B' with 16-bit fixed-point coefficients
// derived from the matrix constants (Kr, Kb) of BT.601 and BT.709, for limited ("studio swing": Y
// in [16,235], Cb/Cr in [16,240]) and full range (all of [0,255]); BT.601 limited range uses the
// same coefficients as libswscale's default matrix. Which matrix and range a frame uses is decided
// once per frame from its colour tags (frame/color_spec.h), never per pixel.
#pragma once

#include <cstdint>

#if defined(__CUDACC__)
#define TRICKLE_HD __host__ __device__ __forceinline__
#else
#define TRICKLE_HD inline
#endif

namespace trickle {

// Matrix x range of a YUV picture; the values index kYuvCoefficients.
enum YuvColorCode : int { kYuvBt601Limited = 0, kYuvBt709Limited = 1, kYuvBt601Full = 2, kYuvBt709Full = 3 };

// {Y scale, Cr->R, Cb->G, Cr->G, Cb->B, Y offset}: round(2^16 * coefficient), with
// limited range: Y scale 255/219 and chroma scale 255/224; full range: 1 and 1 (255/255).
//   R = Ys (Y - off) + 2 (1 - Kr) Cr
//   G = Ys (Y - off) - 2 Kb (1 - Kb) / Kg Cb - 2 Kr (1 - Kr) / Kg Cr
//   B = Ys (Y - off) + 2 (1 - Kb) Cb
// BT.601: Kr 0.299, Kb 0.114. BT.709: Kr 0.2126, Kb 0.0722.
struct YuvCoefficients {
  int y_scale, cr_r, cb_g, cr_g, cb_b, y_offset;
};

TRICKLE_HD YuvCoefficients YuvCoefficientsFor(int code) {
  switch (code) {
    case kYuvBt709Limited: return {76309, 117489, 13975, 34925, 138438, 16};
    case kYuvBt601Full: return {65536, 91881, 22553, 46802, 116130, 0};
    case kYuvBt709Full: return {65536, 103206, 12276, 30679, 121609, 0};
    default: return {76309, 104597, 25675, 53279, 132201, 16};  // kYuvBt601Limited
  }
}

TRICKLE_HD uint8_t ClampToByte(int v) { return static_cast<uint8_t>(v < 0 ? 0 : (v > 255 ? 255 : v)); }

TRICKLE_HD void YuvToRgb(int code, uint8_t y, uint8_t u, uint8_t v, uint8_t* rgb) {
  const YuvCoefficients k = YuvCoefficientsFor(code);
  const int c = (static_cast<int>(y) - k.y_offset) * k.y_scale;
  const int d = static_cast<int>(u) - 128;
  const int e = static_cast<int>(v) - 128;
  rgb[0] = ClampToByte((c + k.cr_r * e + 32768) >> 16);
  rgb[1] = ClampToByte((c - k.cb_g * d - k.cr_g * e + 32768) >> 16);
  rgb[2] = ClampToByte((c + k.cb_b * d + 32768) >> 16);
}

// Y in [16,235], Cb/Cr in [16,240] -> full-range RGB (BT.601).
TRICKLE_HD void Bt601LimitedToRgb(uint8_t y, uint8_t u, uint8_t v, uint8_t* rgb) { YuvToRgb(kYuvBt601Limited, y, u, v, rgb); }

}  // namespace trickle
