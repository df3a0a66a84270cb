#include "media/stream_encoder.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <deque>

extern "C" {
#include <libavutil/channel_layout.h>
#include <libavutil/hwcontext.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
}

#include "common/gpu_driver.h"
#include "frame/copy_counters.h"
#include "frame/cuda_device.h"

namespace trickle {

namespace {

constexpr AVRational kTsTimeBase{1, 90000};
constexpr int kIoBufferSize = 64 * 1024;
// Audio held while no segment declares the audio stream (see held_audio): ~10 s of AAC at 48 kHz.
constexpr size_t kMaxHeldAudioPackets = 512;

struct SwsDeleter {
  void operator()(SwsContext* c) const noexcept { sws_freeContext(c); }
};

struct OutputContextDeleter {
  void operator()(AVFormatContext* c) const noexcept { avformat_free_context(c); }
};
using UniqueOutputContext = std::unique_ptr<AVFormatContext, OutputContextDeleter>;

double MsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

bool NvencAvailable(std::string* reason) {
  if (!avcodec_find_encoder_by_name("h264_nvenc")) {
    *reason = "this FFmpeg build has no h264_nvenc encoder";
    return false;
  }
  const GpuDriverInfo& drv = ProbeGpuDriver();
  if (!drv.driver_loaded) {
    *reason = drv.driver_error.empty() ? "no NVIDIA driver" : drv.driver_error;
    return false;
  }
  for (const GpuDeviceInfo& d : drv.devices) {
    if (d.nvenc.available) return true;
    *reason = d.nvenc.reason;
  }
  if (reason->empty()) *reason = "no CUDA device";
  return false;
}

// x264 preset name -> NVENC p1 (fastest) .. p7 (slowest).
const char* NvencPreset(const std::string& preset) {
  if (preset == "ultrafast" || preset == "superfast") return "p1";
  if (preset == "veryfast") return "p2";
  if (preset == "faster") return "p3";
  if (preset == "fast") return "p4";
  if (preset == "medium") return "p5";
  if (preset == "slow") return "p6";
  if (preset == "slower" || preset == "veryslow" || preset == "placebo") return "p7";
  if (preset.size() == 2 && preset[0] == 'p') return preset.c_str();
  return "p1";
}

}  // namespace

struct StreamEncoder::Impl {
  explicit Impl(StreamEncoder* owner) : self(owner), opts(owner->options_) {}
  StreamEncoder* self;
  const StreamEncoderOptions& opts;

  // ---- video encoder ----
  UniqueAVCodecContext video_ctx;
  bool nvenc = false;
  AVPixelFormat enc_sw_format = AV_PIX_FMT_YUV420P;  // host pixel format the encoder takes
  std::unique_ptr<SwsContext, SwsDeleter> sws;
  UniqueAVFrame scaled = MakeAVFrame();     // reused conversion target
  UniqueAVFrame downloaded = MakeAVFrame(); // reused device->host target
  UniqueAVPacket pkt = MakeAVPacket();
  int64_t last_video_pts = AV_NOPTS_VALUE;  // output time base (90 kHz)
  int64_t pts_offset = 0;                    // added to input pts (re-timing after a backward jump)
  bool have_offset = false;
  int64_t frame_step = 3000;                 // 90 kHz ticks of one frame (from fps, then measured)
  int64_t last_key_pts = AV_NOPTS_VALUE;
  int64_t gop_ticks = 180000;

  // ---- audio ----
  UniqueAVCodecContext audio_ctx;   // kAac / kOpus
  bool audio_failed = false;
  std::vector<std::vector<float>> fifo;  // per channel
  int64_t audio_next_pts = AV_NOPTS_VALUE;  // in 1/sample_rate
  UniqueAVFrame audio_frame = MakeAVFrame();
  std::shared_ptr<const AudioStreamInfo> passthrough_info;  // params of the passthrough stream

  // ---- muxer / segments ----
  UniqueOutputContext mux;
  UniqueAVIOContext mux_io;
  AVStream* mux_video = nullptr;
  AVStream* mux_audio = nullptr;
  std::shared_ptr<const AudioStreamInfo> mux_audio_info;  // passthrough params of the open segment
  int64_t segment = -1;
  bool segment_first_chunk = false;
  std::vector<uint8_t> pending;  // bytes written by the muxer since the last flush
  int64_t last_audio_dts = AV_NOPTS_VALUE;
  int64_t last_mux_video_dts = AV_NOPTS_VALUE;
  // Audio that arrived while the open segment had no audio stream (the first audio of a stream
  // usually comes after the first video frame opened segment 0, and an MPEG-TS stream list is fixed
  // once its header is written). It is held here, already in the output time base, a segment cut
  // is requested at the next video frame (forced IDR), and the new segment, which declares the
  // audio stream, starts with these packets. Bounded: the oldest are dropped beyond the limit.
  std::deque<UniqueAVPacket> held_audio;
  bool cut_for_audio = false;

