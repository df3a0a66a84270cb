// Registration functions of the binding files, called once from addon.cc. JS thread only.
#pragma once

#include <napi.h>

namespace trickle {

void InitCapabilities(Napi::Env env, Napi::Object exports);
void InitProbe(Napi::Env env, Napi::Object exports);
// frame_wrap.cc: NativeVideoFrame, NativeAudioFrame, NativeFramePool, frameStats, videoFrameFromTensor,
// audioFrameFromChannels
void InitFrames(Napi::Env env, Napi::Object exports);
void InitEngine(Napi::Env env, Napi::Object exports);
// tensor_wrap.cc: NativeTensor, tensorFromData, copyCounters
void InitTensors(Napi::Env env, Napi::Object exports);
// Media pipeline (decoder_wrap.cc, encoder_wrap.cc).
void InitDecoder(Napi::Env env, Napi::Object exports);
void InitEncoder(Napi::Env env, Napi::Object exports);
// gpu_policy_wrap.cc: gpuPolicy (the GPU paths' decisions, for tests and `trickle-rt info`)
void InitGpuPolicy(Napi::Env env, Napi::Object exports);
// page_memory_wrap.cc: mapPages, discardPages, releaseArrayBuffer, pageSize (the trickle server's slabs)
void InitPageMemory(Napi::Env env, Napi::Object exports);

}  // namespace trickle
