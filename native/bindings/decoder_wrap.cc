// JS binding of StreamDecoder: `new Decoder(options, onEvent)` with push/end/cancel/ack/stats.
// JS thread only, except the StreamDecoderSink methods, which run on the decode thread and talk to
// JS only through the ThreadSafeFunction. Lifetime and delivery: pipeline_wrap.h.
#include <napi.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "bindings/bindings.h"
#include "bindings/frame_wrap.h"
#include "bindings/media_handles.h"
#include "bindings/pipeline_wrap.h"
#include "common/js_error.h"
#include "media/stream_decoder.h"

namespace trickle {
namespace {

struct DecoderEvent {
  enum Kind { kVideo, kAudio, kAudioPacket, kWritable, kEnd };
  explicit DecoderEvent(Kind k) : kind(k) {}
  Kind kind;
  VideoFramePtr video;
  AudioFramePtr audio;
  AudioPacketPtr packet;
  bool has_error = false;
  NativeError error;
};

class DecoderWrap : public PipelineWrap<DecoderWrap, StreamDecoder, DecoderEvent>, public StreamDecoderSink {
 public:
  static void Init(Napi::Env env, Napi::Object exports) {
    Napi::Function ctor = DefineClass(env, "NativeDecoder",
                                      {InstanceMethod("push", &DecoderWrap::Push), InstanceMethod("end", &DecoderWrap::End),
                                       InstanceMethod("cancel", &DecoderWrap::Cancel), InstanceMethod("ack", &DecoderWrap::Ack),
                                       InstanceMethod("stats", &DecoderWrap::GetStats)});
    exports.Set("Decoder", ctor);
  }

  explicit DecoderWrap(const Napi::CallbackInfo& info) : PipelineWrap(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsObject() || !info[1].IsFunction()) {
      ThrowTypeError(env, "Decoder expects (options, onEvent)");
    }
    Napi::Object o = info[0].As<Napi::Object>();
    StreamDecoderOptions opts;
    const std::string device = StringOption(o, "device", "auto");
    if (device == "auto") {
      opts.device = DecodeDevice::kAuto;
    } else if (device == "cpu") {
      opts.device = DecodeDevice::kCpu;
    } else if (device.rfind("cuda:", 0) == 0 && device.size() > 5) {
      opts.device = DecodeDevice::kCuda;
      opts.cuda_index = std::atoi(device.c_str() + 5);
    } else {
      ThrowTypeError(env, "device must be 'auto', 'cpu' or 'cuda:N'");
    }
    opts.pool_size = IntOption(o, "poolSize", opts.pool_size);
    opts.max_buffered_bytes = static_cast<size_t>(IntOption(o, "maxBufferedBytes", static_cast<int>(opts.max_buffered_bytes)));
    opts.video = BoolOption(o, "video", true);
    opts.audio_frames = BoolOption(o, "audioFrames", true);
    opts.audio_packets = BoolOption(o, "audioPackets", false);
    opts.threads = IntOption(o, "threads", 0);
    opts.max_backlog_ms = NumberOption(o, "maxBacklogMs", 0);
    if (!(opts.max_backlog_ms >= 0)) ThrowTypeError(env, "maxBacklogMs must be >= 0");
    opts.format = StringOption(o, "format", opts.format);
    const int max_queue = IntOption(o, "maxQueue", 4);
    if (opts.pool_size < 1 || max_queue < 1) ThrowTypeError(env, "poolSize and maxQueue must be >= 1");
    StartPipeline(info, "trickle.Decoder", max_queue, [&] { return std::make_unique<StreamDecoder>(opts, this); });
  }

  ~DecoderWrap() override { Stop(); }

  // ---- StreamDecoderSink (decode thread) ----
  bool OnVideo(VideoFramePtr frame) override {
    auto* e = new DecoderEvent(DecoderEvent::kVideo);
    e->video = std::move(frame);
    return Send(e, true);
  }
  bool OnAudio(AudioFramePtr audio) override {
    auto* e = new DecoderEvent(DecoderEvent::kAudio);
    e->audio = std::move(audio);
    return Send(e, true);
  }
  bool OnAudioPacket(AudioPacketPtr packet) override {
    auto* e = new DecoderEvent(DecoderEvent::kAudioPacket);
    e->packet = std::move(packet);
    return Send(e, true);
  }
  void OnWritable() override { SendWritable(); }
  void OnEnd(const NativeError* error) override { SendEnd(error); }

