// toTensor / fromTensor kernels. The per-pixel arithmetic is frame/tensor_math.h, shared with the
// CPU implementation (frame/tensor_ops.cc): results are bit-identical.
#include <cuda_runtime.h>

#include "cuda/kernels.h"
#include "frame/tensor_math.h"

namespace trickle::cuda {
namespace {

__global__ void ToTensorKernel(const ToTensorParams p) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x;
  const int y = blockIdx.y * blockDim.y + threadIdx.y;
  if (x >= p.geo.dst_w || y >= p.geo.dst_h) return;
  ToTensorPixel(p, x, y);
}

__global__ void FromTensorKernel(const FromTensorParams p) {
  const int bx = blockIdx.x * blockDim.x + threadIdx.x;
  const int by = blockIdx.y * blockDim.y + threadIdx.y;
  if (bx >= (p.width + 1) / 2 || by >= (p.height + 1) / 2) return;
  FromTensorBlock(p, bx, by);
}

}  // namespace

int ToTensor(const ToTensorParams& p, void* stream) {
  const dim3 block(32, 8);
  const dim3 grid((p.geo.dst_w + block.x - 1) / block.x, (p.geo.dst_h + block.y - 1) / block.y);
  ToTensorKernel<<<grid, block, 0, static_cast<cudaStream_t>(stream)>>>(p);
  return static_cast<int>(cudaGetLastError());
}

int FromTensor(const FromTensorParams& p, void* stream) {
  const dim3 block(32, 8);
  const int bw = (p.width + 1) / 2, bh = (p.height + 1) / 2;
  const dim3 grid((bw + block.x - 1) / block.x, (bh + block.y - 1) / block.y);
  FromTensorKernel<<<grid, block, 0, static_cast<cudaStream_t>(stream)>>>(p);
  return static_cast<int>(cudaGetLastError());
}

}  // namespace trickle::cuda
