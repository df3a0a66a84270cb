// RAII owners for FFmpeg objects and AVERROR helpers. Header-only, no N-API.
// Threading: the handles are plain owners; whoever owns one decides which thread uses it.
#pragma once

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <libavutil/buffer.h>
#include <libavutil/error.h>
#include <libavutil/frame.h>
}

#include <memory>
#include <string>

#include "common/native_error.h"

namespace trickle {

struct AVFrameDeleter {
  void operator()(AVFrame* f) const noexcept { av_frame_free(&f); }
};
struct AVPacketDeleter {
  void operator()(AVPacket* p) const noexcept { av_packet_free(&p); }
};
struct AVCodecContextDeleter {
  void operator()(AVCodecContext* c) const noexcept { avcodec_free_context(&c); }
};
struct AVBufferRefDeleter {
  void operator()(AVBufferRef* b) const noexcept { av_buffer_unref(&b); }
};
// Input contexts opened with avformat_open_input must be closed with avformat_close_input.
struct AVInputFormatContextDeleter {
  void operator()(AVFormatContext* c) const noexcept { avformat_close_input(&c); }
};
// A custom AVIOContext: its buffer is owned by the context (may have been reallocated by FFmpeg).
struct AVIOContextDeleter {
  void operator()(AVIOContext* io) const noexcept {
    if (io) av_freep(&io->buffer);
    avio_context_free(&io);
  }
};

using UniqueAVFrame = std::unique_ptr<AVFrame, AVFrameDeleter>;
using UniqueAVPacket = std::unique_ptr<AVPacket, AVPacketDeleter>;
using UniqueAVCodecContext = std::unique_ptr<AVCodecContext, AVCodecContextDeleter>;
using UniqueAVBufferRef = std::unique_ptr<AVBufferRef, AVBufferRefDeleter>;
using UniqueAVInputFormatContext = std::unique_ptr<AVFormatContext, AVInputFormatContextDeleter>;
using UniqueAVIOContext = std::unique_ptr<AVIOContext, AVIOContextDeleter>;

inline UniqueAVFrame MakeAVFrame() {
  UniqueAVFrame f(av_frame_alloc());
  if (!f) throw NativeException("ERR_OUT_OF_MEMORY", "av_frame_alloc failed", "av_frame_alloc");
  return f;
}
inline UniqueAVPacket MakeAVPacket() {
  UniqueAVPacket p(av_packet_alloc());
  if (!p) throw NativeException("ERR_OUT_OF_MEMORY", "av_packet_alloc failed", "av_packet_alloc");
  return p;
}

inline std::string AvErrorString(int err) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {0};
  av_strerror(err, buf, sizeof(buf));
  return buf;
}

// Throws a NativeException for a negative FFmpeg return value.
inline void ThrowIfAvError(int ret, const char* code, const char* op) {
  if (ret < 0) {
    throw NativeException(code, std::string(op) + " failed: " + AvErrorString(ret), op, ret);
  }
}

}  // namespace trickle
