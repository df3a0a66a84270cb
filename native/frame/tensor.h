// Dense tensors in host or CUDA device memory: the currency between frames (toTensor/fromTensor),
// TensorRT engines and user code. No N-API.
//
// Ownership: a Tensor owns its storage through a shared TensorStorage, so views and in-flight jobs
// keep memory alive; JS `close()` drops the JS reference only (same rule as VideoFrame). The
// contents may be written by one job at a time; ordering between GPU jobs uses the CUDA event
// recorded in `ready_event` (set by the producer, waited on by consumers on their own stream).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace trickle {

enum class DType { kUint8, kFloat16, kFloat32 };
enum class TensorLocation { kHost, kCuda };

inline size_t DTypeSize(DType t) { return t == DType::kUint8 ? 1 : (t == DType::kFloat16 ? 2 : 4); }
const char* DTypeName(DType t);  // "uint8" | "float16" | "float32"

// Raw storage. Host storage is plain aligned memory; CUDA storage is device memory on `device`.
// Freed by the destructor (for CUDA: on the device it was allocated on).
class TensorStorage {
 public:
  static std::shared_ptr<TensorStorage> AllocateHost(size_t bytes);
  // Throws NativeException ERR_CUDA_UNAVAILABLE when built without CUDA or no device. Device
  // memory comes from the stream-ordered allocator on the device's ops stream
  // (cuda/cuda_ops.h) and is freed there: a consumer on another stream must hold a reference to the
  // tensor until its own work has completed (or made the ops stream wait on it).
  static std::shared_ptr<TensorStorage> AllocateCuda(size_t bytes, int device);
  ~TensorStorage();
  TensorStorage(const TensorStorage&) = delete;
  TensorStorage& operator=(const TensorStorage&) = delete;

  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }
  TensorLocation location() const { return location_; }
  int device() const { return device_; }

 private:
  TensorStorage() = default;
  void* data_ = nullptr;
  size_t bytes_ = 0;
  TensorLocation location_ = TensorLocation::kHost;
  int device_ = -1;
};

struct Tensor {
  std::vector<int64_t> shape;
  DType dtype = DType::kUint8;
  std::shared_ptr<TensorStorage> storage;
  size_t byte_offset = 0;
  // CUDA tensors: an event (cudaEvent_t, owned by the shared_ptr) recorded on the producer's stream
  // after the work that wrote the contents; a consumer on another stream calls
  // cudaStreamWaitEvent(its_stream, ready_event.get()) before reading. Null when the contents were
  // complete at creation (host tensors, synchronous producers).
  std::shared_ptr<void> ready_event;

  TensorLocation location() const { return storage->location(); }
  int device() const { return storage->device(); }
  int64_t elements() const;
  size_t bytes() const { return static_cast<size_t>(elements()) * DTypeSize(dtype); }
  void* data() const { return static_cast<uint8_t*>(storage->data()) + byte_offset; }
};

using TensorPtr = std::shared_ptr<const Tensor>;

}  // namespace trickle
