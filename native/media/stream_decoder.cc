#include "media/stream_decoder.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <vector>

extern "C" {
#include <libavutil/hwcontext.h>
#include <libavutil/pixdesc.h>
}

#include "common/gpu_driver.h"
#include "frame/cuda_device.h"

namespace trickle {

namespace {

constexpr int kIoBufferSize = 32 * 1024;

int64_t BestPts(const AVFrame* f) {
  return f->best_effort_timestamp != AV_NOPTS_VALUE ? f->best_effort_timestamp : f->pts;
}

bool IsKeyFrame(const AVFrame* f) {
#if LIBAVUTIL_VERSION_INT >= AV_VERSION_INT(58, 7, 100)
  return (f->flags & AV_FRAME_FLAG_KEY) != 0;
#else
  return f->key_frame != 0;
#endif
}

}  // namespace

// Everything that lives on the decode thread.
struct StreamDecoder::Impl {
  explicit Impl(StreamDecoder* owner) : self(owner) {}
  StreamDecoder* self;
  UniqueAVIOContext io;
  UniqueAVInputFormatContext fmt;
  UniqueAVBufferRef hw_device;
  int hw_device_index = -1;

  int video_index = -1;
  int audio_index = -1;
  UniqueAVCodecContext video_ctx;
  UniqueAVCodecContext audio_ctx;
  AVCodecID video_codec_id = AV_CODEC_ID_NONE;
  AVCodecID audio_codec_id = AV_CODEC_ID_NONE;
  std::shared_ptr<AudioStreamInfo> audio_info;
  int audio_generation = 0;
  int other_video_packets = 0;  // packets seen for a video stream other than the selected one
  int other_video_index = -1;
  // Corruption tracking by packet sequence number (carried from packet to frame): after damage at
  // packet `corrupt_seq`, frames decoded from that packet on are dropped until a keyframe; frames
  // from earlier packets still inside the decoder (frame threading delay) are delivered.
  int64_t packet_seq = 0;
  int64_t corrupt_seq = INT64_MAX;
  void MarkCorrupt(int64_t seq) { corrupt_seq = std::min(corrupt_seq, seq); }
  static void SetSeq(AVPacket* pkt, int64_t seq) {
#if LIBAVCODEC_VERSION_MAJOR >= 60
    pkt->opaque = reinterpret_cast<void*>(static_cast<intptr_t>(seq));
#else
    pkt->pos = seq;
#endif
  }
  int64_t FrameSeq(const AVFrame* f) const {
#if LIBAVCODEC_VERSION_MAJOR >= 60
    const int64_t seq = static_cast<int64_t>(reinterpret_cast<intptr_t>(f->opaque));
    return seq > 0 ? seq : packet_seq;
#else
    return f->pkt_pos > 0 ? f->pkt_pos : packet_seq;
#endif
  }
  int last_width = 0, last_height = 0;
  UniqueAVFrame scratch = MakeAVFrame();
  bool stop = false;

  static int Read(void* opaque, uint8_t* buf, int size) {
    auto* impl = static_cast<Impl*>(opaque);
    size_t n = 0;
    switch (impl->self->input_.Read(buf, static_cast<size_t>(size), &n)) {
      case ByteQueue::ReadStatus::kData: return static_cast<int>(n);
      case ByteQueue::ReadStatus::kEnd: return AVERROR_EOF;
      case ByteQueue::ReadStatus::kCancelled: return AVERROR_EXIT;
    }
    return AVERROR_EXIT;
  }
  static int Interrupt(void* opaque) { return static_cast<Impl*>(opaque)->self->cancelled_.load() ? 1 : 0; }

  static AVPixelFormat GetFormat(AVCodecContext* ctx, const AVPixelFormat* fmts) {
    auto* impl = static_cast<Impl*>(ctx->opaque);
    AVPixelFormat software = AV_PIX_FMT_NONE;
    for (const AVPixelFormat* p = fmts; *p != AV_PIX_FMT_NONE; ++p) {
      if (*p == AV_PIX_FMT_CUDA && impl->hw_device) return *p;
      const AVPixFmtDescriptor* d = av_pix_fmt_desc_get(*p);
      if (software == AV_PIX_FMT_NONE && d && !(d->flags & AV_PIX_FMT_FLAG_HWACCEL)) software = *p;
    }
    if (impl->hw_device) {
      std::lock_guard<std::mutex> lock(impl->self->stats_mu_);
      impl->self->stats_.hardware = false;
      impl->self->stats_.hw_fallback_reason = "NVDEC does not support this stream; decoding in software";
    }
    return software;
  }

