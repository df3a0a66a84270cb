// A TensorRT engine and its execution contexts. No N-API, and no TensorRT or CUDA types in this
// header: the implementation (inference_engine.cc) is compiled against the TensorRT headers only
// when TRICKLE_HAVE_TENSORRT is defined; otherwise Load() throws ERR_TENSORRT_UNAVAILABLE.
//
// Threading: Load() blocks (deserialize/build) and Enqueue() blocks for the enqueue only (input
// checks, first-use context creation, enqueueV3), never for the GPU; both run on worker threads
// (AsyncWorker). An InferenceEngine is immutable after Load() except for its context table and
// pools, which are guarded by mutexes, so Enqueue() may be called from several threads at once.
// Runs on the same CUDA stream share one IExecutionContext and are enqueued one at a time (and
// stream-ordered on the GPU); runs on different streams use different contexts and may overlap.
//
// Ownership: always held through std::shared_ptr. A job pins the engine (shared_ptr) for its whole
// duration, so JS close() never frees an engine under a running job.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "frame/tensor.h"

namespace trickle {

struct EngineLoadOptions {
  std::string path;            // .engine/.plan (serialized engine) or .onnx (built here)
  bool onnx = false;           // build from ONNX instead of deserializing
  int device = 0;              // CUDA device ordinal
  std::string cache_path;      // ONNX only: where the built engine is cached ("" = no cache)
  // ONNX only: folder of TensorRT timing caches ("" = none). The cache of this GPU model, compute
  // capability and TensorRT version is read before a build and written back after it, so a second
  // build of any model reuses the layer timings of the first.
  std::string timing_cache_dir;
  bool fp16 = true;            // ONNX only: allow fp16 kernels where the GPU has fast fp16 (TRT 10)
  size_t workspace_bytes = 0;  // ONNX only: workspace memory pool limit (0 = TensorRT default)
  // ONNX only: shapes for inputs with dynamic dimensions (optimization profile min = opt = max).
  std::map<std::string, std::vector<int64_t>> input_shapes;
};

struct EngineIoDesc {
  std::string name;
  bool is_input = false;
  std::string dtype;            // "float32" | "float16" | "uint8" (other TensorRT types are rejected at load)
  std::vector<int64_t> shape;   // -1 for a dynamic dimension
};

struct EngineLoadReport {
  std::string source;           // "engine" (deserialized file) | "onnx" (built) | "cache" (cached build)
  std::string cache_path;       // where the build was cached, if it was
  std::string cache_error;      // why writing the cache failed (the engine is still usable)
  std::string timing_cache_path;   // the timing cache used by an ONNX build ("" = none)
  std::string timing_cache_error;  // why it could not be read or written (the build still works)
  int max_contexts = 0;            // execution contexts the engine keeps at most (memory-bound)
  std::string precision;        // "fp16" | "fp32" | "strongly-typed" (TensorRT 11: from the model)
  std::string tensorrt_version; // runtime version "10.16.0"
  std::string gpu_name;
  std::string compute_capability;  // "8.9"
  double build_ms = 0;
};

struct EngineStats {
  int64_t runs = 0;
  int64_t contexts = 0;          // execution contexts alive (one per CUDA stream used)
  int64_t host_uploads = 0;      // host tensors copied to the device by Enqueue()
  int64_t host_upload_bytes = 0;
  int64_t outputs_allocated = 0; // output buffers allocated
  int64_t outputs_reused = 0;    // output buffers reused from the pool
};

// One input of a run: the caller keeps the TensorPtr until the run has completed on the GPU.
struct EngineFeed {
  std::string name;
  TensorPtr tensor;
};

struct EngineOutput {
  std::string name;
  std::shared_ptr<Tensor> tensor;
};

// A run enqueued by InferenceEngine::Enqueue: its outputs, the stream it runs on, and what must
// stay alive until the GPU has passed it (the execution context's slot, host-feed upload buffers).
struct EngineRun {
  std::vector<EngineOutput> outputs;
  void* stream = nullptr;  // cudaStream_t
  std::shared_ptr<void> in_flight;
};

// Where a run is enqueued: a caller's cudaStream_t (`handle` non-zero, e.g. a frame's ops stream),
// or a CUDA stream the engine creates and owns, named `name` ("" = the engine's default stream).
// Each distinct stream gets its own execution context.
struct EngineStream {
  uintptr_t handle = 0;
  std::string name;
};

class InferenceEngine {
 public:
  // Deserializes or builds (blocking: seconds to minutes for a build). Throws NativeException:
  // ERR_TENSORRT_UNAVAILABLE (no runtime / parser), ERR_INVALID_ARG (file unreadable, missing
  // input shape), ERR_TENSORRT (parse, build or deserialize failed; message carries TensorRT's log),
  // ERR_CUDA (device).
  static std::shared_ptr<InferenceEngine> Load(const EngineLoadOptions& options, EngineLoadReport* report);

  virtual ~InferenceEngine() = default;
  virtual const std::vector<EngineIoDesc>& io() const = 0;
  virtual int device() const = 0;

  // Enqueues one run on `stream` and returns without waiting for the GPU. Feeds must name every
  // input exactly once; host tensors are uploaded (counted in stats and in the process copy
  // counters). The stream waits on each device input's `ready_event` (frame/tensor.h) when it has
  // one; inputs without one must be complete or produced on `stream`. The outputs are CUDA tensors
  // from the stream's pool (no ready_event) that are complete once the GPU has passed the run
  // (EngineRun::stream; cuda::OnStreamDone tells when): a buffer is rewritten by a later run only
  // after every Tensor referencing it has been dropped. Until the run completes, the caller keeps
  // the feeds, the outputs and EngineRun::in_flight alive, and drops them on a thread that may
  // call CUDA (never inside a stream callback). On a throw nothing of the run is left in flight.
  virtual EngineRun Enqueue(const std::vector<EngineFeed>& feeds, const EngineStream& stream) = 0;

  virtual EngineStats Stats() const = 0;
};

}  // namespace trickle
