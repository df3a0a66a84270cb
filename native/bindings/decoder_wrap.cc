// JS binding of StreamDecoder: `new Decoder(options, onEvent)` with push/end/cancel/ack/stats.
// JS thread only, except the StreamDecoderSink methods, which run on the decode thread and talk to
// JS only through the ThreadSafeFunction.
//
// Lifetime: while the decode thread runs, the wrapper holds a reference to itself (so GC cannot
// collect it) and the TSFN keeps the event loop alive. The thread's last act is the 'end' event and
// releasing the TSFN; the TSFN finalizer (JS thread) joins the thread and drops the self reference.
// An env cleanup hook cancels and joins a decoder still running at process exit / worker exit.
#include <napi.h>

#include <memory>
#include <string>

#include "bindings/bindings.h"
#include "bindings/media_delivery.h"
#include "bindings/media_handles.h"
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

class DecoderWrap;
void CallJs(Napi::Env env, Napi::Function callback, DecoderWrap* context, DecoderEvent* event);
using DecoderTsfn = Napi::TypedThreadSafeFunction<DecoderWrap, DecoderEvent, CallJs>;

int IntOption(Napi::Object o, const char* key, int fallback) {
  Napi::Value v = o.Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().Int32Value() : fallback;
}
bool BoolOption(Napi::Object o, const char* key, bool fallback) {
  Napi::Value v = o.Get(key);
  return v.IsBoolean() ? v.As<Napi::Boolean>().Value() : fallback;
}

class DecoderWrap : public Napi::ObjectWrap<DecoderWrap>, public StreamDecoderSink {
 public:
  static void Init(Napi::Env env, Napi::Object exports) {
    Napi::Function ctor = DefineClass(env, "NativeDecoder",
                                      {InstanceMethod("push", &DecoderWrap::Push), InstanceMethod("end", &DecoderWrap::End),
                                       InstanceMethod("cancel", &DecoderWrap::Cancel), InstanceMethod("ack", &DecoderWrap::Ack),
                                       InstanceMethod("stats", &DecoderWrap::GetStats)});
    exports.Set("Decoder", ctor);
  }