  void UpdateStats(const std::function<void(StreamDecoderStats&)>& fn) {
    std::lock_guard<std::mutex> lock(self->stats_mu_);
    fn(self->stats_);
  }

  void CreateHwDevice() {
    const StreamDecoderOptions& o = self->options_;
    if (o.device == DecodeDevice::kCpu || !o.video) return;
    const GpuDriverInfo& drv = ProbeGpuDriver();
    std::string reason;
    const int index = o.device == DecodeDevice::kCuda ? o.cuda_index : 0;
    if (!drv.driver_loaded) reason = drv.driver_error.empty() ? "no NVIDIA driver" : drv.driver_error;
    else if (index < 0 || index >= static_cast<int>(drv.devices.size())) reason = "no CUDA device " + std::to_string(index);
    else if (!drv.devices[index].nvdec.available) reason = drv.devices[index].nvdec.reason;
    if (reason.empty()) {
      // The process-wide FFmpeg CUDA device (primary context, device+1 in user_opaque), shared with
      // the tensor ops and NVENC (docs/frames.md, context rule).
      try {
        hw_device = CudaHwDeviceRef(index);
        hw_device_index = index;
      } catch (const NativeException& e) {
        reason = e.error().message;
      }
    }
    if (!reason.empty()) {
      if (o.device == DecodeDevice::kCuda) {
        throw NativeException("ERR_NVDEC_UNAVAILABLE", "NVDEC on cuda:" + std::to_string(index) +
                                                           " is not available: " + reason,
                              "nvdec");
      }
      UpdateStats([&](StreamDecoderStats& s) { s.hw_fallback_reason = reason; });
    }
  }

  void OpenInput() {
    auto* buffer = static_cast<uint8_t*>(av_malloc(kIoBufferSize));
    if (!buffer) throw NativeException("ERR_OUT_OF_MEMORY", "av_malloc failed", "av_malloc");
    io.reset(avio_alloc_context(buffer, kIoBufferSize, 0, this, &Impl::Read, nullptr, nullptr));
    if (!io) {
      av_free(buffer);
      throw NativeException("ERR_OUT_OF_MEMORY", "avio_alloc_context failed", "avio_alloc_context");
    }
    io->seekable = 0;
    AVFormatContext* ctx = avformat_alloc_context();
    if (!ctx) throw NativeException("ERR_OUT_OF_MEMORY", "avformat_alloc_context failed", "avformat_alloc_context");
    ctx->pb = io.get();
    ctx->flags |= AVFMT_FLAG_CUSTOM_IO | AVFMT_FLAG_GENPTS;
    ctx->interrupt_callback.callback = &Impl::Interrupt;
    ctx->interrupt_callback.opaque = this;
    ctx->probesize = 2 * 1024 * 1024;
    ctx->max_analyze_duration = 2 * AV_TIME_BASE;
    const AVInputFormat* input_format = nullptr;
    if (!self->options_.format.empty()) {
      input_format = av_find_input_format(self->options_.format.c_str());
      if (!input_format) {
        avformat_free_context(ctx);
        throw NativeException("ERR_INVALID_ARG", "unknown container format " + self->options_.format, "av_find_input_format");
      }
    }
    int ret = avformat_open_input(&ctx, nullptr, input_format, nullptr);  // frees ctx on failure
    if (ret == AVERROR_EXIT) { stop = true; return; }
    if (ret < 0) {
      throw NativeException("ERR_DEMUX", "the input is not a readable media container: " + AvErrorString(ret),
                            "avformat_open_input", ret);
    }
    fmt.reset(ctx);
    ret = avformat_find_stream_info(ctx, nullptr);
    if (ret == AVERROR_EXIT || self->cancelled_) { stop = true; return; }
    if (ret < 0) ThrowIfAvError(ret, "ERR_DEMUX", "avformat_find_stream_info");
  }