  void Stats(const std::function<void(StreamEncoderStats&)>& fn) {
    std::lock_guard<std::mutex> lock(self->stats_mu_);
    fn(self->stats_);
  }
  void Warn(const std::string& code, const std::string& message, const std::string& op) {
    Stats([&](StreamEncoderStats& s) { s.last_warning = message; });
    self->sink_->OnWarning(NativeError{code, message, op, 0, false});
  }

  // ------------------------------------------------------------------------------------------
  // Video encoder

  void OpenVideo(const VideoFrame& first) {
    const bool cuda_frame = first.location() == FrameLocation::kCuda;
    std::string name = opts.encoder;
    std::string why;
    if (name == "auto") name = (cuda_frame && NvencAvailable(&why)) ? "h264_nvenc" : "libx264";
    if (name == "h264_nvenc" && !NvencAvailable(&why)) {
      throw NativeException("ERR_NVENC_UNAVAILABLE", "h264_nvenc is not available: " + why +
                                                          " (use encoder 'libx264' or 'auto')",
                            "h264_nvenc");
    }
    const AVCodec* codec = avcodec_find_encoder_by_name(name.c_str());
    if (!codec) throw NativeException("ERR_ENCODER_UNAVAILABLE", "encoder " + name + " is not in this FFmpeg build", "avcodec_find_encoder_by_name");
    nvenc = name == "h264_nvenc";
    UniqueAVCodecContext ctx(avcodec_alloc_context3(codec));
    if (!ctx) throw NativeException("ERR_OUT_OF_MEMORY", "avcodec_alloc_context3 failed", "avcodec_alloc_context3");
    const int width = opts.width > 0 ? opts.width : first.width();
    const int height = opts.height > 0 ? opts.height : first.height();
    if (width <= 0 || height <= 0 || (width & 1) || (height & 1)) {
      throw NativeException("ERR_INVALID_ARG", "H.264 4:2:0 output needs a positive even width and height, got " +
                                                   std::to_string(width) + "x" + std::to_string(height), "encoder");
    }
    ctx->width = width;
    ctx->height = height;
    ctx->time_base = kTsTimeBase;
    const double fps = opts.fps > 0 ? opts.fps : 30;
    ctx->framerate = av_d2q(fps, 100000);
    ctx->max_b_frames = 0;
    ctx->gop_size = 1 << 30;  // keyframes are forced on media time, never by frame count
    ctx->sample_aspect_ratio = AVRational{1, 1};
    if (opts.bitrate > 0) {
      ctx->bit_rate = opts.bitrate;
      ctx->rc_max_rate = opts.bitrate;
      ctx->rc_buffer_size = static_cast<int>(std::min<int64_t>(opts.bitrate, INT32_MAX));
    }
    const int hw = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
    ctx->thread_count = opts.threads > 0 ? opts.threads : std::min(hw, 8);
    if (nvenc && cuda_frame && first.width() == width && first.height() == height) {
      // NVENC takes the decoder's CUDA frames directly (no copy): share its frames context.
      ctx->pix_fmt = AV_PIX_FMT_CUDA;
      ctx->hw_frames_ctx = av_buffer_ref(first.av_frame()->hw_frames_ctx);
      enc_sw_format = first.pixel_format();
    } else {
      // Host input. NV12 is taken as is by both encoders (no conversion from NVDEC downloads).
      const AVPixelFormat src = first.pixel_format();
      enc_sw_format = (src == AV_PIX_FMT_NV12) ? AV_PIX_FMT_NV12 : AV_PIX_FMT_YUV420P;
      ctx->pix_fmt = enc_sw_format;
      // NVENC from host frames still runs in the process-wide primary context of its device.
      if (nvenc) ctx->hw_device_ctx = CudaHwDeviceRef(first.device() >= 0 ? first.device() : 0).release();
    }
    AVDictionary* o = nullptr;
    if (nvenc) {
      av_dict_set(&o, "preset", NvencPreset(opts.preset), 0);
      av_dict_set(&o, "tune", "ll", 0);
      av_dict_set(&o, "zerolatency", "1", 0);
      av_dict_set(&o, "forced-idr", "1", 0);
      av_dict_set(&o, "no-scenecut", "1", 0);
      av_dict_set(&o, "profile", opts.profile.c_str(), 0);
      if (opts.bitrate > 0) av_dict_set(&o, "rc", "cbr", 0);
    } else {
      av_dict_set(&o, "preset", opts.preset.c_str(), 0);
      if (!opts.tune.empty()) av_dict_set(&o, "tune", opts.tune.c_str(), 0);
      av_dict_set(&o, "profile", opts.profile.c_str(), 0);
      av_dict_set(&o, "forced-idr", "1", 0);
      av_dict_set(&o, "x264-params", "scenecut=0:bframes=0", 0);
    }
    int ret = avcodec_open2(ctx.get(), codec, &o);
    av_dict_free(&o);
    if (ret < 0) {
      throw NativeException(nvenc ? "ERR_NVENC_UNAVAILABLE" : "ERR_ENCODE",
                            "avcodec_open2(" + name + ") failed: " + AvErrorString(ret), "avcodec_open2", ret);
    }
    video_ctx = std::move(ctx);
    frame_step = std::max<int64_t>(1, static_cast<int64_t>(std::llround(90000.0 / fps)));
    gop_ticks = std::max<int64_t>(1, static_cast<int64_t>(std::llround(opts.gop_seconds * 90000.0)));
    Stats([&](StreamEncoderStats& s) {
      s.encoder = name;
      s.width = width;
      s.height = height;
    });
  }

