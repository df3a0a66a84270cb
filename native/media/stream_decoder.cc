#include "media/stream_decoder.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <deque>
#include <vector>

extern "C" {
#include <libavutil/hwcontext.h>
#include <libavutil/pixdesc.h>
}

#include "common/gpu_driver.h"
#include "common/gpu_policy.h"
#include "common/thread_name.h"
#include "cuda/cuda_runtime_info.h"
#include "frame/color_spec.h"
#include "frame/cuda_device.h"
#include "media/ts_demuxer.h"

namespace trickle {

namespace {

constexpr int kIoBufferSize = 32 * 1024;
// With no keyframe queued, the input backlog bound drops the queued video only past this many
// times the bound (StreamDecoderOptions::max_backlog_ms).
constexpr double kBacklogDropAllFactor = 4;

int64_t BestPts(const AVFrame* f) {
  return f->best_effort_timestamp != AV_NOPTS_VALUE ? f->best_effort_timestamp : f->pts;
}

// Live NVDEC decoders per device, for 'auto' placement across GPUs (common/gpu_policy.h).
constexpr int kMaxTrackedDevices = 64;
// StreamDecoders alive in the process (DefaultDecoderThreads).
std::atomic<int> g_live_decoders{0};
std::atomic<int> g_live_nvdec[kMaxTrackedDevices];

// What the decoder's device choice depends on, for device `index` (common/gpu_policy.h).
DecodeDeviceFacts DecodeFactsFor(const GpuDriverInfo& drv, const CudaRuntimeInfo& rt, int index) {
  DecodeDeviceFacts f;
  f.driver_loaded = drv.driver_loaded;
  f.driver_error = drv.driver_error;
  f.device_count = static_cast<int>(drv.devices.size());
  if (index >= 0 && index < f.device_count) {
    const CodecEngineAvailability nvdec = NvdecOn(index);
    f.nvdec_available = nvdec.available;
    f.nvdec_reason = nvdec.reason;
  }
  f.kernels_usable = rt.kernels_usable && index >= 0 && index < rt.device_count;
  f.kernels_reason = rt.kernels_usable ? "no such device for the CUDA runtime" : rt.status;
  return f;
}

bool IsKeyFrame(const AVFrame* f) {
#if LIBAVUTIL_VERSION_INT >= AV_VERSION_INT(58, 7, 100)
  return (f->flags & AV_FRAME_FLAG_KEY) != 0;
#else
  return f->key_frame != 0;
#endif
}

}  // namespace

int DefaultDecoderThreads() {
  const int cores = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  const int live = std::max(1, g_live_decoders.load());
  return std::max(1, std::min(4, cores / live));
}

// Everything that lives on the decode thread.
struct StreamDecoder::Impl {
  explicit Impl(StreamDecoder* owner) : self(owner) {}
  StreamDecoder* self;
  UniqueAVIOContext io;
  UniqueAVInputFormatContext fmt;
  UniqueAVBufferRef hw_device;
  int hw_device_index = -1;
  // Decoded pictures are copied out of NVDEC's surfaces into frames of this context (see
  // DetachFromDecoder); re-fetched when the size or format changes.
  UniqueAVBufferRef copy_frames;
  int copy_width = 0, copy_height = 0;
  AVPixelFormat copy_format = AV_PIX_FMT_NONE;
  bool chose_cuda = false;      // GetFormat picked AV_PIX_FMT_CUDA at least once
  std::string nvdec_failure;    // 'cuda:N' could not be served: the stream fails with this reason
  bool format_checked = false;  // the first picture's pixel format was checked
  ~Impl() {
    if (hw_device_index >= 0 && hw_device_index < kMaxTrackedDevices) g_live_nvdec[hw_device_index].fetch_sub(1);
  }

  int video_index = -1;
  int audio_index = -1;
  UniqueAVCodecContext video_ctx;
  UniqueAVCodecContext audio_ctx;
  AVCodecID video_codec_id = AV_CODEC_ID_NONE;
  AVCodecID audio_codec_id = AV_CODEC_ID_NONE;
  AVRational video_time_base{1, 90000};
  AVRational audio_time_base{1, 90000};
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
  std::vector<uint8_t> replay;  // see Read()
  size_t replay_pos = 0;
  UniqueAVFrame scratch = MakeAVFrame();
  bool stop = false;

  static int Read(void* opaque, uint8_t* buf, int size) {
    auto* impl = static_cast<Impl*>(opaque);
    if (impl->replay_pos < impl->replay.size()) {
      // Bytes the MPEG-TS path read before handing the input to libavformat.
      const size_t n = std::min(static_cast<size_t>(size), impl->replay.size() - impl->replay_pos);
      std::memcpy(buf, impl->replay.data() + impl->replay_pos, n);
      impl->replay_pos += n;
      if (impl->replay_pos == impl->replay.size()) {
        std::vector<uint8_t>().swap(impl->replay);
        impl->replay_pos = 0;
      }
      return static_cast<int>(n);
    }
    size_t n = 0;
    switch (impl->self->input_.Read(buf, static_cast<size_t>(size), &n)) {
      case ByteQueue::ReadStatus::kData: return static_cast<int>(n);
      case ByteQueue::ReadStatus::kEnd: return AVERROR_EOF;
      case ByteQueue::ReadStatus::kCancelled: return AVERROR_EXIT;
      case ByteQueue::ReadStatus::kEmpty: return AVERROR(EAGAIN);  // Read() waits: not returned
    }
    return AVERROR_EXIT;
  }
  static int Interrupt(void* opaque) { return static_cast<Impl*>(opaque)->self->cancelled_.load() ? 1 : 0; }

