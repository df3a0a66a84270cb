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
