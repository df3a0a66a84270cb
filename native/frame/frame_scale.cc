#include "frame/frame_scale.h"

#include <algorithm>
#include <cmath>

extern "C" {
#include <libswscale/swscale.h>
}

namespace trickle {

namespace {

// One scaler per thread, re-made only when the geometry or formats change.
struct ThreadScaler {
  SwsContext* ctx = nullptr;
  ~ThreadScaler() { sws_freeContext(ctx); }
};
thread_local ThreadScaler t_scaler;

}  // namespace

VideoFramePtr ScaleHostFrame(const VideoFrame& in, int width, int height, ScaleFit fit) {
  if (in.location() != FrameLocation::kHost) {
    throw NativeException("ERR_INVALID_ARG", "scale() takes host frames; CUDA frames are resized by toTensor()", "scale");
  }
  if (width < 2 || height < 2 || width > 16384 || height > 16384 || (width & 1) || (height & 1)) {
    throw NativeException("ERR_INVALID_ARG", "scale() needs an even width and height within 2..16384, got " +
                                                 std::to_string(width) + "x" + std::to_string(height), "scale");
  }
  // The source rectangle: the whole frame (stretch) or the centred part with the target's aspect
  // ratio (cover + crop), on even coordinates so that 4:2:0 chroma stays aligned.
  UniqueAVFrame src(av_frame_clone(in.av_frame()));
  if (!src) throw NativeException("ERR_OUT_OF_MEMORY", "av_frame_clone failed", "av_frame_clone");
  const int sw = in.width(), sh = in.height();
  if (fit == ScaleFit::kCrop) {
    const double scale = std::max(static_cast<double>(width) / sw, static_cast<double>(height) / sh);
    const int cw = std::min(sw, static_cast<int>(std::lround(width / scale)) & ~1);
    const int ch = std::min(sh, static_cast<int>(std::lround(height / scale)) & ~1);
    const int x = ((sw - cw) / 2) & ~1;
    const int y = ((sh - ch) / 2) & ~1;
    src->crop_left = static_cast<size_t>(x);
    src->crop_top = static_cast<size_t>(y);
    src->crop_right = static_cast<size_t>(sw - cw - x);
    src->crop_bottom = static_cast<size_t>(sh - ch - y);
    ThrowIfAvError(av_frame_apply_cropping(src.get(), AV_FRAME_CROP_UNALIGNED), "ERR_INVALID_ARG", "av_frame_apply_cropping");
  }
  const auto src_format = static_cast<AVPixelFormat>(src->format);
  t_scaler.ctx = sws_getCachedContext(t_scaler.ctx, src->width, src->height, src_format, width, height,
                                      AV_PIX_FMT_YUV420P, SWS_BILINEAR, nullptr, nullptr, nullptr);
  if (!t_scaler.ctx) {
    throw NativeException("ERR_INVALID_ARG", std::string("cannot scale from pixel format ") + PixelFormatName(src_format), "sws_getCachedContext");
  }
  UniqueAVFrame out = AllocateHostAVFrame(width, height, AV_PIX_FMT_YUV420P);
  const int rows = sws_scale(t_scaler.ctx, src->data, src->linesize, 0, src->height, out->data, out->linesize);
  if (rows <= 0) throw NativeException("ERR_NATIVE", "sws_scale produced no output", "sws_scale");
  out->pts = src->pts;
  // yuvj420p input is converted to limited range by the scaler.
  out->color_range = src_format == AV_PIX_FMT_YUVJ420P ? AVCOL_RANGE_MPEG : src->color_range;
  out->colorspace = src->colorspace;
  out->color_primaries = src->color_primaries;
  out->color_trc = src->color_trc;
  out->sample_aspect_ratio = AVRational{1, 1};
  return std::make_shared<const VideoFrame>(std::move(out), in.time_base(), nullptr);
}

}  // namespace trickle
