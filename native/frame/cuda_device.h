// FFmpeg CUDA device and frames contexts shared by everything in the process that handles CUDA
// frames (NVDEC decode, NVENC encode, fromTensor/upload). No N-API. Thread-safe.
//
// One AVHWDeviceContext per device, created with FFmpeg's "primary_ctx" option so that FFmpeg, the
// CUDA runtime (our kernels, TensorRT) and user interop all share the device's primary context:
// device pointers are only valid inside the context that allocated them. Its user_opaque holds
// device+1 (VideoFrame reads the device index from it). Loads libcuda lazily through FFmpeg's
// ffnvcodec loader; no CUDA headers needed, so this compiles in the CUDA-OFF build too.
#pragma once

extern "C" {
#include <libavutil/pixfmt.h>
}

#include "common/ffmpeg_handles.h"

namespace trickle {

// A new reference to the device context of CUDA device `device`. Throws NativeException
// ERR_CUDA_UNAVAILABLE when there is no driver or no such device.
UniqueAVBufferRef CudaHwDeviceRef(int device);

// A new reference to a cached hw frames context (dynamic pool) for (device, width, height,
// sw_format), for allocating CUDA frames with av_hwframe_get_buffer.
UniqueAVBufferRef CudaHwFramesRef(int device, int width, int height, AVPixelFormat sw_format);

}  // namespace trickle