  // Output pts (90 kHz) for an input frame: input pts rescaled, shifted by the re-timing offset,
  // never equal to or before the previous one.
  int64_t OutputPts(int64_t pts, AVRational tb, bool* retimed) {
    *retimed = false;
    int64_t in = pts == AV_NOPTS_VALUE ? AV_NOPTS_VALUE : av_rescale_q(pts, tb, kTsTimeBase);
    if (in == AV_NOPTS_VALUE) {
      const int64_t out = last_video_pts == AV_NOPTS_VALUE ? 0 : last_video_pts + frame_step;
      if (have_offset || last_video_pts != AV_NOPTS_VALUE) *retimed = true;
      last_video_pts = out;
      return out;
    }
    if (!have_offset) {
      have_offset = true;
      pts_offset = 0;
    }
    int64_t out = in + pts_offset;
    if (last_video_pts != AV_NOPTS_VALUE) {
      const int64_t delta = out - last_video_pts;
      if (delta <= 0) {
        pts_offset += last_video_pts + frame_step - out;
        out = last_video_pts + frame_step;
        *retimed = true;
      } else if (delta < 90000 * 2) {
        frame_step = delta;  // follow the real frame interval for the next re-time
      }
    }
    last_video_pts = out;
    return out;
  }

  // A host frame in the encoder's size and pixel format: a new reference when it already is
  // (no pixel copy), else converted with libswscale into a reused buffer.
  UniqueAVFrame PrepareHost(const AVFrame* src) {
    if (src->width == video_ctx->width && src->height == video_ctx->height && src->format == enc_sw_format) {
      UniqueAVFrame f(av_frame_clone(src));
      if (!f) throw NativeException("ERR_OUT_OF_MEMORY", "av_frame_clone failed", "av_frame_clone");
      return f;
    }
    sws.reset(sws_getCachedContext(sws.release(), src->width, src->height, static_cast<AVPixelFormat>(src->format),
                                   video_ctx->width, video_ctx->height, enc_sw_format, SWS_BILINEAR, nullptr, nullptr,
                                   nullptr));
    if (!sws) {
      throw NativeException("ERR_ENCODE", std::string("cannot convert ") +
                                              (av_get_pix_fmt_name(static_cast<AVPixelFormat>(src->format)) ?: "?") +
                                              " frames for the encoder", "sws_getCachedContext");
    }
    // The encoder may still reference the previous picture: make_writable reallocates only then.
    if (!scaled->buf[0]) {
      scaled->format = enc_sw_format;
      scaled->width = video_ctx->width;
      scaled->height = video_ctx->height;
      ThrowIfAvError(av_frame_get_buffer(scaled.get(), 0), "ERR_OUT_OF_MEMORY", "av_frame_get_buffer");
    } else {
      ThrowIfAvError(av_frame_make_writable(scaled.get()), "ERR_OUT_OF_MEMORY", "av_frame_make_writable");
    }
    sws_scale(sws.get(), src->data, src->linesize, 0, src->height, scaled->data, scaled->linesize);
    Stats([](StreamEncoderStats& s) { ++s.scaled; });
    UniqueAVFrame f(av_frame_clone(scaled.get()));
    if (!f) throw NativeException("ERR_OUT_OF_MEMORY", "av_frame_clone failed", "av_frame_clone");
    return f;
  }

  UniqueAVFrame Download(const AVFrame* src) {
    const auto t0 = std::chrono::steady_clock::now();
    av_frame_unref(downloaded.get());
    int ret = av_hwframe_transfer_data(downloaded.get(), src, 0);
    ThrowIfAvError(ret, "ERR_CUDA", "av_hwframe_transfer_data");
    downloaded->width = src->width;
    downloaded->height = src->height;
    const int bytes = av_image_get_buffer_size(static_cast<AVPixelFormat>(downloaded->format), src->width, src->height, 1);
    const double ms = MsSince(t0);
    CountCopy(CopyKind::kDeviceToHost, static_cast<size_t>(std::max(0, bytes)));
    Stats([&](StreamEncoderStats& s) {
      ++s.downloads;
      s.download_bytes += std::max(0, bytes);
      s.download_ms += ms;
    });
    UniqueAVFrame f(av_frame_alloc());
    av_frame_move_ref(f.get(), downloaded.get());
    return f;
  }

