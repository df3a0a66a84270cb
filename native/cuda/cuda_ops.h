// CUDA runtime services for the frame and tensor ops, behind a plain C++ header (no CUDA headers),
// compiled in both builds: without TRICKLE_HAVE_CUDA every function that needs a device throws
// NativeException ERR_CUDA_UNAVAILABLE. Thread-safe.
//
// Ordering model (CUDA events, never device-wide syncs, in the hot path). Each device has one "ops stream",
// created once and kept for the process, on which every trickle-rt kernel and copy of that device
// runs. It is deliberately a *blocking* stream (not cudaStreamNonBlocking): FFmpeg's CUDA hwcontext
// (NVDEC output copies, av_hwframe_transfer_data, NVENC input) works on the legacy default stream of
// the same primary context, and the legacy default stream is implicitly ordered with blocking
// streams in both directions. So a decoded frame is complete before a kernel that reads it runs, and
// a frame written by fromTensor is complete before FFmpeg reads it, without any synchronisation.
// Consumers on their own streams (TensorRT) wait on the tensor's ready event.
//
// Context rule for every component: call OpsStream(device) (or CudaHwDeviceRef) BEFORE the first
// CUDA runtime call on a device. FFmpeg's CUDA hwcontext insists on the primary context having
// CU_CTX_SCHED_BLOCKING_SYNC and refuses (ENOTSUP) one the runtime already activated with default
// flags; OpsStream lets FFmpeg set the flags first and then attaches the runtime to that context.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

namespace trickle::cuda {

enum class CopyDir { kHostToDevice, kDeviceToHost, kDeviceToDevice };

// Makes `device` current on the calling thread and returns its ops stream (cudaStream_t as void*).
// Throws ERR_CUDA_UNAVAILABLE (no CUDA build, no driver, no such device).
void* OpsStream(int device);
// Stream-ordered device allocation on the ops stream (cudaMallocAsync / cudaFreeAsync).
void* MallocAsync(size_t bytes, int device);
void FreeAsync(void* ptr, int device) noexcept;
// A new event recorded on `stream`, owned by the returned pointer (cudaEventDestroy on release).
std::shared_ptr<void> RecordEvent(int device, void* stream);
// Blocks the calling thread until `event` completed (worker threads only, never the JS thread).
void SynchronizeEvent(void* event);
void StreamWaitEvent(void* stream, void* event);
void MemcpyAsync(void* dst, const void* src, size_t bytes, CopyDir dir, void* stream);
void Memcpy2DAsync(void* dst, size_t dst_pitch, const void* src, size_t src_pitch, size_t width_bytes, size_t rows,
                   CopyDir dir, void* stream);
// Page-locked host memory for device -> host copies (a DMA straight into it, no staging), portable
// across contexts. Makes `device` ready first (OpsStream), so the allocation never activates a
// primary context with other flags than FFmpeg's. nullptr when it cannot be had (CUDA-off build,
// no device, out of pinned memory): callers fall back to pageable memory.
void* HostAllocPinned(size_t bytes, int device) noexcept;
void FreePinned(void* ptr) noexcept;
// Throws NativeException ERR_CUDA for a non-zero cudaError_t from a launcher in kernels.h.
void CheckLaunch(int err, const char* op);

// Calls `fn(status, data)` exactly once, on a CUDA driver thread, after all work enqueued on
// `stream` so far has completed (cudaStreamAddCallback: unlike cudaLaunchHostFunc it also runs
// after a device error, with that error as `status`, so a waiter is always told). `fn` must not
// call the CUDA API, block, or drop the last reference to anything whose destructor does (device
// memory, streams, execution contexts): it should hand `data` to another thread and return.
// Throws ERR_CUDA when the callback cannot be registered (then `fn` is never called), and
// ERR_CUDA_UNAVAILABLE in the CUDA-off build. (CUDA 13 documents cudaStreamAddCallback as slated
// for eventual deprecation; cudaLaunchHostFunc is not a drop-in: it skips the call after an error.)
using StreamDoneFn = void (*)(int status, void* data);
void OnStreamDone(void* stream, StreamDoneFn fn, void* data);
// Blocks until `stream` has drained, ignoring errors: error paths on worker threads, and draining
// runs in flight at process.exit() (bindings/engine_wrap.cc).
void SynchronizeStreamQuietly(void* stream) noexcept;
// "cudaErrorXxx: text" for a status passed to a StreamDoneFn (any thread except the callback's).
std::string ErrorText(int status);

}  // namespace trickle::cuda