  // Picks the first video and first audio stream (streams may appear later in MPEG-TS).
  void SelectStreams() {
    for (unsigned i = 0; i < fmt->nb_streams; ++i) {
      const AVCodecParameters* par = fmt->streams[i]->codecpar;
      if (par->codec_type == AVMEDIA_TYPE_VIDEO && video_index < 0 && self->options_.video &&
          par->codec_id != AV_CODEC_ID_NONE) {
        OpenVideo(static_cast<int>(i));
      } else if (par->codec_type == AVMEDIA_TYPE_AUDIO && audio_index < 0 && par->codec_id != AV_CODEC_ID_NONE &&
                 (self->options_.audio_frames || self->options_.audio_packets)) {
        OpenAudio(static_cast<int>(i));
      }
    }
  }

  void OpenVideo(int index) {
    const AVStream* st = fmt->streams[index];
    const AVCodec* codec = avcodec_find_decoder(st->codecpar->codec_id);
    if (!codec) {
      throw NativeException("ERR_DECODER_UNAVAILABLE",
                            std::string("no decoder for video codec ") + avcodec_get_name(st->codecpar->codec_id),
                            "avcodec_find_decoder");
    }
    UniqueAVCodecContext ctx(avcodec_alloc_context3(codec));
    if (!ctx) throw NativeException("ERR_OUT_OF_MEMORY", "avcodec_alloc_context3 failed", "avcodec_alloc_context3");
    ThrowIfAvError(avcodec_parameters_to_context(ctx.get(), st->codecpar), "ERR_DECODE", "avcodec_parameters_to_context");
    ctx->pkt_timebase = st->time_base;
    ctx->opaque = this;
    // Only frames that decode cleanly from a keyframe/recovery point are output after corruption.
    ctx->flags &= ~AV_CODEC_FLAG_OUTPUT_CORRUPT;
    if (hw_device) {
      ctx->hw_device_ctx = av_buffer_ref(hw_device.get());
      ctx->get_format = &Impl::GetFormat;
      // Frames held by JS (up to the pool size) must not starve the decoder's surface pool.
      ctx->extra_hw_frames = self->options_.pool_size + 2;
    } else {
      // Slice threads only: frame threading holds back one frame per extra thread (measured with
      // 2 threads at 30 fps: B4 p50 111 ms with frame threads, 79 ms without), which a live stream
      // cannot afford. Throughput across streams comes from one decoder thread per stream; slice
      // threads still help zerolatency (sliced) input.
      ctx->thread_count = self->options_.threads > 0 ? self->options_.threads
                                                     : std::min(4, std::max(1, static_cast<int>(std::thread::hardware_concurrency())));
      ctx->thread_type = FF_THREAD_SLICE;
    }
    int ret = avcodec_open2(ctx.get(), codec, nullptr);
    ThrowIfAvError(ret, "ERR_DECODE", "avcodec_open2");
    video_ctx = std::move(ctx);
    video_index = index;
    video_codec_id = st->codecpar->codec_id;
    UpdateStats([&](StreamDecoderStats& s) {
      s.video_codec = avcodec_get_name(video_codec_id);
      s.hardware = hw_device != nullptr;
    });
  }

  void OpenAudio(int index) {
    const AVStream* st = fmt->streams[index];
    audio_index = index;
    audio_codec_id = st->codecpar->codec_id;
    auto info = std::make_shared<AudioStreamInfo>();
    info->par.reset(avcodec_parameters_alloc());
    if (!info->par) throw NativeException("ERR_OUT_OF_MEMORY", "avcodec_parameters_alloc failed", "avcodec_parameters_alloc");
    ThrowIfAvError(avcodec_parameters_copy(info->par.get(), st->codecpar), "ERR_DEMUX", "avcodec_parameters_copy");
    info->time_base = st->time_base;
    info->generation = ++audio_generation;
    audio_info = std::move(info);
    UpdateStats([&](StreamDecoderStats& s) { s.audio_codec = avcodec_get_name(audio_codec_id); });
    if (!self->options_.audio_frames) return;
    const AVCodec* codec = avcodec_find_decoder(audio_codec_id);
    if (!codec) return;  // passthrough may still work; decoded audio is simply absent
    UniqueAVCodecContext ctx(avcodec_alloc_context3(codec));
    if (!ctx) throw NativeException("ERR_OUT_OF_MEMORY", "avcodec_alloc_context3 failed", "avcodec_alloc_context3");
    if (avcodec_parameters_to_context(ctx.get(), st->codecpar) < 0) return;
    ctx->pkt_timebase = st->time_base;
    if (avcodec_open2(ctx.get(), codec, nullptr) < 0) {
      UpdateStats([](StreamDecoderStats& s) { ++s.decode_errors; });
      return;
    }
    audio_ctx = std::move(ctx);
  }

