// Resizing a host VideoFrame in YUV, in one libswscale pass: scale to cover the target size and
// centre-crop (the stream's input transform), or stretch. The output is a new yuv420p host frame
// with the input's timestamp; no RGB step. CUDA frames are not handled here (the tensor ops scale
// them on the device). No N-API; safe to call from any thread (one cached scaler per thread).
#pragma once

#include "frame/video_frame.h"

namespace trickle {

enum class ScaleFit { kCrop, kStretch };

// Throws NativeException ERR_INVALID_ARG for a CUDA frame or a size outside 2..16384 (even).
VideoFramePtr ScaleHostFrame(const VideoFrame& in, int width, int height, ScaleFit fit);

}  // namespace trickle
