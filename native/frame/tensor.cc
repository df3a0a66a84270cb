#include "frame/tensor.h"

#include <atomic>
#include <cstdlib>
#include <new>

#include "common/native_error.h"
#include "cuda/cuda_ops.h"
#include "frame/copy_counters.h"

namespace trickle {
namespace {

struct Counters {
  std::atomic<uint64_t> v[8];
};
Counters& counters() {
  static Counters c{};
  return c;
}

}  // namespace

void CountCopy(CopyKind kind, size_t bytes) {
  const int i = static_cast<int>(kind);
  counters().v[i].fetch_add(1, std::memory_order_relaxed);
  counters().v[4 + i].fetch_add(bytes, std::memory_order_relaxed);
}

CopyCounterValues ReadCopyCounters() {
  auto& c = counters().v;
  CopyCounterValues r;
  r.host_to_device = c[0].load();
  r.device_to_host = c[1].load();
  r.device_to_device = c[2].load();
  r.host_to_host = c[3].load();
  r.host_to_device_bytes = c[4].load();
  r.device_to_host_bytes = c[5].load();
  r.device_to_device_bytes = c[6].load();
  r.host_to_host_bytes = c[7].load();
  return r;
}

void ResetCopyCounters() {
  for (auto& a : counters().v) a.store(0);
}

const char* DTypeName(DType t) {
  switch (t) {
    case DType::kUint8: return "uint8";
    case DType::kFloat16: return "float16";
    default: return "float32";
  }
}

int64_t Tensor::elements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::shared_ptr<TensorStorage> TensorStorage::AllocateHost(size_t bytes) {
  std::shared_ptr<TensorStorage> s(new TensorStorage());
  // 64-byte alignment: any dtype, and vector loads in the CPU loops.
  const size_t rounded = ((bytes ? bytes : 1) + 63) / 64 * 64;
  s->data_ = std::aligned_alloc(64, rounded);
  if (!s->data_) throw NativeException("ERR_OUT_OF_MEMORY", "host tensor allocation failed", "aligned_alloc");
  s->bytes_ = bytes;
  s->location_ = TensorLocation::kHost;
  return s;
}

std::shared_ptr<TensorStorage> TensorStorage::AllocateCuda(size_t bytes, int device) {
  std::shared_ptr<TensorStorage> s(new TensorStorage());
  s->data_ = cuda::MallocAsync(bytes ? bytes : 1, device);
  s->bytes_ = bytes;
  s->location_ = TensorLocation::kCuda;
  s->device_ = device;
  return s;
}

TensorStorage::~TensorStorage() {
  if (!data_) return;
  if (location_ == TensorLocation::kHost) {
    std::free(data_);
  } else {
    cuda::FreeAsync(data_, device_);
  }
}

}  // namespace trickle
