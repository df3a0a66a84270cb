#include "cuda/cuda_ops.h"

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "common/native_error.h"

#ifdef TRICKLE_HAVE_CUDA
#include <cuda_runtime_api.h>

#include "frame/cuda_device.h"
#endif

namespace trickle::cuda {

#ifdef TRICKLE_HAVE_CUDA
namespace {

std::string ErrText(cudaError_t e) { return std::string(cudaGetErrorName(e)) + ": " + cudaGetErrorString(e); }

void Check(cudaError_t e, const char* op) {
  if (e != cudaSuccess) throw NativeException("ERR_CUDA", std::string(op) + " failed: " + ErrText(e), op, e);
}

std::mutex g_mu;
std::map<int, cudaStream_t>& Streams() {
  static auto* m = new std::map<int, cudaStream_t>();  // process lifetime
  return *m;
}

}  // namespace

void* OpsStream(int device) {
  std::lock_guard<std::mutex> lock(g_mu);
  auto it = Streams().find(device);
  if (it == Streams().end()) {
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess || device < 0 || device >= count) {
      cudaGetLastError();
      throw NativeException("ERR_CUDA_UNAVAILABLE",
                            e != cudaSuccess ? "no CUDA device: " + ErrText(e)
                                             : "CUDA device " + std::to_string(device) + " does not exist",
                            "cudaGetDeviceCount", e);
    }
    // FFmpeg first: it retains the primary context with the flags its CUDA hwcontext insists on
    // (blocking sync); the runtime then attaches to that same primary context.
    (void)CudaHwDeviceRef(device);
    Check(cudaSetDevice(device), "cudaSetDevice");
    // The stream-ordered pool keeps freed memory for reuse instead of returning it to the driver at
    // every synchronisation (its default release threshold is 0): per-frame tensors and pooled
    // outputs then allocate without a driver call in steady state.
    cudaMemPool_t pool = nullptr;
    if (cudaDeviceGetDefaultMemPool(&pool, device) == cudaSuccess) {
      uint64_t keep = UINT64_MAX;
      cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep);
    }
    cudaGetLastError();
    cudaStream_t s = nullptr;
    // Blocking stream on purpose: see the ordering note in cuda_ops.h.
    Check(cudaStreamCreateWithFlags(&s, cudaStreamDefault), "cudaStreamCreate");
    it = Streams().emplace(device, s).first;
  } else {
    Check(cudaSetDevice(device), "cudaSetDevice");
  }
  return it->second;
}

void* MallocAsync(size_t bytes, int device) {
  auto stream = static_cast<cudaStream_t>(OpsStream(device));
  void* p = nullptr;
  Check(cudaMallocAsync(&p, bytes, stream), "cudaMallocAsync");
  return p;
}

void FreeAsync(void* ptr, int device) noexcept {
  try {
    cudaFreeAsync(ptr, static_cast<cudaStream_t>(OpsStream(device)));
  } catch (...) {
    // The device vanished: nothing left to free into.
  }
}

std::shared_ptr<void> RecordEvent(int device, void* stream) {
  Check(cudaSetDevice(device), "cudaSetDevice");
  cudaEvent_t ev = nullptr;
  Check(cudaEventCreateWithFlags(&ev, cudaEventDisableTiming), "cudaEventCreate");
  std::shared_ptr<void> owned(ev, [](void* e) { cudaEventDestroy(static_cast<cudaEvent_t>(e)); });
  Check(cudaEventRecord(ev, static_cast<cudaStream_t>(stream)), "cudaEventRecord");
  return owned;
}

void SynchronizeEvent(void* event) { Check(cudaEventSynchronize(static_cast<cudaEvent_t>(event)), "cudaEventSynchronize"); }

void StreamWaitEvent(void* stream, void* event) {
  Check(cudaStreamWaitEvent(static_cast<cudaStream_t>(stream), static_cast<cudaEvent_t>(event), 0), "cudaStreamWaitEvent");
}

namespace {
cudaMemcpyKind Kind(CopyDir d) {
  return d == CopyDir::kHostToDevice ? cudaMemcpyHostToDevice
                                     : (d == CopyDir::kDeviceToHost ? cudaMemcpyDeviceToHost : cudaMemcpyDeviceToDevice);
}
}  // namespace

