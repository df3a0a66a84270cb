// Per-env constructor storage for ObjectWrap classes. napi instance data is a single slot per addon
// and per env, shared by every binding file, so each class keeps its own small map keyed by env
// instead. Each entry is used on its env's JS thread only; the mutex guards the map itself because
// worker_threads have their own envs. Entries are removed by an env cleanup hook.
#pragma once

#include <napi.h>

#include <map>
#include <memory>
#include <mutex>

namespace trickle {

template <typename Tag>
class ConstructorRegistry {
 public:
  static void Set(Napi::Env env, Napi::Function ctor) {
    auto ref = std::make_unique<Napi::FunctionReference>(Napi::Persistent(ctor));
    {
      std::lock_guard<std::mutex> lock(mu());
      map()[env] = std::move(ref);
    }
    napi_add_env_cleanup_hook(env, &Remove, static_cast<napi_env>(env));
  }
  static Napi::Function Get(Napi::Env env) {
    std::lock_guard<std::mutex> lock(mu());
    auto it = map().find(env);
    if (it == map().end()) throw Napi::Error::New(env, "trickle-rt: class not initialised in this environment");
    return it->second->Value();
  }
  // True while the env is tearing down (its cleanup hook ran): finalizers use this to tell process
  // exit from a real leak.
  static bool ShuttingDown(Napi::Env env) {
    std::lock_guard<std::mutex> lock(mu());
    return map().find(env) == map().end();
  }

 private:
  static void Remove(void* arg) {
    std::unique_ptr<Napi::FunctionReference> ref;
    {
      std::lock_guard<std::mutex> lock(mu());
      auto it = map().find(static_cast<napi_env>(arg));
      if (it == map().end()) return;
      ref = std::move(it->second);
      map().erase(it);
    }
    // A FunctionReference must not be deleted after its env is gone: the hook runs while it is alive.
    ref.reset();
  }
  static std::mutex& mu() {
    static std::mutex m;
    return m;
  }
  static std::map<napi_env, std::unique_ptr<Napi::FunctionReference>>& map() {
    static auto* m = new std::map<napi_env, std::unique_ptr<Napi::FunctionReference>>();
    return *m;
  }
};

}  // namespace trickle
