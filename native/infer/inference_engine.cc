#include "infer/inference_engine.h"

#include "common/native_error.h"
#include "infer/tensorrt_library.h"

#ifdef TRICKLE_HAVE_TENSORRT
#include "cuda/cuda_ops.h"
#include "common/gpu_policy.h"
#include "frame/copy_counters.h"
#endif

#ifdef TRICKLE_HAVE_TENSORRT
#include <NvInfer.h>
#include <NvInferVersion.h>
#include <NvOnnxParser.h>
#include <cuda_runtime_api.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <iterator>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>
#endif

namespace trickle {

#ifndef TRICKLE_HAVE_TENSORRT

std::shared_ptr<InferenceEngine> InferenceEngine::Load(const EngineLoadOptions&, EngineLoadReport*) {
  std::string reason;
  LoadTensorRt(&reason);
  throw NativeException("ERR_TENSORRT_UNAVAILABLE", "TensorRT is not available: " + reason, "Engine.load");
}

#else  // TRICKLE_HAVE_TENSORRT

namespace {

namespace nv = nvinfer1;

// Execution contexts per engine (one per CUDA stream), LRU beyond: MaxExecutionContexts
// (common/gpu_policy.h) bounds them by the device memory free at load, at most 8.
constexpr size_t kOutputPoolDepth = 4; // pooled buffers per output and context

// ---- errors ---------------------------------------------------------------------------------------

[[noreturn]] void ThrowCuda(cudaError_t err, const char* op) {
  throw NativeException("ERR_CUDA", std::string(op) + " failed: " + cudaGetErrorName(err) + " (" +
                                        cudaGetErrorString(err) + ")",
                        op, static_cast<int64_t>(err));
}

void CudaCheck(cudaError_t err, const char* op) {
  if (err != cudaSuccess) ThrowCuda(err, op);
}

[[noreturn]] void ThrowInvalid(const std::string& message, const char* op) {
  throw NativeException("ERR_INVALID_ARG", message, op);
}

// ---- logging --------------------------------------------------------------------------------------

// TensorRT's ILogger. One per engine (the IRuntime keeps a pointer to it, so it is destroyed after
// the runtime) and one per build. Keeps the last errors and warnings so that a failure can say why;
// prints nothing unless TRICKLE_TENSORRT_LOG=error|warning|info|verbose. Called from any thread
// TensorRT uses, hence the mutex.
class TrtLogger final : public nv::ILogger {
 public:
  TrtLogger() : print_level_(PrintLevelFromEnv()) {}

  void log(Severity severity, nv::AsciiChar const* msg) noexcept override {
    if (static_cast<int>(severity) <= print_level_) std::fprintf(stderr, "[tensorrt] %s\n", msg);
    if (severity > Severity::kWARNING) return;
    std::lock_guard<std::mutex> lock(mu_);
    recent_.emplace_back(msg);
    if (recent_.size() > 8) recent_.pop_front();
  }

  // The recent errors/warnings joined for an error message ("" when none).
  std::string Recent() {
    std::lock_guard<std::mutex> lock(mu_);
    std::string out;
    for (const auto& m : recent_) out += (out.empty() ? "" : "; ") + m;
    return out;
  }

 private:
  static int PrintLevelFromEnv() {
    const char* env = std::getenv("TRICKLE_TENSORRT_LOG");
    if (!env) return -1;
    static const struct { const char* name; Severity level; } kLevels[] = {
        {"error", Severity::kERROR}, {"warning", Severity::kWARNING}, {"info", Severity::kINFO},
        {"verbose", Severity::kVERBOSE}};
    for (const auto& l : kLevels) {
      if (std::strcmp(env, l.name) == 0) return static_cast<int>(l.level);
    }
    return -1;
  }

