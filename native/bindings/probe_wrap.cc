// One-shot media jobs over a whole Buffer: summarizeVideo(buffer) and cudaColorSelfTest().
// Each runs as an AsyncWorker (libuv pool, short job) and settles a Promise.
#include <napi.h>

#include "bindings/bindings.h"
#include "bindings/promise_worker.h"
#include "common/js_error.h"
#include "cuda/cuda_runtime_info.h"
#include "media/buffer_summary.h"

namespace trickle {
namespace {

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
  return PromiseWorker::Launch(new SummarizeVideoWorker(env, info[0].As<Napi::Buffer<uint8_t>>()));
}

Napi::Value CudaColorSelfTestJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsNumber()) {
    ThrowTypeError(env, "cudaColorSelfTest expects (device, width, height)");
  }
  return PromiseWorker::Launch(new CudaSelfTestWorker(env, info[0].As<Napi::Number>().Int32Value(),
                                                      info[1].As<Napi::Number>().Int32Value(),
                                                      info[2].As<Napi::Number>().Int32Value()));
}

}  // namespace

void InitProbe(Napi::Env env, Napi::Object exports) {
  exports.Set("summarizeVideo", Napi::Function::New(env, SummarizeVideoJs, "summarizeVideo"));
  exports.Set("cudaColorSelfTest", Napi::Function::New(env, CudaColorSelfTestJs, "cudaColorSelfTest"));
}

}  // namespace trickle
