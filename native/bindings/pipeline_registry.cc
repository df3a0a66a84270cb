#include "bindings/pipeline_registry.h"

#include <map>
#include <set>
#include <vector>

namespace trickle {
namespace {

std::map<napi_env, std::set<StoppablePipeline*>>& Registry() {
  static auto* r = new std::map<napi_env, std::set<StoppablePipeline*>>();  // process lifetime
  return *r;
}

Napi::Value StopPipelinesJs(const Napi::CallbackInfo& info) {
  auto it = Registry().find(info.Env());
  if (it == Registry().end()) return Napi::Number::New(info.Env(), 0);
  // StopNow unregisters: iterate over a copy.
  const std::vector<StoppablePipeline*> running(it->second.begin(), it->second.end());
  for (StoppablePipeline* p : running) p->StopNow();
  return Napi::Number::New(info.Env(), static_cast<double>(running.size()));
}

Napi::Value PipelineCountJs(const Napi::CallbackInfo& info) {
  auto it = Registry().find(info.Env());
  return Napi::Number::New(info.Env(), it == Registry().end() ? 0 : static_cast<double>(it->second.size()));
}

}  // namespace

void RegisterPipeline(napi_env env, StoppablePipeline* pipeline) { Registry()[env].insert(pipeline); }

void UnregisterPipeline(napi_env env, StoppablePipeline* pipeline) {
  auto it = Registry().find(env);
  if (it == Registry().end()) return;
  it->second.erase(pipeline);
  if (it->second.empty()) Registry().erase(it);
}

void InitPipelineRegistry(Napi::Env env, Napi::Object exports) {
  exports.Set("stopPipelines", Napi::Function::New(env, StopPipelinesJs, "stopPipelines"));
  exports.Set("pipelineCount", Napi::Function::New(env, PipelineCountJs, "pipelineCount"));
}

}  // namespace trickle