  void EncodeVideo(const VideoFrame& frame) {
    Stats([](StreamEncoderStats& s) { ++s.frames_in; });
    if (!video_ctx) OpenVideo(frame);
    UniqueAVFrame in;
    if (frame.location() == FrameLocation::kCuda) {
      if (video_ctx->pix_fmt == AV_PIX_FMT_CUDA) {
        if (frame.width() != video_ctx->width || frame.height() != video_ctx->height) {
          Stats([](StreamEncoderStats& s) { ++s.rejected; });
          Warn("ERR_INVALID_ARG", "CUDA frame of " + std::to_string(frame.width()) + "x" + std::to_string(frame.height()) +
                                      " dropped: NVENC was opened at " + std::to_string(video_ctx->width) + "x" +
                                      std::to_string(video_ctx->height) + " and CUDA frames are not rescaled",
               "encode");
          return;
        }
        in.reset(av_frame_clone(frame.av_frame()));
      } else {
        UniqueAVFrame host = Download(frame.av_frame());
        in = PrepareHost(host.get());
      }
    } else {
      if (video_ctx->pix_fmt == AV_PIX_FMT_CUDA) {
        Stats([](StreamEncoderStats& s) { ++s.rejected; });
        Warn("ERR_INVALID_ARG", "host frame dropped: this NVENC encoder takes CUDA frames", "encode");
        return;
      }
      in = PrepareHost(frame.av_frame());
    }
    if (!in) throw NativeException("ERR_OUT_OF_MEMORY", "av_frame_clone failed", "av_frame_clone");
    bool retimed = false;
    in->pts = OutputPts(frame.pts(), frame.time_base(), &retimed);
    if (retimed) Stats([](StreamEncoderStats& s) { ++s.retimed; });
    in->pict_type = AV_PICTURE_TYPE_NONE;
    if (last_key_pts == AV_NOPTS_VALUE || in->pts - last_key_pts >= gop_ticks || cut_for_audio) {
      cut_for_audio = false;
      in->pict_type = AV_PICTURE_TYPE_I;  // with forced-idr: an IDR, hence a new segment
      last_key_pts = in->pts;
    }
    const auto t0 = std::chrono::steady_clock::now();
    int ret = avcodec_send_frame(video_ctx.get(), in.get());
    Stats([&](StreamEncoderStats& s) { s.encode_ms += MsSince(t0); });
    ThrowIfAvError(ret, "ERR_ENCODE", "avcodec_send_frame");
    DrainVideo();
  }

  void DrainVideo() {
    for (;;) {
      const auto t0 = std::chrono::steady_clock::now();
      int ret = avcodec_receive_packet(video_ctx.get(), pkt.get());
      Stats([&](StreamEncoderStats& s) { s.encode_ms += MsSince(t0); });
      if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) return;
      ThrowIfAvError(ret, "ERR_ENCODE", "avcodec_receive_packet");
      const bool key = (pkt->flags & AV_PKT_FLAG_KEY) != 0;
      Stats([&](StreamEncoderStats& s) {
        ++s.frames_encoded;
        if (key) ++s.keyframes;
      });
      if (key || !mux) {
        if (!key) {  // cannot happen with a forced first IDR; never start a segment without one
          av_packet_unref(pkt.get());
          continue;
        }
        CloseSegment();
        OpenSegment();
      }
      WriteVideoPacket();
    }
  }

  // ------------------------------------------------------------------------------------------
  // Audio

  void OpenAudioEncoder(const AudioFrame& a) {
    const bool opus = opts.audio == AudioMode::kOpus;
    const char* name = opus ? "libopus" : "aac";
    const AVCodec* codec = avcodec_find_encoder_by_name(name);
    if (!codec) throw NativeException("ERR_ENCODER_UNAVAILABLE", std::string("audio encoder ") + name + " is not in this FFmpeg build", "avcodec_find_encoder_by_name");
    if (opus && a.sample_rate() != 48000 && a.sample_rate() != 24000 && a.sample_rate() != 16000 && a.sample_rate() != 12000 &&
        a.sample_rate() != 8000) {
      throw NativeException("ERR_ENCODE", "Opus needs 48000, 24000, 16000, 12000 or 8000 Hz audio, got " + std::to_string(a.sample_rate()), "libopus");
    }
    if (a.channels() < 1 || a.channels() > 8 || a.sample_rate() <= 0) {
      throw NativeException("ERR_ENCODE", "unsupported audio: " + std::to_string(a.channels()) + " channels at " + std::to_string(a.sample_rate()) + " Hz", name);
    }
    UniqueAVCodecContext ctx(avcodec_alloc_context3(codec));
    if (!ctx) throw NativeException("ERR_OUT_OF_MEMORY", "avcodec_alloc_context3 failed", "avcodec_alloc_context3");
    ctx->sample_rate = a.sample_rate();
    av_channel_layout_default(&ctx->ch_layout, a.channels());
    ctx->sample_fmt = opus ? AV_SAMPLE_FMT_FLT : AV_SAMPLE_FMT_FLTP;
    ctx->bit_rate = opts.audio_bitrate;
    ctx->time_base = AVRational{1, a.sample_rate()};
    int ret = avcodec_open2(ctx.get(), codec, nullptr);
    ThrowIfAvError(ret, "ERR_ENCODE", "avcodec_open2(audio)");
    audio_ctx = std::move(ctx);
    fifo.assign(a.channels(), {});
  }

