// One-shot media jobs over a whole Buffer: summarizeVideo(buffer) and cudaColorSelfTest().
// Each runs as an AsyncWorker (libuv pool, short job) and settles a Promise.
#include <napi.h>

#include "bindings/bindings.h"
#include "common/js_error.h"
#include "cuda/cuda_runtime_info.h"
#include "media/buffer_summary.h"

namespace trickle {
namespace {

// Base for AsyncWorkers that settle a promise: Execute() stores a NativeError on failure and the
// JS-thread side turns it into a JS error.
class PromiseWorker : public Napi::AsyncWorker {
 public:
  explicit PromiseWorker(Napi::Env env, const char* name)
      : Napi::AsyncWorker(env, name), deferred_(Napi::Promise::Deferred::New(env)) {}
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
    } catch (const std::exception& e) {
      error_ = NativeError{"ERR_NATIVE", e.what(), "", 0, false};
      failed_ = true;
    }
  }
  void OnOK() override {
    Napi::HandleScope scope(Env());
    if (failed_) {
      deferred_.Reject(ToJsError(Env(), error_).Value());
    } else {
      deferred_.Resolve(Result(Env()));
    }
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  NativeError error_;
  bool failed_ = false;
};

class SummarizeVideoWorker : public PromiseWorker {
 public:
  SummarizeVideoWorker(Napi::Env env, Napi::Buffer<uint8_t> buffer)
      : PromiseWorker(env, "trickle.summarizeVideo"),
        // Pin the Buffer: its bytes are read on the worker thread.
        buffer_ref_(Napi::Persistent(buffer)),
        data_(buffer.Data()),
        size_(buffer.Length()) {}

 protected:
  void Run() override { summary_ = SummarizeVideo(data_, size_); }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("codec", summary_.codec);
    o.Set("frames", static_cast<double>(summary_.frames));
    o.Set("width", summary_.width);
    o.Set("height", summary_.height);
    o.Set("firstPts", summary_.has_first_pts ? Napi::Value(Napi::Number::New(env, static_cast<double>(summary_.first_pts)))
                                             : env.Null());
    Napi::Array tb = Napi::Array::New(env, 2);
    tb.Set(0u, summary_.time_base_num);
    tb.Set(1u, summary_.time_base_den);
    o.Set("timeBase", tb);
    o.Set("decodeErrors", static_cast<double>(summary_.decode_errors));
    return o;
  }

 private:
  Napi::Reference<Napi::Buffer<uint8_t>> buffer_ref_;
  const uint8_t* data_;
  size_t size_;
  VideoSummary summary_;
};

class CudaSelfTestWorker : public PromiseWorker {
 public:
  CudaSelfTestWorker(Napi::Env env, int device, int width, int height)
      : PromiseWorker(env, "trickle.cudaColorSelfTest"), device_(device), width_(width), height_(height) {}

 protected:
  void Run() override { diff_ = CudaColorSelfTest(device_, width_, height_); }
  Napi::Value Result(Napi::Env env) override { return Napi::Number::New(env, static_cast<double>(diff_)); }

 private:
  int device_, width_, height_;
  long diff_ = 0;
};

Napi::Value SummarizeVideoJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsBuffer()) ThrowTypeError(env, "summarizeVideo expects a Buffer");
  auto* worker = new SummarizeVideoWorker(env, info[0].As<Napi::Buffer<uint8_t>>());
  Napi::Promise p = worker->Promise();
  worker->Queue();
  return p;
}

Napi::Value CudaColorSelfTestJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsNumber()) {
    ThrowTypeError(env, "cudaColorSelfTest expects (device, width, height)");
  }
  auto* worker = new CudaSelfTestWorker(env, info[0].As<Napi::Number>().Int32Value(),
                                        info[1].As<Napi::Number>().Int32Value(), info[2].As<Napi::Number>().Int32Value());
  Napi::Promise p = worker->Promise();
  worker->Queue();
  return p;
}

}  // namespace

void InitProbe(Napi::Env env, Napi::Object exports) {
  exports.Set("summarizeVideo", Napi::Function::New(env, SummarizeVideoJs, "summarizeVideo"));
  exports.Set("cudaColorSelfTest", Napi::Function::New(env, CudaColorSelfTestJs, "cudaColorSelfTest"));
}

}  // namespace trickle
