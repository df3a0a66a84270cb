// gpuPolicy: the decisions of the GPU paths (common/gpu_policy.h, frame/color_spec.h) as plain
// functions, so that tests exercise every choice without a GPU and `trickle-rt info` can state the
// driver floor. JS thread only; no state.
#include <string>
#include <vector>

extern "C" {
#include <libavutil/pixdesc.h>
}

#include "bindings/bindings.h"
#include "common/gpu_policy.h"
#include "common/js_error.h"
#include "frame/color_spec.h"

namespace trickle {
namespace {

std::string Str(Napi::Object o, const char* key) {
  Napi::Value v = o.Get(key);
  return v.IsString() ? v.As<Napi::String>().Utf8Value() : std::string();
}
bool Bool(Napi::Object o, const char* key) { return o.Get(key).ToBoolean().Value(); }
int Int(Napi::Object o, const char* key) {
  Napi::Value v = o.Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().Int32Value() : 0;
}
Napi::Object Arg(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() <= i || !info[i].IsObject()) ThrowTypeError(info.Env(), "expected an options object");
  return info[i].As<Napi::Object>();
}
double Num(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() <= i || !info[i].IsNumber()) ThrowTypeError(info.Env(), "expected a number");
  return info[i].As<Napi::Number>().DoubleValue();
}

Napi::Value DecidePrimaryContextJs(const Napi::CallbackInfo& info) {
  const bool active = info.Length() > 0 && info[0].ToBoolean().Value();
  const auto flags = static_cast<unsigned>(Num(info, 1));
  switch (DecidePrimaryContext(active, flags)) {
    case PrimaryContextAction::kUse: return Napi::String::New(info.Env(), "use");
    case PrimaryContextAction::kSetFlags: return Napi::String::New(info.Env(), "set-flags");
    default: return Napi::String::New(info.Env(), "incompatible");
  }
}

Napi::Value DriverFloorJs(const Napi::CallbackInfo& info) {
  const DriverFloor f = DriverFloorFor(static_cast<int>(Num(info, 0)));
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("runtimeVersion", f.runtime_version);
  o.Set("minDriverApi", f.min_driver_api);
  o.Set("branch", f.min_driver_branch);
  return o;
}

Napi::Value DriverRunsRuntimeJs(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), DriverRunsRuntime(static_cast<int>(Num(info, 0)), static_cast<int>(Num(info, 1))));
}

// chooseDecodeDevice(request 'auto'|'cpu'|'cuda', index, facts)
Napi::Value ChooseDecodeDeviceJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string req = info.Length() > 0 && info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
  if (req != "auto" && req != "cpu" && req != "cuda") ThrowTypeError(env, "request must be auto, cpu or cuda");
  const int index = static_cast<int>(Num(info, 1));
  Napi::Object f = Arg(info, 2);
  DecodeDeviceFacts facts;
  facts.driver_loaded = Bool(f, "driverLoaded");
  facts.driver_error = Str(f, "driverError");
  facts.device_count = Int(f, "deviceCount");
  facts.nvdec_available = Bool(f, "nvdecAvailable");
  facts.nvdec_reason = Str(f, "nvdecReason");
  facts.kernels_usable = Bool(f, "kernelsUsable");
  facts.kernels_reason = Str(f, "kernelsReason");
  const DecodeDeviceChoice c = ChooseDecodeDevice(
      req == "cpu" ? DecodeRequest::kCpu : (req == "cuda" ? DecodeRequest::kCuda : DecodeRequest::kAuto), index, facts);
  Napi::Object o = Napi::Object::New(env);
  o.Set("useNvdec", c.use_nvdec);
  o.Set("error", c.error);
  o.Set("reason", c.reason);
  return o;
}

Napi::Value PlaceOnDeviceJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsArray() || !info[1].IsArray()) ThrowTypeError(env, "placeOnDevice(capable[], live[])");
  std::vector<bool> capable;
  std::vector<int> live;
  Napi::Array a = info[0].As<Napi::Array>(), b = info[1].As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); ++i) capable.push_back(a.Get(i).ToBoolean().Value());
  for (uint32_t i = 0; i < b.Length(); ++i) live.push_back(b.Get(i).IsNumber() ? b.Get(i).As<Napi::Number>().Int32Value() : 0);
  return Napi::Number::New(env, PlaceOnDevice(capable, live));
}

