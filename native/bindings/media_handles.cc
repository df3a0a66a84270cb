#include "bindings/media_handles.h"


#include "bindings/frame_wrap.h"

extern "C" {
#include <libavcodec/avcodec.h>
}

namespace trickle {

namespace {

constexpr napi_type_tag kAudioPacketTag = {0x7472696b6c652d61ULL, 0x7564696f706b7431ULL};

template <typename T>
struct Holder {
  std::shared_ptr<const T> value;
};


template <typename T>
Napi::External<Holder<T>> MakeTagged(Napi::Env env, std::shared_ptr<const T> value, const napi_type_tag& tag) {
  auto ext = Napi::External<Holder<T>>::New(env, new Holder<T>{std::move(value)},
                                            [](Napi::Env, Holder<T>* h) { delete h; });
  napi_status st = napi_type_tag_object(env, ext, &tag);
  if (st != napi_ok) throw Napi::Error::New(env, "napi_type_tag_object failed");
  return ext;
}

template <typename T>
std::shared_ptr<const T> FromTagged(Napi::Value value, const napi_type_tag& tag, const char* what) {
  Napi::Env env = value.Env();
  if (!value.IsExternal()) ThrowTypeError(env, std::string("expected a ") + what);
  bool ok = false;
  napi_check_object_type_tag(env, value, &tag, &ok);
  if (!ok) ThrowTypeError(env, std::string("expected a ") + what);
  return value.As<Napi::External<Holder<T>>>().Data()->value;
}

}  // namespace

Napi::Object NativeErrorToJsValue(Napi::Env env, const NativeError& e) { return ToJsError(env, e).Value(); }

Napi::Value VideoFrameToJs(Napi::Env env, VideoFramePtr frame) { return VideoFrameWrap::NewInstance(env, std::move(frame)); }
VideoFramePtr VideoFrameFromJs(Napi::Value value) { return VideoFrameWrap::Unwrap(value); }
Napi::Value AudioToJs(Napi::Env env, AudioFramePtr audio) { return AudioFrameWrap::NewInstance(env, std::move(audio)); }
AudioFramePtr AudioFromJs(Napi::Value value) { return AudioFrameWrap::Unwrap(value); }

Napi::Value AudioPacketToJs(Napi::Env env, AudioPacketPtr packet) {
  Napi::Object o = Napi::Object::New(env);
  const AVPacket* p = packet->packet.get();
  o.Set("codec", avcodec_get_name(packet->stream->par->codec_id));
  o.Set("pts", p->pts == AV_NOPTS_VALUE ? env.Null() : Napi::Number::New(env, static_cast<double>(p->pts)));
  o.Set("size", p->size);
  Napi::Array tb = Napi::Array::New(env, 2);
  tb.Set(0u, packet->stream->time_base.num);
  tb.Set(1u, packet->stream->time_base.den);
  o.Set("timeBase", tb);
  o.Set("handle", MakeTagged<AudioPacket>(env, std::move(packet), kAudioPacketTag));
  return o;
}

AudioPacketPtr AudioPacketFromJs(Napi::Value value) {
  if (!value.IsObject()) ThrowTypeError(value.Env(), "expected an audio packet from a Decoder");
  return FromTagged<AudioPacket>(value.As<Napi::Object>().Get("handle"), kAudioPacketTag, "audio packet from a Decoder");
}

}  // namespace trickle
