// Video half of a StreamEncoder: opens libx264 or h264_nvenc on the first frame, brings each
// frame to what the encoder takes (CUDA frames to NVENC as they are, or downloaded; host frames
// converted with libswscale when their size or pixel format differ), re-times pts so the output is
// monotonic (90 kHz), forces an IDR every `gop_seconds` of media time, and hands every packet out.
// No N-API.
//
// Threading: owned by the encoder thread; every method is called there.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/ffmpeg_handles.h"
#include "frame/video_frame.h"
#include "media/encoder_report.h"
#include "media/stream_encoder_options.h"

struct SwsContext;

namespace trickle {

// Pixels per x264 slice thread when the caller does not say (a 1080p frame: 3 threads at most).
constexpr int64_t kPixelsPerEncoderThread = 512 * 1024;

// Encoder threads when the caller does not say: min(8, cores / live video encoders, pixels of a
// width x height frame / kPixelsPerEncoderThread), at least 1.
int DefaultEncoderThreads(int width, int height);

class VideoEncoder {
 public:
  // Receives each packet (90 kHz); it may keep what it needs and must leave `pkt` unreferenced.
  using PacketFn = std::function<void(AVPacket* pkt)>;

  VideoEncoder(const StreamEncoderOptions& options, EncoderReport* report);
  ~VideoEncoder();
  VideoEncoder(const VideoEncoder&) = delete;
  VideoEncoder& operator=(const VideoEncoder&) = delete;

  // Null until the first frame opened the encoder.
  const AVCodecContext* context() const { return ctx_.get(); }
  // Added to input timestamps by the re-timing (90 kHz); audio follows the same shift.
  int64_t pts_offset() const { return pts_offset_; }

  // Opens the encoder for `first` unless it is open. Throws ERR_NVENC_UNAVAILABLE /
  // ERR_ENCODER_UNAVAILABLE / ERR_INVALID_ARG / ERR_ENCODE.
  void Open(const VideoFrame& first);
  // Encodes `frame` (the encoder must be open). `force_key`: this frame is an IDR whatever the GOP
  // clock says. Returns false when the frame was dropped (counted as rejected, warning raised).
  bool Encode(const VideoFrame& frame, bool force_key, const PacketFn& out);
  // End of stream: drains what the encoder still holds.
  void Flush(const PacketFn& out);

 private:
  void OpenCodec(const std::string& name, const VideoFrame& first);
  int64_t OutputPts(int64_t pts, AVRational tb, bool* retimed);
  UniqueAVFrame PrepareHost(const AVFrame* src);
  UniqueAVFrame Download(const AVFrame* src, int device);
  void Drain(const PacketFn& out);

  struct SwsDeleter {
    void operator()(SwsContext* c) const noexcept;
  };

  const StreamEncoderOptions& opts_;
  EncoderReport* report_;
  UniqueAVCodecContext ctx_;
  bool nvenc_ = false;
  AVPixelFormat enc_sw_format_ = AV_PIX_FMT_YUV420P;  // host pixel format the encoder takes
  std::unique_ptr<SwsContext, SwsDeleter> sws_;
  UniqueAVFrame scaled_ = MakeAVFrame();     // reused conversion target
  UniqueAVPacket pkt_ = MakeAVPacket();
  int64_t last_video_pts_ = AV_NOPTS_VALUE;  // output time base (90 kHz)
  int64_t pts_offset_ = 0;                    // added to input pts (re-timing after a backward jump)
  bool have_offset_ = false;
  int64_t frame_step_ = 3000;                 // 90 kHz ticks of one frame (from fps, then measured)
  int64_t last_key_pts_ = AV_NOPTS_VALUE;
  int64_t gop_ticks_ = 180000;
};

// Whether h264_nvenc can be opened at all in this build and on this machine; `reason` says why not.
bool NvencAvailable(std::string* reason);

}  // namespace trickle
