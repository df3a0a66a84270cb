// Base of the ObjectWraps over a pipeline thread (DecoderWrap, EncoderWrap): the ThreadSafeFunction
// with credit-gated delivery (media_delivery.h), and the lifecycle both share. JS thread only, except
// Send/SendWritable/SendEnd, which the pipeline thread calls from its sink methods.
//
// Lifetime: while the pipeline thread runs, the wrapper holds a reference to itself (so GC cannot
// collect it) and the TSFN keeps the event loop alive. The thread's last act is SendEnd: the 'end'
// event, then releasing the TSFN; the TSFN finalizer (JS thread) joins the thread and drops the self
// reference. An env cleanup hook cancels and joins a pipeline still running at process / worker exit.
//
// Derived (CRTP) is also the Core's sink. It provides
//   void Dispatch(Napi::Env, Napi::Function callback, Event& event)      (JS thread)
// and its destructor calls Stop(): the sink methods live in Derived, so the thread must be joined
// before Derived's part is destroyed. Core provides Start(), End(), Cancel() and Join(). Event has
// the kinds kWritable and kEnd and the members has_error and error.
#pragma once

#include <napi.h>

#include <memory>
#include <string>
#include <utility>

#include "bindings/media_delivery.h"
#include "bindings/media_handles.h"
#include "bindings/pipeline_registry.h"
#include "common/js_error.h"
#include "common/native_error.h"

namespace trickle {

template <typename Wrap, typename Event>
void DeliverPipelineEvent(Napi::Env env, Napi::Function callback, Wrap* wrap, Event* event) {
  if (!wrap) {
    delete event;
    return;
  }
  wrap->Deliver(env, callback, event);
}

template <typename Derived, typename Core, typename Event>
class PipelineWrap : public Napi::ObjectWrap<Derived>, public StoppablePipeline {
 public:
  // process.exit(): cancel and join now (pipeline_registry.h).
  void StopNow() override {
    Unregister();
    Stop();
  }

  using Tsfn = Napi::TypedThreadSafeFunction<Derived, Event, DeliverPipelineEvent<Derived, Event>>;

  // JS thread: the TSFN hands over one event.
  void Deliver(Napi::Env env, Napi::Function callback, Event* e) {
    std::unique_ptr<Event> event(e);
    if (!env || callback.IsEmpty()) return;
    Napi::HandleScope scope(env);
    try {
      static_cast<Derived*>(this)->Dispatch(env, callback, *event);
    } catch (const Napi::Error& err) {
      // The TypeScript handler threw: surface it as an uncaught exception, never swallow it.
      napi_fatal_exception(env, err.Value());
    }
  }

 protected:
  explicit PipelineWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Derived>(info) {}

  // Last step of Derived's constructor: `make_core()` builds the core with Derived as its sink
  // (a NativeException becomes a JS error); `info[1]` is the JS event callback.
  template <typename MakeCore>
  void StartPipeline(const Napi::CallbackInfo& info, const char* name, int max_queue, MakeCore make_core) {
    Napi::Env env = info.Env();
    gate_ = std::make_unique<CreditGate>(max_queue);
    try {
      core_ = make_core();
    } catch (const NativeException& e) {
      throw ToJsError(env, e.error());
    }
    tsfn_ = Tsfn::New(env, info[1].As<Napi::Function>(), name, 0, 1, static_cast<Derived*>(this),
                      [](Napi::Env, PipelineWrap* self, Derived*) { self->OnTsfnFinalize(); }, this);
    self_ref_ = Napi::Persistent(info.This().As<Napi::Object>());
    napi_add_env_cleanup_hook(env, &PipelineWrap::EnvCleanup, this);
    cleanup_hook_ = true;
    RegisterPipeline(env, this);
    registered_ = true;
    core_->Start();
  }

  // Cancels and joins the pipeline thread (idempotent; a no-op when the constructor failed).
  void Stop() {
    Unregister();
    if (!core_) return;
    core_->Cancel();
    gate_->Cancel();
    core_->Join();
  }

  Core& core() { return *core_; }
  int queued() const { return gate_->outstanding(); }

  // ---- pipeline thread ----
  // Counted events take a credit first (backpressure); control events do not.
  bool Send(Event* e, bool counted) {
    if (counted && !gate_->Acquire()) {
      delete e;
      return false;
    }
    if (tsfn_.NonBlockingCall(e) != napi_ok) {
      delete e;
      return false;
    }
    return true;
  }
  void SendWritable() { Send(new Event(Event::kWritable), false); }
  // The thread's last event; releases the TSFN.
  void SendEnd(const NativeError* error) {
    auto* e = new Event(Event::kEnd);
    if (error) {
      e->has_error = true;
      e->error = *error;
    }
    Send(e, false);
    tsfn_.Release();
  }

  // ---- JS methods shared by the pipelines ----
  Napi::Value End(const Napi::CallbackInfo& info) {
    core_->End();
    return info.Env().Undefined();
  }
  Napi::Value Cancel(const Napi::CallbackInfo& info) {
    core_->Cancel();
    gate_->Cancel();
    return info.Env().Undefined();
  }
  Napi::Value Ack(const Napi::CallbackInfo& info) {
    gate_->Release(info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : 1);
    return info.Env().Undefined();
  }

 private:
  void Unregister() {
    if (!registered_) return;
    registered_ = false;
    UnregisterPipeline(this->Env(), this);
  }

  void OnTsfnFinalize() {
    Unregister();
    core_->Join();
    if (cleanup_hook_) {
      napi_remove_env_cleanup_hook(this->Env(), &PipelineWrap::EnvCleanup, this);
      cleanup_hook_ = false;
    }
    self_ref_.Reset();
  }

  static void EnvCleanup(void* arg) {
    auto* self = static_cast<PipelineWrap*>(arg);
    self->cleanup_hook_ = false;
    self->Stop();
  }

  std::unique_ptr<CreditGate> gate_;
  std::unique_ptr<Core> core_;
  Tsfn tsfn_;
  Napi::ObjectReference self_ref_;
  bool cleanup_hook_ = false;
  bool registered_ = false;  // in the pipeline registry (between StartPipeline and the thread's end)
};

// Option readers for the pipeline constructors: a missing or mistyped key gives `fallback`.
inline std::string StringOption(Napi::Object o, const char* key, const std::string& fallback) {
  Napi::Value v = o.Get(key);
  return v.IsString() ? v.As<Napi::String>().Utf8Value() : fallback;
}
inline double NumberOption(Napi::Object o, const char* key, double fallback) {
  Napi::Value v = o.Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : fallback;
}
inline int IntOption(Napi::Object o, const char* key, int fallback) {
  Napi::Value v = o.Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().Int32Value() : fallback;
}
inline bool BoolOption(Napi::Object o, const char* key, bool fallback) {
  Napi::Value v = o.Get(key);
  return v.IsBoolean() ? v.As<Napi::Boolean>().Value() : fallback;
}

}  // namespace trickle
