#include "frame/color_spec.h"

extern "C" {
#include <libavutil/pixdesc.h>
}

namespace trickle {

YuvColorCode YuvColorFor(AVColorSpace space, AVColorRange range, AVPixelFormat format) {
  const bool full = range == AVCOL_RANGE_JPEG || format == AV_PIX_FMT_YUVJ420P;
  const bool bt709 = space == AVCOL_SPC_BT709;
  if (bt709) return full ? kYuvBt709Full : kYuvBt709Limited;
  return full ? kYuvBt601Full : kYuvBt601Limited;
}

std::string UnsupportedVideoFormatReason(AVPixelFormat format) {
  if (format == AV_PIX_FMT_NV12 || format == AV_PIX_FMT_YUV420P || format == AV_PIX_FMT_YUVJ420P) return "";
  const AVPixFmtDescriptor* d = av_pix_fmt_desc_get(format);
  const std::string name = d ? d->name : "unknown";
  if (!d) return "video in an unknown pixel format";
  const int depth = d->comp[0].depth;
  const bool c420 = d->log2_chroma_w == 1 && d->log2_chroma_h == 1;
  std::string what;
  if (depth > 8) what = std::to_string(depth) + "-bit ";
  if (d->nb_components >= 3 && !(d->flags & AV_PIX_FMT_FLAG_RGB)) {
    what += c420 ? "4:2:0" : (d->log2_chroma_w == 1 ? "4:2:2" : (d->log2_chroma_w == 0 ? "4:4:4" : "subsampled"));
  } else if (d->flags & AV_PIX_FMT_FLAG_RGB) {
    what += "RGB";
  } else {
    what += "single-plane";
  }
  return "the video is " + what + " (" + name +
         "); trickle-rt's frames, tensors and encoder take 8-bit 4:2:0 video (yuv420p, yuvj420p, nv12): "
         "re-encode the source as 8-bit 4:2:0 (e.g. H.264 High, HEVC Main)";
}

const char* YuvColorName(YuvColorCode code) {
  switch (code) {
    case kYuvBt709Limited: return "bt709-limited";
    case kYuvBt601Full: return "bt601-full";
    case kYuvBt709Full: return "bt709-full";
    default: return "bt601-limited";
  }
}

}  // namespace trickle
