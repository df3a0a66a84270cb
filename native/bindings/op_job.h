// A one-shot native job that settles a Promise: `work` runs on a libuv worker thread (AsyncWorker)
// or, for small inputs, right away on the JS thread; `finish` builds the result on the JS thread.
// The job pins what it uses, so nothing JS can close is held as a bare pointer: the caller captures shared_ptrs to the native objects in
// `work` and passes the JS wrappers in `pins`, held by ObjectReferences until the job settles.
#pragma once

#include <napi.h>

#include <functional>
#include <string>
#include <vector>

#include "common/js_error.h"
#include "common/native_error.h"

namespace trickle {

class OpJob : public Napi::AsyncWorker {
 public:
  using Work = std::function<void()>;
  using Finish = std::function<Napi::Value(Napi::Env)>;

  // Returns the promise. `inline_run`: run now on the JS thread (small pictures, enqueue-only GPU work).
  static Napi::Promise Start(Napi::Env env, const char* name, bool inline_run, Work work, Finish finish,
                             const std::vector<Napi::Object>& pins) {
    if (inline_run) {
      Napi::Promise::Deferred d = Napi::Promise::Deferred::New(env);
      try {
        work();
      } catch (const NativeException& e) {
        d.Reject(ToJsError(env, e.error()).Value());
        return d.Promise();
      } catch (const std::exception& e) {
        d.Reject(ToJsError(env, NativeError{"ERR_NATIVE", e.what(), name, 0, false}).Value());
        return d.Promise();
      }
      d.Resolve(finish(env));
      return d.Promise();
    }
    auto* job = new OpJob(env, name, std::move(work), std::move(finish), pins);
    Napi::Promise p = job->deferred_.Promise();
    job->Queue();
    return p;
  }

 private:
  OpJob(Napi::Env env, const char* name, Work work, Finish finish, const std::vector<Napi::Object>& pins)
      : Napi::AsyncWorker(env, name),
        deferred_(Napi::Promise::Deferred::New(env)),
        work_(std::move(work)),
        finish_(std::move(finish)),
        name_(name) {
    for (const auto& o : pins) pins_.push_back(Napi::Persistent(o));
  }

  void Execute() override {
    try {
      work_();
    } catch (const NativeException& e) {
      error_ = e.error();
      failed_ = true;
    } catch (const std::exception& e) {
      error_ = NativeError{"ERR_NATIVE", e.what(), name_, 0, false};
      failed_ = true;
    }
  }
  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    if (failed_) {
      deferred_.Reject(ToJsError(env, error_).Value());
      return;
    }
    try {
      deferred_.Resolve(finish_(env));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    }
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

  Napi::Promise::Deferred deferred_;
  Work work_;
  Finish finish_;
  std::string name_;
  std::vector<Napi::ObjectReference> pins_;
  NativeError error_;
  bool failed_ = false;
};

// Pictures up to this many pixels (in + out) are converted on the JS thread: queueing a worker
// costs more than the work.
constexpr long kInlinePixels = 2 * 256 * 256;

}  // namespace trickle