  const int print_level_;
  std::mutex mu_;
  std::deque<std::string> recent_;
};

[[noreturn]] void ThrowTrt(const std::string& what, TrtLogger& logger, const char* op) {
  const std::string log = logger.Recent();
  throw NativeException("ERR_TENSORRT", what + (log.empty() ? "" : ": " + log), op);
}

// ---- small helpers --------------------------------------------------------------------------------

bool MapDType(nv::DataType t, DType* out) {
  switch (t) {
    case nv::DataType::kFLOAT: *out = DType::kFloat32; return true;
    case nv::DataType::kHALF: *out = DType::kFloat16; return true;
    case nv::DataType::kUINT8: *out = DType::kUint8; return true;
    default: return false;
  }
}

const char* TrtDTypeName(nv::DataType t) {
  switch (t) {
    case nv::DataType::kFLOAT: return "float32";
    case nv::DataType::kHALF: return "float16";
    case nv::DataType::kINT8: return "int8";
    case nv::DataType::kINT32: return "int32";
    case nv::DataType::kBOOL: return "bool";
    case nv::DataType::kUINT8: return "uint8";
    case nv::DataType::kFP8: return "fp8";
    case nv::DataType::kBF16: return "bfloat16";
    case nv::DataType::kINT64: return "int64";
    case nv::DataType::kINT4: return "int4";
    default: return "unknown";
  }
}

std::vector<int64_t> ToVector(const nv::Dims& d) {
  if (d.nbDims < 0) return {};
  return std::vector<int64_t>(d.d, d.d + d.nbDims);
}

nv::Dims ToDims(const std::vector<int64_t>& v) {
  nv::Dims d{};
  d.nbDims = static_cast<int32_t>(v.size());
  for (size_t i = 0; i < v.size(); ++i) d.d[i] = v[i];
  return d;
}

std::string ShapeString(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s + "]";
}

std::vector<char> ReadFile(const std::string& path, const char* op) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) ThrowInvalid("cannot open " + path, op);
  const std::streamsize size = in.tellg();
  if (size <= 0) ThrowInvalid(path + " is empty", op);
  std::vector<char> data(static_cast<size_t>(size));
  in.seekg(0);
  if (!in.read(data.data(), size)) ThrowInvalid("cannot read " + path, op);
  return data;
}

// Writes to a temporary name and renames, so that a concurrent load never sees half an engine.
// Returns "" on success, else why not (a cache write failure does not fail the load).
std::string WriteFileAtomically(const std::string& path, const void* data, size_t size) {
  std::random_device rd;
  const std::string tmp = path + ".tmp-" + std::to_string(getpid()) + "-" + std::to_string(rd());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return "cannot create " + tmp;
    out.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
    if (!out) {
      std::remove(tmp.c_str());
      return "cannot write " + tmp;
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return "cannot rename " + tmp + " to " + path + ": " + std::strerror(errno);
  }
  return "";
}

struct CudaEventDeleter {
  void operator()(cudaEvent_t e) const { cudaEventDestroy(e); }
};
using UniqueCudaEvent = std::unique_ptr<std::remove_pointer_t<cudaEvent_t>, CudaEventDeleter>;
struct CudaStreamDeleter {
  void operator()(cudaStream_t s) const { cudaStreamDestroy(s); }
};
using UniqueCudaStream = std::unique_ptr<std::remove_pointer_t<cudaStream_t>, CudaStreamDeleter>;

// ---- engine ---------------------------------------------------------------------------------------

struct IoBinding {
  EngineIoDesc desc;
  DType dtype = DType::kFloat32;
};

// The per-stream state: an execution context (TensorRT requires one per concurrently used
// stream) and its buffer pools. `mu` serializes the enqueues on the same stream (the GPU runs them
// in stream order anyway; the context's shapes and addresses are per-enqueue state).
struct ContextSlot {
  std::mutex mu;
  UniqueCudaStream owned_stream;  // for engine-owned (named) streams; null for a caller's stream
  cudaStream_t stream = nullptr;
  std::unique_ptr<nv::IExecutionContext> context;
  std::map<std::string, std::vector<std::shared_ptr<TensorStorage>>> outputs;  // pooled output buffers
  std::map<std::string, std::shared_ptr<TensorStorage>> staging;                // host-feed uploads
  uint64_t last_use = 0;
};

class TrtEngine final : public InferenceEngine {
 public:
  TrtEngine(int device, std::unique_ptr<TrtLogger> logger, std::unique_ptr<nv::IRuntime> runtime,
            std::unique_ptr<nv::ICudaEngine> engine, std::vector<IoBinding> io, int max_contexts)
      : device_(device),
        max_contexts_(max_contexts),
        logger_(std::move(logger)),
        runtime_(std::move(runtime)),
        engine_(std::move(engine)),
        bindings_(std::move(io)) {
    for (const auto& b : bindings_) io_.push_back(b.desc);
  }

  ~TrtEngine() override {
    // Contexts must go before the engine, the engine before the runtime, the runtime before the
    // logger: member order does that (slots_ is declared last). A job that still held an evicted
    // slot also held this engine, so no slot outlives it.
    cudaSetDevice(device_);
    slots_.clear();
  }

