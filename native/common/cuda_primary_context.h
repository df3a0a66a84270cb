// The one owner of every CUDA device's primary context in the process. FFmpeg (NVDEC, NVENC, the
// hw frames of VideoFrames), the CUDA runtime (our kernels, TensorRT) and the driver probe all share
// the primary context, and FFmpeg's CUDA hwcontext refuses one that was activated with other
// scheduling flags than CU_CTX_SCHED_BLOCKING_SYNC. So, before anything in trickle-rt retains or
// activates a device's primary context, PreparePrimaryContextLocked sets those flags on it (driver
// API, through ffnvcodec's loader: no CUDA headers, works in the CUDA-OFF build too). The order in
// which users touch the GPU (engine load first, decoder first, capabilities() first) then no
// longer matters. Callers hold PrimaryContextLock() across preparing and retaining.
//
// Threading: thread-safe; the lock is process-wide.
#pragma once

#include <mutex>

namespace trickle {

std::mutex& PrimaryContextLock();

// With PrimaryContextLock() held: makes the flags of `device`'s primary context the ones FFmpeg
// needs (once per device). Throws NativeException ERR_CUDA_UNAVAILABLE when there is no driver or
// no such device, and when something outside trickle-rt already activated the context with other
// flags (the message says how to avoid it).
void PreparePrimaryContextLocked(int device);

}  // namespace trickle
