// NativeFramePool: the JS handle of a FramePool shared with its producers. JS thread only; the pool
// itself is thread-safe.
#include "bindings/class_registry.h"
#include "bindings/frame_wrap.h"
#include "common/js_error.h"

namespace trickle {
namespace {

struct PoolTag {};

// The ObjectWrap behind NativeFramePool handles. JS thread only.
class FramePoolHandle : public Napi::ObjectWrap<FramePoolHandle> {
 public:
  explicit FramePoolHandle(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);
  const std::shared_ptr<FramePool>& pool() const { return pool_; }

 private:
  std::shared_ptr<FramePool> pool_;
};

}  // namespace

Napi::Object FramePoolStatsToJs(Napi::Env env, const FramePoolStats& s) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("capacity", s.capacity);
  o.Set("live", s.live);
  o.Set("free", s.free);
  o.Set("leaked", static_cast<double>(s.leaked));
  o.Set("acquiredTotal", static_cast<double>(s.acquired_total));
  return o;
}

// ---- FramePoolWrap -----------------------------------------------------------------------------------

void FramePoolWrap::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = FramePoolHandle::DefineClass(env, "NativeFramePool", {FramePoolHandle::InstanceMethod<&FramePoolHandle::Stats>("stats")});
  ConstructorRegistry<PoolTag>::Set(env, ctor);
  exports.Set("NativeFramePool", ctor);
}

Napi::Object FramePoolWrap::NewInstance(Napi::Env env, std::shared_ptr<FramePool> pool) {
  Napi::EscapableHandleScope scope(env);
  Napi::Object obj =
      ConstructorRegistry<PoolTag>::Get(env).New({Napi::External<std::shared_ptr<FramePool>>::New(env, &pool)});
  return scope.Escape(obj).As<Napi::Object>();
}

bool FramePoolWrap::IsHandle(Napi::Value value) {
  return value.IsObject() && value.As<Napi::Object>().InstanceOf(ConstructorRegistry<PoolTag>::Get(value.Env()));
}

std::shared_ptr<FramePool> FramePoolWrap::Unwrap(Napi::Value value) {
  if (!IsHandle(value)) ThrowTypeError(value.Env(), "expected a FramePool");
  return FramePoolHandle::Unwrap(value.As<Napi::Object>())->pool();
}

// new NativeFramePool(capacity) from JS, or NewInstance(env, pool) from C++.
FramePoolHandle::FramePoolHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<FramePoolHandle>(info) {
  if (info.Length() >= 1 && info[0].IsExternal()) {
    pool_ = *info[0].As<Napi::External<std::shared_ptr<FramePool>>>().Data();
    return;
  }
  if (info.Length() < 1 || !info[0].IsNumber()) ThrowTypeError(info.Env(), "FramePool(capacity) expects a number");
  const int capacity = info[0].As<Napi::Number>().Int32Value();
  if (capacity < 1 || capacity > 4096) ThrowTypeError(info.Env(), "FramePool capacity must be 1..4096");
  pool_ = FramePool::Create(capacity);
}

Napi::Value FramePoolHandle::Stats(const Napi::CallbackInfo& info) { return FramePoolStatsToJs(info.Env(), pool_->Stats()); }

}  // namespace trickle