  void EncodeAudio(const AudioFrame& a) {
    Stats([](StreamEncoderStats& s) { ++s.audio_in; });
    if (audio_failed || opts.audio == AudioMode::kNone || opts.audio == AudioMode::kPassthrough) return;
    try {
      if (!audio_ctx) OpenAudioEncoder(a);
      if (a.channels() != audio_ctx->ch_layout.nb_channels || a.sample_rate() != audio_ctx->sample_rate) {
        Warn("ERR_ENCODE", "audio frame dropped: its format changed (" + std::to_string(a.channels()) + " ch, " +
                               std::to_string(a.sample_rate()) + " Hz) and the audio encoder is not re-opened", "audio");
        return;
      }
      if (audio_next_pts == AV_NOPTS_VALUE && a.pts() != AV_NOPTS_VALUE) {
        audio_next_pts = av_rescale_q(a.pts(), a.time_base(), AVRational{1, a.sample_rate()}) +
                         av_rescale_q(pts_offset, kTsTimeBase, AVRational{1, a.sample_rate()});
      }
      if (audio_next_pts == AV_NOPTS_VALUE) audio_next_pts = 0;
      for (int c = 0; c < a.channels(); ++c) fifo[c].insert(fifo[c].end(), a.channel(c), a.channel(c) + a.samples());
      const int frame_size = audio_ctx->frame_size > 0 ? audio_ctx->frame_size : 1024;
      while (static_cast<int>(fifo[0].size()) >= frame_size) SendAudioFrame(frame_size);
    } catch (const NativeException& e) {
      audio_failed = true;
      Warn(e.error().code, "audio encoding disabled: " + e.error().message, e.error().op);
    }
  }

  void SendAudioFrame(int n) {
    AVFrame* f = audio_frame.get();
    av_frame_unref(f);
    f->format = audio_ctx->sample_fmt;
    f->nb_samples = n;
    f->sample_rate = audio_ctx->sample_rate;
    ThrowIfAvError(av_channel_layout_copy(&f->ch_layout, &audio_ctx->ch_layout), "ERR_ENCODE", "av_channel_layout_copy");
    ThrowIfAvError(av_frame_get_buffer(f, 0), "ERR_OUT_OF_MEMORY", "av_frame_get_buffer");
    const int ch = audio_ctx->ch_layout.nb_channels;
    if (audio_ctx->sample_fmt == AV_SAMPLE_FMT_FLTP) {
      for (int c = 0; c < ch; ++c) std::memcpy(f->extended_data[c], fifo[c].data(), sizeof(float) * n);
    } else {
      auto* dst = reinterpret_cast<float*>(f->data[0]);
      for (int i = 0; i < n; ++i)
        for (int c = 0; c < ch; ++c) dst[i * ch + c] = fifo[c][i];
    }
    for (int c = 0; c < ch; ++c) fifo[c].erase(fifo[c].begin(), fifo[c].begin() + n);
    f->pts = audio_next_pts;
    audio_next_pts += n;
    ThrowIfAvError(avcodec_send_frame(audio_ctx.get(), f), "ERR_ENCODE", "avcodec_send_frame(audio)");
    DrainAudio();
  }

