// CPU colour conversions with the exact semantics of the CUDA kernels (native/cuda/kernels.h).
// Pure functions, any thread.
#pragma once

#include <cstdint>

namespace trickle {

void Nv12ToRgb24Cpu(const uint8_t* y, int y_pitch, const uint8_t* uv, int uv_pitch, uint8_t* rgb, int rgb_pitch,
                    int width, int height);

}  // namespace trickle
