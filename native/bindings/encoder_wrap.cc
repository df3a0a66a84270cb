// JS binding of StreamEncoder: `new Encoder(options, onEvent)` with encodeVideo/encodeAudio/
// writeAudioPacket/end/cancel/ack/stats. JS thread only, except the StreamEncoderSink methods, which
// run on the encoder thread and reach JS only through the ThreadSafeFunction.
//
// Lifetime: as decoder_wrap.cc (self reference while the thread runs; TSFN finalizer joins; env
// cleanup hook cancels and joins at exit).
#include <napi.h>

#include <memory>
#include <string>
#include <vector>

#include "bindings/bindings.h"
#include "bindings/media_delivery.h"
#include "bindings/media_handles.h"
#include "common/js_error.h"
#include "media/stream_encoder.h"

namespace trickle {
namespace {

struct EncoderEvent {
  enum Kind { kChunk, kSegmentEnd, kWritable, kWarning, kEnd };
  explicit EncoderEvent(Kind k, int64_t seg = 0) : kind(k), segment(seg) {}
  Kind kind;
  int64_t segment;
  bool start = false;
  std::vector<uint8_t> bytes;
  bool has_error = false;
  NativeError error;
};

class EncoderWrap;
void CallJs(Napi::Env env, Napi::Function callback, EncoderWrap* context, EncoderEvent* event);
using EncoderTsfn = Napi::TypedThreadSafeFunction<EncoderWrap, EncoderEvent, CallJs>;

std::string StringOption(Napi::Object o, const char* key, const std::string& fallback) {
  Napi::Value v = o.Get(key);
  return v.IsString() ? v.As<Napi::String>().Utf8Value() : fallback;
}
double NumberOption(Napi::Object o, const char* key, double fallback) {
  Napi::Value v = o.Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : fallback;
}

class EncoderWrap : public Napi::ObjectWrap<EncoderWrap>, public StreamEncoderSink {
 public:
  static void Init(Napi::Env env, Napi::Object exports) {
    Napi::Function ctor = DefineClass(
        env, "NativeEncoder",
        {InstanceMethod("encodeVideo", &EncoderWrap::EncodeVideo), InstanceMethod("encodeAudio", &EncoderWrap::EncodeAudio),
         InstanceMethod("writeAudioPacket", &EncoderWrap::WriteAudioPacket), InstanceMethod("end", &EncoderWrap::End),
         InstanceMethod("cancel", &EncoderWrap::Cancel), InstanceMethod("ack", &EncoderWrap::Ack),
         InstanceMethod("stats", &EncoderWrap::GetStats)});
    exports.Set("Encoder", ctor);
  }

  explicit EncoderWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<EncoderWrap>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsObject() || !info[1].IsFunction()) ThrowTypeError(env, "Encoder expects (options, onEvent)");
    Napi::Object o = info[0].As<Napi::Object>();
    StreamEncoderOptions opts;
    opts.encoder = StringOption(o, "encoder", opts.encoder);
    opts.width = static_cast<int>(NumberOption(o, "width", 0));
    opts.height = static_cast<int>(NumberOption(o, "height", 0));
    opts.bitrate = static_cast<int64_t>(NumberOption(o, "bitrate", 0));
    opts.preset = StringOption(o, "preset", opts.preset);
    opts.tune = StringOption(o, "tune", opts.tune);
    opts.profile = StringOption(o, "profile", opts.profile);
    opts.gop_seconds = NumberOption(o, "gopSeconds", opts.gop_seconds);
    opts.fps = NumberOption(o, "fps", opts.fps);
    opts.threads = static_cast<int>(NumberOption(o, "threads", 0));
    opts.audio_bitrate = static_cast<int64_t>(NumberOption(o, "audioBitrate", static_cast<double>(opts.audio_bitrate)));
    opts.max_queue = static_cast<int>(NumberOption(o, "maxQueue", opts.max_queue));
    const std::string audio = StringOption(o, "audio", "passthrough");
    if (audio == "none") opts.audio = AudioMode::kNone;
    else if (audio == "passthrough") opts.audio = AudioMode::kPassthrough;
    else if (audio == "aac") opts.audio = AudioMode::kAac;
    else if (audio == "opus") opts.audio = AudioMode::kOpus;
    else ThrowTypeError(env, "audio must be 'none', 'passthrough', 'aac' or 'opus'");
    if (opts.gop_seconds <= 0 || opts.fps <= 0) ThrowTypeError(env, "gopSeconds and fps must be positive");
    gate_ = std::make_unique<CreditGate>(static_cast<int>(NumberOption(o, "maxOutputQueue", 16)));
    try {
      encoder_ = std::make_unique<StreamEncoder>(opts, this);
    } catch (const NativeException& e) {
      throw ToJsError(env, e.error());
    }
    tsfn_ = EncoderTsfn::New(env, info[1].As<Napi::Function>(), "trickle.Encoder", 0, 1, this,
                             [](Napi::Env, EncoderWrap* self, EncoderWrap*) { self->OnTsfnFinalize(); }, this);
    self_ref_ = Napi::Persistent(info.This().As<Napi::Object>());
    napi_add_env_cleanup_hook(env, &EncoderWrap::EnvCleanup, this);
    cleanup_hook_ = true;
    encoder_->Start();
  }

