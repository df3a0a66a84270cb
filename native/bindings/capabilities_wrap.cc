// capabilities(): what this binary was built with and what this machine offers. JS thread only
// (the driver probe runs once and is cached; it takes a few ms with a driver, ~0 without).
#include <napi.h>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <libswscale/swscale.h>
}

#include <string>

#include "bindings/bindings.h"
#include "common/gpu_driver.h"
#include "common/nvml_stats.h"
#include "cuda/cuda_runtime_info.h"
#include "infer/tensorrt_status.h"

namespace trickle {
namespace {

std::string LibVersion(unsigned v) {
  return std::to_string(AV_VERSION_MAJOR(v)) + "." + std::to_string(AV_VERSION_MINOR(v)) + "." +
         std::to_string(AV_VERSION_MICRO(v));
}

Napi::Object Availability(Napi::Env env, const CodecEngineAvailability& a) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("available", a.available);
  if (!a.available) o.Set("reason", a.reason);
  return o;
}

Napi::Object FfmpegInfo(Napi::Env env) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("version", av_version_info());
  o.Set("libavformat", LibVersion(avformat_version()));
  o.Set("libavcodec", LibVersion(avcodec_version()));
  o.Set("libavutil", LibVersion(avutil_version()));
  o.Set("libswscale", LibVersion(swscale_version()));
  o.Set("license", avcodec_license());
#ifdef TRICKLE_FFMPEG_STATIC
  o.Set("linkage", "static");
#else
  o.Set("linkage", "shared");
#endif
  Napi::Object enc = Napi::Object::New(env);
  enc.Set("libx264", avcodec_find_encoder_by_name("libx264") != nullptr);
  enc.Set("h264_nvenc", avcodec_find_encoder_by_name("h264_nvenc") != nullptr);
  enc.Set("aac", avcodec_find_encoder_by_name("aac") != nullptr);
  enc.Set("libopus", avcodec_find_encoder_by_name("libopus") != nullptr);
  o.Set("encoders", enc);
  Napi::Object dec = Napi::Object::New(env);
  dec.Set("h264", avcodec_find_decoder(AV_CODEC_ID_H264) != nullptr);
  dec.Set("hevc", avcodec_find_decoder(AV_CODEC_ID_HEVC) != nullptr);
  dec.Set("aac", avcodec_find_decoder(AV_CODEC_ID_AAC) != nullptr);
  dec.Set("opus", avcodec_find_decoder(AV_CODEC_ID_OPUS) != nullptr);
  o.Set("decoders", dec);
  return o;
}

