#include "media/video_encoder.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <thread>

extern "C" {
#include <libavutil/hwcontext.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
}

#include "common/fault_injection.h"
#include "common/gpu_driver.h"
#include "common/gpu_policy.h"
#include "frame/copy_counters.h"
#include "frame/cuda_device.h"
#include "frame/pinned_host_frame.h"
#include "media/encoder_timing.h"

namespace trickle {

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
    const CodecEngineAvailability nvenc = NvencOn(d.index);
    if (nvenc.available) return true;
    *reason = nvenc.reason;
  }
  if (reason->empty()) *reason = "no CUDA device";
  return false;
}

namespace {

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

void VideoEncoder::SwsDeleter::operator()(SwsContext* c) const noexcept { sws_freeContext(c); }

namespace {
// VideoEncoders alive in the process (DefaultEncoderThreads).
std::atomic<int> g_live_encoders{0};
}  // namespace

int DefaultEncoderThreads(int width, int height) {
  const int cores = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  const int live = std::max(1, g_live_encoders.load());
  // A frame of less than half a megapixel is about 2 ms of x264 superfast on one core: slicing it
  // across threads saves a fraction of a millisecond of latency (0.3 ms at 512x512 on the bench
  // machine) and pays per-slice hand-offs and a little compression, so a small frame gets one thread.
  const int64_t pixels = static_cast<int64_t>(std::max(0, width)) * std::max(0, height);
  const int by_size = static_cast<int>(std::max<int64_t>(1, pixels / kPixelsPerEncoderThread));
  return std::max(1, std::min({8, cores / live, by_size}));
}

VideoEncoder::VideoEncoder(const StreamEncoderOptions& options, EncoderReport* report) : opts_(options), report_(report) {
  g_live_encoders.fetch_add(1);
}

VideoEncoder::~VideoEncoder() { g_live_encoders.fetch_sub(1); }

void VideoEncoder::Open(const VideoFrame& first) {
  if (ctx_) return;
  const bool cuda_frame = first.location() == FrameLocation::kCuda;
  const int width = opts_.width > 0 ? opts_.width : first.width();
  const int height = opts_.height > 0 ? opts_.height : first.height();
  if (opts_.encoder != "auto") {
    std::string why;
    if (opts_.encoder == "h264_nvenc" && !NvencAvailable(&why)) {
      throw NativeException("ERR_NVENC_UNAVAILABLE", "h264_nvenc is not available: " + why +
                                                          " (use encoder 'libx264' or 'auto')",
                            "h264_nvenc");
    }
    OpenCodec(opts_.encoder, first);
    return;
  }
  // 'auto': NVENC only for what it takes, on the frame's own GPU (common/gpu_policy.h).
  NvencInputFacts facts;
  facts.build_has_nvenc = avcodec_find_encoder_by_name("h264_nvenc") != nullptr;
  facts.cuda_frame = cuda_frame;
  facts.sw_format = PixelFormatName(first.pixel_format());
  facts.width = width;
  facts.height = height;
  if (cuda_frame && facts.build_has_nvenc) {
    const CodecEngineAvailability nvenc = NvencOn(first.device() >= 0 ? first.device() : 0);
    facts.device_has_nvenc = nvenc.available;
    facts.device_reason = nvenc.reason;
  }
  const bool inject_open_failure = FaultInjected("nvenc-open-fails");
  const NvencChoice choice = inject_open_failure ? NvencChoice{true, ""} : ChooseEncoder(facts);
  if (choice.use_nvenc) {
    try {
      if (inject_open_failure) {
        throw NativeException("ERR_NVENC_UNAVAILABLE", "avcodec_open2(h264_nvenc) failed: injected failure (TRICKLE_RT_INJECT)", "avcodec_open2");
      }
      OpenCodec("h264_nvenc", first);
      return;
    } catch (const NativeException& e) {
      // A session limit, an unsupported level or size...: libx264 takes over (CUDA frames are then
      // downloaded once each, counted in downloads), and the reason is reported.
      report_->Update([&](StreamEncoderStats& s) { s.encoder_reason = "h264_nvenc failed to open: " + e.error().message; });
      report_->Warn("ERR_NVENC_UNAVAILABLE", "h264_nvenc failed to open (" + e.error().message + "); encoding with libx264", "encoder");
      OpenCodec("libx264", first);
      return;
    }
  }
  report_->Update([&](StreamEncoderStats& s) { s.encoder_reason = choice.reason; });
  OpenCodec("libx264", first);
}

void VideoEncoder::OpenCodec(const std::string& name, const VideoFrame& first) {
  const bool cuda_frame = first.location() == FrameLocation::kCuda;
  const AVCodec* codec = avcodec_find_encoder_by_name(name.c_str());
  if (!codec) throw NativeException("ERR_ENCODER_UNAVAILABLE", "encoder " + name + " is not in this FFmpeg build", "avcodec_find_encoder_by_name");
  nvenc_ = name == "h264_nvenc";
  UniqueAVCodecContext ctx(avcodec_alloc_context3(codec));
  if (!ctx) throw NativeException("ERR_OUT_OF_MEMORY", "avcodec_alloc_context3 failed", "avcodec_alloc_context3");
  const int width = opts_.width > 0 ? opts_.width : first.width();
  const int height = opts_.height > 0 ? opts_.height : first.height();
  if (width <= 0 || height <= 0 || (width & 1) || (height & 1)) {
    throw NativeException("ERR_INVALID_ARG", "H.264 4:2:0 output needs a positive even width and height, got " +
                                                 std::to_string(width) + "x" + std::to_string(height), "encoder");
  }
  ctx->width = width;
  ctx->height = height;
  ctx->time_base = kTsTimeBase;
  const double fps = opts_.fps > 0 ? opts_.fps : 30;
  ctx->framerate = av_d2q(fps, 100000);
  ctx->max_b_frames = 0;
  ctx->gop_size = 1 << 30;  // keyframes are forced on media time, never by frame count
  ctx->sample_aspect_ratio = AVRational{1, 1};
  if (opts_.bitrate > 0) {
    ctx->bit_rate = opts_.bitrate;
    ctx->rc_max_rate = opts_.bitrate;
    ctx->rc_buffer_size = static_cast<int>(std::min<int64_t>(opts_.bitrate, INT32_MAX));
  }
  // Without a caller's count, the cores not taken by other live encoders, one per half megapixel:
  // x264's sliced threads (zerolatency) split each frame across threads, which pays only while
  // cores are idle and slices are big; with as many live encoders as cores, or small frames, one
  // thread each avoids the per-slice hand-offs and wake-ups.
  ctx->thread_count = opts_.threads > 0 ? opts_.threads : DefaultEncoderThreads(width, height);
  if (nvenc_ && cuda_frame && first.width() == width && first.height() == height) {
    // NVENC takes the decoder's CUDA frames directly (no copy): share its frames context.
    ctx->pix_fmt = AV_PIX_FMT_CUDA;
    ctx->hw_frames_ctx = av_buffer_ref(first.av_frame()->hw_frames_ctx);
    enc_sw_format_ = first.pixel_format();
  } else {
    // Host input. NV12 is taken as is by both encoders (no conversion from NVDEC downloads).
    const AVPixelFormat src = first.pixel_format();
    enc_sw_format_ = (src == AV_PIX_FMT_NV12) ? AV_PIX_FMT_NV12 : AV_PIX_FMT_YUV420P;
    ctx->pix_fmt = enc_sw_format_;
    // NVENC from host frames still runs in the process-wide primary context of its device.
    if (nvenc_) ctx->hw_device_ctx = CudaHwDeviceRef(first.device() >= 0 ? first.device() : 0).release();
  }
  AVDictionary* o = nullptr;
  if (nvenc_) {
    av_dict_set(&o, "preset", NvencPreset(opts_.preset), 0);
    av_dict_set(&o, "tune", "ll", 0);
    av_dict_set(&o, "zerolatency", "1", 0);
    // No frames held back for asynchronous output (FFmpeg's default keeps up to 3 in flight, about
    // 100 ms at 30 fps, each one a CUDA input frame NVENC keeps a reference to): a packet leaves with
    // its frame. StreamEncoderStats::encoder_held counts what the encoder still holds.
    av_dict_set(&o, "delay", "0", 0);
    av_dict_set(&o, "forced-idr", "1", 0);
    av_dict_set(&o, "no-scenecut", "1", 0);
    av_dict_set(&o, "profile", opts_.profile.c_str(), 0);
    if (opts_.bitrate > 0) av_dict_set(&o, "rc", "cbr", 0);
  } else {
    av_dict_set(&o, "preset", opts_.preset.c_str(), 0);
    if (!opts_.tune.empty()) av_dict_set(&o, "tune", opts_.tune.c_str(), 0);
    av_dict_set(&o, "profile", opts_.profile.c_str(), 0);
    av_dict_set(&o, "forced-idr", "1", 0);
    av_dict_set(&o, "x264-params", "scenecut=0:bframes=0", 0);
  }
  int ret = avcodec_open2(ctx.get(), codec, &o);
  av_dict_free(&o);
  if (ret < 0) {
    throw NativeException(nvenc_ ? "ERR_NVENC_UNAVAILABLE" : "ERR_ENCODE",
                          "avcodec_open2(" + name + ") failed: " + AvErrorString(ret), "avcodec_open2", ret);
  }
  ctx_ = std::move(ctx);
  frame_step_ = std::max<int64_t>(1, static_cast<int64_t>(std::llround(90000.0 / fps)));
  gop_ticks_ = std::max<int64_t>(1, static_cast<int64_t>(std::llround(opts_.gop_seconds * 90000.0)));
  report_->Update([&](StreamEncoderStats& s) {
    s.encoder = name;
    s.width = width;
    s.height = height;
    s.threads = ctx_->thread_count;
  });
}

// Output pts (90 kHz) for an input frame: input pts rescaled, shifted by the re-timing offset,
// never equal to or before the previous one.
int64_t VideoEncoder::OutputPts(int64_t pts, AVRational tb, bool* retimed) {
  *retimed = false;
  int64_t in = pts == AV_NOPTS_VALUE ? AV_NOPTS_VALUE : av_rescale_q(pts, tb, kTsTimeBase);
  if (in == AV_NOPTS_VALUE) {
    const int64_t out = last_video_pts_ == AV_NOPTS_VALUE ? 0 : last_video_pts_ + frame_step_;
    if (have_offset_ || last_video_pts_ != AV_NOPTS_VALUE) *retimed = true;
    last_video_pts_ = out;
    return out;
  }
  if (!have_offset_) {
    have_offset_ = true;
    pts_offset_ = 0;
  }
  int64_t out = in + pts_offset_;
  if (last_video_pts_ != AV_NOPTS_VALUE) {
    const int64_t delta = out - last_video_pts_;
    if (delta <= 0) {
      pts_offset_ += last_video_pts_ + frame_step_ - out;
      out = last_video_pts_ + frame_step_;
      *retimed = true;
    } else if (delta < 90000 * 2) {
      frame_step_ = delta;  // follow the real frame interval for the next re-time
    }
  }
  last_video_pts_ = out;
  return out;
}

// A host frame in the encoder's size and pixel format: a new reference when it already is
// (no pixel copy), else converted with libswscale into a reused buffer.
UniqueAVFrame VideoEncoder::PrepareHost(const AVFrame* src) {
  if (src->width == ctx_->width && src->height == ctx_->height && src->format == enc_sw_format_) {
    UniqueAVFrame f(av_frame_clone(src));
    if (!f) throw NativeException("ERR_OUT_OF_MEMORY", "av_frame_clone failed", "av_frame_clone");
    return f;
  }
  sws_.reset(sws_getCachedContext(sws_.release(), src->width, src->height, static_cast<AVPixelFormat>(src->format),
                                 ctx_->width, ctx_->height, enc_sw_format_, SWS_BILINEAR, nullptr, nullptr,
                                 nullptr));
  if (!sws_) {
    throw NativeException("ERR_ENCODE", std::string("cannot convert ") +
                                            (av_get_pix_fmt_name(static_cast<AVPixelFormat>(src->format)) ?: "?") +
                                            " frames for the encoder", "sws_getCachedContext");
  }
  // The encoder may still reference the previous picture: make_writable reallocates only then.
  if (!scaled_->buf[0]) {
    scaled_->format = enc_sw_format_;
    scaled_->width = ctx_->width;
    scaled_->height = ctx_->height;
    ThrowIfAvError(av_frame_get_buffer(scaled_.get(), 0), "ERR_OUT_OF_MEMORY", "av_frame_get_buffer");
  } else {
    ThrowIfAvError(av_frame_make_writable(scaled_.get()), "ERR_OUT_OF_MEMORY", "av_frame_make_writable");
  }
  sws_scale(sws_.get(), src->data, src->linesize, 0, src->height, scaled_->data, scaled_->linesize);
  report_->Update([](StreamEncoderStats& s) { ++s.scaled; });
  UniqueAVFrame f(av_frame_clone(scaled_.get()));
  if (!f) throw NativeException("ERR_OUT_OF_MEMORY", "av_frame_clone failed", "av_frame_clone");
  return f;
}

UniqueAVFrame VideoEncoder::Download(const AVFrame* src, int device) {
  const auto t0 = std::chrono::steady_clock::now();
  // Into a pinned host frame from a reused pool (frame/pinned_host_frame.h): one DMA per frame.
  const auto* hwfc = reinterpret_cast<const AVHWFramesContext*>(src->hw_frames_ctx->data);
  UniqueAVFrame f = AllocatePinnedHostAVFrame(src->width, src->height, hwfc->sw_format, device);
  int ret = av_hwframe_transfer_data(f.get(), src, 0);
  ThrowIfAvError(ret, "ERR_CUDA", "av_hwframe_transfer_data");
  const int bytes = av_image_get_buffer_size(hwfc->sw_format, src->width, src->height, 1);
  const double ms = MsSince(t0);
  CountCopy(CopyKind::kDeviceToHost, static_cast<size_t>(std::max(0, bytes)));
  report_->Update([&](StreamEncoderStats& s) {
    ++s.downloads;
    s.download_bytes += std::max(0, bytes);
    s.download_ms += ms;
  });
  return f;
}

bool VideoEncoder::Encode(const VideoFrame& frame, bool force_key, const PacketFn& out) {
  UniqueAVFrame in;
  if (frame.location() == FrameLocation::kCuda) {
    if (ctx_->pix_fmt == AV_PIX_FMT_CUDA) {
      if (frame.width() != ctx_->width || frame.height() != ctx_->height) {
        report_->Update([](StreamEncoderStats& s) { ++s.rejected; });
        report_->Warn("ERR_INVALID_ARG", "CUDA frame of " + std::to_string(frame.width()) + "x" + std::to_string(frame.height()) +
                                    " dropped: NVENC was opened at " + std::to_string(ctx_->width) + "x" +
                                    std::to_string(ctx_->height) + " and CUDA frames are not rescaled",
             "encode");
        return false;
      }
      in.reset(av_frame_clone(frame.av_frame()));
    } else {
      UniqueAVFrame host = Download(frame.av_frame(), frame.device() >= 0 ? frame.device() : 0);
      in = PrepareHost(host.get());
    }
  } else {
    if (ctx_->pix_fmt == AV_PIX_FMT_CUDA) {
      report_->Update([](StreamEncoderStats& s) { ++s.rejected; });
      report_->Warn("ERR_INVALID_ARG", "host frame dropped: this NVENC encoder takes CUDA frames", "encode");
      return false;
    }
    in = PrepareHost(frame.av_frame());
  }
  if (!in) throw NativeException("ERR_OUT_OF_MEMORY", "av_frame_clone failed", "av_frame_clone");
  bool retimed = false;
  in->pts = OutputPts(frame.pts(), frame.time_base(), &retimed);
  if (retimed) report_->Update([](StreamEncoderStats& s) { ++s.retimed; });
  in->pict_type = AV_PICTURE_TYPE_NONE;
  if (last_key_pts_ == AV_NOPTS_VALUE || in->pts - last_key_pts_ >= gop_ticks_ || force_key) {
    in->pict_type = AV_PICTURE_TYPE_I;  // with forced-idr: an IDR, hence a new segment
    last_key_pts_ = in->pts;
  }
  const auto t0 = std::chrono::steady_clock::now();
  int ret = avcodec_send_frame(ctx_.get(), in.get());
  report_->Update([&](StreamEncoderStats& s) { s.encode_ms += MsSince(t0); });
  ThrowIfAvError(ret, "ERR_ENCODE", "avcodec_send_frame");
  report_->Update([](StreamEncoderStats& s) { ++s.encoder_held; });
  Drain(out);
  return true;
}

void VideoEncoder::Drain(const PacketFn& out) {
  for (;;) {
    const auto t0 = std::chrono::steady_clock::now();
    int ret = avcodec_receive_packet(ctx_.get(), pkt_.get());
    report_->Update([&](StreamEncoderStats& s) { s.encode_ms += MsSince(t0); });
    if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) return;
    ThrowIfAvError(ret, "ERR_ENCODE", "avcodec_receive_packet");
    const bool key = (pkt_->flags & AV_PKT_FLAG_KEY) != 0;
    report_->Update([&](StreamEncoderStats& s) {
      ++s.frames_encoded;
      if (key) ++s.keyframes;
      if (s.encoder_held > 0) --s.encoder_held;
    });
    out(pkt_.get());
    av_packet_unref(pkt_.get());
  }
}

void VideoEncoder::Flush(const PacketFn& out) {
  if (!ctx_) return;
  int ret = avcodec_send_frame(ctx_.get(), nullptr);
  if (ret >= 0) Drain(out);
}

}  // namespace trickle
