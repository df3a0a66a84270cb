// JS bindings of the TensorRT engine: loadEngine(options) -> Promise<NativeEngine>, and the
// NativeEngine handle with io(), report(), run(feeds, stream) -> Promise, stats(), close().
// JS thread only. Loading (deserialize/build) runs in an AsyncWorker. A run holds a libuv pool
// thread only for its enqueue: the GPU's completion comes back through a stream callback
// (cuda::OnStreamDone) and a ThreadSafeFunction, which settles the promise on the JS thread.
//
// Compiled in every build: without TensorRT, InferenceEngine::Load throws ERR_TENSORRT_UNAVAILABLE
// (with the reason) from the worker, so loadEngine() rejects the same way on every machine.
//
// Ownership: the handle holds a std::shared_ptr to the engine until close() (idempotent). A run
// pins the engine (shared_ptr), its input tensors (TensorPtr, taken on the JS thread before
// queueing), its outputs and its execution context until the GPU has finished it, and releases
// them on the JS thread; so closing the engine or the input tensors (or overwriting what they
// hold through another run) while a run is in flight is safe.
#include <napi.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "bindings/bindings.h"
#include "bindings/class_registry.h"
#include "bindings/pipeline_registry.h"
#include "bindings/promise_worker.h"
#include "bindings/tensor_wrap.h"
#include "common/js_error.h"
#include "cuda/cuda_ops.h"
#include "infer/inference_engine.h"

namespace trickle {
namespace {

struct EngineTag {};
using EngineCtor = ConstructorRegistry<EngineTag>;

Napi::Array ShapeToJs(Napi::Env env, const std::vector<int64_t>& shape) {
  Napi::Array a = Napi::Array::New(env, shape.size());
  for (size_t i = 0; i < shape.size(); ++i) a.Set(static_cast<uint32_t>(i), Napi::Number::New(env, static_cast<double>(shape[i])));
  return a;
}

// One Engine.run from its call to its completion on the GPU. Owned by its EnqueueJob until the
// run is enqueued and its stream callback registered; from then on by that callback, which hands
// it to the JS thread (DeliverRunDone) to settle the promise and to be destroyed there: dropping
// the pins may free device memory or a stream, which a CUDA callback thread must not do.
// Registered as a pipeline (pipeline_registry.h) while in flight: process.exit() drains its stream
// first, so no stream callback fires into a process whose CUDA runtime is being unloaded.
struct RunInFlight;
void DeliverRunDone(Napi::Env env, Napi::Function, std::nullptr_t*, RunInFlight* state);
using RunDoneTsfn = Napi::TypedThreadSafeFunction<std::nullptr_t, RunInFlight, DeliverRunDone>;

struct RunInFlight final : StoppablePipeline {
  napi_env env_;
  std::mutex mu_;
  std::condition_variable enqueued_cv_;
  bool enqueue_finished_ = false;
  void* stream_ = nullptr;  // what StopNow drains

  RunInFlight(Napi::Env env, std::shared_ptr<InferenceEngine> e, std::vector<EngineFeed> f, EngineStream w)
      : env_(env),
        engine(std::move(e)),
        feeds(std::move(f)),
        where(std::move(w)),
        deferred(Napi::Promise::Deferred::New(env)),
        // Referenced: the event loop stays alive while the GPU works on the run.
        done(RunDoneTsfn::New(env, "trickle.Engine.run", 0, 1)) {
    RegisterPipeline(env_, this);
  }
  ~RunInFlight() override { UnregisterPipeline(env_, this); }

  // JS thread, process.exit(): waits until the enqueue has finished and the stream has passed the
  // run (its callback has then fired; the promise is never settled, the process is exiting).
  void StopNow() override {
    UnregisterPipeline(env_, this);
    void* stream = nullptr;
    {
      std::unique_lock<std::mutex> lock(mu_);
      enqueued_cv_.wait(lock, [this] { return enqueue_finished_; });
      stream = stream_;
    }
    if (stream) cuda::SynchronizeStreamQuietly(stream);
  }

