// NV12 -> RGB24 conversion kernel. The arithmetic is shared with the CPU implementation through
// frame/color_math.h so both produce bit-identical results.
#include <cuda_runtime.h>

#include "cuda/kernels.h"
#include "frame/color_math.h"

namespace trickle::cuda {
namespace {

__global__ void Nv12ToRgb24Kernel(const uint8_t* __restrict__ y, int y_pitch, const uint8_t* __restrict__ uv,
                                  int uv_pitch, uint8_t* __restrict__ rgb, int rgb_pitch, int width, int height) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x;
  const int row = blockIdx.y * blockDim.y + threadIdx.y;
  if (x >= width || row >= height) return;
  const uint8_t luma = y[row * y_pitch + x];
  const uint8_t* chroma = uv + (row / 2) * uv_pitch + (x / 2) * 2;
  uint8_t* out = rgb + row * rgb_pitch + x * 3;
  trickle::Bt601LimitedToRgb(luma, chroma[0], chroma[1], out);
}

}  // namespace

int Nv12ToRgb24(const uint8_t* y, int y_pitch, const uint8_t* uv, int uv_pitch, uint8_t* rgb, int rgb_pitch,
                int width, int height, void* stream) {
  const dim3 block(32, 8);
  const dim3 grid((width + block.x - 1) / block.x, (height + block.y - 1) / block.y);
  Nv12ToRgb24Kernel<<<grid, block, 0, static_cast<cudaStream_t>(stream)>>>(y, y_pitch, uv, uv_pitch, rgb,
                                                                           rgb_pitch, width, height);
  return static_cast<int>(cudaGetLastError());
}

}  // namespace trickle::cuda