  ~EncoderWrap() override {
    if (encoder_) {
      encoder_->Cancel();
      gate_->Cancel();
      encoder_->Join();
    }
  }

  // ---- StreamEncoderSink (encoder thread) ----
  bool OnChunk(int64_t segment, bool start, std::vector<uint8_t>&& bytes) override {
    auto* e = new EncoderEvent(EncoderEvent::kChunk, segment);
    e->start = start;
    e->bytes = std::move(bytes);
    return Send(e, true);
  }
  bool OnSegmentEnd(int64_t segment) override { return Send(new EncoderEvent(EncoderEvent::kSegmentEnd, segment), true); }
  void OnWritable() override { Send(new EncoderEvent(EncoderEvent::kWritable), false); }
  void OnWarning(const NativeError& warning) override {
    auto* e = new EncoderEvent(EncoderEvent::kWarning);
    e->has_error = true;
    e->error = warning;
    Send(e, false);
  }
  void OnEnd(const NativeError* error) override {
    auto* e = new EncoderEvent(EncoderEvent::kEnd);
    if (error) {
      e->has_error = true;
      e->error = *error;
    }
    Send(e, false);
    tsfn_.Release();
  }

  void Deliver(Napi::Env env, Napi::Function callback, EncoderEvent* e) {
    std::unique_ptr<EncoderEvent> event(e);
    if (!env || callback.IsEmpty()) return;
    Napi::HandleScope scope(env);
    try {
      switch (event->kind) {
        case EncoderEvent::kChunk:
          // Copied into a V8-managed Buffer: external buffers' finalizers are deferred by Node and
          // pile up under a busy dispatch loop (reference/toolchain.md §3).
          callback.Call({Napi::String::New(env, "chunk"),
                         Napi::Buffer<uint8_t>::Copy(env, event->bytes.data(), event->bytes.size()),
                         Napi::Number::New(env, static_cast<double>(event->segment)), Napi::Boolean::New(env, event->start)});
          break;
        case EncoderEvent::kSegmentEnd:
          callback.Call({Napi::String::New(env, "segmentEnd"), env.Undefined(),
                         Napi::Number::New(env, static_cast<double>(event->segment))});
          break;
        case EncoderEvent::kWritable:
          callback.Call({Napi::String::New(env, "writable")});
          break;
        case EncoderEvent::kWarning:
          callback.Call({Napi::String::New(env, "warning"), NativeErrorToJsValue(env, event->error)});
          break;
        case EncoderEvent::kEnd:
          callback.Call({Napi::String::New(env, "end"),
                         event->has_error ? Napi::Value(NativeErrorToJsValue(env, event->error)) : env.Undefined()});
          break;
      }
    } catch (const Napi::Error& err) {
      napi_fatal_exception(env, err.Value());
    }
  }

 private:
  bool Send(EncoderEvent* e, bool counted) {
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
    encoder_->Join();
    if (cleanup_hook_) {
      napi_remove_env_cleanup_hook(Env(), &EncoderWrap::EnvCleanup, this);
      cleanup_hook_ = false;
    }
    self_ref_.Reset();
  }