  bool DeliverVideo(AVFrame* frame) {
    const bool key = IsKeyFrame(frame);
    const int64_t seq = FrameSeq(frame);
    if (frame->decode_error_flags != 0) {
      UpdateStats([](StreamDecoderStats& s) { ++s.decode_errors; ++s.dropped_frames; });
      MarkCorrupt(seq);
      return true;
    }
    if (seq >= corrupt_seq) {
      if (!key) {
        UpdateStats([](StreamDecoderStats& s) { ++s.dropped_frames; });
        return true;
      }
      corrupt_seq = INT64_MAX;  // recovered at this keyframe
    }
    auto lease = self->pool_->Acquire([this] { return self->cancelled_.load(); });
    if (!lease) return false;
    frame->pts = BestPts(frame);
    const bool changed = last_width != 0 && (frame->width != last_width || frame->height != last_height);
    last_width = frame->width;
    last_height = frame->height;
    UpdateStats([&](StreamDecoderStats& s) {
      ++s.video_frames;
      if (changed) ++s.resolution_changes;
      s.width = frame->width;
      s.height = frame->height;
    });
    UniqueAVFrame owned(av_frame_alloc());
    if (!owned) throw NativeException("ERR_OUT_OF_MEMORY", "av_frame_alloc failed", "av_frame_alloc");
    av_frame_move_ref(owned.get(), frame);
    auto vf = std::make_shared<const VideoFrame>(std::move(owned), fmt->streams[video_index]->time_base, std::move(lease));
    return self->sink_->OnVideo(std::move(vf));
  }

  // Sends one packet (nullptr: flush) and delivers every frame it yields. Returns false to stop.
  bool DecodeVideo(AVPacket* pkt) {
    if (pkt) SetSeq(pkt, ++packet_seq);
    const auto t0 = std::chrono::steady_clock::now();
    int ret = avcodec_send_packet(video_ctx.get(), pkt);
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    UpdateStats([&](StreamDecoderStats& s) { s.decode_ms += ms; });
    if (ret < 0 && ret != AVERROR(EAGAIN) && ret != AVERROR_EOF) {
      UpdateStats([](StreamDecoderStats& s) { ++s.decode_errors; });
      MarkCorrupt(packet_seq);
    }
    return DrainVideo();
  }

  bool DrainVideo() {
    for (;;) {
      const auto t0 = std::chrono::steady_clock::now();
      int ret = avcodec_receive_frame(video_ctx.get(), scratch.get());
      const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      UpdateStats([&](StreamDecoderStats& s) { s.decode_ms += ms; });
      if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) return true;
      if (ret < 0) {
        UpdateStats([](StreamDecoderStats& s) { ++s.decode_errors; });
        MarkCorrupt(packet_seq);
        return true;
      }
      bool ok = DeliverVideo(scratch.get());
      av_frame_unref(scratch.get());
      if (!ok) return false;
    }
  }