// The GPU part of capabilities(). `probe_engines`: also probe NVDEC and NVENC on every device (a
// context and an NVENC session each, cached per device); gpuInventory() leaves them out so that
// code that only needs the device list (the worker's /hardware/info, Engine.load) opens nothing.
void AddGpuState(Napi::Env env, Napi::Object out, bool probe_engines) {
  const CudaRuntimeInfo rt = QueryCudaRuntime();
  Napi::Object cuda = Napi::Object::New(env);
  cuda.Set("compiled", rt.compiled);
  cuda.Set("runtimeVersion", rt.runtime_version);
  cuda.Set("status", rt.status);
  cuda.Set("kernelsUsable", rt.kernels_usable);
  if (rt.compiled) {
    // The driver this build's CUDA runtime needs (common/gpu_policy.h DriverFloorFor).
    Napi::Object floor = Napi::Object::New(env);
    floor.Set("driverApi", rt.min_driver_api);
    floor.Set("branch", rt.min_driver_branch);
    cuda.Set("minDriver", floor);
  }
  if (rt.compiled) cuda.Set("architectures", rt.architectures);
  out.Set("cuda", cuda);

  const GpuDriverInfo& drv = ProbeGpuDriver();
  Napi::Object driver = Napi::Object::New(env);
  driver.Set("loaded", drv.driver_loaded);
  driver.Set("version", drv.driver_version);
  if (!drv.driver_loaded) driver.Set("reason", drv.driver_error);
  out.Set("driver", driver);

  Napi::Array devices = Napi::Array::New(env, drv.devices.size());
  bool any_nvdec = false, any_nvenc = false;
  std::string nvdec_reason = drv.driver_loaded ? "no CUDA device" : drv.driver_error;
  std::string nvenc_reason = nvdec_reason;
  for (size_t i = 0; i < drv.devices.size(); ++i) {
    const GpuDeviceInfo& d = drv.devices[i];
    Napi::Object o = Napi::Object::New(env);
    o.Set("index", d.index);
    o.Set("name", d.name);
    o.Set("computeCapability", std::to_string(d.compute_major) + "." + std::to_string(d.compute_minor));
    o.Set("totalMemory", static_cast<double>(d.total_memory));
    if (probe_engines) {
      const CodecEngineAvailability nvdec = NvdecOn(d.index);
      const CodecEngineAvailability nvenc = NvencOn(d.index);
      o.Set("nvdec", Availability(env, nvdec));
      o.Set("nvenc", Availability(env, nvenc));
      any_nvdec = any_nvdec || nvdec.available;
      any_nvenc = any_nvenc || nvenc.available;
      if (!nvdec.available) nvdec_reason = nvdec.reason;
      if (!nvenc.available) nvenc_reason = nvenc.reason;
    }
    devices.Set(static_cast<uint32_t>(i), o);
  }
  out.Set("devices", devices);
  if (probe_engines) {
    out.Set("nvdec", Availability(env, {any_nvdec, nvdec_reason}));
    out.Set("nvenc", Availability(env, {any_nvenc, nvenc_reason}));
  }

  const TensorRtStatus trt = QueryTensorRt();
  Napi::Object tensorrt = Napi::Object::New(env);
  tensorrt.Set("compiled", trt.compiled);
  tensorrt.Set("available", trt.available);
  if (!trt.header_version.empty()) tensorrt.Set("headerVersion", trt.header_version);
  if (!trt.version.empty()) tensorrt.Set("version", trt.version);
  if (!trt.available) tensorrt.Set("reason", trt.reason);
  out.Set("tensorrt", tensorrt);
}

Napi::Value Capabilities(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  out.Set("ffmpeg", FfmpegInfo(env));
  AddGpuState(env, out, true);
  return out;
}

// gpuInventory(): capabilities() without FFmpeg and without the NVDEC/NVENC probes.
Napi::Value GpuInventory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  AddGpuState(env, out, false);
  return out;
}

// gpuStats(library?): per-GPU utilisation from NVML, or {available: false, reason}. `library`
// (tests) replaces libnvidia-ml.so.1. A few NVML calls per GPU: cheap enough for a scrape.
Napi::Value GpuStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string library;
  if (info.Length() > 0 && !info[0].IsUndefined()) {
    if (!info[0].IsString()) {
      Napi::TypeError::New(env, "gpuStats(library): library must be a string").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    library = info[0].As<Napi::String>().Utf8Value();
  }
  const NvmlSnapshot snap = ReadNvmlStats(library);
  Napi::Object out = Napi::Object::New(env);
  out.Set("available", snap.available);
  if (!snap.available) out.Set("reason", snap.reason);
  Napi::Array gpus = Napi::Array::New(env, snap.gpus.size());
  for (size_t i = 0; i < snap.gpus.size(); ++i) {
    const NvmlGpuStats& g = snap.gpus[i];
    Napi::Object o = Napi::Object::New(env);
    auto optional = [&](const char* key, double v) { o.Set(key, v < 0 ? env.Null() : Napi::Number::New(env, v)); };
    o.Set("index", g.index);
    o.Set("name", g.name);
    o.Set("memoryTotal", static_cast<double>(g.memory_total));
    o.Set("memoryFree", static_cast<double>(g.memory_free));
    optional("utilizationCompute", g.utilization_compute);
    optional("utilizationMemory", g.utilization_memory);
    optional("temperatureC", g.temperature_c);
    optional("powerW", g.power_w);
    gpus.Set(static_cast<uint32_t>(i), o);
  }
  out.Set("gpus", gpus);
  return out;
}

}  // namespace

void InitCapabilities(Napi::Env env, Napi::Object exports) {
  exports.Set("gpuStats", Napi::Function::New(env, GpuStats, "gpuStats"));
  exports.Set("capabilities", Napi::Function::New(env, Capabilities, "capabilities"));
  exports.Set("gpuInventory", Napi::Function::New(env, GpuInventory, "gpuInventory"));
}

}  // namespace trickle
