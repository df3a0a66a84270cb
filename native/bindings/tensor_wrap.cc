#include "bindings/tensor_wrap.h"

#include <cstring>

#include "bindings/bindings.h"
#include "bindings/class_registry.h"
#include "bindings/promise_worker.h"
#include "common/js_error.h"
#include "frame/copy_counters.h"
#include "frame/tensor_ops.h"

namespace trickle {
namespace {

struct TensorTag {};

class TensorHandle : public Napi::ObjectWrap<TensorHandle> {
 public:
  explicit TensorHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TensorHandle>(info) {
    if (info.Length() < 1 || !info[0].IsExternal()) {
      ThrowTypeError(info.Env(), "Tensor handles are created by trickle-rt (Tensor.from, frame.toTensor)");
    }
    tensor_ = *info[0].As<Napi::External<TensorPtr>>().Data();
  }

  const TensorPtr& Get(Napi::Env env) const {
    if (!tensor_) throw ToJsError(env, NativeError{"ERR_CLOSED", "the Tensor was closed", "", 0, false});
    return tensor_;
  }

  Napi::Value Info(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const TensorPtr& t = Get(env);
    Napi::Object o = Napi::Object::New(env);
    Napi::Array shape = Napi::Array::New(env, t->shape.size());
    for (size_t i = 0; i < t->shape.size(); ++i) shape.Set(static_cast<uint32_t>(i), static_cast<double>(t->shape[i]));
    o.Set("shape", shape);
    o.Set("dtype", DTypeName(t->dtype));
    o.Set("location", t->location() == TensorLocation::kCuda ? "cuda" : "cpu");
    o.Set("device", t->device());
    return o;
  }

  // A copy of a host tensor's elements in V8 memory (not an external buffer: Node defers their
  // finalizers, so under a busy loop they pile up):
  // Uint8Array, Uint16Array (float16 bits) or Float32Array.
  Napi::Value Data(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const TensorPtr& t = Get(env);
    if (t->location() != TensorLocation::kHost) {
      throw ToJsError(env, NativeError{"ERR_INVALID_ARG", "data is readable for CPU tensors only; await tensor.toHost() first", "", 0, false});
    }
    const size_t n = static_cast<size_t>(t->elements());
    Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, t->bytes());
    if (t->bytes() > 0) std::memcpy(ab.Data(), t->data(), t->bytes());
    CountCopy(CopyKind::kHostToHost, t->bytes());
    switch (t->dtype) {
      case DType::kUint8: return Napi::Uint8Array::New(env, n, ab, 0);
      case DType::kFloat16: return Napi::Uint16Array::New(env, n, ab, 0);
      default: return Napi::Float32Array::New(env, n, ab, 0);
    }
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    tensor_.reset();
    return info.Env().Undefined();
  }
  Napi::Value IsClosed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), !tensor_); }

  Napi::Value ToHost(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    TensorPtr t = Get(env);
    auto out = std::make_shared<TensorPtr>();
    const bool inline_run = t->location() == TensorLocation::kHost;
    return PromiseWorker::Start(
        env, "trickle.tensor.toHost", inline_run, [t, out] { *out = TensorToHost(t); },
        [out](Napi::Env e) -> Napi::Value { return TensorWrap::NewInstance(e, *out); }, {info.This().As<Napi::Object>()});
  }

  Napi::Value ToDevice(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    TensorPtr t = Get(env);
    const int device = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : 0;
    auto out = std::make_shared<TensorPtr>();
    // Enqueue-only (the staging copy of a pageable buffer is short): on the JS thread.
    return PromiseWorker::Start(
        env, "trickle.tensor.toDevice", true, [t, out, device] { *out = TensorToDevice(t, device); },
        [out](Napi::Env e) -> Napi::Value { return TensorWrap::NewInstance(e, *out); }, {});
  }

 private:
  TensorPtr tensor_;
};

