// JS binding of StreamEncoder: `new Encoder(options, onEvent)` with encodeVideo/encodeAudio/
// writeAudioPacket/end/cancel/ack/stats. JS thread only, except the StreamEncoderSink methods, which
// run on the encoder thread and reach JS only through the ThreadSafeFunction.
//
// Lifetime and delivery: pipeline_wrap.h.
#include <napi.h>

#include <memory>
#include <string>
#include <vector>

#include "bindings/bindings.h"
#include "bindings/media_handles.h"
#include "bindings/pipeline_wrap.h"
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

class EncoderWrap : public PipelineWrap<EncoderWrap, StreamEncoder, EncoderEvent>, public StreamEncoderSink {
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

  explicit EncoderWrap(const Napi::CallbackInfo& info) : PipelineWrap(info) {
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
    StartPipeline(info, "trickle.Encoder", static_cast<int>(NumberOption(o, "maxOutputQueue", 16)),
                  [&] { return std::make_unique<StreamEncoder>(opts, this); });
  }

  ~EncoderWrap() override { Stop(); }

  // ---- StreamEncoderSink (encoder thread) ----
  bool OnChunk(int64_t segment, bool start, std::vector<uint8_t>&& bytes) override {
    auto* e = new EncoderEvent(EncoderEvent::kChunk, segment);
    e->start = start;
    e->bytes = std::move(bytes);
    return Send(e, true);
  }
  bool OnSegmentEnd(int64_t segment) override { return Send(new EncoderEvent(EncoderEvent::kSegmentEnd, segment), true); }
  void OnWritable() override { SendWritable(); }
  void OnWarning(const NativeError& warning) override {
    auto* e = new EncoderEvent(EncoderEvent::kWarning);
    e->has_error = true;
    e->error = warning;
    Send(e, false);
  }
  void OnEnd(const NativeError* error) override { SendEnd(error); }

  // JS thread (PipelineWrap::Deliver).
  void Dispatch(Napi::Env env, Napi::Function callback, EncoderEvent& event) {
    switch (event.kind) {
      case EncoderEvent::kChunk:
        // Copied into a V8-managed Buffer: external buffers' finalizers are deferred by Node and
        // pile up under a busy dispatch loop (measured: 314 MiB with external buffers against
        // 100 MiB with copies, at a 2-deep queue).
        callback.Call({Napi::String::New(env, "chunk"),
                       Napi::Buffer<uint8_t>::Copy(env, event.bytes.data(), event.bytes.size()),
                       Napi::Number::New(env, static_cast<double>(event.segment)), Napi::Boolean::New(env, event.start)});
        break;
      case EncoderEvent::kSegmentEnd:
        callback.Call({Napi::String::New(env, "segmentEnd"), env.Undefined(),
                       Napi::Number::New(env, static_cast<double>(event.segment))});
        break;
      case EncoderEvent::kWritable:
        callback.Call({Napi::String::New(env, "writable")});
        break;
      case EncoderEvent::kWarning:
        callback.Call({Napi::String::New(env, "warning"), NativeErrorToJsValue(env, event.error)});
        break;
      case EncoderEvent::kEnd:
        callback.Call({Napi::String::New(env, "end"),
                       event.has_error ? Napi::Value(NativeErrorToJsValue(env, event.error)) : env.Undefined()});
        break;
    }
  }

 private:
  Napi::Value EncodeVideo(const Napi::CallbackInfo& info) {
    if (info.Length() < 1) ThrowTypeError(info.Env(), "encodeVideo expects a video frame");
    // Unwrap takes a new reference on the JS thread: the frame stays alive in the queue even if JS
    // closes its handle right after this call.
    VideoFramePtr frame = VideoFrameFromJs(info[0]);
    return Napi::Boolean::New(info.Env(), core().SubmitVideo(std::move(frame)));
  }
  Napi::Value EncodeAudio(const Napi::CallbackInfo& info) {
    if (info.Length() < 1) ThrowTypeError(info.Env(), "encodeAudio expects an audio frame");
    return Napi::Boolean::New(info.Env(), core().SubmitAudio(AudioFromJs(info[0])));
  }
  Napi::Value WriteAudioPacket(const Napi::CallbackInfo& info) {
    if (info.Length() < 1) ThrowTypeError(info.Env(), "writeAudioPacket expects an audio packet");
    return Napi::Boolean::New(info.Env(), core().SubmitAudioPacket(AudioPacketFromJs(info[0])));
  }
  Napi::Value GetStats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const StreamEncoderStats s = core().Stats();
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
    o.Set("audioConverted", static_cast<double>(s.audio_converted));
    o.Set("encodeMs", s.encode_ms);
    o.Set("downloadMs", s.download_ms);
    o.Set("muxMs", s.mux_ms);
    o.Set("encoder", s.encoder.empty() ? env.Null() : Napi::String::New(env, s.encoder));
    if (!s.encoder_reason.empty()) o.Set("encoderReason", s.encoder_reason);
    o.Set("encoderHeld", static_cast<double>(s.encoder_held));
    o.Set("width", s.width);
    o.Set("height", s.height);
    o.Set("threads", s.threads);
    if (!s.last_warning.empty()) o.Set("lastWarning", s.last_warning);
    o.Set("queued", queued());
    return o;
  }
};

}  // namespace

void InitEncoder(Napi::Env env, Napi::Object exports) { EncoderWrap::Init(env, exports); }

}  // namespace trickle
