// Every running pipeline (decoder, encoder) and engine run in flight (bindings/engine_wrap.cc) of
// each N-API env, so that process.exit() can stop or drain them before the process tears down.
// `process.exit()` does not run env cleanup hooks on the main thread: it goes straight to exit(),
// whose static destructors and atexit handlers unload the CUDA runtime while a decode or encode
// thread may still be inside NVDEC/NVENC, or a stream callback may still be due. The TypeScript
// loader calls stopPipelines() from process.on('exit'), which runs first, synchronously.
// Threading: JS thread only (register, unregister and stop happen there).
#pragma once

#include <napi.h>

namespace trickle {

class StoppablePipeline {
 public:
  virtual ~StoppablePipeline() = default;
  // Cancels the pipeline and joins its thread (idempotent).
  virtual void StopNow() = 0;
};

void RegisterPipeline(napi_env env, StoppablePipeline* pipeline);
void UnregisterPipeline(napi_env env, StoppablePipeline* pipeline);

// stopPipelines() -> number of pipelines stopped; pipelineCount() -> running pipelines of this env.
void InitPipelineRegistry(Napi::Env env, Napi::Object exports);

}  // namespace trickle