  void DrainAudio() {
    for (;;) {
      int ret = avcodec_receive_packet(audio_ctx.get(), pkt.get());
      if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) return;
      ThrowIfAvError(ret, "ERR_ENCODE", "avcodec_receive_packet(audio)");
      av_packet_rescale_ts(pkt.get(), audio_ctx->time_base, kTsTimeBase);
      WriteAudioPacket(pkt.get());
      av_packet_unref(pkt.get());
    }
  }

  void RemuxAudio(const AudioPacket& ap) {
    Stats([](StreamEncoderStats& s) { ++s.audio_in; });
    if (opts.audio != AudioMode::kPassthrough) return;
    if (!passthrough_info || passthrough_info->generation != ap.stream->generation) {
      // The input's audio changed: what is held belongs to the old stream parameters.
      if (!held_audio.empty()) {
        const auto n = static_cast<long>(held_audio.size());
        Stats([n](StreamEncoderStats& s) { s.audio_dropped += n; });
        held_audio.clear();
      }
      passthrough_info = ap.stream;
    }
    UniqueAVPacket p(av_packet_clone(ap.packet.get()));
    if (!p) throw NativeException("ERR_OUT_OF_MEMORY", "av_packet_clone failed", "av_packet_clone");
    av_packet_rescale_ts(p.get(), ap.stream->time_base, kTsTimeBase);
    if (p->pts != AV_NOPTS_VALUE) p->pts += pts_offset;
    if (p->dts != AV_NOPTS_VALUE) p->dts += pts_offset;
    if (!mux || mux_audio_info != ap.stream) {
      // Not declared in the open segment (it opened before the first audio packet, or the
      // input's audio changed): held, and the next video frame starts a segment that declares it.
      HoldAudio(p.get());
      return;
    }
    WriteAudioPacket(p.get());
  }

  // ------------------------------------------------------------------------------------------
  // Muxer

  static int WritePacket(void* opaque, uint8_t* buf, int size) {
    auto* impl = static_cast<Impl*>(opaque);
    impl->pending.insert(impl->pending.end(), buf, buf + size);
    return size;
  }

  // Hands the bytes the muxer wrote so far to the sink as one chunk.
  void EmitPending() {
    if (pending.empty()) return;
    const int64_t n = static_cast<int64_t>(pending.size());
    Stats([&](StreamEncoderStats& s) {
      s.bytes_out += n;
      ++s.chunks_out;
    });
    const bool start = segment_first_chunk;
    segment_first_chunk = false;
    std::vector<uint8_t> chunk;
    chunk.swap(pending);
    pending.reserve(64 * 1024);
    if (!self->sink_->OnChunk(segment, start, std::move(chunk))) {
      throw NativeException("ERR_CLOSED", "the encoder's output consumer went away", "encoder");
    }
  }

  void OpenSegment() {
    AVFormatContext* ctx = nullptr;
    int ret = avformat_alloc_output_context2(&ctx, nullptr, "mpegts", nullptr);
    ThrowIfAvError(ret, "ERR_MUX", "avformat_alloc_output_context2");
    mux.reset(ctx);
    auto* buffer = static_cast<uint8_t*>(av_malloc(kIoBufferSize));
    if (!buffer) throw NativeException("ERR_OUT_OF_MEMORY", "av_malloc failed", "av_malloc");
    mux_io.reset(avio_alloc_context(buffer, kIoBufferSize, 1, this, nullptr, &Impl::WritePacket, nullptr));
    if (!mux_io) {
      av_free(buffer);
      throw NativeException("ERR_OUT_OF_MEMORY", "avio_alloc_context failed", "avio_alloc_context");
    }
    ctx->pb = mux_io.get();
    ctx->flags |= AVFMT_FLAG_CUSTOM_IO;
    mux_video = avformat_new_stream(ctx, nullptr);
    if (!mux_video) throw NativeException("ERR_OUT_OF_MEMORY", "avformat_new_stream failed", "avformat_new_stream");
    ThrowIfAvError(avcodec_parameters_from_context(mux_video->codecpar, video_ctx.get()), "ERR_MUX", "avcodec_parameters_from_context");
    mux_video->time_base = kTsTimeBase;
    mux_audio = nullptr;
    mux_audio_info.reset();
    if (opts.audio == AudioMode::kPassthrough && passthrough_info) {
      mux_audio = avformat_new_stream(ctx, nullptr);
      if (!mux_audio) throw NativeException("ERR_OUT_OF_MEMORY", "avformat_new_stream failed", "avformat_new_stream");
      ThrowIfAvError(avcodec_parameters_copy(mux_audio->codecpar, passthrough_info->par.get()), "ERR_MUX", "avcodec_parameters_copy");
      mux_audio->codecpar->codec_tag = 0;
      mux_audio->time_base = kTsTimeBase;
      mux_audio_info = passthrough_info;
    } else if ((opts.audio == AudioMode::kAac || opts.audio == AudioMode::kOpus) && audio_ctx) {
      mux_audio = avformat_new_stream(ctx, nullptr);
      if (!mux_audio) throw NativeException("ERR_OUT_OF_MEMORY", "avformat_new_stream failed", "avformat_new_stream");
      ThrowIfAvError(avcodec_parameters_from_context(mux_audio->codecpar, audio_ctx.get()), "ERR_MUX", "avcodec_parameters_from_context");
      mux_audio->time_base = kTsTimeBase;
    }
    AVDictionary* o = nullptr;
    // No initial muxing delay: output timestamps equal the encoder's (derived from input pts).
    av_dict_set(&o, "max_delay", "0", 0);
    ret = avformat_write_header(ctx, &o);
    av_dict_free(&o);
    ThrowIfAvError(ret, "ERR_MUX", "avformat_write_header");
    ++segment;
    segment_first_chunk = true;
    last_audio_dts = AV_NOPTS_VALUE;
    last_mux_video_dts = AV_NOPTS_VALUE;
    Stats([](StreamEncoderStats& s) { ++s.segments; });
    WriteHeldAudio();
  }

  void CloseSegment() {
    if (!mux) return;
    const auto t0 = std::chrono::steady_clock::now();
    int ret = av_write_trailer(mux.get());
    avio_flush(mux_io.get());
    Stats([&](StreamEncoderStats& s) { s.mux_ms += MsSince(t0); });
    mux.reset();
    mux_io.reset();
    mux_video = mux_audio = nullptr;
    ThrowIfAvError(ret, "ERR_MUX", "av_write_trailer");
    EmitPending();
    if (!self->sink_->OnSegmentEnd(segment)) {
      throw NativeException("ERR_CLOSED", "the encoder's output consumer went away", "encoder");
    }
  }

  void WriteVideoPacket() {
    pkt->stream_index = mux_video->index;
    av_packet_rescale_ts(pkt.get(), video_ctx->time_base, mux_video->time_base);
    if (pkt->dts != AV_NOPTS_VALUE && last_mux_video_dts != AV_NOPTS_VALUE && pkt->dts <= last_mux_video_dts) {
      pkt->dts = last_mux_video_dts + 1;  // defensive; encoder output is monotonic with no B-frames
      if (pkt->pts != AV_NOPTS_VALUE && pkt->pts < pkt->dts) pkt->pts = pkt->dts;
    }
    last_mux_video_dts = pkt->dts;
    const auto t0 = std::chrono::steady_clock::now();
    int ret = av_write_frame(mux.get(), pkt.get());
    avio_flush(mux_io.get());
    Stats([&](StreamEncoderStats& s) { s.mux_ms += MsSince(t0); });
    av_packet_unref(pkt.get());
    ThrowIfAvError(ret, "ERR_MUX", "av_write_frame");
    EmitPending();
  }

  void WriteAudioPacket(AVPacket* p) {
    if (!mux || !mux_audio) {
      HoldAudio(p);
      return;
    }
    if (p->dts == AV_NOPTS_VALUE) p->dts = p->pts;
    if (p->dts == AV_NOPTS_VALUE || (last_audio_dts != AV_NOPTS_VALUE && p->dts <= last_audio_dts)) {
      Stats([](StreamEncoderStats& s) { ++s.audio_dropped; });
      return;
    }
    last_audio_dts = p->dts;
    p->stream_index = mux_audio->index;
    const auto t0 = std::chrono::steady_clock::now();
    int ret = av_write_frame(mux.get(), p);
    avio_flush(mux_io.get());
    Stats([&](StreamEncoderStats& s) {
      s.mux_ms += MsSince(t0);
      if (ret >= 0) ++s.audio_packets_out; else ++s.audio_dropped;
    });
    if (ret >= 0) EmitPending();
  }

  // See held_audio. `p` is in the output time base.
  void HoldAudio(const AVPacket* p) {
    if (!video_ctx && !mux) {
      // No video yet: the first segment opens with the first video frame and will declare audio.
    } else {
      cut_for_audio = true;
    }
    UniqueAVPacket copy(av_packet_clone(p));
    if (!copy) throw NativeException("ERR_OUT_OF_MEMORY", "av_packet_clone failed", "av_packet_clone");
    held_audio.push_back(std::move(copy));
    while (held_audio.size() > kMaxHeldAudioPackets) {
      held_audio.pop_front();
      Stats([](StreamEncoderStats& s) { ++s.audio_dropped; });
    }
  }

  // Writes the held audio into a segment that has just declared the audio stream.
  void WriteHeldAudio() {
    if (!mux_audio) return;
    while (!held_audio.empty()) {
      UniqueAVPacket p = std::move(held_audio.front());
      held_audio.pop_front();
      WriteAudioPacket(p.get());
    }
  }

  void Finish() {
    if (video_ctx) {
      int ret = avcodec_send_frame(video_ctx.get(), nullptr);
      if (ret >= 0) DrainVideo();
    }
    if (audio_ctx && !audio_failed) {
      try {
        const int frame_size = audio_ctx->frame_size > 0 ? audio_ctx->frame_size : 1024;
        if (!fifo.empty() && !fifo[0].empty()) {
          for (auto& ch : fifo) ch.resize(frame_size, 0.0f);  // pad the tail with silence
          SendAudioFrame(frame_size);
        }
        if (avcodec_send_frame(audio_ctx.get(), nullptr) >= 0) DrainAudio();
      } catch (const NativeException&) {
        // the tail of the audio is lost; video is complete
      }
    }
    CloseSegment();
    if (!held_audio.empty()) {
      const auto n = static_cast<long>(held_audio.size());
      Stats([n](StreamEncoderStats& s) { s.audio_dropped += n; });
      held_audio.clear();
    }
  }
};

