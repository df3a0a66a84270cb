// Which YUV -> RGB conversion a frame needs, from its colour tags. Pure functions, no N-API, no
// CUDA; the CPU loops and the CUDA kernels both take the resulting YuvColorCode (color_math.h).
//
// Rules (docs/frames.md, "Colour"):
// - matrix: BT.709 when the frame says AVCOL_SPC_BT709; BT.601 for BT.601-family tags
//   (BT470BG, SMPTE170M, FCC) and for unspecified/unknown tags (libswscale's default too);
// - range: full when the frame says AVCOL_RANGE_JPEG or its pixel format is a yuvj* one; limited
//   otherwise (unspecified included);
// - pixel formats: 8-bit 4:2:0 only (nv12, yuv420p, yuvj420p); anything else (p010, 4:2:2, 4:4:4,
//   high bit depth) is refused with a message that says so, at the start of a stream.
#pragma once

#include <string>

extern "C" {
#include <libavutil/pixfmt.h>
}

#include "frame/color_math.h"

namespace trickle {

YuvColorCode YuvColorFor(AVColorSpace space, AVColorRange range, AVPixelFormat format);

// "" when frames of `format` (the software format of CUDA frames) can be converted to tensors and
// encoded as 8-bit 4:2:0 H.264; else why not, for the user.
std::string UnsupportedVideoFormatReason(AVPixelFormat format);

const char* YuvColorName(YuvColorCode code);  // "bt601-limited", "bt709-full", ...

}  // namespace trickle