  // Pool thread, before the callback is registered (afterwards the state may be gone at any time).
  void EnqueueFinished(void* stream) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      enqueue_finished_ = true;
      stream_ = stream;
    }
    enqueued_cv_.notify_all();
  }

  std::shared_ptr<InferenceEngine> engine;  // declared before `run`: destroyed after the run's context slot
  std::vector<EngineFeed> feeds;            // pins the input tensors
  EngineStream where;
  EngineRun run;                            // outputs + the slot and upload buffers in flight
  Napi::Promise::Deferred deferred;
  RunDoneTsfn done;
  int status = 0;  // cudaError_t the stream reported at completion
};

// A CUDA driver thread, once the stream has passed the run: no CUDA calls and no destruction here
// (cuda_ops.h), only the hand-over to the JS thread.
void OnRunDone(int status, void* data) {
  auto* state = static_cast<RunInFlight*>(data);
  state->status = status;
  RunDoneTsfn done = state->done;  // `state` may be gone on the JS thread as soon as it is queued
  if (done.NonBlockingCall(state) != napi_ok) {
    // The environment is shutting down: the state is left alive on purpose (its destructors would
    // call CUDA on this thread); the process is exiting.
  }
  done.Release();
}

// JS thread: settles the promise and drops the run's pins. `env` is null when the environment is
// being torn down; the pins are still released here, on the JS thread.
void DeliverRunDone(Napi::Env env, Napi::Function, std::nullptr_t*, RunInFlight* raw) {
  std::unique_ptr<RunInFlight> state(raw);
  if (env == nullptr) return;
  Napi::HandleScope scope(env);
  if (state->status != 0) {
    state->deferred.Reject(ToJsError(env, NativeError{"ERR_CUDA",
                                                      "the GPU failed while running the engine: " + cuda::ErrorText(state->status),
                                                      "Engine.run", state->status, true})
                               .Value());
    return;
  }
  Napi::Array out = Napi::Array::New(env, state->run.outputs.size());
  for (size_t i = 0; i < state->run.outputs.size(); ++i) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", state->run.outputs[i].name);
    o.Set("tensor", TensorWrap::NewInstance(env, std::move(state->run.outputs[i].tensor)));
    out.Set(static_cast<uint32_t>(i), o);
  }
  state->deferred.Resolve(out);
}

// The enqueue of one run, on a libuv pool thread (input checks, a first-use execution context,
// enqueueV3): it returns as soon as the work is queued on the GPU, freeing the pool thread.
class EnqueueJob : public Napi::AsyncWorker {
 public:
  EnqueueJob(Napi::Env env, RunInFlight* state) : Napi::AsyncWorker(env, "trickle.Engine.run"), state_(state) {}

 protected:
  void Execute() override {
    RunInFlight* state = state_;
    failed_ = PromiseWorker::CaptureFailure("Engine.run", [state] { state->run = state->engine->Enqueue(state->feeds, state->where); },
                                            &error_);
    state->EnqueueFinished(failed_ ? nullptr : state->run.stream);
    if (failed_) return;
    // After this call the callback owns the state and may already have handed it over.
    failed_ = PromiseWorker::CaptureFailure("Engine.run", [state] { cuda::OnStreamDone(state->run.stream, OnRunDone, state); }, &error_);
    if (failed_) {
      // Not registered, so the callback will never come: let the enqueued run drain before the
      // pins go (JS thread, OnOK).
      cuda::SynchronizeStreamQuietly(state->run.stream);
      return;
    }
    state_ = nullptr;
  }

  void OnOK() override {
    if (!state_) return;  // settled by DeliverRunDone
    std::unique_ptr<RunInFlight> state(state_);
    Napi::HandleScope scope(Env());
    state->deferred.Reject(ToJsError(Env(), error_).Value());
    state->done.Release();
  }

 private:
  RunInFlight* state_;
  NativeError error_;
  bool failed_ = false;
};

