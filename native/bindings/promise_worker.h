// Base for one-shot AsyncWorkers that settle a Promise (libuv pool, short jobs). Run() executes on
// a worker thread and reports failure by throwing; Result() builds the value on the JS thread.
// A failure is stored as a NativeError on the worker thread and converted to a JS error only on the
// JS thread (no N-API call off it). Subclasses pin what Run() touches in their own members.
#pragma once

#include <napi.h>

#include <exception>
#include <new>
#include <utility>

#include "common/js_error.h"
#include "common/native_error.h"

namespace trickle {

class PromiseWorker : public Napi::AsyncWorker {
 public:
  PromiseWorker(Napi::Env env, const char* name) : Napi::AsyncWorker(env, name), deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise Promise() const { return deferred_.Promise(); }

  // Queues `worker` (it deletes itself once settled) and returns its promise.
  static Napi::Promise Launch(PromiseWorker* worker) {
    Napi::Promise p = worker->Promise();
    worker->Queue();
    return p;
  }

 protected:
  virtual void Run() = 0;
  virtual Napi::Value Result(Napi::Env env) = 0;

  void Execute() override {
    try {
      Run();
    } catch (const NativeException& e) {
      Fail(e.error());
    } catch (const std::bad_alloc&) {
      Fail(NativeError{"ERR_OUT_OF_MEMORY", "out of memory", "", 0, false});
    } catch (const std::exception& e) {
      Fail(NativeError{"ERR_NATIVE", e.what(), "", 0, false});
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
  void Fail(NativeError error) {
    error_ = std::move(error);
    failed_ = true;
  }

  Napi::Promise::Deferred deferred_;
  NativeError error_;
  bool failed_ = false;
};

}  // namespace trickle