  static void EnvCleanup(void* arg) {
    auto* self = static_cast<EncoderWrap*>(arg);
    self->cleanup_hook_ = false;
    self->encoder_->Cancel();
    self->gate_->Cancel();
    self->encoder_->Join();
  }

  Napi::Value EncodeVideo(const Napi::CallbackInfo& info) {
    if (info.Length() < 1) ThrowTypeError(info.Env(), "encodeVideo expects a video frame");
    // Unwrap takes a new reference on the JS thread: the frame stays alive in the queue even if JS
    // closes its handle right after this call.
    VideoFramePtr frame = VideoFrameFromJs(info[0]);
    return Napi::Boolean::New(info.Env(), encoder_->SubmitVideo(std::move(frame)));
  }
  Napi::Value EncodeAudio(const Napi::CallbackInfo& info) {
    if (info.Length() < 1) ThrowTypeError(info.Env(), "encodeAudio expects an audio frame");
    return Napi::Boolean::New(info.Env(), encoder_->SubmitAudio(AudioFromJs(info[0])));
  }
  Napi::Value WriteAudioPacket(const Napi::CallbackInfo& info) {
    if (info.Length() < 1) ThrowTypeError(info.Env(), "writeAudioPacket expects an audio packet");
    return Napi::Boolean::New(info.Env(), encoder_->SubmitAudioPacket(AudioPacketFromJs(info[0])));
  }
  Napi::Value End(const Napi::CallbackInfo& info) {
    encoder_->End();
    return info.Env().Undefined();
  }
  Napi::Value Cancel(const Napi::CallbackInfo& info) {
    encoder_->Cancel();
    gate_->Cancel();
    return info.Env().Undefined();
  }
  Napi::Value Ack(const Napi::CallbackInfo& info) {
    gate_->Release(info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : 1);
    return info.Env().Undefined();
  }
  Napi::Value GetStats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const StreamEncoderStats s = encoder_->Stats();
    Napi::Object o = Napi::Object::New(env);
    o.Set("framesIn", static_cast<double>(s.frames_in));
    o.Set("framesEncoded", static_cast<double>(s.frames_encoded));
    o.Set("keyframes", static_cast<double>(s.keyframes));
    o.Set("segments", static_cast<double>(s.segments));
    o.Set("bytesOut", static_cast<double>(s.bytes_out));
    o.Set("chunksOut", static_cast<double>(s.chunks_out));
    o.Set("retimed", static_cast<double>(s.retimed));
    o.Set("downloads", static_cast<double>(s.downloads));
    o.Set("downloadBytes", static_cast<double>(s.download_bytes));
    o.Set("scaled", static_cast<double>(s.scaled));
    o.Set("rejected", static_cast<double>(s.rejected));
    o.Set("audioIn", static_cast<double>(s.audio_in));
    o.Set("audioPacketsOut", static_cast<double>(s.audio_packets_out));
    o.Set("audioDropped", static_cast<double>(s.audio_dropped));
    o.Set("encodeMs", s.encode_ms);
    o.Set("downloadMs", s.download_ms);
    o.Set("muxMs", s.mux_ms);
    o.Set("encoder", s.encoder.empty() ? env.Null() : Napi::String::New(env, s.encoder));
    o.Set("width", s.width);
    o.Set("height", s.height);
    if (!s.last_warning.empty()) o.Set("lastWarning", s.last_warning);
    o.Set("queued", gate_->outstanding());
    return o;
  }

  std::unique_ptr<CreditGate> gate_;
  std::unique_ptr<StreamEncoder> encoder_;
  EncoderTsfn tsfn_;
  Napi::ObjectReference self_ref_;
  bool cleanup_hook_ = false;
};

void CallJs(Napi::Env env, Napi::Function callback, EncoderWrap* context, EncoderEvent* event) {
  if (!context) {
    delete event;
    return;
  }
  context->Deliver(env, callback, event);
}

}  // namespace

void InitEncoder(Napi::Env env, Napi::Object exports) { EncoderWrap::Init(env, exports); }

}  // namespace trickle