  const std::vector<EngineIoDesc>& io() const override { return io_; }
  int device() const override { return device_; }

  EngineStats Stats() const override {
    EngineStats s;
    s.runs = runs_.load();
    s.host_uploads = host_uploads_.load();
    s.host_upload_bytes = host_upload_bytes_.load();
    s.outputs_allocated = outputs_allocated_.load();
    s.outputs_reused = outputs_reused_.load();
    std::lock_guard<std::mutex> lock(slots_mu_);
    s.contexts = static_cast<int64_t>(slots_.size());
    return s;
  }

  EngineRun Enqueue(const std::vector<EngineFeed>& feeds, const EngineStream& where) override {
    CudaCheck(cudaSetDevice(device_), "cudaSetDevice");
    auto in_flight = std::make_shared<RunInFlight>();
    in_flight->slot = AcquireSlot(where);
    ContextSlot& slot = *in_flight->slot;
    std::lock_guard<std::mutex> run_lock(slot.mu);
    EngineRun run;
    try {
      run.outputs = EnqueueLocked(feeds, slot, *in_flight);
    } catch (...) {
      // Part of the run (waits, uploads, the enqueue itself) may be queued already: let it drain
      // before the caller releases the feeds and buffers it reads. Error path only.
      cudaStreamSynchronize(slot.stream);
      cudaGetLastError();
      throw;
    }
    run.stream = slot.stream;
    run.in_flight = std::move(in_flight);
    runs_.fetch_add(1);
    return run;
  }

 private:
  // What one enqueued run holds until the GPU has passed it: its context slot (an evicted slot's
  // stream and context live on until then) and the host-feed upload buffers it reads (a later run
  // may replace a slot's staging buffer by a bigger one while this run still reads the old one).
  struct RunInFlight {
    std::shared_ptr<ContextSlot> slot;
    std::vector<std::shared_ptr<TensorStorage>> staging;
  };

