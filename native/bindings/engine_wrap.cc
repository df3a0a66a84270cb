// JS bindings of the TensorRT engine: loadEngine(options) -> Promise<NativeEngine>, and the
// NativeEngine handle with io(), report(), stats(), close(). run() lands with the Tensor handles.
// JS thread only; the blocking work (deserialize/build, enqueue + wait) runs in AsyncWorkers.
//
// Compiled in every build: without TensorRT, InferenceEngine::Load throws ERR_TENSORRT_UNAVAILABLE
// (with the reason) from the worker, so loadEngine() rejects the same way on every machine.
//
// Ownership: the handle holds a std::shared_ptr to the engine until close() (idempotent).
#include <napi.h>

#include <memory>
#include <utility>
#include <vector>

#include "bindings/bindings.h"
#include "bindings/class_registry.h"
#include "common/js_error.h"
#include "infer/inference_engine.h"

namespace trickle {
namespace {

struct EngineTag {};
using EngineCtor = ConstructorRegistry<EngineTag>;

// Settles a promise from a worker's result; Execute() stores a NativeError on failure.
class EngineWorker : public Napi::AsyncWorker {
 public:
  EngineWorker(Napi::Env env, const char* name) : Napi::AsyncWorker(env, name), deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise Promise() const { return deferred_.Promise(); }

 protected:
  virtual void Run() = 0;
  virtual Napi::Value Result(Napi::Env env) = 0;

  void Execute() override {
    try {
      Run();
    } catch (const NativeException& e) {
      error_ = e.error();
      failed_ = true;
    } catch (const std::bad_alloc&) {
      error_ = NativeError{"ERR_OUT_OF_MEMORY", "out of memory", "", 0, false};
      failed_ = true;
    } catch (const std::exception& e) {
      error_ = NativeError{"ERR_NATIVE", e.what(), "", 0, false};
      failed_ = true;
    }
  }
  void OnOK() override {
    Napi::HandleScope scope(Env());
    if (failed_) {
      deferred_.Reject(ToJsError(Env(), error_).Value());
      return;
    }
    try {
      deferred_.Resolve(Result(Env()));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    }
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  NativeError error_;
  bool failed_ = false;
};

Napi::Array ShapeToJs(Napi::Env env, const std::vector<int64_t>& shape) {
  Napi::Array a = Napi::Array::New(env, shape.size());
  for (size_t i = 0; i < shape.size(); ++i) a.Set(static_cast<uint32_t>(i), Napi::Number::New(env, static_cast<double>(shape[i])));
  return a;
}

class EngineWrap : public Napi::ObjectWrap<EngineWrap> {
 public:
  static void Init(Napi::Env env, Napi::Object exports) {
    Napi::Function ctor = DefineClass(env, "NativeEngine",
                                      {InstanceMethod<&EngineWrap::Io>("io"), InstanceMethod<&EngineWrap::Report>("report"),
                                       InstanceMethod<&EngineWrap::Stats>("stats"),
                                       InstanceMethod<&EngineWrap::Close>("close"), InstanceMethod<&EngineWrap::IsClosed>("isClosed")});
    EngineCtor::Set(env, ctor);
    exports.Set("NativeEngine", ctor);
  }

  static Napi::Object NewInstance(Napi::Env env, std::shared_ptr<InferenceEngine> engine, EngineLoadReport report) {
    Napi::Object obj = EngineCtor::Get(env).New({});
    EngineWrap* w = Unwrap(obj);
    w->engine_ = std::move(engine);
    w->report_ = std::move(report);
    return obj;
  }

  explicit EngineWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<EngineWrap>(info) {}

 private:
  std::shared_ptr<InferenceEngine> Live(Napi::Env env) {
    if (!engine_) throw ToJsError(env, NativeError{"ERR_CLOSED", "the engine is closed", "Engine", 0, false});
    return engine_;
  }

  Napi::Value Io(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto engine = Live(env);
    Napi::Array out = Napi::Array::New(env);
    uint32_t i = 0;
    for (const auto& d : engine->io()) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("name", d.name);
      o.Set("mode", d.is_input ? "input" : "output");
      o.Set("dtype", d.dtype);
      o.Set("shape", ShapeToJs(env, d.shape));
      out.Set(i++, o);
    }
    return out;
  }