  static AVPixelFormat GetFormat(AVCodecContext* ctx, const AVPixelFormat* fmts) {
    auto* impl = static_cast<Impl*>(ctx->opaque);
    AVPixelFormat software = AV_PIX_FMT_NONE;
    for (const AVPixelFormat* p = fmts; *p != AV_PIX_FMT_NONE; ++p) {
      if (*p == AV_PIX_FMT_CUDA && impl->hw_device) {
        impl->chose_cuda = true;
        return *p;
      }
      const AVPixFmtDescriptor* d = av_pix_fmt_desc_get(*p);
      if (software == AV_PIX_FMT_NONE && d && !(d->flags & AV_PIX_FMT_FLAG_HWACCEL)) software = *p;
    }
    if (impl->hw_device) {
      // FFmpeg offers CUDA only when its NVDEC hwaccel handles the codec, profile and chroma format,
      // and calls get_format again without it when the hwaccel failed to start (NVDEC caps: size,
      // level, bit depth; surfaces; sessions). The reason says which of the two happened.
      const char* sw = av_get_pix_fmt_name(ctx->sw_pix_fmt);
      const std::string what = std::string(avcodec_get_name(ctx->codec_id)) + " " + std::to_string(ctx->coded_width) + "x" +
                               std::to_string(ctx->coded_height) + " " + (sw ? sw : "?");
      const std::string reason =
          impl->chose_cuda
              ? "NVDEC could not start a decoder for this stream (" + what +
                    "): it exceeds what this GPU's NVDEC decodes (size, level, bit depth) or its decode sessions are in use"
              : "FFmpeg's NVDEC hwaccel does not take this stream (" + what + ")";
      if (impl->self->options_.device == DecodeDevice::kCuda) {
        // 'cuda:N' is a promise of NVDEC frames: no silent software fallback.
        impl->nvdec_failure = reason;
        return AV_PIX_FMT_NONE;
      }
      std::lock_guard<std::mutex> lock(impl->self->stats_mu_);
      impl->self->stats_.hardware = false;
      impl->self->stats_.hw_fallback_reason = reason + "; decoding in software";
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
    const CudaRuntimeInfo rt = QueryCudaRuntime();
    int index = o.cuda_index;
    if (o.device == DecodeDevice::kAuto) {
      // 'auto': the NVDEC-capable device (CUDA kernels usable too) with the fewest live decoders.
      std::vector<bool> capable;
      std::vector<int> live;
      for (int i = 0; i < static_cast<int>(drv.devices.size()) && i < kMaxTrackedDevices; ++i) {
        capable.push_back(ChooseDecodeDevice(DecodeRequest::kAuto, i, DecodeFactsFor(drv, rt, i)).use_nvdec);
        live.push_back(g_live_nvdec[i].load());
      }
      const int placed = PlaceOnDevice(capable, live);
      index = placed >= 0 ? placed : 0;
    }
    const DecodeRequest request = o.device == DecodeDevice::kCuda ? DecodeRequest::kCuda : DecodeRequest::kAuto;
    DecodeDeviceChoice choice = ChooseDecodeDevice(request, index, DecodeFactsFor(drv, rt, index));
    if (choice.use_nvdec) {
      // The process-wide FFmpeg CUDA device (primary context, device+1 in user_opaque), shared with
      // the tensor ops and NVENC (docs/frames.md, context rule).
      try {
        hw_device = CudaHwDeviceRef(index);
        hw_device_index = index;
        if (index < kMaxTrackedDevices) g_live_nvdec[index].fetch_add(1);
      } catch (const NativeException& e) {
        choice.reason = e.error().message;
      }
    }
    if (!hw_device && !choice.reason.empty()) {
      if (o.device == DecodeDevice::kCuda) {
        throw NativeException("ERR_NVDEC_UNAVAILABLE", "NVDEC on cuda:" + std::to_string(index) +
                                                           " is not available: " + choice.reason,
                              "nvdec");
      }
      UpdateStats([&](StreamDecoderStats& s) { s.hw_fallback_reason = choice.reason; });
    }
  }

  // Copies a picture out of NVDEC's surfaces into a CUDA frame of trickle-rt's own pool (one
  // device-to-device copy, on FFmpeg's stream, ordered before any kernel by the ops-stream rule of
  // cuda/cuda_ops.h). The decoder's surface is free again at once: frames that JavaScript, queues
  // or NVENC hold pin no NVDEC surface, so the surface count stays DPB + 2 + kNvdecExtraSurfaces
  // whatever the frame pool size (common/gpu_policy.h).
  UniqueAVFrame DetachFromDecoder(AVFrame* decoded) {
    const auto* hwfc = reinterpret_cast<const AVHWFramesContext*>(decoded->hw_frames_ctx->data);
    if (!copy_frames || copy_width != decoded->width || copy_height != decoded->height || copy_format != hwfc->sw_format) {
      copy_frames = CudaHwFramesRef(hw_device_index, decoded->width, decoded->height, hwfc->sw_format);
      copy_width = decoded->width;
      copy_height = decoded->height;
      copy_format = hwfc->sw_format;
    }
    UniqueAVFrame copy = MakeAVFrame();
    ThrowIfAvError(av_hwframe_get_buffer(copy_frames.get(), copy.get(), 0), "ERR_OUT_OF_MEMORY", "av_hwframe_get_buffer");
    ThrowIfAvError(av_hwframe_transfer_data(copy.get(), decoded, 0), "ERR_CUDA", "av_hwframe_transfer_data");
    ThrowIfAvError(av_frame_copy_props(copy.get(), decoded), "ERR_OUT_OF_MEMORY", "av_frame_copy_props");
    return copy;
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
    OpenVideoDecoder(st->codecpar->codec_id, st->codecpar, st->time_base);
    video_index = index;
  }

  // `par` may be null: the decoder then learns everything from the bitstream (SPS/PPS).
  void OpenVideoDecoder(AVCodecID codec_id, const AVCodecParameters* par, AVRational time_base) {
    const AVCodec* codec = avcodec_find_decoder(codec_id);
    if (!codec) {
      throw NativeException("ERR_DECODER_UNAVAILABLE",
                            std::string("no decoder for video codec ") + avcodec_get_name(codec_id),
                            "avcodec_find_decoder");
    }
    UniqueAVCodecContext ctx(avcodec_alloc_context3(codec));
    if (!ctx) throw NativeException("ERR_OUT_OF_MEMORY", "avcodec_alloc_context3 failed", "avcodec_alloc_context3");
    if (par) ThrowIfAvError(avcodec_parameters_to_context(ctx.get(), par), "ERR_DECODE", "avcodec_parameters_to_context");
    ctx->pkt_timebase = time_base;
    ctx->opaque = this;
    // Only frames that decode cleanly from a keyframe/recovery point are output after corruption.
    ctx->flags &= ~AV_CODEC_FLAG_OUTPUT_CORRUPT;
    if (hw_device) {
      ctx->hw_device_ctx = av_buffer_ref(hw_device.get());
      // No silent CPU fallback for 'cuda:N', and a true reason for 'auto' (GetFormat).
      ctx->get_format = &Impl::GetFormat;
      // Pictures are copied out of the decoder's surfaces (DetachFromDecoder): frames held by JS
      // pin none, so NVDEC's pool stays within its 32-surface limit at any frame pool size.
      ctx->extra_hw_frames = kNvdecExtraSurfaces;
    }
    // Slice threads only: frame threading holds back one frame per extra thread (measured with
    // 2 threads at 30 fps: B4 p50 111 ms with frame threads, 79 ms without), which a live stream
    // cannot afford. Throughput across streams comes from one decoder thread per stream; slice
    // threads still help zerolatency (sliced) input. Set with NVDEC too: when FFmpeg falls back to
    // software for a stream NVDEC cannot take, that decode is threaded like any other.
    // Without a caller's count, as many as the cores not already taken by other live decoders: at
    // many streams per core, extra threads only add wake-ups and hand-offs.
    ctx->thread_count = self->options_.threads > 0 ? self->options_.threads : DefaultDecoderThreads();
    ctx->thread_type = FF_THREAD_SLICE;
    int ret = avcodec_open2(ctx.get(), codec, nullptr);
    ThrowIfAvError(ret, "ERR_DECODE", "avcodec_open2");
    video_ctx = std::move(ctx);
    video_time_base = time_base;
    video_codec_id = codec_id;
    UpdateStats([&](StreamDecoderStats& s) {
      s.decoder_threads = video_ctx->thread_count;
      s.video_codec = avcodec_get_name(video_codec_id);
      s.hardware = hw_device != nullptr;
    });
  }

  void OpenAudio(int index) {
    const AVStream* st = fmt->streams[index];
    audio_index = index;
    OpenAudioStream(st->codecpar, st->time_base);
  }

  // A new audio stream (parameters shared by its passthrough packets) and its decoder.
  void OpenAudioStream(const AVCodecParameters* par, AVRational time_base) {
    audio_codec_id = par->codec_id;
    audio_time_base = time_base;
    audio_ctx.reset();
    auto info = std::make_shared<AudioStreamInfo>();
    info->par.reset(avcodec_parameters_alloc());
    if (!info->par) throw NativeException("ERR_OUT_OF_MEMORY", "avcodec_parameters_alloc failed", "avcodec_parameters_alloc");
    ThrowIfAvError(avcodec_parameters_copy(info->par.get(), par), "ERR_DEMUX", "avcodec_parameters_copy");
    info->time_base = time_base;
    info->generation = ++audio_generation;
    audio_info = std::move(info);
    UpdateStats([&](StreamDecoderStats& s) { s.audio_codec = avcodec_get_name(audio_codec_id); });
    if (!self->options_.audio_frames) return;
    const AVCodec* codec = avcodec_find_decoder(audio_codec_id);
    if (!codec) return;  // passthrough may still work; decoded audio is simply absent
    UniqueAVCodecContext ctx(avcodec_alloc_context3(codec));
    if (!ctx) throw NativeException("ERR_OUT_OF_MEMORY", "avcodec_alloc_context3 failed", "avcodec_alloc_context3");
    if (avcodec_parameters_to_context(ctx.get(), par) < 0) return;
    ctx->pkt_timebase = time_base;
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
    if (!format_checked) {
      // The stream starts: a format that frames, tensors and the encoder cannot take ends it here,
      // with the reason, instead of failing every toTensor later.
      const AVPixelFormat sw = frame->hw_frames_ctx
                                   ? reinterpret_cast<const AVHWFramesContext*>(frame->hw_frames_ctx->data)->sw_format
                                   : static_cast<AVPixelFormat>(frame->format);
      const std::string why = UnsupportedVideoFormatReason(sw);
      if (!why.empty()) throw NativeException("ERR_UNSUPPORTED_FORMAT", why, "decoder");
      format_checked = true;
    }
    frame->pts = BestPts(frame);
    // After a switch from the live MPEG-TS path to libavformat, the replayed start of the input
    // decodes again: what the live path already handed out is not handed out twice.
    if (replay_skip_video_pts != AV_NOPTS_VALUE && frame->pts != AV_NOPTS_VALUE && frame->pts <= replay_skip_video_pts) return true;
    auto lease = self->pool_->Acquire([this] { return self->cancelled_.load(); });
    if (!lease) return false;
    if (frame->pts != AV_NOPTS_VALUE) last_video_pts_out = frame->pts;
    const bool changed = last_width != 0 && (frame->width != last_width || frame->height != last_height);
    last_width = frame->width;
    last_height = frame->height;
    UpdateStats([&](StreamDecoderStats& s) {
      ++s.video_frames;
      if (changed) ++s.resolution_changes;
      s.width = frame->width;
      s.height = frame->height;
      if (video_ctx->framerate.num > 0 && video_ctx->framerate.den > 0) s.frame_rate = av_q2d(video_ctx->framerate);
    });
    UniqueAVFrame owned;
    if (frame->format == AV_PIX_FMT_CUDA) {
      owned = DetachFromDecoder(frame);
    } else {
      owned.reset(av_frame_alloc());
      if (!owned) throw NativeException("ERR_OUT_OF_MEMORY", "av_frame_alloc failed", "av_frame_alloc");
      av_frame_move_ref(owned.get(), frame);
    }
    auto vf = std::make_shared<const VideoFrame>(std::move(owned), video_time_base, std::move(lease));
    return self->sink_->OnVideo(std::move(vf));
  }

  // Sends one packet (nullptr: flush) and delivers every frame it yields. Returns false to stop.
  bool DecodeVideo(AVPacket* pkt) {
    if (pkt) SetSeq(pkt, ++packet_seq);
    const auto t0 = std::chrono::steady_clock::now();
    int ret = avcodec_send_packet(video_ctx.get(), pkt);
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    UpdateStats([&](StreamDecoderStats& s) { s.decode_ms += ms; });
    if (!nvdec_failure.empty()) throw NativeException("ERR_NVDEC_UNAVAILABLE", nvdec_failure, "nvdec");
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
      if (!nvdec_failure.empty()) throw NativeException("ERR_NVDEC_UNAVAILABLE", nvdec_failure, "nvdec");
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
        audio = AudioFrame::FromAVFrame(std::move(owned), audio_time_base);
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

  // ---- Live MPEG-TS path (media/ts_demuxer.h) ----
  // Each PES goes to the decoder as soon as it is complete; streams come from the PMT, so there is
  // no probing window. Used for MPEG-TS whose program has H.264/HEVC video (or none) and audio this
  // path frames itself (AAC ADTS, AC-3, E-AC-3) or none; any other input goes to libavformat.
  struct TsListener : TsDemuxerListener {
    explicit TsListener(Impl* i) : impl(i) {}
    Impl* impl;
    void OnProgram(const std::vector<TsStream>& streams) override {
      // What was queued under the previous program is decoded first, by the decoders it was for.
      if (!impl->stop_requested && !impl->ProcessAllPending()) impl->stop_requested = true;
      impl->TsProgram(streams);
    }
    bool OnPes(TsPes& pes) override { return impl->OnTsPes(pes); }
  };
  bool ts_probing = true;      // still deciding between this path and libavformat
  // The last timestamps handed out, and after a switch to libavformat the ones up to which the
  // replayed input is decoded without being handed out again (same 90 kHz MPEG-TS clock).
  int64_t last_video_pts_out = AV_NOPTS_VALUE;
  int64_t last_audio_pts_out = AV_NOPTS_VALUE;
  int64_t replay_skip_video_pts = AV_NOPTS_VALUE;
  int64_t replay_skip_audio_pts = AV_NOPTS_VALUE;
  bool ts_fallback = false;    // the program needs libavformat
  int ts_video_pid = -1;
  int ts_audio_pid = -1;
  int64_t ts_last_timestamp = AV_NOPTS_VALUE;
  struct AudioParserDeleter {
    void operator()(AVCodecParserContext* p) const noexcept { av_parser_close(p); }
  };
  std::unique_ptr<AVCodecParserContext, AudioParserDeleter> audio_parser;
  UniqueAVCodecContext audio_parser_ctx;  // what the parser learns: rate, channels, frame size
  int64_t audio_next_pts = AV_NOPTS_VALUE;

  static bool TsVideoSupported(AVCodecID id) { return id == AV_CODEC_ID_H264 || id == AV_CODEC_ID_HEVC; }
  static bool TsAudioSupported(AVCodecID id) {
    // MPEG audio is left to libavformat: its parser only states rate and channels (and layer 2 vs 3)
    // after several frames, which would cost the first ones here.
    return id == AV_CODEC_ID_AAC || id == AV_CODEC_ID_AC3 || id == AV_CODEC_ID_EAC3;
  }

  // 33-bit timestamps made continuous (one reference across the program's streams).
  int64_t Unwrap(int64_t ts) {
    if (ts == AV_NOPTS_VALUE) return ts;
    if (ts_last_timestamp == AV_NOPTS_VALUE) return ts_last_timestamp = ts;
    constexpr int64_t kWrap = int64_t{1} << 33;
    int64_t d = (ts - ts_last_timestamp) % kWrap;
    if (d < 0) d += kWrap;
    if (d >= kWrap / 2) d -= kWrap;
    return ts_last_timestamp += d;
  }

  void TsProgram(const std::vector<TsStream>& streams) {
    const TsStream* video = nullptr;
    const TsStream* audio = nullptr;
    for (const TsStream& st : streams) {
      if (st.codec_id == AV_CODEC_ID_NONE) continue;
      if (st.type == AVMEDIA_TYPE_VIDEO && !video && self->options_.video) video = &st;
      if (st.type == AVMEDIA_TYPE_AUDIO && !audio && (self->options_.audio_frames || self->options_.audio_packets)) audio = &st;
    }
    if (ts_probing && ((video && !TsVideoSupported(video->codec_id)) || (audio && !TsAudioSupported(audio->codec_id)))) {
      ts_fallback = true;
      return;
    }
    if (video && (video->pid != ts_video_pid || video->codec_id != video_codec_id)) {
      const bool switching = video_ctx != nullptr;
      if (switching && !DrainFlush()) return;
      video_ctx.reset();
      ts_video_pid = video->pid;
      OpenVideoDecoder(video->codec_id, nullptr, AVRational{1, 90000});
      if (switching) {
        MarkCorrupt(packet_seq + 1);
        UpdateStats([](StreamDecoderStats& s) { ++s.resets; });
      }
    } else if (!video) {
      ts_video_pid = -1;
    }
    if (audio && (audio->pid != ts_audio_pid || audio->codec_id != audio_codec_id || !audio_parser)) {
      ts_audio_pid = audio->pid;
      OpenAudioParser(audio->codec_id);
    } else if (!audio) {
      ts_audio_pid = -1;
    }
  }

  void OpenAudioParser(AVCodecID id) {
    audio_parser.reset();
    audio_parser_ctx.reset();
    audio_info.reset();  // the stream's parameters come with its first frame
    audio_ctx.reset();
    audio_codec_id = id;
    audio_next_pts = AV_NOPTS_VALUE;
    adts_tail.clear();
    audio_parser.reset(av_parser_init(id));
    const AVCodec* codec = avcodec_find_decoder(id);
    audio_parser_ctx.reset(avcodec_alloc_context3(codec));
    if (!audio_parser || !audio_parser_ctx) {
      audio_parser.reset();
      UpdateStats([](StreamDecoderStats& s) { ++s.demux_errors; });
      return;
    }
    audio_parser_ctx->codec_id = id;
    audio_parser_ctx->codec_type = AVMEDIA_TYPE_AUDIO;
    UpdateStats([&](StreamDecoderStats& s) { s.audio_codec = avcodec_get_name(id); });
  }

  static bool KeyAccessUnit(AVCodecID codec, const uint8_t* d, size_t n) {
    for (size_t i = 0; i + 3 < n; ++i) {
      if (d[i] != 0 || d[i + 1] != 0 || d[i + 2] != 1) continue;
      const uint8_t h = d[i + 3];
      if (codec == AV_CODEC_ID_H264) {
        const int type = h & 0x1f;
        if (type == 5) return true;
        if (type >= 1 && type <= 4) return false;  // first slice: not IDR
      } else {
        const int type = (h >> 1) & 0x3f;
        if (type >= 16 && type <= 21) return true;  // IRAP
        if (type < 16) return false;
      }
      i += 2;
    }
    return false;
  }

  // ---- The input backlog (live MPEG-TS path) ----
  // Complete PES wait here, in input order, between the demuxer and the decoders: the decode thread
  // takes in every byte already pushed (demuxing is cheap) before decoding the next access unit, so
  // it sees how long the oldest one has waited and what is queued behind it (keyframes).
  struct PendingPes {
    TsPes pes;
    bool video = false;
    bool key = false;  // video: a keyframe (IDR / IRAP), decodable without what came before
    ByteQueue::Clock::time_point arrived;  // when its last bytes were pushed
  };
  std::deque<PendingPes> pending;
  size_t pending_bytes = 0;
  ByteQueue::Clock::time_point feed_arrived;  // push time of the bytes being fed to the demuxer
  bool skip_to_key = false;    // the backlog bound skipped video: the next keyframe resumes decoding
  bool stop_requested = false; // a sink asked to stop while the demuxer was running

  bool OnTsPes(TsPes& pes) {
    if (ts_probing && ts_fallback) return false;
    if (stop_requested) return false;
    const bool video = pes.pid == ts_video_pid && video_ctx;
    const bool audio = pes.pid == ts_audio_pid && audio_parser;
    if (!video && !audio) return true;
    PendingPes p;
    p.video = video;
    p.key = video && (pes.random_access || KeyAccessUnit(video_codec_id, pes.data.data(), pes.data.size()));
    p.arrived = feed_arrived;
    pending_bytes += pes.data.size();
    p.pes = std::move(pes);
    pending.push_back(std::move(p));
    return true;
  }

  // Decodes the next queued PES, after applying the backlog bound. Returns false to stop.
  bool ProcessPending() {
    ApplyBacklogBound();
    if (pending.empty()) return true;
    PendingPes p = std::move(pending.front());
    pending.pop_front();
    pending_bytes -= p.pes.data.size();
    if (p.video) {
      if (!video_ctx || p.pes.pid != ts_video_pid) return true;
      if (skip_to_key) {
        if (!p.key) {
          UpdateStats([](StreamDecoderStats& s) { ++s.backlog_skipped_frames; });
          return true;
        }
        skip_to_key = false;
      }
      return TsVideo(p.pes, p.key);
    }
    if (!audio_parser || p.pes.pid != ts_audio_pid) return true;
    return TsAudio(p.pes);
  }

  bool ProcessAllPending() {
    while (!pending.empty()) {
      if (!ProcessPending()) return false;
    }
    return true;
  }

  // When the oldest queued video access unit has waited past the bound: drops the queued video
  // before the newest queued keyframe. With no keyframe queued, only past kBacklogDropAllFactor
  // times the bound: all queued video, then what follows up to the next keyframe (a whole GOP may
  // go, so a stall the decoder would catch up on does not cost that). Nothing decoded refers to
  // what is skipped (decoding resumes at a keyframe); frames still inside the decoder come out
  // first. Audio stays queued, in order.
  void ApplyBacklogBound() {
    const double bound_ms = self->options_.max_backlog_ms;
    if (bound_ms <= 0 || pending.empty()) return;
    auto first = std::find_if(pending.begin(), pending.end(), [](const PendingPes& p) { return p.video; });
    if (first == pending.end()) return;
    const double age_ms = std::chrono::duration<double, std::milli>(ByteQueue::Clock::now() - first->arrived).count();
    if (age_ms <= bound_ms) return;
    std::ptrdiff_t newest_key = -1;
    for (std::ptrdiff_t i = static_cast<std::ptrdiff_t>(pending.size()) - 1; i >= 0; --i) {
      const PendingPes& p = pending[static_cast<size_t>(i)];
      if (p.video && p.key) {
        newest_key = i;
        break;
      }
    }
    if (newest_key == first - pending.begin()) return;  // the oldest is the newest keyframe: decode on
    if (newest_key < 0 && age_ms <= bound_ms * kBacklogDropAllFactor) return;
    int64_t skipped = 0;
    std::deque<PendingPes> kept;
    for (std::ptrdiff_t i = 0; i < static_cast<std::ptrdiff_t>(pending.size()); ++i) {
      PendingPes& p = pending[static_cast<size_t>(i)];
      if (p.video && (newest_key < 0 || i < newest_key)) {
        pending_bytes -= p.pes.data.size();
        ++skipped;
      } else {
        kept.push_back(std::move(p));
      }
    }
    pending.swap(kept);
    skip_to_key = newest_key < 0;
    // Frames decoded from here on are handed out from a keyframe on only (HEVC leading pictures
    // that refer to skipped ones included).
    MarkCorrupt(packet_seq + 1);
    UpdateStats([&](StreamDecoderStats& s) {
      s.backlog_skipped_frames += skipped;
      ++s.backlog_skips;
    });
  }

  bool TsVideo(TsPes& pes, bool key) {
    UniqueAVPacket pkt = MakeAVPacket();
    if (pes.data.empty() || av_new_packet(pkt.get(), static_cast<int>(pes.data.size())) < 0) return true;
    std::memcpy(pkt->data, pes.data.data(), pes.data.size());
    pkt->pts = Unwrap(pes.pts);
    pkt->dts = pes.dts == pes.pts ? pkt->pts : Unwrap(pes.dts);
    if (key) pkt->flags |= AV_PKT_FLAG_KEY;
    if (pes.damaged) {
      // Lost bytes inside this frame: it is not decoded, and what follows waits for a keyframe.
      MarkCorrupt(packet_seq + 1);
      ++packet_seq;
      UpdateStats([](StreamDecoderStats& s) { ++s.demux_errors; });
      return true;
    }
    if (pes.gap_before && !key) {
      // Data lost before a frame that is not a keyframe (a gap right before a keyframe is how a
      // restarted sender or concatenated segments look, and loses nothing).
      MarkCorrupt(packet_seq + 1);
      UpdateStats([](StreamDecoderStats& s) { ++s.demux_errors; });
    }
    return DecodeVideo(pkt.get());
  }

  bool TsAudio(TsPes& pes) {
    int64_t pts = Unwrap(pes.pts);
    if (audio_codec_id == AV_CODEC_ID_AAC) return TsAdts(pes, pts);
    const uint8_t* data = pes.data.data();
    int size = static_cast<int>(pes.data.size());
    while (size > 0) {
      uint8_t* out = nullptr;
      int out_size = 0;
      const int used = av_parser_parse2(audio_parser.get(), audio_parser_ctx.get(), &out, &out_size, data, size, pts,
                                        pts, 0);
      if (used < 0) break;
      data += used;
      size -= used;
      pts = AV_NOPTS_VALUE;
      if (out_size > 0 && !TsAudioFrame(out, out_size)) return false;
    }
    return true;
  }

  // ADTS frames carry their own length: each goes out at once (the AAC parser would hold the last
  // frame of a PES until the next PES). A frame cut by the PES end waits for the rest in adts_tail.
  std::vector<uint8_t> adts_tail;
  bool TsAdts(TsPes& pes, int64_t pts) {
    std::vector<uint8_t> joined;
    const uint8_t* d = pes.data.data();
    size_t n = pes.data.size();
    if (!adts_tail.empty()) {
      joined.swap(adts_tail);
      joined.insert(joined.end(), d, d + n);
      d = joined.data();
      n = joined.size();
      pts = AV_NOPTS_VALUE;  // the PES timestamp belongs to the first frame starting in it
    }
    size_t i = 0;
    while (i + 7 <= n) {
      if (d[i] != 0xff || (d[i + 1] & 0xf6) != 0xf0) {
        ++i;  // resync on the next ADTS header
        continue;
      }
      const size_t len = ((d[i + 3] & 3u) << 11) | (size_t{d[i + 4]} << 3) | (d[i + 5] >> 5);
      if (len < 7) {
        ++i;
        continue;
      }
      if (i + len > n) break;
      audio_parser->pts = pts;
      if (!TsAudioFrame(d + i, static_cast<int>(len))) return false;
      pts = AV_NOPTS_VALUE;
      i += len;
    }
    if (i < n && n - i < 8192) adts_tail.assign(d + i, d + n);
    return true;
  }

  bool TsAudioFlush() {
    if (!audio_parser || audio_codec_id == AV_CODEC_ID_AAC) return true;
    uint8_t* out = nullptr;
    int out_size = 0;
    av_parser_parse2(audio_parser.get(), audio_parser_ctx.get(), &out, &out_size, nullptr, 0, AV_NOPTS_VALUE,
                     AV_NOPTS_VALUE, 0);
    return out_size <= 0 || TsAudioFrame(out, out_size);
  }

  // One audio frame out of the parser: its stream parameters (from its own header) and timestamp.
  bool TsAudioFrame(const uint8_t* data, int size) {
    AVCodecContext* pc = audio_parser_ctx.get();
    int adts_samples = 0;
    if (audio_codec_id == AV_CODEC_ID_AAC) {
      // The AAC parser leaves rate and channels to a decoder: they are in each ADTS header.
      static const int kRates[] = {96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350};
      if (size < 7 || data[0] != 0xff || (data[1] & 0xf6) != 0xf0) {
        UpdateStats([](StreamDecoderStats& s) { ++s.decode_errors; });
        return true;
      }
      const int rate_index = (data[2] >> 2) & 0x0f;
      const int channel_config = ((data[2] & 1) << 2) | (data[3] >> 6);
      if (rate_index < 13 && channel_config > 0) {
        pc->sample_rate = kRates[rate_index];
        if (pc->ch_layout.nb_channels != (channel_config == 7 ? 8 : channel_config)) {
          av_channel_layout_uninit(&pc->ch_layout);
          av_channel_layout_default(&pc->ch_layout, channel_config == 7 ? 8 : channel_config);
        }
        pc->profile = data[2] >> 6;  // audio object type - 1
      }
      adts_samples = 1024 * ((data[6] & 3) + 1);
      pc->frame_size = adts_samples;
    }
    const int channels = pc->ch_layout.nb_channels;
    if (pc->sample_rate <= 0 || channels <= 0) {
      UpdateStats([](StreamDecoderStats& s) { ++s.decode_errors; });
      return true;
    }
    const AVCodecParameters* cur = audio_info ? audio_info->par.get() : nullptr;
    if (!cur || cur->sample_rate != pc->sample_rate || cur->ch_layout.nb_channels != channels) {
      UniqueAVCodecParameters par(avcodec_parameters_alloc());
      if (!par) throw NativeException("ERR_OUT_OF_MEMORY", "avcodec_parameters_alloc failed", "avcodec_parameters_alloc");
      ThrowIfAvError(avcodec_parameters_from_context(par.get(), pc), "ERR_DEMUX", "avcodec_parameters_from_context");
      par->codec_type = AVMEDIA_TYPE_AUDIO;
      par->codec_id = audio_codec_id;
      OpenAudioStream(par.get(), AVRational{1, 90000});
    }
    const int64_t parsed_pts = audio_parser->pts;
    int64_t pts = parsed_pts != AV_NOPTS_VALUE ? parsed_pts : audio_next_pts;
    const int samples = adts_samples > 0 ? adts_samples : audio_parser->duration > 0 ? audio_parser->duration : pc->frame_size;
    if (pts != AV_NOPTS_VALUE && samples > 0) audio_next_pts = pts + av_rescale(samples, 90000, pc->sample_rate);
    UniqueAVPacket pkt = MakeAVPacket();
    if (av_new_packet(pkt.get(), size) < 0) return true;
    std::memcpy(pkt->data, data, static_cast<size_t>(size));
    pkt->pts = pkt->dts = pts;
    if (samples > 0) pkt->duration = av_rescale(samples, 90000, pc->sample_rate);
    pkt->flags |= AV_PKT_FLAG_KEY;
    return AudioPacketOut(pkt.get());
  }

  // A demuxed audio packet: handed out for passthrough and/or decoded.
  bool AudioPacketOut(AVPacket* pkt) {
    // After a switch to libavformat, packets the live path already handed out are not repeated.
    if (replay_skip_audio_pts != AV_NOPTS_VALUE && pkt->pts != AV_NOPTS_VALUE && pkt->pts <= replay_skip_audio_pts) return true;
    if (pkt->pts != AV_NOPTS_VALUE) last_audio_pts_out = pkt->pts;
    bool ok = true;
    if (self->options_.audio_packets && audio_info) {
      auto ap = std::make_shared<AudioPacket>();
      ap->packet.reset(av_packet_clone(pkt));
      ap->stream = audio_info;
      if (ap->packet) {
        UpdateStats([](StreamDecoderStats& s) { ++s.audio_packets; });
        ok = self->sink_->OnAudioPacket(std::move(ap));
      }
    }
    return ok && DecodeAudio(pkt);
  }

  // Reads the start of the input: MPEG-TS with a program this path handles goes on here (returns
  // true when the input is done); anything else returns false with the bytes read kept for
  // libavformat (Read() replays them).
  bool RunTs() {
    if (!self->options_.format.empty() && self->options_.format != "mpegts") return false;
    TsListener listener(this);
    TsDemuxer demux(&listener);
    std::vector<uint8_t> buf(kIoBufferSize);
    constexpr size_t kMaxProbeBytes = 4 * 1024 * 1024;  // no PMT by then: libavformat decides
    const size_t max_pending = std::max<size_t>(self->options_.max_buffered_bytes, kIoBufferSize);
    for (;;) {
      size_t n = 0;
      ByteQueue::Clock::time_point arrived{};
      // Nothing queued: wait for bytes. Otherwise take in what is already there (up to the bound on
      // queued PES bytes, which keeps the producer's backpressure) and decode one queued PES.
      ByteQueue::ReadStatus status = ByteQueue::ReadStatus::kEmpty;
      if (pending.empty()) {
        status = self->input_.Read(buf.data(), buf.size(), &n, &arrived);
      } else if (pending_bytes < max_pending) {
        status = self->input_.TryRead(buf.data(), buf.size(), &n, &arrived);
      }
      if (status == ByteQueue::ReadStatus::kCancelled) return true;
      if (status == ByteQueue::ReadStatus::kEnd) {
        if (ts_probing) return false;
        break;
      }
      if (status == ByteQueue::ReadStatus::kEmpty) {
        if (!ProcessPending()) { stop = true; return true; }
        continue;
      }
      feed_arrived = arrived;
      if (ts_probing) {
        replay.insert(replay.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
        if (replay.size() < 3 * kTsPacketSize) continue;
        if (!TsDemuxer::LooksLikeTs(replay.data(), replay.size())) return false;
        if (demux.stats().packets == 0) {
          // The first bytes: feed everything read so far.
          if (!demux.Feed(replay.data(), replay.size()) && !ts_fallback) { stop = true; return true; }
        } else if (!demux.Feed(buf.data(), n) && !ts_fallback) {
          stop = true;
          return true;
        }
        if (ts_fallback || (!demux.has_program() && replay.size() > kMaxProbeBytes)) {
          // libavformat replays the input from its start: nothing queued here is handed out.
          pending.clear();
          pending_bytes = 0;
          return false;
        }
        if (demux.has_program()) {
          ts_probing = false;
          std::vector<uint8_t>().swap(replay);
          UpdateStats([](StreamDecoderStats& s) { s.live_ts = true; });
        }
        continue;
      }
      if (!demux.Feed(buf.data(), n)) { stop = true; return true; }
      PublishTsStats(demux.stats());
    }
    if (self->cancelled_) return true;
    if (!demux.Finish() || !ProcessAllPending()) { stop = true; return true; }
    PublishTsStats(demux.stats());
    if (video_ctx && !DecodeVideo(nullptr)) return true;
    if (!TsAudioFlush()) return true;
    if (audio_ctx) DecodeAudio(nullptr);
    return true;
  }

  void PublishTsStats(const TsDemuxerStats& t) {
    UpdateStats([&](StreamDecoderStats& s) {
      s.pes_by_length = t.pes_by_length;
      s.pes_by_stuffing = t.pes_by_stuffing;
      s.pes_by_next_start = t.pes_by_next_start;
      s.continuity_errors = t.continuity_errors;
    });
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
        ok = AudioPacketOut(pkt.get());
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
    const DecodeDeviceChoice choice = ChooseDecodeDevice(
        DecodeRequest::kCuda, options_.cuda_index, DecodeFactsFor(ProbeGpuDriver(), QueryCudaRuntime(), options_.cuda_index));
    if (choice.error) {
      throw NativeException("ERR_NVDEC_UNAVAILABLE",
                            "NVDEC on cuda:" + std::to_string(options_.cuda_index) + " is not available: " + choice.reason +
                                " (use device 'auto' or 'cpu')",
                            "nvdec");
    }
  }
  input_.SetOnWritable([this] { sink_->OnWritable(); });
  g_live_decoders.fetch_add(1);  // last: a constructor that throws leaves the count alone
}

StreamDecoder::~StreamDecoder() {
  Cancel();
  Join();
  g_live_decoders.fetch_sub(1);
}

void StreamDecoder::Start() {
  thread_ = std::thread([this] {
    NameCurrentThread("trt-decode");
    Run();
  });
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
    if (!impl.RunTs()) {
      // Not MPEG-TS this path handles: libavformat, with a probing window, reads it (replaying
      // the bytes RunTs already took). A program change can force this after the live path has
      // handed out frames (a later segment adds a stream it does not frame): those are not repeated.
      impl.replay_skip_video_pts = impl.last_video_pts_out;
      impl.replay_skip_audio_pts = impl.last_audio_pts_out;
      impl.OpenInput();
      if (!impl.stop && !cancelled_) {
        impl.SelectStreams();
        impl.Loop();
      }
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