  std::vector<EngineOutput> EnqueueLocked(const std::vector<EngineFeed>& feeds, ContextSlot& slot_ref, RunInFlight& in_flight) {
    static constexpr const char* kOp = "Engine.run";
    ContextSlot* slot = &slot_ref;
    nv::IExecutionContext* ctx = slot->context.get();
    cudaStream_t stream = slot->stream;

    // Every run is ordered after the device's ops stream (cuda/cuda_ops.h) up to now: buffers
    // allocated from its stream-ordered pool are ready, and a kernel queued there that still reads
    // one of this engine's pooled outputs (fromTensor of the previous result, whose tensor JS may
    // already have closed) finishes before this run overwrites it. One event per run.
    {
      std::shared_ptr<void> ops_done = cuda::RecordEvent(device_, cuda::OpsStream(device_));
      CudaCheck(cudaStreamWaitEvent(stream, static_cast<cudaEvent_t>(ops_done.get()), 0), "cudaStreamWaitEvent");
    }
    // Allocations made below are enqueued on the ops stream after that event: this stream waits
    // for the ops stream once more before using the first of them.
    bool ordered_after_allocations = false;
    auto allocate = [&](size_t bytes) {
      auto storage = TensorStorage::AllocateCuda(std::max<size_t>(bytes, 1), device_);
      if (!ordered_after_allocations) {
        std::shared_ptr<void> allocated = cuda::RecordEvent(device_, cuda::OpsStream(device_));
        CudaCheck(cudaStreamWaitEvent(stream, static_cast<cudaEvent_t>(allocated.get()), 0), "cudaStreamWaitEvent");
        ordered_after_allocations = true;
      }
      return storage;
    };

    // Inputs: re-check what memory safety needs (TypeScript validated names, dtypes and ranks).
    size_t n_inputs = 0;
    for (const auto& b : bindings_) {
      if (!b.desc.is_input) continue;
      ++n_inputs;
      const EngineFeed* feed = nullptr;
      for (const auto& f : feeds) {
        if (f.name == b.desc.name) feed = &f;
      }
      if (!feed || !feed->tensor) ThrowInvalid("missing feed for input '" + b.desc.name + "'", kOp);
      const Tensor& t = *feed->tensor;
      if (t.dtype != b.dtype) {
        ThrowInvalid("input '" + b.desc.name + "' expects " + b.desc.dtype + " but received " + DTypeName(t.dtype), kOp);
      }
      if (t.shape.size() != b.desc.shape.size()) {
        ThrowInvalid("input '" + b.desc.name + "' expects rank " + std::to_string(b.desc.shape.size()) +
                         " but received shape " + ShapeString(t.shape), kOp);
      }
      for (size_t i = 0; i < t.shape.size(); ++i) {
        if (t.shape[i] < 0 || (b.desc.shape[i] >= 0 && b.desc.shape[i] != t.shape[i])) {
          ThrowInvalid("input '" + b.desc.name + "' expects shape " + ShapeString(b.desc.shape) + " but received " +
                           ShapeString(t.shape), kOp);
        }
      }
      if (!t.storage || t.byte_offset + t.bytes() > t.storage->bytes()) {
        ThrowInvalid("input '" + b.desc.name + "' has less storage than its shape needs", kOp);
      }
      if (!ctx->setInputShape(b.desc.name.c_str(), ToDims(t.shape))) {
        const auto min = ToVector(engine_->getProfileShape(b.desc.name.c_str(), 0, nv::OptProfileSelector::kMIN));
        const auto max = ToVector(engine_->getProfileShape(b.desc.name.c_str(), 0, nv::OptProfileSelector::kMAX));
        ThrowInvalid("input '" + b.desc.name + "' shape " + ShapeString(t.shape) +
                         " is outside the engine's optimization profile (min " + ShapeString(min) + ", max " +
                         ShapeString(max) + ")", kOp);
      }
      void* address = t.data();
      if (t.location() == TensorLocation::kHost) {
        // Host feeds are uploaded on the run's stream into a per-context staging buffer (counted:
        // a zero-copy pipeline should see host_uploads stay at 0). The staging buffer is reused
        // by the next run on this stream, which is ordered after this one on the GPU; this run
        // pins the buffer it reads in case a later, bigger feed replaces it meanwhile.
        auto& staging = slot->staging[b.desc.name];
        if (!staging || staging->bytes() < t.bytes()) staging = allocate(t.bytes());
        in_flight.staging.push_back(staging);
        CudaCheck(cudaMemcpyAsync(staging->data(), address, t.bytes(), cudaMemcpyHostToDevice, stream), "cudaMemcpyAsync");
        address = staging->data();
        host_uploads_.fetch_add(1);
        host_upload_bytes_.fetch_add(static_cast<int64_t>(t.bytes()));
        CountCopy(CopyKind::kHostToDevice, t.bytes());
      } else if (t.device() != device_) {
        ThrowInvalid("input '" + b.desc.name + "' is on cuda:" + std::to_string(t.device()) + " but the engine runs on cuda:" +
                         std::to_string(device_), kOp);
      } else if (t.ready_event) {
        // The producer (toTensor on the ops stream, another engine, an upload) recorded this event
        // after writing the tensor: the engine's stream waits for it on the GPU, the host does not.
        CudaCheck(cudaStreamWaitEvent(stream, static_cast<cudaEvent_t>(t.ready_event.get()), 0), "cudaStreamWaitEvent");
      }
      if (!ctx->setTensorAddress(b.desc.name.c_str(), address)) ThrowTrt("setTensorAddress('" + b.desc.name + "') failed", *logger_, kOp);
    }
    if (feeds.size() != n_inputs) ThrowInvalid("feeds name " + std::to_string(feeds.size()) + " tensors but the engine has " +
                                                   std::to_string(n_inputs) + " inputs", kOp);
    if (!ctx->allInputDimensionsSpecified()) ThrowInvalid("not every input shape is specified", kOp);

    // Outputs: shapes follow from the input shapes; buffers come from this stream's pool.
    std::vector<EngineOutput> outputs;
    for (const auto& b : bindings_) {
      if (b.desc.is_input) continue;
      const std::vector<int64_t> shape = ToVector(ctx->getTensorShape(b.desc.name.c_str()));
      for (int64_t d : shape) {
        if (d < 0) {
          throw NativeException("ERR_TENSORRT", "output '" + b.desc.name + "' has a data-dependent shape " + ShapeString(shape) +
                                                    ", which trickle-rt engines do not support", kOp);
        }
      }
      auto tensor = std::make_shared<Tensor>();
      tensor->shape = shape;
      tensor->dtype = b.dtype;
      tensor->storage = PooledOutput(*slot, b.desc.name, static_cast<size_t>(tensor->elements()) * DTypeSize(b.dtype), allocate);
      if (!ctx->setTensorAddress(b.desc.name.c_str(), tensor->data())) ThrowTrt("setTensorAddress('" + b.desc.name + "') failed", *logger_, kOp);
      outputs.push_back({b.desc.name, std::move(tensor)});
    }

    if (!ctx->enqueueV3(stream)) ThrowTrt("enqueueV3 failed", *logger_, kOp);
    // No wait here: the caller learns of completion from the stream (cuda::OnStreamDone) and hands
    // the outputs on only then, so any consumer on any stream may read them at once.
    return outputs;
  }