  bool DecodeAudio(const AVPacket* pkt) {
    if (!audio_ctx) return true;
    int ret = avcodec_send_packet(audio_ctx.get(), pkt);
    if (ret < 0 && ret != AVERROR(EAGAIN) && ret != AVERROR_EOF) {
      UpdateStats([](StreamDecoderStats& s) { ++s.decode_errors; });
    }
    for (;;) {
      ret = avcodec_receive_frame(audio_ctx.get(), scratch.get());
      if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) return true;
      if (ret < 0) {
        UpdateStats([](StreamDecoderStats& s) { ++s.decode_errors; });
        return true;
      }
      AudioFramePtr audio;
      try {
        // FLTP (AAC, Opus) is taken over without a copy; other sample formats are converted.
        scratch->pts = BestPts(scratch.get());
        UniqueAVFrame owned = MakeAVFrame();
        av_frame_move_ref(owned.get(), scratch.get());
        audio = AudioFrame::FromAVFrame(std::move(owned), fmt->streams[audio_index]->time_base);
      } catch (const NativeException&) {
        UpdateStats([](StreamDecoderStats& s) { ++s.decode_errors; });
      }
      av_frame_unref(scratch.get());
      if (audio) {
        UpdateStats([](StreamDecoderStats& s) { ++s.audio_frames; });
        if (!self->sink_->OnAudio(std::move(audio))) return false;
      }
    }
  }

  // MPEG-TS inputs may switch PIDs (a restarted sender): when another video stream carries packets
  // while the selected one stays silent, switch to it and reset the decoder.
  bool MaybeSwitchVideo(int index) {
    if (other_video_index != index) {
      other_video_index = index;
      other_video_packets = 0;
    }
    if (++other_video_packets < 30) return false;
    if (video_ctx && !DrainFlush()) return false;
    video_ctx.reset();
    video_index = -1;
    OpenVideo(index);
    other_video_packets = 0;
    other_video_index = -1;
    MarkCorrupt(packet_seq + 1);
    UpdateStats([](StreamDecoderStats& s) { ++s.resets; });
    return true;
  }

  // A packet the demuxer flagged corrupt (MPEG-TS continuity error) is held, with the next one,
  // until the packets that follow show where the damage is. The demuxer flags the PES it is
  // assembling when the error shows up, and the H.264 parser hands that flag to the access unit
  // before; so a discontinuity exactly at a keyframe (concatenated streams, a restarted sender: the
  // normal trickle case) flags a complete frame up to two packets *before* the keyframe, and that
  // frame is fine. When no keyframe follows within two packets, data was really lost: output stops
  // at the flagged packet and resumes at the next keyframe.
  std::vector<UniqueAVPacket> held;
  bool FlushHeld(bool damaged) {
    if (held.empty()) return true;
    if (damaged) {
      MarkCorrupt(packet_seq + 1);  // the first held packet (sequences are assigned in DecodeVideo)
      UpdateStats([](StreamDecoderStats& s) { ++s.demux_errors; });
    }
    std::vector<UniqueAVPacket> packets;
    packets.swap(held);
    for (auto& p : packets) {
      if (!DecodeVideo(p.get())) return false;
    }
    return true;
  }
  bool DecodeVideoChecked(AVPacket* pkt) {
    const bool key = (pkt->flags & AV_PKT_FLAG_KEY) != 0;
    if (!held.empty()) {
      if (key) {
        if (!FlushHeld(false)) return false;
      } else {
        UniqueAVPacket p(av_packet_clone(pkt));
        if (!p) return FlushHeld(true) && DecodeVideo(pkt);
        held.push_back(std::move(p));
        return held.size() < 3 || FlushHeld(true);
      }
    }
    if ((pkt->flags & AV_PKT_FLAG_CORRUPT) && !key) {
      UniqueAVPacket p(av_packet_clone(pkt));
      if (p) {
        held.push_back(std::move(p));
        return true;
      }
      MarkCorrupt(packet_seq + 1);
    }
    return DecodeVideo(pkt);
  }

  bool DrainFlush() {
    if (!video_ctx) return true;
    if (!FlushHeld(true)) return false;
    return DecodeVideo(nullptr);
  }

  void Loop() {
    UniqueAVPacket pkt = MakeAVPacket();
    for (;;) {
      if (self->cancelled_) return;
      int ret = av_read_frame(fmt.get(), pkt.get());
      if (ret == AVERROR_EOF || ret == AVERROR_EXIT || self->cancelled_) break;
      if (ret == AVERROR(EAGAIN)) continue;
      if (ret < 0) {
        // A damaged container that the demuxer cannot resync past: the input is done.
        if (avio_feof(fmt->pb)) break;
        UpdateStats([](StreamDecoderStats& s) { ++s.demux_errors; });
        if (fmt->pb->error) break;
        continue;
      }
      if (fmt->nb_streams > 0 && (video_index < 0 || audio_index < 0)) SelectStreams();
      bool ok = true;
      const AVStream* st = pkt->stream_index < static_cast<int>(fmt->nb_streams) ? fmt->streams[pkt->stream_index] : nullptr;
      if (pkt->stream_index == video_index && video_ctx) {
        if (st->codecpar->codec_id != video_codec_id) {
          // Codec changed under the same stream (new PMT): re-open.
          DrainFlush();
          video_ctx.reset();
          OpenVideo(video_index);
          MarkCorrupt(packet_seq + 1);
          UpdateStats([](StreamDecoderStats& s) { ++s.resets; });
        }
        other_video_packets = 0;
        ok = DecodeVideoChecked(pkt.get());
      } else if (pkt->stream_index == audio_index) {
        if (self->options_.audio_packets && audio_info) {
          auto ap = std::make_shared<AudioPacket>();
          ap->packet.reset(av_packet_clone(pkt.get()));
          ap->stream = audio_info;
          if (ap->packet) {
            UpdateStats([](StreamDecoderStats& s) { ++s.audio_packets; });
            ok = self->sink_->OnAudioPacket(std::move(ap));
          }
        }
        if (ok) ok = DecodeAudio(pkt.get());
      } else if (st && st->codecpar->codec_type == AVMEDIA_TYPE_VIDEO && video_index >= 0 && self->options_.video) {
        ok = MaybeSwitchVideo(pkt->stream_index) || true;
      }
      av_packet_unref(pkt.get());
      if (!ok) { stop = true; return; }
    }
    if (self->cancelled_) return;
    // End of input: flush the decoders so their delayed frames come out.
    // The stream ended right after a damaged packet: decode what is held as damaged.
    if (video_ctx && !FlushHeld(true)) return;
    if (video_ctx && !DecodeVideo(nullptr)) return;
    if (audio_ctx) DecodeAudio(nullptr);
  }
};