// tensorFromData(typedArray, shape: number[], dtype): a host tensor holding a copy of the data.
Napi::Value TensorFromDataJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsTypedArray() || !info[1].IsArray() || !info[2].IsString()) {
    ThrowTypeError(env, "tensorFromData(typedArray, shape, dtype)");
  }
  Napi::TypedArray data = info[0].As<Napi::TypedArray>();
  Napi::Array shape = info[1].As<Napi::Array>();
  const DType dtype = DTypeFromName(env, info[2].As<Napi::String>().Utf8Value());
  auto t = std::make_shared<Tensor>();
  t->dtype = dtype;
  for (uint32_t i = 0; i < shape.Length(); ++i) {
    Napi::Value v = shape.Get(i);
    if (!v.IsNumber()) ThrowTypeError(env, "shape must hold numbers");
    const int64_t d = v.As<Napi::Number>().Int64Value();
    if (d < 0 || d > (int64_t(1) << 31)) ThrowTypeError(env, "shape dimension out of range");
    t->shape.push_back(d);
  }
  if (t->shape.size() > 8) ThrowTypeError(env, "tensors have at most 8 dimensions");
  const size_t bytes = static_cast<size_t>(t->elements()) * DTypeSize(dtype);
  if (data.ByteLength() != bytes) ThrowTypeError(env, "data length does not match shape and dtype");
  try {
    t->storage = TensorStorage::AllocateHost(bytes);
  } catch (const NativeException& e) {
    throw ToJsError(env, e.error());
  }
  if (bytes > 0) {
    std::memcpy(t->data(), static_cast<const uint8_t*>(data.ArrayBuffer().Data()) + data.ByteOffset(), bytes);
  }
  CountCopy(CopyKind::kHostToHost, bytes);
  return TensorWrap::NewInstance(env, t);
}

Napi::Value CopyCountersJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() > 0 && info[0].IsBoolean() && info[0].As<Napi::Boolean>().Value()) ResetCopyCounters();
  const CopyCounterValues v = ReadCopyCounters();
  Napi::Object o = Napi::Object::New(env);
  o.Set("hostToDevice", static_cast<double>(v.host_to_device));
  o.Set("deviceToHost", static_cast<double>(v.device_to_host));
  o.Set("deviceToDevice", static_cast<double>(v.device_to_device));
  o.Set("hostToHost", static_cast<double>(v.host_to_host));
  o.Set("hostToDeviceBytes", static_cast<double>(v.host_to_device_bytes));
  o.Set("deviceToHostBytes", static_cast<double>(v.device_to_host_bytes));
  o.Set("deviceToDeviceBytes", static_cast<double>(v.device_to_device_bytes));
  o.Set("hostToHostBytes", static_cast<double>(v.host_to_host_bytes));
  return o;
}

}  // namespace

DType DTypeFromName(Napi::Env env, const std::string& name) {
  if (name == "uint8") return DType::kUint8;
  if (name == "float16") return DType::kFloat16;
  if (name == "float32") return DType::kFloat32;
  ThrowTypeError(env, "dtype must be uint8, float16 or float32");
  return DType::kUint8;  // not reached
}

void TensorWrap::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = TensorHandle::DefineClass(env, "NativeTensor",
                                                  {
                                                      TensorHandle::InstanceMethod<&TensorHandle::Info>("info"),
                                                      TensorHandle::InstanceMethod<&TensorHandle::Data>("data"),
                                                      TensorHandle::InstanceMethod<&TensorHandle::Close>("close"),
                                                      TensorHandle::InstanceMethod<&TensorHandle::IsClosed>("isClosed"),
                                                      TensorHandle::InstanceMethod<&TensorHandle::ToHost>("toHost"),
                                                      TensorHandle::InstanceMethod<&TensorHandle::ToDevice>("toDevice"),
                                                  });
  ConstructorRegistry<TensorTag>::Set(env, ctor);
  exports.Set("NativeTensor", ctor);
}

Napi::Object TensorWrap::NewInstance(Napi::Env env, TensorPtr tensor) {
  if (!tensor) throw Napi::Error::New(env, "TensorWrap::NewInstance: null tensor");
  Napi::EscapableHandleScope scope(env);
  Napi::Object obj = ConstructorRegistry<TensorTag>::Get(env).New({Napi::External<TensorPtr>::New(env, &tensor)});
  return scope.Escape(obj).As<Napi::Object>();
}

bool TensorWrap::IsHandle(Napi::Value value) {
  return value.IsObject() && value.As<Napi::Object>().InstanceOf(ConstructorRegistry<TensorTag>::Get(value.Env()));
}

TensorPtr TensorWrap::Unwrap(Napi::Value value) {
  if (!IsHandle(value)) ThrowTypeError(value.Env(), "expected a Tensor");
  return TensorHandle::Unwrap(value.As<Napi::Object>())->Get(value.Env());
}

void InitTensors(Napi::Env env, Napi::Object exports) {
  TensorWrap::Init(env, exports);
  exports.Set("tensorFromData", Napi::Function::New(env, TensorFromDataJs, "tensorFromData"));
  exports.Set("copyCounters", Napi::Function::New(env, CopyCountersJs, "copyCounters"));
}

}  // namespace trickle