  std::shared_ptr<ContextSlot> AcquireSlot(const EngineStream& where) {
    const std::string key = where.handle ? "handle:" + std::to_string(where.handle) : "name:" + where.name;
    std::lock_guard<std::mutex> lock(slots_mu_);
    auto it = slots_.find(key);
    if (it != slots_.end()) {
      it->second->last_use = ++use_clock_;
      return it->second;
    }
    if (slots_.size() >= static_cast<size_t>(max_contexts_)) {
      // Evict the least recently used stream's context. A run still using it keeps it alive
      // through its own shared_ptr until it finishes.
      auto lru = std::min_element(slots_.begin(), slots_.end(),
                                  [](const auto& a, const auto& b) { return a.second->last_use < b.second->last_use; });
      slots_.erase(lru);
    }
    auto slot = std::make_shared<ContextSlot>();
    if (where.handle) {
      slot->stream = reinterpret_cast<cudaStream_t>(where.handle);
    } else {
      // Non-blocking: independent of the legacy default stream (and so of FFmpeg's copies); inputs
      // are ordered through their ready events instead.
      cudaStream_t s = nullptr;
      CudaCheck(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), "cudaStreamCreateWithFlags");
      slot->owned_stream.reset(s);
      slot->stream = s;
    }
    slot->context.reset(engine_->createExecutionContext());
    if (!slot->context) ThrowTrt("createExecutionContext failed", *logger_, "Engine.run");
    slot->last_use = ++use_clock_;
    slots_.emplace(key, slot);
    return slot;
  }

  // A buffer of at least `bytes` that no Tensor references any more (use_count 1: only the pool),
  // else a new one; at most kOutputPoolDepth buffers per output are kept. Reuse is safe at once:
  // a run still in flight is referenced by its caller's outputs until it completed (use_count > 1),
  // and a consumer's kernel queued on the ops stream before the tensor was dropped is waited for by
  // every run (the ops-stream event at the top of EnqueueLocked).
  template <typename Allocate>
  std::shared_ptr<TensorStorage> PooledOutput(ContextSlot& slot, const std::string& name, size_t bytes, Allocate& allocate) {
    auto& pool = slot.outputs[name];
    for (auto& s : pool) {
      if (s.use_count() == 1 && s->bytes() >= bytes) {
        outputs_reused_.fetch_add(1);
        return s;
      }
    }
    std::shared_ptr<TensorStorage> fresh = allocate(bytes);
    outputs_allocated_.fetch_add(1);
    if (pool.size() < kOutputPoolDepth) {
      pool.push_back(fresh);
    } else {
      // Replace a free buffer that is too small for this (dynamic) shape, if there is one.
      for (auto& s : pool) {
        if (s.use_count() == 1) {
          s = fresh;
          break;
        }
      }
    }
    return fresh;
  }

  const int device_;
  const int max_contexts_;
  std::unique_ptr<TrtLogger> logger_;
  std::unique_ptr<nv::IRuntime> runtime_;
  std::unique_ptr<nv::ICudaEngine> engine_;
  std::vector<IoBinding> bindings_;
  std::vector<EngineIoDesc> io_;
  std::atomic<int64_t> runs_{0}, host_uploads_{0}, host_upload_bytes_{0}, outputs_allocated_{0}, outputs_reused_{0};
  mutable std::mutex slots_mu_;
  uint64_t use_clock_ = 0;
  std::map<std::string, std::shared_ptr<ContextSlot>> slots_;  // last: destroyed first
};

// ---- build from ONNX ------------------------------------------------------------------------------

// The precision an ONNX build uses (also reported for a cached build, which was made the same way).
std::string OnnxBuildPrecision(const EngineLoadOptions& o, const cudaDeviceProp& prop) {
#if NV_TENSORRT_MAJOR >= 11
  // Strongly typed: each layer runs in the precision the model declares (export the model in fp16
  // to get fp16); there is no builder flag to lower precision.
  (void)o;
  (void)prop;
  return "strongly-typed";
#else
  const bool fast_fp16 = prop.major > 5 || (prop.major == 5 && prop.minor >= 3);
  return o.fp16 && fast_fp16 ? "fp16" : "fp32";
#endif
}

