// NativeAudioFrame: the JS handle of a decoded AudioFrame, and audioFrameFromChannels.
// JS thread only. Ownership: frame_wrap.h.
#include <cstring>

#include "bindings/class_registry.h"
#include "bindings/frame_handle_support.h"
#include "bindings/frame_wrap.h"
#include "frame/audio_convert.h"

namespace trickle {
namespace {

struct AudioTag {};

// The ObjectWrap behind NativeAudioFrame handles. JS thread only.
class AudioFrameHandle : public Napi::ObjectWrap<AudioFrameHandle> {
 public:
  explicit AudioFrameHandle(const Napi::CallbackInfo& info);
  void Finalize(Napi::Env env) override;
  const AudioFramePtr& Get(Napi::Env env) const;
  Napi::Value Info(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value IsClosed(const Napi::CallbackInfo& info);
  Napi::Value ChannelData(const Napi::CallbackInfo& info);

 private:
  AudioFramePtr frame_;
  bool closed_ = false;
};

Napi::Value AudioFrameFromChannelsJs(const Napi::CallbackInfo& info);
Napi::Value AudioFrameConvertJs(const Napi::CallbackInfo& info);

}  // namespace

// ---- AudioFrameWrap --------------------------------------------------------------------------------

void AudioFrameWrap::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = AudioFrameHandle::DefineClass(env, "NativeAudioFrame",
                                    {
                                        AudioFrameHandle::InstanceMethod<&AudioFrameHandle::Info>("info"),
                                        AudioFrameHandle::InstanceMethod<&AudioFrameHandle::Close>("close"),
                                        AudioFrameHandle::InstanceMethod<&AudioFrameHandle::IsClosed>("isClosed"),
                                        AudioFrameHandle::InstanceMethod<&AudioFrameHandle::ChannelData>("channelData"),
                                    });
  ConstructorRegistry<AudioTag>::Set(env, ctor);
  exports.Set("NativeAudioFrame", ctor);
  exports.Set("audioFrameFromChannels", Napi::Function::New(env, AudioFrameFromChannelsJs, "audioFrameFromChannels"));
  exports.Set("audioFrameConvert", Napi::Function::New(env, AudioFrameConvertJs, "audioFrameConvert"));
}

Napi::Object AudioFrameWrap::NewInstance(Napi::Env env, AudioFramePtr frame) {
  if (!frame) throw Napi::Error::New(env, "AudioFrameWrap::NewInstance: null frame");
  Napi::EscapableHandleScope scope(env);
  Napi::Object obj = ConstructorRegistry<AudioTag>::Get(env).New({Napi::External<AudioFramePtr>::New(env, &frame)});
  return scope.Escape(obj).As<Napi::Object>();
}

bool AudioFrameWrap::IsHandle(Napi::Value value) {
  return value.IsObject() && value.As<Napi::Object>().InstanceOf(ConstructorRegistry<AudioTag>::Get(value.Env()));
}

AudioFramePtr AudioFrameWrap::Unwrap(Napi::Value value) {
  Napi::Env env = value.Env();
  if (!IsHandle(value)) ThrowTypeError(env, "expected an AudioFrame");
  return AudioFrameHandle::Unwrap(value.As<Napi::Object>())->Get(env);
}

AudioFrameHandle::AudioFrameHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<AudioFrameHandle>(info) {
  if (info.Length() < 1 || !info[0].IsExternal()) {
    ThrowTypeError(info.Env(), "AudioFrame handles are created by trickle-rt (decoder, AudioFrame.fromChannels)");
  }
  frame_ = *info[0].As<Napi::External<AudioFramePtr>>().Data();
}

void AudioFrameHandle::Finalize(Napi::Env env) {
  if (closed_ || !frame_) return;
  if (ConstructorRegistry<AudioTag>::ShuttingDown(env)) return;
  CountLeakedHandle(LeakedHandle::kAudioFrame);
  frame_.reset();
}

const AudioFramePtr& AudioFrameHandle::Get(Napi::Env env) const {
  if (closed_) ThrowCode(env, "ERR_FRAME_CLOSED", "the AudioFrame was closed");
  return frame_;
}

Napi::Value AudioFrameHandle::Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const AudioFramePtr& f = Get(env);
  Napi::Object o = Napi::Object::New(env);
  o.Set("sampleRate", f->sample_rate());
  o.Set("channels", f->channels());
  o.Set("samples", f->samples());
  o.Set("pts", PtsToJs(env, f->pts()));
  o.Set("timeBase", TimeBaseToJs(env, f->time_base()));
  return o;
}