  Napi::Value Report(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    o.Set("source", report_.source);
    if (!report_.cache_path.empty()) o.Set("cachePath", report_.cache_path);
    if (!report_.cache_error.empty()) o.Set("cacheError", report_.cache_error);
    o.Set("precision", report_.precision.empty() ? std::string("engine") : report_.precision);
    o.Set("tensorrtVersion", report_.tensorrt_version);
    o.Set("gpu", report_.gpu_name);
    o.Set("computeCapability", report_.compute_capability);
    o.Set("buildMs", report_.build_ms);
    return o;
  }

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const EngineStats s = Live(env)->Stats();
    Napi::Object o = Napi::Object::New(env);
    o.Set("runs", static_cast<double>(s.runs));
    o.Set("contexts", static_cast<double>(s.contexts));
    o.Set("hostUploads", static_cast<double>(s.host_uploads));
    o.Set("hostUploadBytes", static_cast<double>(s.host_upload_bytes));
    o.Set("outputsAllocated", static_cast<double>(s.outputs_allocated));
    o.Set("outputsReused", static_cast<double>(s.outputs_reused));
    return o;
  }

  // Drops this handle's reference; runs in flight keep the engine until they finish.
  Napi::Value Close(const Napi::CallbackInfo& info) {
    engine_.reset();
    return info.Env().Undefined();
  }
  Napi::Value IsClosed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), !engine_); }

  std::shared_ptr<InferenceEngine> engine_;
  EngineLoadReport report_;
};

class LoadWorker : public EngineWorker {
 public:
  LoadWorker(Napi::Env env, EngineLoadOptions options) : EngineWorker(env, "trickle.Engine.load"), options_(std::move(options)) {}

 protected:
  void Run() override { engine_ = InferenceEngine::Load(options_, &report_); }
  Napi::Value Result(Napi::Env env) override { return EngineWrap::NewInstance(env, std::move(engine_), std::move(report_)); }

 private:
  EngineLoadOptions options_;
  EngineLoadReport report_;
  std::shared_ptr<InferenceEngine> engine_;
};

// loadEngine({path, onnx, device, cachePath, fp16, workspaceBytes, inputShapes}) -> Promise.
Napi::Value LoadEngineJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) ThrowTypeError(env, "loadEngine expects an options object");
  Napi::Object o = info[0].As<Napi::Object>();
  EngineLoadOptions opts;
  if (!o.Get("path").IsString()) ThrowTypeError(env, "loadEngine expects options.path to be a string");
  opts.path = o.Get("path").As<Napi::String>().Utf8Value();
  opts.onnx = o.Get("onnx").ToBoolean().Value();
  if (o.Get("device").IsNumber()) opts.device = o.Get("device").As<Napi::Number>().Int32Value();
  if (o.Get("cachePath").IsString()) opts.cache_path = o.Get("cachePath").As<Napi::String>().Utf8Value();
  if (o.Get("fp16").IsBoolean()) opts.fp16 = o.Get("fp16").As<Napi::Boolean>().Value();
  if (o.Get("workspaceBytes").IsNumber()) {
    const double w = o.Get("workspaceBytes").As<Napi::Number>().DoubleValue();
    if (!(w >= 0)) ThrowTypeError(env, "loadEngine expects options.workspaceBytes >= 0");
    opts.workspace_bytes = static_cast<size_t>(w);
  }
  Napi::Value shapes = o.Get("inputShapes");
  if (shapes.IsObject()) {
    Napi::Object s = shapes.As<Napi::Object>();
    Napi::Array names = s.GetPropertyNames();
    for (uint32_t i = 0; i < names.Length(); ++i) {
      const std::string name = names.Get(i).As<Napi::String>().Utf8Value();
      Napi::Value dims = s.Get(name);
      if (!dims.IsArray()) ThrowTypeError(env, "loadEngine expects inputShapes values to be arrays");
      Napi::Array a = dims.As<Napi::Array>();
      std::vector<int64_t> shape;
      for (uint32_t k = 0; k < a.Length(); ++k) {
        if (!a.Get(k).IsNumber()) ThrowTypeError(env, "loadEngine expects inputShapes dimensions to be numbers");
        shape.push_back(a.Get(k).As<Napi::Number>().Int64Value());
      }
      if (shape.size() > 8) ThrowTypeError(env, "loadEngine: TensorRT tensors have at most 8 dimensions");
      opts.input_shapes[name] = std::move(shape);
    }
  }
  auto* worker = new LoadWorker(env, std::move(opts));
  Napi::Promise p = worker->Promise();
  worker->Queue();
  return p;
}

}  // namespace

void InitEngine(Napi::Env env, Napi::Object exports) {
  EngineWrap::Init(env, exports);
  exports.Set("loadEngine", Napi::Function::New(env, LoadEngineJs, "loadEngine"));
}

}  // namespace trickle