std::vector<char> BuildFromOnnx(const EngineLoadOptions& o, const cudaDeviceProp& prop, EngineLoadReport* report) {
  static constexpr const char* kOp = "Engine.load(onnx)";
  std::string reason;
  const TensorRtLibrary* trt = LoadTensorRt(&reason);
  const OnnxParserLibrary* onnx = trt ? LoadOnnxParser(&reason) : nullptr;
  if (!trt || !onnx) throw NativeException("ERR_TENSORRT_UNAVAILABLE", "TensorRT ONNX parser is not available: " + reason, kOp);

  const std::vector<char> model = ReadFile(o.path, kOp);
  TrtLogger logger;  // outlives builder, network and parser (declared first)
  std::unique_ptr<nv::IBuilder> builder(static_cast<nv::IBuilder*>(trt->create_builder(&logger, NV_TENSORRT_VERSION)));
  if (!builder) ThrowTrt("createInferBuilder failed", logger, kOp);
  // Flags 0: explicit batch is implied since TensorRT 10; TensorRT 11 networks are always strongly
  // typed (kSTRONGLY_TYPED is deprecated there), TensorRT 10 ones are weakly typed so kFP16 applies.
  std::unique_ptr<nv::INetworkDefinition> network(builder->createNetworkV2(0));
  if (!network) ThrowTrt("createNetworkV2 failed", logger, kOp);
  std::unique_ptr<nvonnxparser::IParser> parser(
      static_cast<nvonnxparser::IParser*>(onnx->create_parser(network.get(), &logger, NV_ONNX_PARSER_VERSION)));
  if (!parser) ThrowTrt("createNvOnnxParser failed", logger, kOp);
  // The path lets the parser resolve external weight files next to the model.
  if (!parser->parse(model.data(), model.size(), o.path.c_str())) {
    std::string errors;
    for (int i = 0; i < parser->getNbErrors(); ++i) errors += (i ? "; " : "") + std::string(parser->getError(i)->desc());
    throw NativeException("ERR_TENSORRT", "cannot parse ONNX model " + o.path + ": " + errors, "IParser::parse");
  }

  std::unique_ptr<nv::IBuilderConfig> config(builder->createBuilderConfig());
  if (!config) ThrowTrt("createBuilderConfig failed", logger, kOp);
  if (o.workspace_bytes > 0) config->setMemoryPoolLimit(nv::MemoryPoolType::kWORKSPACE, o.workspace_bytes);

  // Dynamic inputs need an optimization profile; trickle-rt uses one profile with min = opt = max
  // (a video stream has a fixed resolution), from `input_shapes`.
  nv::IOptimizationProfile* profile = nullptr;  // owned by the builder
  std::map<std::string, std::vector<int64_t>> unused = o.input_shapes;
  for (int32_t i = 0; i < network->getNbInputs(); ++i) {
    nv::ITensor* input = network->getInput(i);
    const std::string name = input->getName();
    const std::vector<int64_t> dims = ToVector(input->getDimensions());
    const bool dynamic = std::any_of(dims.begin(), dims.end(), [](int64_t d) { return d < 0; });
    auto given = o.input_shapes.find(name);
    unused.erase(name);
    if (given == o.input_shapes.end()) {
      if (dynamic) ThrowInvalid("input '" + name + "' has dynamic shape " + ShapeString(dims) + "; pass inputShapes: { '" + name + "': [...] }", kOp);
      continue;
    }
    const std::vector<int64_t>& shape = given->second;
    bool compatible = shape.size() == dims.size();
    for (size_t k = 0; compatible && k < dims.size(); ++k) compatible = shape[k] > 0 && (dims[k] < 0 || dims[k] == shape[k]);
    if (!compatible) ThrowInvalid("inputShapes['" + name + "'] " + ShapeString(shape) + " does not fit the model's shape " + ShapeString(dims), kOp);
    if (!dynamic) continue;
    if (!profile) profile = builder->createOptimizationProfile();
    const nv::Dims d = ToDims(shape);
    if (!profile->setDimensions(name.c_str(), nv::OptProfileSelector::kMIN, d) ||
        !profile->setDimensions(name.c_str(), nv::OptProfileSelector::kOPT, d) ||
        !profile->setDimensions(name.c_str(), nv::OptProfileSelector::kMAX, d)) {
      ThrowTrt("IOptimizationProfile::setDimensions('" + name + "') failed", logger, kOp);
    }
  }
  if (!unused.empty()) ThrowInvalid("inputShapes names '" + unused.begin()->first + "', which is not an input of the model", kOp);
  if (profile && config->addOptimizationProfile(profile) < 0) ThrowTrt("addOptimizationProfile failed", logger, kOp);

  report->precision = OnnxBuildPrecision(o, prop);
#if NV_TENSORRT_MAJOR < 11
  if (report->precision == "fp16") {
    // kFP16 is deprecated in TensorRT 10 (strong typing is the future) but is the only way to let a
    // weakly typed fp32 ONNX model use fp16 kernels, which is what `fp16: true` asks for.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    config->setFlag(nv::BuilderFlag::kFP16);
#pragma GCC diagnostic pop
  }
#endif

  // Timing cache beside the engine cache: tactic timings are specific to the GPU model, CUDA and
  // TensorRT versions and the builder flags, so the file name carries the first three and a
  // mismatching file is ignored (setTimingCache with ignoreMismatch = false).
  std::unique_ptr<nv::ITimingCache> timing;
  if (!o.timing_cache_dir.empty()) {
    std::string gpu = prop.name;
    for (char& c : gpu) {
      if (!std::isalnum(static_cast<unsigned char>(c))) c = '-';
    }
    report->timing_cache_path = o.timing_cache_dir + "/timing-" + gpu + "-sm" + std::to_string(prop.major) +
                                std::to_string(prop.minor) + "-trt" + std::to_string(NV_TENSORRT_VERSION) + ".cache";
    std::vector<char> blob;
    std::ifstream in(report->timing_cache_path, std::ios::binary);
    if (in) blob.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    timing.reset(config->createTimingCache(blob.data(), blob.size()));
    if (!timing && !blob.empty()) timing.reset(config->createTimingCache(nullptr, 0));  // unreadable: start afresh
    if (!timing || !config->setTimingCache(*timing, false)) {
      report->timing_cache_error = "TensorRT refused the timing cache " + report->timing_cache_path;
      timing.reset();
    }
  }

  const auto start = std::chrono::steady_clock::now();
  std::unique_ptr<nv::IHostMemory> plan(builder->buildSerializedNetwork(*network, *config));
  if (!plan || plan->size() == 0) ThrowTrt("building the engine from " + o.path + " failed", logger, "IBuilder::buildSerializedNetwork");
  if (timing) {
    std::unique_ptr<nv::IHostMemory> serialized(timing->serialize());
    if (serialized && serialized->size() > 0) {
      const std::string err = WriteFileAtomically(report->timing_cache_path, static_cast<const char*>(serialized->data()), serialized->size());
      if (!err.empty()) report->timing_cache_error = err;
    }
  }
  report->build_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  const char* bytes = static_cast<const char*>(plan->data());
  return std::vector<char>(bytes, bytes + plan->size());
}

}  // namespace

