// Per-pixel arithmetic of the tensor ops (toTensor, fromTensor), shared by the CPU loops
// (frame/tensor_ops.cc) and the CUDA kernels (cuda/tensor_kernels.cu) so both give bit-identical
// results. Everything that decides a pixel value is integer arithmetic or a single IEEE-754
// float32 operation (+, -, /, and one multiply kept out of FMA contraction), which CPU and GPU
// round identically. The test suite re-implements these semantics independently in TypeScript.
//
// Semantics (docs/frames.md):
// - Colour: the frame's matrix and range (BT.601 or BT.709, limited or full; frame/color_spec.h
//   picks, frame/color_math.h computes), chroma of 4:2:0 formats taken from the co-sited sample
//   (x/2, y/2), no chroma interpolation.
// - Geometry: each output pixel maps to a source position with half-pixel centres
//   (align_corners = false), in 1/2048-pixel fixed point, clamped to the source; bilinear weights
//   have 11 fractional bits; the interpolated value is rounded to uint8 RGB before dtype conversion.
// - dtype: uint8 = that value; float = (v / 255 - mean[c]) / std[c] in float32; float16 = the
//   float32 value rounded to nearest-even half.
#pragma once

#include <cstdint>
#include <cstring>

#include "frame/color_math.h"

namespace trickle {

constexpr int kResizeFracBits = 11;
constexpr int kResizeOne = 1 << kResizeFracBits;  // 2048

enum SrcFormatCode : int { kFmtNv12 = 0, kFmtYuv420p = 1, kFmtRgb24 = 2, kFmtRgba = 3 };
enum LayoutCode : int { kLayoutNchw = 0, kLayoutNhwc = 1 };
enum DTypeCode : int { kDtU8 = 0, kDtF16 = 1, kDtF32 = 2 };
enum FitCode : int { kFitStretch = 0, kFitCrop = 1, kFitLetterbox = 2 };

// Planes of a picture (host or device pointers). p1/p2 unused for packed RGB; p2 unused for NV12.
struct PictureView {
  int format;
  int yuv_color;  // YuvColorCode of YUV formats (ignored for RGB)
  int width, height;
  uint8_t* p0; int s0;
  uint8_t* p1; int s1;
  uint8_t* p2; int s2;
};

// Output pixel -> source position mapping. Output pixels outside [out_x0, out_x0+out_w) x
// [out_y0, out_y0+out_h) are padding (letterbox). The source region is given in 1/2048 px.
struct ResizeGeometry {
  int src_w, src_h, dst_w, dst_h;
  int out_x0, out_y0, out_w, out_h;
  int64_t reg_x0_q, reg_y0_q, reg_w_q, reg_h_q;
};

// Host-side construction (not needed on the device).
inline ResizeGeometry MakeResizeGeometry(int sw, int sh, int dw, int dh, int fit) {
  ResizeGeometry g{sw, sh, dw, dh, 0, 0, dw, dh, 0, 0, int64_t(sw) * kResizeOne, int64_t(sh) * kResizeOne};
  const int64_t K = kResizeOne;
  if (fit == kFitCrop) {
    // Cover the output, cut the excess of the source symmetrically.
    if (int64_t(dw) * sh >= int64_t(dh) * sw) {
      g.reg_h_q = int64_t(sw) * dh * K / dw;
      g.reg_y0_q = (int64_t(sh) * K - g.reg_h_q) / 2;
    } else {
      g.reg_w_q = int64_t(sh) * dw * K / dh;
      g.reg_x0_q = (int64_t(sw) * K - g.reg_w_q) / 2;
    }
  } else if (fit == kFitLetterbox) {
    // Contain the whole source, pad the rest; content size rounded to nearest, centred (floor).
    if (int64_t(dw) * sh <= int64_t(dh) * sw) {
      g.out_w = dw;
      g.out_h = static_cast<int>((2 * int64_t(sh) * dw + sw) / (2 * int64_t(sw)));
    } else {
      g.out_h = dh;
      g.out_w = static_cast<int>((2 * int64_t(sw) * dh + sh) / (2 * int64_t(sh)));
    }
    if (g.out_w < 1) g.out_w = 1;
    if (g.out_h < 1) g.out_h = 1;
    if (g.out_w > dw) g.out_w = dw;
    if (g.out_h > dh) g.out_h = dh;
    g.out_x0 = (dw - g.out_w) / 2;
    g.out_y0 = (dh - g.out_h) / 2;
  }
  return g;
}

// One axis: output index d (inside the content range) -> source indices i0, i1 and weight f of i1.
TRICKLE_HD void MapAxis(int d, int out0, int out_len, int64_t reg0_q, int64_t reg_len_q, int src_len, int* i0, int* i1,
                        int* f) {
  int64_t q = reg0_q + ((2 * int64_t(d - out0) + 1) * reg_len_q) / (2 * int64_t(out_len)) - kResizeOne / 2;
  const int64_t max_q = int64_t(src_len - 1) * kResizeOne;
  if (q < 0) q = 0;
  if (q > max_q) q = max_q;
  *i0 = static_cast<int>(q >> kResizeFracBits);
  *f = static_cast<int>(q & (kResizeOne - 1));
  *i1 = *i0 + 1 < src_len ? *i0 + 1 : src_len - 1;
}

TRICKLE_HD void LoadRgb(const PictureView& s, int x, int y, int* rgb) {
  uint8_t out[3];
  switch (s.format) {
    case kFmtNv12: {
      const uint8_t* uv = s.p1 + (y >> 1) * s.s1 + (x >> 1) * 2;
      YuvToRgb(s.yuv_color, s.p0[y * s.s0 + x], uv[0], uv[1], out);
      break;
    }
    case kFmtYuv420p:
      YuvToRgb(s.yuv_color, s.p0[y * s.s0 + x], s.p1[(y >> 1) * s.s1 + (x >> 1)], s.p2[(y >> 1) * s.s2 + (x >> 1)], out);
      break;
    case kFmtRgb24: {
      const uint8_t* p = s.p0 + y * s.s0 + x * 3;
      out[0] = p[0]; out[1] = p[1]; out[2] = p[2];
      break;
    }
    default: {  // kFmtRgba
      const uint8_t* p = s.p0 + y * s.s0 + x * 4;
      out[0] = p[0]; out[1] = p[1]; out[2] = p[2];
      break;
    }
  }
  rgb[0] = out[0]; rgb[1] = out[1]; rgb[2] = out[2];
}

// The resized uint8 RGB value of output pixel (dx, dy); padding pixels get `pad`.
TRICKLE_HD void ResizedRgb(const PictureView& s, const ResizeGeometry& g, const uint8_t* pad, int dx, int dy, int* rgb) {
  if (dx < g.out_x0 || dx >= g.out_x0 + g.out_w || dy < g.out_y0 || dy >= g.out_y0 + g.out_h) {
    rgb[0] = pad[0]; rgb[1] = pad[1]; rgb[2] = pad[2];
    return;
  }
  int x0, x1, fx, y0, y1, fy;
  MapAxis(dx, g.out_x0, g.out_w, g.reg_x0_q, g.reg_w_q, g.src_w, &x0, &x1, &fx);
  MapAxis(dy, g.out_y0, g.out_h, g.reg_y0_q, g.reg_h_q, g.src_h, &y0, &y1, &fy);
  if (fx == 0 && fy == 0) {  // exact sample: same result as the general formula, one conversion
    LoadRgb(s, x0, y0, rgb);
    return;
  }
  int p00[3], p10[3], p01[3], p11[3];
  LoadRgb(s, x0, y0, p00);
  LoadRgb(s, x1, y0, p10);
  LoadRgb(s, x0, y1, p01);
  LoadRgb(s, x1, y1, p11);
  const int K = kResizeOne;
  for (int c = 0; c < 3; ++c) {
    const int top = p00[c] * (K - fx) + p10[c] * fx;
    const int bot = p01[c] * (K - fx) + p11[c] * fx;
    rgb[c] = (top * (K - fy) + bot * fy + (1 << (2 * kResizeFracBits - 1))) >> (2 * kResizeFracBits);
  }
}

TRICKLE_HD uint32_t FloatBits(float f) {
#if defined(__CUDA_ARCH__)
  return __float_as_uint(f);
#else
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
#endif
}

TRICKLE_HD float BitsFloat(uint32_t u) {
#if defined(__CUDA_ARCH__)
  return __uint_as_float(u);
#else
  float f;
  std::memcpy(&f, &u, 4);
  return f;
#endif
}

// float32 -> IEEE binary16, round to nearest even (F. Giesen's float_to_half_fast3_rtne).
TRICKLE_HD uint16_t FloatToHalf(float value) {
  uint32_t x = FloatBits(value);
  const uint32_t sign = x & 0x80000000u;
  x ^= sign;
  uint32_t o;
  if (x >= 0x47800000u) {  // >= 65536, Inf or NaN
    o = x > 0x7f800000u ? 0x7e00u : 0x7c00u;
  } else if (x < 0x38800000u) {  // < 2^-14: half subnormal or zero; the float add rounds (RNE)
    const float f = BitsFloat(x) + 0.5f;
    o = FloatBits(f) - 0x3f000000u;
  } else {
    const uint32_t mant_odd = (x >> 13) & 1u;
    x += (static_cast<uint32_t>(15 - 127) << 23) + 0xfffu;
    x += mant_odd;
    o = x >> 13;
  }
  return static_cast<uint16_t>(o | (sign >> 16));
}

TRICKLE_HD float HalfToFloat(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  if (exp == 0) {
    if (mant == 0) return BitsFloat(sign);
    // subnormal: value = mant * 2^-24, exact in float32
    const float f = static_cast<float>(mant) * 5.9604644775390625e-8f;
    return sign ? -f : f;
  }
  if (exp == 31) return BitsFloat(sign | 0x7f800000u | (mant << 13));
  return BitsFloat(sign | ((exp + 112u) << 23) | (mant << 13));
}

// uint8 value -> normalised float32: (v / 255 - mean) / std. Two correctly rounded operations
// after the division; no multiply-add, so no FMA contraction can change the result on the GPU.
TRICKLE_HD float NormalizeByte(int v, float mean, float stdv) { return (static_cast<float>(v) / 255.0f - mean) / stdv; }

// Writes the three channels of output pixel (dx, dy) into a [1,3,H,W] (NCHW) or [1,H,W,3] (NHWC)
// tensor of `dtype` at `out`.
struct ToTensorParams {
  PictureView src;
  ResizeGeometry geo;
  int layout;
  int dtype;
  float mean[3];
  float stdv[3];
  uint8_t pad[3];
  void* out;
};

TRICKLE_HD void ToTensorPixel(const ToTensorParams& p, int dx, int dy) {
  int rgb[3];
  ResizedRgb(p.src, p.geo, p.pad, dx, dy, rgb);
  const int64_t W = p.geo.dst_w, H = p.geo.dst_h;
  for (int c = 0; c < 3; ++c) {
    const int64_t idx = p.layout == kLayoutNchw ? (c * H + dy) * W + dx : (int64_t(dy) * W + dx) * 3 + c;
    if (p.dtype == kDtU8) {
      static_cast<uint8_t*>(p.out)[idx] = static_cast<uint8_t>(rgb[c]);
    } else {
      const float v = NormalizeByte(rgb[c], p.mean[c], p.stdv[c]);
      if (p.dtype == kDtF32) {
        static_cast<float*>(p.out)[idx] = v;
      } else {
        static_cast<uint16_t*>(p.out)[idx] = FloatToHalf(v);
      }
    }
  }
}

// ---- fromTensor ------------------------------------------------------------------------------------

// The RGB tensor value at (c, y, x) as uint8: uint8 as is; float/half v in [0, 1] ->
// clamp(floor(v * 255 + 0.5)), NaN -> 0. The multiply is kept separate from the add.
TRICKLE_HD float MulNoContract(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fmul_rn(a, b);
#else
  return a * b;  // x86-64 baseline has no FMA; g++ cannot contract this without one
#endif
}

TRICKLE_HD int FloatToByte(float v) {
  const float s = MulNoContract(v, 255.0f) + 0.5f;
  if (!(s >= 0.0f)) return 0;
  if (s >= 255.0f) return 255;
  return static_cast<int>(s);
}

struct FromTensorParams {
  const void* in;
  int layout;
  int dtype;
  int width, height;  // of the tensor and of the output picture
  PictureView dst;    // format kFmtNv12 | kFmtYuv420p | kFmtRgb24 | kFmtRgba
};

TRICKLE_HD int TensorByte(const FromTensorParams& p, int c, int y, int x) {
  const int64_t W = p.width, H = p.height;
  const int64_t idx = p.layout == kLayoutNchw ? (c * H + y) * W + x : (int64_t(y) * W + x) * 3 + c;
  if (p.dtype == kDtU8) return static_cast<const uint8_t*>(p.in)[idx];
  if (p.dtype == kDtF32) return FloatToByte(static_cast<const float*>(p.in)[idx]);
  return FloatToByte(HalfToFloat(static_cast<const uint16_t*>(p.in)[idx]));
}

// RGB -> BT.601 limited range, 8-bit fixed point (the classic integer matrix).
TRICKLE_HD uint8_t RgbToY(int r, int g, int b) { return static_cast<uint8_t>(((66 * r + 129 * g + 25 * b + 128) >> 8) + 16); }
TRICKLE_HD uint8_t RgbToU(int r, int g, int b) { return static_cast<uint8_t>(((-38 * r - 74 * g + 112 * b + 128) >> 8) + 128); }
TRICKLE_HD uint8_t RgbToV(int r, int g, int b) { return static_cast<uint8_t>(((112 * r - 94 * g - 18 * b + 128) >> 8) + 128); }

// Converts the 2x2 block whose top-left pixel is (2*bx, 2*by). YUV outputs need even sizes (checked
// by the caller); chroma is computed from the rounded mean RGB of the block.
TRICKLE_HD void FromTensorBlock(const FromTensorParams& p, int bx, int by) {
  const PictureView& d = p.dst;
  int sum[3] = {0, 0, 0};
  int n = 0;
  for (int j = 0; j < 2; ++j) {
    const int y = 2 * by + j;
    if (y >= p.height) continue;
    for (int i = 0; i < 2; ++i) {
      const int x = 2 * bx + i;
      if (x >= p.width) continue;
      const int r = TensorByte(p, 0, y, x), g = TensorByte(p, 1, y, x), b = TensorByte(p, 2, y, x);
      ++n;
      sum[0] += r; sum[1] += g; sum[2] += b;
      if (d.format == kFmtRgb24 || d.format == kFmtRgba) {
        const int bpp = d.format == kFmtRgb24 ? 3 : 4;
        uint8_t* o = d.p0 + y * d.s0 + x * bpp;
        o[0] = static_cast<uint8_t>(r); o[1] = static_cast<uint8_t>(g); o[2] = static_cast<uint8_t>(b);
        if (bpp == 4) o[3] = 255;
      } else {
        d.p0[y * d.s0 + x] = RgbToY(r, g, b);
      }
    }
  }
  if (d.format == kFmtRgb24 || d.format == kFmtRgba || n == 0) return;
  const int r = (sum[0] + n / 2) / n, g = (sum[1] + n / 2) / n, b = (sum[2] + n / 2) / n;
  if (d.format == kFmtNv12) {
    uint8_t* uv = d.p1 + by * d.s1 + bx * 2;
    uv[0] = RgbToU(r, g, b);
    uv[1] = RgbToV(r, g, b);
  } else {
    d.p1[by * d.s1 + bx] = RgbToU(r, g, b);
    d.p2[by * d.s2 + bx] = RgbToV(r, g, b);
  }
}

}  // namespace trickle