  explicit DecoderWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<DecoderWrap>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsObject() || !info[1].IsFunction()) {
      ThrowTypeError(env, "Decoder expects (options, onEvent)");
    }
    Napi::Object o = info[0].As<Napi::Object>();
    StreamDecoderOptions opts;
    const std::string device = o.Get("device").IsString() ? o.Get("device").As<Napi::String>().Utf8Value() : "auto";
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
    if (o.Get("format").IsString()) opts.format = o.Get("format").As<Napi::String>().Utf8Value();
    const int max_queue = IntOption(o, "maxQueue", 4);
    if (opts.pool_size < 1 || max_queue < 1) ThrowTypeError(env, "poolSize and maxQueue must be >= 1");
    gate_ = std::make_unique<CreditGate>(max_queue);
    try {
      decoder_ = std::make_unique<StreamDecoder>(opts, this);
    } catch (const NativeException& e) {
      throw ToJsError(env, e.error());
    }
    tsfn_ = DecoderTsfn::New(env, info[1].As<Napi::Function>(), "trickle.Decoder", 0, 1, this,
                             [](Napi::Env, DecoderWrap* self, DecoderWrap*) { self->OnTsfnFinalize(); }, this);
    self_ref_ = Napi::Persistent(info.This().As<Napi::Object>());
    napi_add_env_cleanup_hook(env, &DecoderWrap::EnvCleanup, this);
    cleanup_hook_ = true;
    decoder_->Start();
  }

  ~DecoderWrap() override {
    if (decoder_) {
      decoder_->Cancel();
      gate_->Cancel();
      decoder_->Join();
    }
  }

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
  void OnWritable() override { Send(new DecoderEvent(DecoderEvent::kWritable), false); }
  void OnEnd(const NativeError* error) override {
    auto* e = new DecoderEvent(DecoderEvent::kEnd);
    if (error) {
      e->has_error = true;
      e->error = *error;
    }
    Send(e, false);
    tsfn_.Release();
  }

  void Deliver(Napi::Env env, Napi::Function callback, DecoderEvent* e) {
    std::unique_ptr<DecoderEvent> event(e);
    if (!env || callback.IsEmpty()) return;
    Napi::HandleScope scope(env);
    try {
      Dispatch(env, callback, event.get());
    } catch (const Napi::Error& err) {
      // The TypeScript handler threw: surface it as an uncaught exception, never swallow it.
      napi_fatal_exception(env, err.Value());
    }
  }

  void Dispatch(Napi::Env env, Napi::Function callback, DecoderEvent* event) {
    switch (event->kind) {
      case DecoderEvent::kVideo:
        callback.Call({Napi::String::New(env, "video"), VideoFrameToJs(env, std::move(event->video))});
        break;
      case DecoderEvent::kAudio:
        callback.Call({Napi::String::New(env, "audio"), AudioToJs(env, std::move(event->audio))});
        break;
      case DecoderEvent::kAudioPacket:
        callback.Call({Napi::String::New(env, "audioPacket"), AudioPacketToJs(env, std::move(event->packet))});
        break;
      case DecoderEvent::kWritable:
        callback.Call({Napi::String::New(env, "writable"), env.Undefined()});
        break;
      case DecoderEvent::kEnd:
        callback.Call({Napi::String::New(env, "end"),
                       event->has_error ? Napi::Value(NativeErrorToJsValue(env, event->error)) : env.Undefined()});
        break;
    }
  }

 private:
  // Counted events take a credit first (backpressure); control events do not.
  bool Send(DecoderEvent* e, bool counted) {
    if (counted && !gate_->Acquire()) {
      delete e;
      return false;
    }
    if (tsfn_.NonBlockingCall(e) != napi_ok) {
      delete e;
      return false;
    }
    return true;
  }

  void OnTsfnFinalize() {
    decoder_->Join();
    RemoveCleanupHook();
    self_ref_.Reset();
  }

  void RemoveCleanupHook() {
    if (cleanup_hook_) {
      napi_remove_env_cleanup_hook(Env(), &DecoderWrap::EnvCleanup, this);
      cleanup_hook_ = false;
    }
  }

  static void EnvCleanup(void* arg) {
    auto* self = static_cast<DecoderWrap*>(arg);
    self->cleanup_hook_ = false;
    self->decoder_->Cancel();
    self->gate_->Cancel();
    self->decoder_->Join();
  }

  Napi::Value Push(const Napi::CallbackInfo& info) {
    if (info.Length() < 1 || !info[0].IsTypedArray()) ThrowTypeError(info.Env(), "push expects a Buffer or Uint8Array");
    Napi::Uint8Array a = info[0].As<Napi::Uint8Array>();
    return Napi::Boolean::New(info.Env(), decoder_->Push(a.Data(), a.ByteLength()));
  }
  Napi::Value End(const Napi::CallbackInfo& info) {
    decoder_->End();
    return info.Env().Undefined();
  }
  Napi::Value Cancel(const Napi::CallbackInfo& info) {
    decoder_->Cancel();
    gate_->Cancel();
    return info.Env().Undefined();
  }
  Napi::Value Ack(const Napi::CallbackInfo& info) {
    gate_->Release(info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : 1);
    return info.Env().Undefined();
  }
  Napi::Value GetStats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const StreamDecoderStats s = decoder_->Stats();
    const FramePoolStats p = decoder_->pool()->Stats();
    Napi::Object o = Napi::Object::New(env);
    o.Set("bytesIn", static_cast<double>(s.bytes_in));
    o.Set("videoFrames", static_cast<double>(s.video_frames));
    o.Set("audioFrames", static_cast<double>(s.audio_frames));
    o.Set("audioPackets", static_cast<double>(s.audio_packets));
    o.Set("decodeErrors", static_cast<double>(s.decode_errors));
    o.Set("droppedFrames", static_cast<double>(s.dropped_frames));
    o.Set("demuxErrors", static_cast<double>(s.demux_errors));
    o.Set("resets", static_cast<double>(s.resets));
    o.Set("resolutionChanges", static_cast<double>(s.resolution_changes));
    o.Set("decodeMs", s.decode_ms);
    o.Set("hardware", s.hardware);
    o.Set("videoCodec", s.video_codec.empty() ? env.Null() : Napi::String::New(env, s.video_codec));
    o.Set("audioCodec", s.audio_codec.empty() ? env.Null() : Napi::String::New(env, s.audio_codec));
    o.Set("width", s.width);
    o.Set("height", s.height);
    if (!s.hw_fallback_reason.empty()) o.Set("hardwareFallbackReason", s.hw_fallback_reason);
    Napi::Object pool = Napi::Object::New(env);
    pool.Set("capacity", p.capacity);
    pool.Set("live", p.live);
    pool.Set("free", p.free);
    pool.Set("leaked", static_cast<double>(p.leaked));
    pool.Set("acquiredTotal", static_cast<double>(p.acquired_total));
    o.Set("pool", pool);
    o.Set("queued", gate_->outstanding());
    return o;
  }

  std::unique_ptr<CreditGate> gate_;
  std::unique_ptr<StreamDecoder> decoder_;
  DecoderTsfn tsfn_;
  Napi::ObjectReference self_ref_;
  bool cleanup_hook_ = false;
};

void CallJs(Napi::Env env, Napi::Function callback, DecoderWrap* context, DecoderEvent* event) {
  if (!context) {
    delete event;
    return;
  }
  context->Deliver(env, callback, event);
}

}  // namespace

void InitDecoder(Napi::Env env, Napi::Object exports) { DecoderWrap::Init(env, exports); }

}  // namespace trickle