Napi::Value NvdecSurfacesJs(const Napi::CallbackInfo& info) {
  const int dpb = static_cast<int>(Num(info, 0));
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("surfaces", NvdecSurfaces(dpb));
  o.Set("fits", NvdecSurfacesFit(dpb));
  o.Set("limit", kNvdecMaxSurfaces);
  return o;
}

Napi::Value ChooseEncoderJs(const Napi::CallbackInfo& info) {
  Napi::Object f = Arg(info, 0);
  NvencInputFacts facts;
  facts.cuda_frame = Bool(f, "cudaFrame");
  facts.sw_format = Str(f, "swFormat");
  facts.width = Int(f, "width");
  facts.height = Int(f, "height");
  facts.device_has_nvenc = Bool(f, "deviceHasNvenc");
  facts.device_reason = Str(f, "deviceReason");
  facts.build_has_nvenc = Bool(f, "buildHasNvenc");
  const NvencChoice c = ChooseEncoder(facts);
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("useNvenc", c.use_nvenc);
  o.Set("reason", c.reason);
  return o;
}

// yuvColor({colorspace, range, format}) with FFmpeg's names ("bt709", "pc"/"tv", "yuvj420p")
Napi::Value YuvColorJs(const Napi::CallbackInfo& info) {
  Napi::Object f = Arg(info, 0);
  const std::string space = Str(f, "colorspace"), range = Str(f, "range"), format = Str(f, "format");
  const int s = space.empty() ? AVCOL_SPC_UNSPECIFIED : av_color_space_from_name(space.c_str());
  const int r = range.empty() ? AVCOL_RANGE_UNSPECIFIED : av_color_range_from_name(range.c_str());
  const AVPixelFormat p = format.empty() ? AV_PIX_FMT_YUV420P : av_get_pix_fmt(format.c_str());
  if (s < 0 || r < 0 || p == AV_PIX_FMT_NONE) ThrowTypeError(info.Env(), "unknown colorspace, range or pixel format name");
  return Napi::String::New(info.Env(), YuvColorName(YuvColorFor(static_cast<AVColorSpace>(s), static_cast<AVColorRange>(r), p)));
}

Napi::Value UnsupportedFormatReasonJs(const Napi::CallbackInfo& info) {
  const std::string name = info.Length() > 0 && info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
  const AVPixelFormat p = av_get_pix_fmt(name.c_str());
  if (p == AV_PIX_FMT_NONE) ThrowTypeError(info.Env(), "unknown pixel format " + name);
  return Napi::String::New(info.Env(), UnsupportedVideoFormatReason(p));
}

Napi::Value MaxExecutionContextsJs(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), MaxExecutionContexts(static_cast<int64_t>(Num(info, 0)), static_cast<int64_t>(Num(info, 1))));
}

}  // namespace

void InitGpuPolicy(Napi::Env env, Napi::Object exports) {
  Napi::Object p = Napi::Object::New(env);
  p.Set("decidePrimaryContext", Napi::Function::New(env, DecidePrimaryContextJs, "decidePrimaryContext"));
  p.Set("driverFloor", Napi::Function::New(env, DriverFloorJs, "driverFloor"));
  p.Set("driverRunsRuntime", Napi::Function::New(env, DriverRunsRuntimeJs, "driverRunsRuntime"));
  p.Set("chooseDecodeDevice", Napi::Function::New(env, ChooseDecodeDeviceJs, "chooseDecodeDevice"));
  p.Set("placeOnDevice", Napi::Function::New(env, PlaceOnDeviceJs, "placeOnDevice"));
  p.Set("nvdecSurfaces", Napi::Function::New(env, NvdecSurfacesJs, "nvdecSurfaces"));
  p.Set("chooseEncoder", Napi::Function::New(env, ChooseEncoderJs, "chooseEncoder"));
  p.Set("yuvColor", Napi::Function::New(env, YuvColorJs, "yuvColor"));
  p.Set("unsupportedFormatReason", Napi::Function::New(env, UnsupportedFormatReasonJs, "unsupportedFormatReason"));
  p.Set("maxExecutionContexts", Napi::Function::New(env, MaxExecutionContextsJs, "maxExecutionContexts"));
  exports.Set("gpuPolicy", p);
}

}  // namespace trickle