StreamEncoder::StreamEncoder(const StreamEncoderOptions& options, StreamEncoderSink* sink)
    : options_(options), sink_(sink) {
  if (options_.encoder != "libx264" && options_.encoder != "h264_nvenc" && options_.encoder != "auto") {
    throw NativeException("ERR_INVALID_ARG", "unknown encoder " + options_.encoder, "encoder");
  }
  if (options_.encoder != "h264_nvenc" && !avcodec_find_encoder_by_name("libx264")) {
    throw NativeException("ERR_ENCODER_UNAVAILABLE", "libx264 is not in this FFmpeg build", "avcodec_find_encoder_by_name");
  }
  if (options_.encoder == "h264_nvenc") {
    std::string why;
    if (!NvencAvailable(&why)) {
      throw NativeException("ERR_NVENC_UNAVAILABLE", "h264_nvenc is not available: " + why + " (use encoder 'libx264' or 'auto')", "h264_nvenc");
    }
  }
  if (options_.audio == AudioMode::kOpus && !avcodec_find_encoder_by_name("libopus")) {
    throw NativeException("ERR_ENCODER_UNAVAILABLE", "libopus is not in this FFmpeg build (use audio 'aac')", "avcodec_find_encoder_by_name");
  }
  if (options_.audio == AudioMode::kAac && !avcodec_find_encoder_by_name("aac")) {
    throw NativeException("ERR_ENCODER_UNAVAILABLE", "the aac encoder is not in this FFmpeg build", "avcodec_find_encoder_by_name");
  }
  if (options_.max_queue < 1) options_.max_queue = 1;
}

