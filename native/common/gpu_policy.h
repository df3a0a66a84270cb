// The decisions of the GPU paths, as pure functions of what the machine reported, so that each
// one is unit-tested without a GPU (test/native/gpu-policy.test.ts, through the addon's
// `gpuPolicy` export) and the GPU code only gathers facts and applies the answer. No N-API, no CUDA,
// no FFmpeg calls. Thread-safe (no state).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace trickle {

// ---- CUDA primary context (one owner, cuda_primary_context.h) ------------------------------------
// FFmpeg's CUDA hwcontext (libavutil/hwcontext_cuda.c, "primary_ctx" mode) insists on the primary
// context having CU_CTX_SCHED_BLOCKING_SYNC and fails with ENOTSUP ("Primary context already active
// with incompatible flags") when something else activated it with other flags first.
constexpr unsigned kPrimaryContextFlags = 0x04;  // CU_CTX_SCHED_BLOCKING_SYNC
enum class PrimaryContextAction { kUse, kSetFlags, kIncompatible };
PrimaryContextAction DecidePrimaryContext(bool active, unsigned flags);

// ---- Driver floor of the CUDA runtime linked in (item: driver floor) -----------------------------
// The CUDA runtime (cudart, statically linked) of major version M runs on drivers whose CUDA driver
// API version (cuDriverGetVersion) has major >= M ("minor version compatibility", CUDA
// Compatibility guide): CUDA 13.x needs the R580 branch (>= 580.65.06), CUDA 12.x R525 (>= 525.60.13).
struct DriverFloor {
  int runtime_version = 0;        // e.g. 13000
  int min_driver_api = 0;         // e.g. 13000: what cuDriverGetVersion must report at least
  std::string min_driver_branch;  // e.g. "R580 (580.65.06 or newer)"
};
DriverFloor DriverFloorFor(int runtime_version);
bool DriverRunsRuntime(int driver_api_version, int runtime_version);

// ---- Decoder device ('auto' | 'cpu' | 'cuda:N') ---------------------------------------------------
enum class DecodeRequest { kAuto, kCpu, kCuda };
struct DecodeDeviceFacts {
  bool driver_loaded = false;
  std::string driver_error;
  int device_count = 0;
  bool nvdec_available = false;  // on the device asked for (or chosen by 'auto')
  std::string nvdec_reason;
  // The CUDA kernels of this build can run there (cudart initialised: driver new enough, kernels
  // compiled in). NVDEC frames that no kernel can touch fail on every toTensor.
  bool kernels_usable = false;
  std::string kernels_reason;
};
struct DecodeDeviceChoice {
  bool use_nvdec = false;
  bool error = false;   // 'cuda:N' that cannot be served: the stream fails (ERR_NVDEC_UNAVAILABLE)
  std::string reason;   // why not NVDEC (empty when NVDEC is used or 'cpu' was asked)
};
DecodeDeviceChoice ChooseDecodeDevice(DecodeRequest request, int index, const DecodeDeviceFacts& facts);

// 'auto' placement across GPUs: the NVDEC-capable device with the fewest live decoders (ties: the
// lowest index); -1 when none can decode.
int PlaceOnDevice(const std::vector<bool>& capable, const std::vector<int>& live_decoders);

// ---- NVDEC surfaces --------------------------------------------------------------------------------
// NVDEC decodes into at most 32 surfaces (CUVIDDECODECREATEINFO::ulNumDecodeSurfaces). FFmpeg 5.1
// sizes that pool as the stream's DPB + 2 + AVCodecContext::extra_hw_frames (nvdec.c
// ff_nvdec_frame_params, decode.c ff_decode_get_hw_frames_ctx), and a pool over the limit fails the
// hwaccel, which FFmpeg then drops for software decoding. trickle-rt copies every decoded picture
// out of the decoder's surfaces into its own CUDA frames, so frames held by JavaScript, queues or
// NVENC pin no surface and extra_hw_frames stays at kNvdecExtraSurfaces whatever the pool size.
constexpr int kNvdecMaxSurfaces = 32;
constexpr int kNvdecExtraSurfaces = 1;  // the picture being copied out
int NvdecSurfaces(int dpb_frames);      // what FFmpeg asks NVDEC for
bool NvdecSurfacesFit(int dpb_frames);

// ---- NVENC eligibility -----------------------------------------------------------------------------
struct NvencInputFacts {
  bool cuda_frame = false;       // the first frame is in device memory
  std::string sw_format;         // pixel format of its pixels ("nv12", "yuv420p", "p010le", ...)
  int width = 0, height = 0;     // output size
  bool device_has_nvenc = false; // on the frame's own device (host frames: device 0)
  std::string device_reason;
  bool build_has_nvenc = false;  // h264_nvenc is in this FFmpeg build
};
struct NvencChoice {
  bool use_nvenc = false;
  std::string reason;  // why libx264 (empty when NVENC is used)
};
// H.264 NVENC takes 8-bit 4:2:0 (nv12, yuv420p) up to 4096x4096 (NVENC H.264 limit on every
// generation since Maxwell); 'auto' picks it only for CUDA frames that fit, on their own device.
constexpr int kNvencH264MaxSide = 4096;
NvencChoice ChooseEncoder(const NvencInputFacts& facts);

// ---- TensorRT execution contexts ------------------------------------------------------------------
// How many execution contexts an engine may keep: at most kMaxContexts, and only as many as fit in
// half of the device memory free when the engine was loaded (each context holds the engine's
// activation memory, IEngine::getDeviceMemorySizeV2). Always at least 1.
constexpr int kMaxExecutionContexts = 8;
int MaxExecutionContexts(int64_t free_bytes, int64_t per_context_bytes);

}  // namespace trickle