class EngineWrap : public Napi::ObjectWrap<EngineWrap> {
 public:
  static void Init(Napi::Env env, Napi::Object exports) {
    Napi::Function ctor = DefineClass(env, "NativeEngine",
                                      {InstanceMethod<&EngineWrap::Io>("io"), InstanceMethod<&EngineWrap::Report>("report"),
                                       InstanceMethod<&EngineWrap::Run>("run"), InstanceMethod<&EngineWrap::Stats>("stats"),
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
    if (!report_.timing_cache_path.empty()) o.Set("timingCachePath", report_.timing_cache_path);
    if (!report_.timing_cache_error.empty()) o.Set("timingCacheError", report_.timing_cache_error);
    if (report_.max_contexts > 0) o.Set("maxContexts", report_.max_contexts);
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

  // run(feeds: {name, tensor}[], stream: bigint | string) -> Promise<{name, tensor}[]>: a bigint is
  // a caller's cudaStream_t (0n = the engine's default stream), a string names an engine-owned
  // stream. TypeScript validated names, dtypes and shapes against io(); the engine re-checks what
  // memory safety needs.
  Napi::Value Run(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto engine = Live(env);
    if (info.Length() < 2 || !info[0].IsArray() || !(info[1].IsBigInt() || info[1].IsString())) {
      ThrowTypeError(env, "run expects (feeds: {name, tensor}[], stream: bigint | string)");
    }
    Napi::Array arr = info[0].As<Napi::Array>();
    std::vector<EngineFeed> feeds;
    for (uint32_t i = 0; i < arr.Length(); ++i) {
      Napi::Value v = arr.Get(i);
      if (!v.IsObject()) ThrowTypeError(env, "run expects feeds of {name, tensor}");
      Napi::Object o = v.As<Napi::Object>();
      Napi::Value name = o.Get("name");
      if (!name.IsString()) ThrowTypeError(env, "run expects feeds of {name, tensor}");
      feeds.push_back({name.As<Napi::String>().Utf8Value(), TensorWrap::Unwrap(o.Get("tensor"))});
    }
    EngineStream stream;
    if (info[1].IsBigInt()) {
      bool lossless = false;
      stream.handle = static_cast<uintptr_t>(info[1].As<Napi::BigInt>().Uint64Value(&lossless));
      if (!lossless) ThrowTypeError(env, "run expects a stream handle that fits in 64 bits");
    } else {
      stream.name = info[1].As<Napi::String>().Utf8Value();
    }
    auto* state = new RunInFlight(env, std::move(engine), std::move(feeds), std::move(stream));
    Napi::Promise promise = state->deferred.Promise();
    (new EnqueueJob(env, state))->Queue();
    return promise;
  }

  std::shared_ptr<InferenceEngine> engine_;
  EngineLoadReport report_;
};

class LoadWorker : public PromiseWorker {
 public:
  LoadWorker(Napi::Env env, EngineLoadOptions options) : PromiseWorker(env, "trickle.Engine.load"), options_(std::move(options)) {}

 protected:
  void Run() override { engine_ = InferenceEngine::Load(options_, &report_); }
  Napi::Value Result(Napi::Env env) override { return EngineWrap::NewInstance(env, std::move(engine_), std::move(report_)); }

 private:
  EngineLoadOptions options_;
  EngineLoadReport report_;
  std::shared_ptr<InferenceEngine> engine_;
};

// loadEngine({path, onnx, device, cachePath, timingCacheDir, fp16, workspaceBytes, inputShapes}) -> Promise.
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
  if (o.Get("timingCacheDir").IsString()) opts.timing_cache_dir = o.Get("timingCacheDir").As<Napi::String>().Utf8Value();
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
  return PromiseWorker::Launch(new LoadWorker(env, std::move(opts)));
}

}  // namespace

void InitEngine(Napi::Env env, Napi::Object exports) {
  EngineWrap::Init(env, exports);
  exports.Set("loadEngine", Napi::Function::New(env, LoadEngineJs, "loadEngine"));
}

}  // namespace trickle