StreamEncoder::~StreamEncoder() {
  Cancel();
  Join();
}

void StreamEncoder::Start() {
  thread_ = std::thread([this] { Run(); });
}

bool StreamEncoder::Submit(Item item) {
  std::lock_guard<std::mutex> lock(queue_mu_);
  if (ended_ || cancelled_) return true;
  queue_.push_back(std::move(item));
  queue_cv_.notify_all();
  if (static_cast<int>(queue_.size()) >= options_.max_queue) {
    producer_waiting_ = true;
    return false;
  }
  return true;
}

bool StreamEncoder::SubmitVideo(VideoFramePtr frame) { return Submit(Item{std::move(frame), nullptr, nullptr}); }
bool StreamEncoder::SubmitAudio(AudioFramePtr audio) { return Submit(Item{nullptr, std::move(audio), nullptr}); }
bool StreamEncoder::SubmitAudioPacket(AudioPacketPtr packet) { return Submit(Item{nullptr, nullptr, std::move(packet)}); }

void StreamEncoder::End() {
  std::lock_guard<std::mutex> lock(queue_mu_);
  ended_ = true;
  queue_cv_.notify_all();
}

void StreamEncoder::Cancel() {
  std::lock_guard<std::mutex> lock(queue_mu_);
  cancelled_ = true;
  queue_.clear();  // releases the queued frames (and their pool slots) now
  queue_cv_.notify_all();
}

void StreamEncoder::Join() {
  if (thread_.joinable()) thread_.join();
}

StreamEncoderStats StreamEncoder::Stats() const {
  std::lock_guard<std::mutex> lock(stats_mu_);
  return stats_;
}

void StreamEncoder::Run() {
  NativeError error;
  bool failed = false;
  try {
    Impl impl(this);
    for (;;) {
      Item item;
      bool notify = false;
      {
        std::unique_lock<std::mutex> lock(queue_mu_);
        queue_cv_.wait(lock, [&] { return cancelled_ || ended_ || !queue_.empty(); });
        if (cancelled_) break;
        if (queue_.empty()) {  // ended and drained
          lock.unlock();
          impl.Finish();
          break;
        }
        item = std::move(queue_.front());
        queue_.pop_front();
        if (producer_waiting_ && static_cast<int>(queue_.size()) <= options_.max_queue / 2) {
          producer_waiting_ = false;
          notify = true;
        }
      }
      if (notify) sink_->OnWritable();
      if (item.video) impl.EncodeVideo(*item.video);
      else if (item.audio) impl.EncodeAudio(*item.audio);
      else if (item.packet) impl.RemuxAudio(*item.packet);
    }
  } catch (const NativeException& e) {
    error = e.error();
    failed = true;
  } catch (const std::exception& e) {
    error = NativeError{"ERR_NATIVE", e.what(), "encoder", 0, false};
    failed = true;
  }
  {
    // Frames still queued (after an error) are released here, on the encoder thread.
    std::lock_guard<std::mutex> lock(queue_mu_);
    ended_ = true;  // later submissions are dropped
    queue_.clear();
  }
  sink_->OnEnd(failed && !cancelled_ ? &error : nullptr);
}

}  // namespace trickle
