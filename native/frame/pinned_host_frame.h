// Host frames in page-locked memory, for downloads of CUDA frames (the encoder's x264 path,
// frame.download()). A device -> host copy into pageable memory is staged by the driver through its
// own pinned buffer; into pinned memory it is one DMA. Buffers come from a pool per frame size and
// format, so steady-state downloads allocate nothing. No N-API. Thread-safe.
#pragma once

extern "C" {
#include <libavutil/pixfmt.h>
}

#include "common/ffmpeg_handles.h"

namespace trickle {

// A host frame of `format`, `width` x `height` whose buffer is pinned (falls back to ordinary
// memory when pinned memory cannot be had: no CUDA in this build, no device, out of pinned memory).
// `device`: the CUDA device the frame is downloaded from.
UniqueAVFrame AllocatePinnedHostAVFrame(int width, int height, AVPixelFormat format, int device);

}  // namespace trickle
