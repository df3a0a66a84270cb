// Conversions between the media cores' values and JS, for decoder_wrap.cc and encoder_wrap.cc.
// JS thread only.
//
// Video and audio frames cross as the frames binding's handles (frame_wrap.h). Compressed audio
// packets (passthrough from a Decoder into an Encoder) are opaque, type-tagged externals: JS can
// read their metadata but never their bytes.
#pragma once

#include <napi.h>

#include <memory>

#include "common/js_error.h"
#include "frame/audio_frame.h"
#include "frame/video_frame.h"
#include "media/media_types.h"

namespace trickle {

Napi::Value VideoFrameToJs(Napi::Env env, VideoFramePtr frame);
VideoFramePtr VideoFrameFromJs(Napi::Value value);
Napi::Value AudioToJs(Napi::Env env, AudioFramePtr audio);
AudioFramePtr AudioFromJs(Napi::Value value);
Napi::Value AudioPacketToJs(Napi::Env env, AudioPacketPtr packet);
AudioPacketPtr AudioPacketFromJs(Napi::Value value);
Napi::Object NativeErrorToJsValue(Napi::Env env, const NativeError& e);

}  // namespace trickle