std::shared_ptr<InferenceEngine> InferenceEngine::Load(const EngineLoadOptions& o, EngineLoadReport* report) {
  static constexpr const char* kOp = "Engine.load";
  EngineLoadReport local;
  if (!report) report = &local;
  std::string reason;
  const TensorRtLibrary* trt = LoadTensorRt(&reason);
  if (!trt) throw NativeException("ERR_TENSORRT_UNAVAILABLE", "TensorRT is not available: " + reason, kOp);
  report->tensorrt_version = TensorRtVersionString(trt->version);

  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) {
    throw NativeException("ERR_CUDA_UNAVAILABLE", "no CUDA device: TensorRT engines need an NVIDIA GPU and driver", kOp);
  }
  if (o.device < 0 || o.device >= count) ThrowInvalid("device cuda:" + std::to_string(o.device) + " does not exist (" + std::to_string(count) + " devices)", kOp);
  // Engines, contexts and streams belong to the device current when they are created. Through the
  // ops stream, never a bare cudaSetDevice: FFmpeg's CUDA device is created first, so the primary
  // context has the flags FFmpeg needs even when an engine loads before any stream
  // (common/cuda_primary_context.h).
  cuda::OpsStream(o.device);
  cudaDeviceProp prop{};
  CudaCheck(cudaGetDeviceProperties(&prop, o.device), "cudaGetDeviceProperties");
  report->gpu_name = prop.name;
  report->compute_capability = std::to_string(prop.major) + "." + std::to_string(prop.minor);

  auto logger = std::make_unique<TrtLogger>();
  std::unique_ptr<nv::IRuntime> runtime(static_cast<nv::IRuntime*>(trt->create_runtime(logger.get(), NV_TENSORRT_VERSION)));
  if (!runtime) ThrowTrt("createInferRuntime failed", *logger, kOp);

  std::unique_ptr<nv::ICudaEngine> engine;
  if (!o.onnx) {
    const std::vector<char> blob = ReadFile(o.path, kOp);
    engine.reset(runtime->deserializeCudaEngine(blob.data(), blob.size()));
    if (!engine) ThrowTrt("cannot deserialize " + o.path + " (an engine only loads on the TensorRT version and GPU it was built for)", *logger, "IRuntime::deserializeCudaEngine");
    report->source = "engine";
  } else {
    if (!o.cache_path.empty()) {
      std::ifstream probe(o.cache_path, std::ios::binary);
      if (probe) {
        probe.close();
        const std::vector<char> blob = ReadFile(o.cache_path, kOp);
        engine.reset(runtime->deserializeCudaEngine(blob.data(), blob.size()));
        // An unreadable cache entry (truncated, other TensorRT build) is rebuilt and overwritten.
        if (engine) {
          report->source = "cache";
          report->precision = OnnxBuildPrecision(o, prop);
        }
      }
    }
    if (!engine) {
      const std::vector<char> plan = BuildFromOnnx(o, prop, report);
      report->source = "onnx";
      if (!o.cache_path.empty()) {
        report->cache_error = WriteFileAtomically(o.cache_path, plan.data(), plan.size());
        if (report->cache_error.empty()) report->cache_path = o.cache_path;
      }
      engine.reset(runtime->deserializeCudaEngine(plan.data(), plan.size()));
      if (!engine) ThrowTrt("cannot deserialize the engine just built from " + o.path, *logger, "IRuntime::deserializeCudaEngine");
    } else {
      report->cache_path = o.cache_path;
    }
  }

  std::vector<IoBinding> io;
  for (int32_t i = 0; i < engine->getNbIOTensors(); ++i) {
    const char* name = engine->getIOTensorName(i);
    IoBinding b;
    b.desc.name = name;
    b.desc.is_input = engine->getTensorIOMode(name) == nv::TensorIOMode::kINPUT;
    const nv::DataType dt = engine->getTensorDataType(name);
    b.desc.dtype = TrtDTypeName(dt);
    b.desc.shape = ToVector(engine->getTensorShape(name));
    const std::string what = std::string(b.desc.is_input ? "input" : "output") + " '" + b.desc.name + "'";
    if (!MapDType(dt, &b.dtype)) {
      throw NativeException("ERR_TENSORRT", what + " has dtype " + b.desc.dtype +
                                                ", which trickle-rt tensors cannot hold (uint8, float16, float32)", kOp);
    }
    if (engine->getTensorFormat(name) != nv::TensorFormat::kLINEAR) {
      throw NativeException("ERR_TENSORRT", what + " uses a vectorized I/O format; rebuild the engine with linear I/O formats", kOp);
    }
    if (engine->getTensorLocation(name) != nv::TensorLocation::kDEVICE) {
      throw NativeException("ERR_TENSORRT", what + " is a host (shape) tensor, which trickle-rt engines do not support", kOp);
    }
    io.push_back(std::move(b));
  }

  // Each execution context holds the engine's activation memory: keep only as many as fit.
  size_t free_bytes = 0, total_bytes = 0;
  if (cudaMemGetInfo(&free_bytes, &total_bytes) != cudaSuccess) {
    cudaGetLastError();
    free_bytes = 0;
  }
#if NV_TENSORRT_MAJOR > 10 || (NV_TENSORRT_MAJOR == 10 && NV_TENSORRT_MINOR >= 1)
  const int64_t per_context = engine->getDeviceMemorySizeV2();
#else
  const int64_t per_context = static_cast<int64_t>(engine->getDeviceMemorySize());
#endif
  report->max_contexts = free_bytes > 0 ? MaxExecutionContexts(static_cast<int64_t>(free_bytes), per_context) : kMaxExecutionContexts;
  return std::make_shared<TrtEngine>(o.device, std::move(logger), std::move(runtime), std::move(engine), std::move(io),
                                     report->max_contexts);
}

#endif  // TRICKLE_HAVE_TENSORRT

}  // namespace trickle