StreamDecoder::StreamDecoder(const StreamDecoderOptions& options, StreamDecoderSink* sink)
    : options_(options), sink_(sink), input_(options.max_buffered_bytes),
      pool_(FramePool::Create(std::max(1, options.pool_size))) {
  if (options_.device == DecodeDevice::kCuda) {
    const GpuDriverInfo& drv = ProbeGpuDriver();
    std::string reason;
    if (!drv.driver_loaded) reason = drv.driver_error.empty() ? "no NVIDIA driver" : drv.driver_error;
    else if (options_.cuda_index < 0 || options_.cuda_index >= static_cast<int>(drv.devices.size()))
      reason = "no CUDA device " + std::to_string(options_.cuda_index);
    else if (!drv.devices[options_.cuda_index].nvdec.available) reason = drv.devices[options_.cuda_index].nvdec.reason;
    if (!reason.empty()) {
      throw NativeException("ERR_NVDEC_UNAVAILABLE",
                            "NVDEC on cuda:" + std::to_string(options_.cuda_index) + " is not available: " + reason +
                                " (use device 'auto' or 'cpu')",
                            "nvdec");
    }
  }
  input_.SetOnWritable([this] { sink_->OnWritable(); });
}

StreamDecoder::~StreamDecoder() {
  Cancel();
  Join();
}

void StreamDecoder::Start() {
  thread_ = std::thread([this] { Run(); });
}

void StreamDecoder::Cancel() {
  cancelled_ = true;
  input_.Cancel();
  pool_->Notify();
}

void StreamDecoder::Join() {
  if (thread_.joinable()) thread_.join();
}

StreamDecoderStats StreamDecoder::Stats() const {
  std::lock_guard<std::mutex> lock(stats_mu_);
  StreamDecoderStats s = stats_;
  s.bytes_in = input_.total_pushed();
  return s;
}

void StreamDecoder::Run() {
  NativeError error;
  bool failed = false;
  try {
    Impl impl(this);
    impl.CreateHwDevice();
    impl.OpenInput();
    if (!impl.stop && !cancelled_) {
      impl.SelectStreams();
      impl.Loop();
    }
    // The decoders and demuxer are released here, on the decode thread; delivered frames keep their
    // own references to the buffers (and the hw frames context) they use.
  } catch (const NativeException& e) {
    error = e.error();
    failed = true;
  } catch (const std::exception& e) {
    error = NativeError{"ERR_NATIVE", e.what(), "decoder", 0, false};
    failed = true;
  }
  // A failure caused by cancellation is not an error.
  sink_->OnEnd(failed && !cancelled_ ? &error : nullptr);
}

}  // namespace trickle