Napi::Value AudioFrameHandle::Close(const Napi::CallbackInfo& info) {
  closed_ = true;
  frame_.reset();
  return info.Env().Undefined();
}

Napi::Value AudioFrameHandle::IsClosed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), closed_); }

// channelData(c): a Float32Array copy of channel c (V8 memory).
Napi::Value AudioFrameHandle::ChannelData(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const AudioFramePtr& f = Get(env);
  if (info.Length() < 1 || !info[0].IsNumber()) ThrowTypeError(env, "channelData(channel) expects a number");
  const int c = info[0].As<Napi::Number>().Int32Value();
  if (c < 0 || c >= f->channels()) ThrowTypeError(env, "channel index out of range");
  Napi::Float32Array a = Napi::Float32Array::New(env, static_cast<size_t>(f->samples()));
  if (f->samples() > 0) std::memcpy(a.Data(), f->channel(c), sizeof(float) * f->samples());
  return a;
}

// audioFrameFromChannels(channels: Float32Array[], sampleRate, pts|null, tbNum, tbDen)
namespace {

Napi::Value AudioFrameFromChannelsJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 5 || !info[0].IsArray() || !info[1].IsNumber() || !info[3].IsNumber() || !info[4].IsNumber()) {
    ThrowTypeError(env, "audioFrameFromChannels(channels, sampleRate, pts, tbNum, tbDen)");
  }
  Napi::Array chans = info[0].As<Napi::Array>();
  const uint32_t nch = chans.Length();
  if (nch == 0 || nch > 64) ThrowTypeError(env, "audio frames have 1..64 channels");
  size_t samples = 0;
  for (uint32_t c = 0; c < nch; ++c) {
    Napi::Value v = chans.Get(c);
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
      ThrowTypeError(env, "each channel must be a Float32Array");
    }
    const size_t n = v.As<Napi::Float32Array>().ElementLength();
    if (c == 0) samples = n;
    if (n != samples) ThrowTypeError(env, "all channels must have the same length");
  }
  const int64_t pts = info[2].IsNumber() ? info[2].As<Napi::Number>().Int64Value() : AV_NOPTS_VALUE;
  const AVRational tb{info[3].As<Napi::Number>().Int32Value(), info[4].As<Napi::Number>().Int32Value()};
  try {
    UniqueAVFrame f = AudioFrame::AllocateFltp(static_cast<int>(nch), static_cast<int>(samples),
                                               info[1].As<Napi::Number>().Int32Value(), pts);
    for (uint32_t c = 0; c < nch; ++c) {
      if (samples > 0) std::memcpy(f->extended_data[c], chans.Get(c).As<Napi::Float32Array>().Data(), sizeof(float) * samples);
    }
    return AudioFrameWrap::NewInstance(env, std::make_shared<const AudioFrame>(std::move(f), tb));
  } catch (const NativeException& e) {
    throw ToJsError(env, e.error());
  }
}

// audioFrameConvert(frame, channels, sampleRate): a new frame (libswresample, flushed).
Napi::Value AudioFrameConvertJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[1].IsNumber() || !info[2].IsNumber()) ThrowTypeError(env, "audioFrameConvert(frame, channels, sampleRate)");
  AudioFramePtr in = AudioFrameWrap::Unwrap(info[0]);
  try {
    return AudioFrameWrap::NewInstance(env, ConvertAudioFrame(*in, info[1].As<Napi::Number>().Int32Value(), info[2].As<Napi::Number>().Int32Value()));
  } catch (const NativeException& e) {
    throw ToJsError(env, e.error());
  }
}

}  // namespace

}  // namespace trickle
