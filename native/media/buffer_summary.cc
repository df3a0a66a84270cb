#include "media/buffer_summary.h"

#include "common/ffmpeg_handles.h"
#include "media/memory_input.h"

namespace trickle {

VideoSummary SummarizeVideo(const uint8_t* data, size_t size) {
  MemoryInput input(data, size);
  AVFormatContext* fmt = input.format();
  const AVCodec* codec = nullptr;
  const int stream_index = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
  if (stream_index < 0 || !codec) {
    throw NativeException("ERR_NO_VIDEO_STREAM",
                          stream_index == AVERROR_DECODER_NOT_FOUND ? "no decoder for the video stream"
                                                                    : "the input has no video stream",
                          "av_find_best_stream", stream_index);
  }
  AVStream* stream = fmt->streams[stream_index];
  UniqueAVCodecContext ctx(avcodec_alloc_context3(codec));
  if (!ctx) throw NativeException("ERR_OUT_OF_MEMORY", "avcodec_alloc_context3 failed", "avcodec_alloc_context3");
  ThrowIfAvError(avcodec_parameters_to_context(ctx.get(), stream->codecpar), "ERR_DECODE",
                 "avcodec_parameters_to_context");
  ctx->pkt_timebase = stream->time_base;
  ThrowIfAvError(avcodec_open2(ctx.get(), codec, nullptr), "ERR_DECODER_UNAVAILABLE", "avcodec_open2");

  VideoSummary s;
  s.codec = codec->name;
  s.time_base_num = stream->time_base.num;
  s.time_base_den = stream->time_base.den;
  UniqueAVPacket pkt = MakeAVPacket();
  UniqueAVFrame frame = MakeAVFrame();

  auto drain = [&]() {
    for (;;) {
      int ret = avcodec_receive_frame(ctx.get(), frame.get());
      if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) return;
      if (ret < 0) {
        ++s.decode_errors;
        return;
      }
      if (s.frames == 0) {
        s.width = frame->width;
        s.height = frame->height;
        if (frame->best_effort_timestamp != AV_NOPTS_VALUE) {
          s.has_first_pts = true;
          s.first_pts = frame->best_effort_timestamp;
        }
      }
      ++s.frames;
      av_frame_unref(frame.get());
    }
  };

  for (;;) {
    int ret = av_read_frame(fmt, pkt.get());
    if (ret < 0) break;  // EOF or unreadable tail: decode what we have
    if (pkt->stream_index == stream_index) {
      if (avcodec_send_packet(ctx.get(), pkt.get()) < 0) ++s.decode_errors;
      drain();
    }
    av_packet_unref(pkt.get());
  }
  avcodec_send_packet(ctx.get(), nullptr);
  drain();
  return s;
}

}  // namespace trickle
