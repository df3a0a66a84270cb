// Launchers for the CUDA kernels in native/cuda/*.cu. Plain C++: callers need no CUDA headers,
// so this header is safe to include from code that also builds with TRICKLE_CUDA=OFF (the
// launchers themselves exist only when TRICKLE_HAVE_CUDA is defined).
// Every launcher enqueues on `stream` (a cudaStream_t passed as void*) and returns a cudaError_t
// as int (0 = success). None of them synchronizes.
#pragma once

#include <cstdint>

namespace trickle::cuda {

// NV12 (Y plane + interleaved UV plane) to packed RGB24, BT.601 limited range, same arithmetic as
// trickle::Nv12ToRgb24Cpu (native/frame/color_convert.h).
int Nv12ToRgb24(const uint8_t* y, int y_pitch, const uint8_t* uv, int uv_pitch, uint8_t* rgb, int rgb_pitch,
                int width, int height, void* stream);

}  // namespace trickle::cuda

// Tensor ops (frame/tensor_math.h holds the per-pixel semantics shared with the CPU loops).
namespace trickle {
struct ToTensorParams;
struct FromTensorParams;
}  // namespace trickle

namespace trickle::cuda {

// One thread per output pixel of p.geo.dst_w x p.geo.dst_h; all pointers in p are device pointers.
int ToTensor(const ToTensorParams& p, void* stream);
// One thread per 2x2 block of the p.width x p.height picture.
int FromTensor(const FromTensorParams& p, void* stream);

}  // namespace trickle::cuda