  // JS thread (PipelineWrap::Deliver).
  void Dispatch(Napi::Env env, Napi::Function callback, DecoderEvent& event) {
    switch (event.kind) {
      case DecoderEvent::kVideo:
        callback.Call({Napi::String::New(env, "video"), VideoFrameToJs(env, std::move(event.video))});
        break;
      case DecoderEvent::kAudio:
        callback.Call({Napi::String::New(env, "audio"), AudioToJs(env, std::move(event.audio))});
        break;
      case DecoderEvent::kAudioPacket:
        callback.Call({Napi::String::New(env, "audioPacket"), AudioPacketToJs(env, std::move(event.packet))});
        break;
      case DecoderEvent::kWritable:
        callback.Call({Napi::String::New(env, "writable"), env.Undefined()});
        break;
      case DecoderEvent::kEnd:
        callback.Call({Napi::String::New(env, "end"),
                       event.has_error ? Napi::Value(NativeErrorToJsValue(env, event.error)) : env.Undefined()});
        break;
    }
  }

 private:
  Napi::Value Push(const Napi::CallbackInfo& info) {
    if (info.Length() < 1 || !info[0].IsTypedArray()) ThrowTypeError(info.Env(), "push expects a Buffer or Uint8Array");
    Napi::Uint8Array a = info[0].As<Napi::Uint8Array>();
    return Napi::Boolean::New(info.Env(), core().Push(a.Data(), a.ByteLength()));
  }
  Napi::Value GetStats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const StreamDecoderStats s = core().Stats();
    Napi::Object o = Napi::Object::New(env);
    o.Set("bytesIn", static_cast<double>(s.bytes_in));
    o.Set("videoFrames", static_cast<double>(s.video_frames));
    o.Set("audioFrames", static_cast<double>(s.audio_frames));
    o.Set("audioPackets", static_cast<double>(s.audio_packets));
    o.Set("decodeErrors", static_cast<double>(s.decode_errors));
    o.Set("droppedFrames", static_cast<double>(s.dropped_frames));
    o.Set("demuxErrors", static_cast<double>(s.demux_errors));
    o.Set("backlogSkippedFrames", static_cast<double>(s.backlog_skipped_frames));
    o.Set("backlogSkips", static_cast<double>(s.backlog_skips));
    o.Set("threads", s.decoder_threads);
    o.Set("resets", static_cast<double>(s.resets));
    o.Set("resolutionChanges", static_cast<double>(s.resolution_changes));
    // How the live MPEG-TS path completed its PES (null when libavformat reads the input).
    if (s.live_ts) {
      Napi::Object pes = Napi::Object::New(env);
      pes.Set("byLength", static_cast<double>(s.pes_by_length));
      pes.Set("byStuffing", static_cast<double>(s.pes_by_stuffing));
      pes.Set("byNextStart", static_cast<double>(s.pes_by_next_start));
      pes.Set("continuityErrors", static_cast<double>(s.continuity_errors));
      o.Set("liveTs", pes);
    } else {
      o.Set("liveTs", env.Null());
    }
    o.Set("decodeMs", s.decode_ms);
    o.Set("hardware", s.hardware);
    o.Set("videoCodec", s.video_codec.empty() ? env.Null() : Napi::String::New(env, s.video_codec));
    o.Set("audioCodec", s.audio_codec.empty() ? env.Null() : Napi::String::New(env, s.audio_codec));
    o.Set("width", s.width);
    o.Set("height", s.height);
    o.Set("frameRate", s.frame_rate);
    if (!s.hw_fallback_reason.empty()) o.Set("hardwareFallbackReason", s.hw_fallback_reason);
    o.Set("pool", FramePoolStatsToJs(env, core().pool()->Stats()));
    o.Set("queued", queued());
    return o;
  }
};

}  // namespace

void InitDecoder(Napi::Env env, Napi::Object exports) { DecoderWrap::Init(env, exports); }

}  // namespace trickle
