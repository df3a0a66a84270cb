// One-shot native jobs that settle a Promise (libuv pool, short jobs). Two ways to write one:
//  - a subclass of PromiseWorker: Run() executes on a worker thread and reports failure by throwing;
//    Result() builds the value on the JS thread; subclasses pin what Run() touches in their members;
//  - PromiseWorker::Start(work, finish, pins): `work` runs on a worker thread or, for small inputs,
//    right away on the JS thread (`inline_run`); `finish` builds the value on the JS thread. The
//    caller captures shared_ptrs to the native objects in `work` and passes the JS wrappers in
//    `pins`, held by ObjectReferences until the job settles (a job pins what it uses).
// Either way a failure is caught in one place (CaptureFailure: NativeException as is, bad_alloc as
// ERR_OUT_OF_MEMORY, any other std::exception as ERR_NATIVE), stored as a NativeError and converted
// to a JS error on the JS thread.
#pragma once

#include <napi.h>

#include <exception>
#include <functional>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "common/js_error.h"
#include "common/native_error.h"

namespace trickle {

// Pictures up to this many pixels (in + out) are converted on the JS thread: queueing a worker
// costs more than the work.
constexpr long kInlinePixels = 2 * 256 * 256;

class PromiseWorker : public Napi::AsyncWorker {
 public:
  using Work = std::function<void()>;
  using Finish = std::function<Napi::Value(Napi::Env)>;

  PromiseWorker(Napi::Env env, const char* name)
      : Napi::AsyncWorker(env, name), deferred_(Napi::Promise::Deferred::New(env)), name_(name) {}
  Napi::Promise Promise() const { return deferred_.Promise(); }

  // Queues `worker` (it deletes itself once settled) and returns its promise.
  static Napi::Promise Launch(PromiseWorker* worker) {
    Napi::Promise p = worker->Promise();
    worker->Queue();
    return p;
  }

  // A job made of two functions (see the top of this file). Returns the promise.
  static Napi::Promise Start(Napi::Env env, const char* name, bool inline_run, Work work, Finish finish,
                             const std::vector<Napi::Object>& pins);

  // Runs `fn`; returns true when it threw, with the failure in `*error` (`op` names the job).
  static bool CaptureFailure(const std::string& op, const std::function<void()>& fn, NativeError* error) {
    try {
      fn();
      return false;
    } catch (const NativeException& e) {
      *error = e.error();
    } catch (const std::bad_alloc&) {
      *error = NativeError{"ERR_OUT_OF_MEMORY", "out of memory", op, 0, false};
    } catch (const std::exception& e) {
      *error = NativeError{"ERR_NATIVE", e.what(), op, 0, false};
    }
    return true;
  }

 protected:
  virtual void Run() = 0;
  virtual Napi::Value Result(Napi::Env env) = 0;

  void Execute() override { failed_ = CaptureFailure(name_, [this] { Run(); }, &error_); }
  void OnOK() override {
    Napi::HandleScope scope(Env());
    Settle(Env(), deferred_, failed_ ? &error_ : nullptr, [this](Napi::Env env) { return Result(env); });
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  class FunctionJob;

  // Rejects with `error` when there is one, else resolves with what `result` builds (or rejects
  // with what it throws). JS thread.
  static void Settle(Napi::Env env, Napi::Promise::Deferred& deferred, const NativeError* error,
                     const std::function<Napi::Value(Napi::Env)>& result) {
    if (error) {
      deferred.Reject(ToJsError(env, *error).Value());
      return;
    }
    try {
      deferred.Resolve(result(env));
    } catch (const Napi::Error& e) {
      deferred.Reject(e.Value());
    }
  }

  Napi::Promise::Deferred deferred_;
  std::string name_;
  NativeError error_;
  bool failed_ = false;
};

// The PromiseWorker behind Start(): runs `work`, pins the wrappers until it settles.
class PromiseWorker::FunctionJob final : public PromiseWorker {
 public:
  FunctionJob(Napi::Env env, const char* name, Work work, Finish finish, const std::vector<Napi::Object>& pins)
      : PromiseWorker(env, name), work_(std::move(work)), finish_(std::move(finish)) {
    for (const auto& o : pins) pins_.push_back(Napi::Persistent(o));
  }

 protected:
  void Run() override { work_(); }
  Napi::Value Result(Napi::Env env) override { return finish_(env); }

 private:
  Work work_;
  Finish finish_;
  std::vector<Napi::ObjectReference> pins_;
};

inline Napi::Promise PromiseWorker::Start(Napi::Env env, const char* name, bool inline_run, Work work, Finish finish,
                                          const std::vector<Napi::Object>& pins) {
  if (inline_run) {
    // Now, on the JS thread: the wrappers are alive for the whole call, nothing to pin.
    Napi::Promise::Deferred deferred = Napi::Promise::Deferred::New(env);
    NativeError error;
    const bool failed = CaptureFailure(name, work, &error);
    Settle(env, deferred, failed ? &error : nullptr, finish);
    return deferred.Promise();
  }
  return Launch(new FunctionJob(env, name, std::move(work), std::move(finish), pins));
}

}  // namespace trickle