void MemcpyAsync(void* dst, const void* src, size_t bytes, CopyDir dir, void* stream) {
  Check(cudaMemcpyAsync(dst, src, bytes, Kind(dir), static_cast<cudaStream_t>(stream)), "cudaMemcpyAsync");
}

void Memcpy2DAsync(void* dst, size_t dst_pitch, const void* src, size_t src_pitch, size_t width_bytes, size_t rows,
                   CopyDir dir, void* stream) {
  Check(cudaMemcpy2DAsync(dst, dst_pitch, src, src_pitch, width_bytes, rows, Kind(dir), static_cast<cudaStream_t>(stream)),
        "cudaMemcpy2DAsync");
}

void CheckLaunch(int err, const char* op) { Check(static_cast<cudaError_t>(err), op); }

namespace {
struct StreamDone {
  StreamDoneFn fn;
  void* data;
};
void CUDART_CB StreamDoneTrampoline(cudaStream_t, cudaError_t status, void* p) {
  // A driver thread: no CUDA calls here (see cuda_ops.h).
  StreamDone done = *static_cast<StreamDone*>(p);
  delete static_cast<StreamDone*>(p);
  done.fn(static_cast<int>(status), done.data);
}
}  // namespace

void OnStreamDone(void* stream, StreamDoneFn fn, void* data) {
  auto* done = new StreamDone{fn, data};
  const cudaError_t e = cudaStreamAddCallback(static_cast<cudaStream_t>(stream), StreamDoneTrampoline, done, 0);
  if (e != cudaSuccess) {
    delete done;
    cudaGetLastError();
    Check(e, "cudaStreamAddCallback");
  }
}

void SynchronizeStreamQuietly(void* stream) noexcept {
  cudaStreamSynchronize(static_cast<cudaStream_t>(stream));
  cudaGetLastError();
}

std::string ErrorText(int status) { return ErrText(static_cast<cudaError_t>(status)); }

void* HostAllocPinned(size_t bytes, int device) noexcept {
  try {
    OpsStream(device);
  } catch (...) {
    return nullptr;
  }
  void* p = nullptr;
  if (cudaHostAlloc(&p, bytes, cudaHostAllocPortable) != cudaSuccess) {
    cudaGetLastError();
    return nullptr;
  }
  return p;
}

void FreePinned(void* ptr) noexcept {
  if (ptr) cudaFreeHost(ptr);
}

#else  // !TRICKLE_HAVE_CUDA

namespace {
[[noreturn]] void Unavailable(const char* op) {
  throw NativeException("ERR_CUDA_UNAVAILABLE",
                        "trickle-rt was built without CUDA (TRICKLE_CUDA=OFF or no nvcc at build time); "
                        "rebuild with nvcc on PATH or install a prebuilt binary",
                        op);
}
}  // namespace

void* OpsStream(int) { Unavailable("OpsStream"); }
void* MallocAsync(size_t, int) { Unavailable("cudaMallocAsync"); }
void FreeAsync(void*, int) noexcept {}
std::shared_ptr<void> RecordEvent(int, void*) { Unavailable("cudaEventRecord"); }
void SynchronizeEvent(void*) { Unavailable("cudaEventSynchronize"); }
void StreamWaitEvent(void*, void*) { Unavailable("cudaStreamWaitEvent"); }
void MemcpyAsync(void*, const void*, size_t, CopyDir, void*) { Unavailable("cudaMemcpyAsync"); }
void Memcpy2DAsync(void*, size_t, const void*, size_t, size_t, size_t, CopyDir, void*) { Unavailable("cudaMemcpy2DAsync"); }
void CheckLaunch(int, const char* op) { Unavailable(op); }
void* HostAllocPinned(size_t, int) noexcept { return nullptr; }
void FreePinned(void*) noexcept {}
void OnStreamDone(void*, StreamDoneFn, void*) { Unavailable("cudaStreamAddCallback"); }
void SynchronizeStreamQuietly(void*) noexcept {}
std::string ErrorText(int status) { return "CUDA error " + std::to_string(status); }

#endif

}  // namespace trickle::cuda
