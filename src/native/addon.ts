/**
 * Loader for the native addon and the typed interface of everything it exports. No `any` crosses
 * this boundary: each native export has its TypeScript shape here, and only the wrapper classes in
 * src/ call into it.
 *
 * The addon is loaded lazily, at the first call that needs it, so that `require('trickle-rt')`
 * works everywhere (the trickle transport is pure TypeScript). Load order: `TRICKLE_RT_ADDON`
 * (an explicit path), `build/Release` (a source build), then `prebuilds/<platform>-<arch>/` (the
 * binaries shipped in the npm package), as node-gyp-build resolves them. When nothing loads, one
 * TrickleError `ERR_NATIVE_LOAD` lists every attempt with its remedy.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { ErrorCodes, TrickleError } from '../errors';

// ---- shapes of the native exports ----------------------------------------------------------------

export interface NativeAvailability {
  available: boolean;
  /** Why not, when `available` is false. */
  reason?: string;
}

export interface NativeGpuDevice {
  index: number;
  name: string;
  computeCapability: string;
  totalMemory: number;
  nvdec: NativeAvailability;
  nvenc: NativeAvailability;
}

export interface NativeCapabilities {
  ffmpeg: {
    version: string;
    libavformat: string;
    libavcodec: string;
    libavutil: string;
    libswscale: string;
    license: string;
    linkage: 'static' | 'shared';
    encoders: Record<'libx264' | 'h264_nvenc' | 'aac' | 'libopus', boolean>;
    decoders: Record<'h264' | 'hevc' | 'aac' | 'opus', boolean>;
  };
  cuda: {
    compiled: boolean;
    runtimeVersion: number;
    status: string;
    architectures?: string;
    /** This build's CUDA kernels can run here (runtime initialised, a device). */
    kernelsUsable: boolean;
    /** The driver the linked CUDA runtime needs (CUDA 13: driver API 13000, the R580 branch). */
    minDriver?: { driverApi: number; branch: string };
  };
  driver: { loaded: boolean; version: number; reason?: string };
  devices: NativeGpuDevice[];
  nvdec: NativeAvailability;
  nvenc: NativeAvailability;
  tensorrt: { compiled: boolean; available: boolean; version?: string; headerVersion?: string; reason?: string };
}

/**
 * capabilities() without FFmpeg and without the NVDEC/NVENC probes (which open a context and an
 * NVENC session on each device): the device list, CUDA, driver and TensorRT state.
 */
/** One GPU's utilisation from NVML. Null: the driver does not report it for this GPU. */
export interface NativeGpuStatsDevice {
  index: number;
  name: string;
  memoryTotal: number;
  memoryFree: number;
  utilizationCompute: number | null;
  utilizationMemory: number | null;
  temperatureC: number | null;
  powerW: number | null;
}

/** NVML's view of the GPUs; `reason` says why there is none (no driver, NVML failed). */
export interface NativeGpuStats {
  available: boolean;
  reason?: string;
  gpus: NativeGpuStatsDevice[];
}

export interface NativeGpuInventory {
  cuda: NativeCapabilities['cuda'];
  driver: NativeCapabilities['driver'];
  devices: Array<Omit<NativeGpuDevice, 'nvdec' | 'nvenc'>>;
  tensorrt: NativeCapabilities['tensorrt'];
}

export interface NativeVideoSummary {
  codec: string;
  frames: number;
  width: number;
  height: number;
  /** Best-effort pts of the first decoded frame in `timeBase` units, or null when it has none. */
  firstPts: number | null;
  timeBase: [number, number];
  /** Packets the decoder rejected as corrupt; decoding continued past them. */
  decodeErrors: number;
}

// ---- frames, pools, tensors (native/bindings/*frame*_wrap.cc, tensor_wrap.cc) --------

export type NativePixelFormat = 'nv12' | 'yuv420p' | 'rgb24' | 'rgba' | (string & {});

export interface NativeVideoFrameInfo {
  width: number;
  height: number;
  format: NativePixelFormat;
  location: 'cuda' | 'cpu';
  /** CUDA device index, -1 for host frames. */
  device: number;
  pts: number | null;
  timeBase: [number, number];
  keyFrame: boolean;
}

export interface NativePlane {
  data: Uint8Array;
  /** Bytes per row of `data` (tight copy, no padding). */
  stride: number;
  width: number;
  height: number;
}

export interface NativeToTensorOptions {
  layout: 'nchw' | 'nhwc';
  dtype: 'uint8' | 'float16' | 'float32';
  /** 0 = the frame's size. */
  width: number;
  height: number;
  fit: 'stretch' | 'crop' | 'letterbox';
  mean: [number, number, number];
  std: [number, number, number];
  pad: [number, number, number];
}

export interface NativeCudaPlane {
  ptr: bigint;
  pitch: number;
  width: number;
  height: number;
}

export interface NativeCudaInterop {
  device: number;
  /** Device pointer of the first plane. */
  ptr: bigint;
  pitch: number;
  /** cudaStream_t of trickle-rt's ops stream on the device. */
  stream: bigint;
  format: NativePixelFormat;
  width: number;
  height: number;
  planes: NativeCudaPlane[];
}

/** A native video frame handle (holds one reference to the core frame until close()). */
export interface NativeVideoFrame {
  /** Throws ERR_FRAME_CLOSED after close(). */
  info(): NativeVideoFrameInfo;
  close(): void;
  isClosed(): boolean;
  /** Host frames only: copies of the planes. */
  planes(): NativePlane[];
  toTensor(options: NativeToTensorOptions): Promise<NativeTensor>;
  download(): Promise<NativeVideoFrame>;
  scale(width: number, height: number, fit: 'crop' | 'stretch'): Promise<NativeVideoFrame>;
  upload(device: number): Promise<NativeVideoFrame>;
  cudaInterop(): NativeCudaInterop;
}

export interface NativeFromTensorOptions {
  format?: 'nv12' | 'yuv420p' | 'rgb24' | 'rgba';
  layout?: 'nchw' | 'nhwc';
  pool?: NativeFramePool;
  pts?: number;
  timeBase?: [number, number];
}

export interface NativeTensorInfo {
  shape: number[];
  dtype: 'uint8' | 'float16' | 'float32';
  location: 'cuda' | 'cpu';
  device: number;
}

export interface NativeTensor {
  info(): NativeTensorInfo;
  /** Host tensors: a copy of the elements (float16 as raw bits). */
  data(): Uint8Array | Uint16Array | Float32Array;
  close(): void;
  isClosed(): boolean;
  toHost(): Promise<NativeTensor>;
  toDevice(device: number): Promise<NativeTensor>;
}

export interface NativeCopyCounters {
  hostToDevice: number;
  deviceToHost: number;
  deviceToDevice: number;
  hostToHost: number;
  hostToDeviceBytes: number;
  deviceToHostBytes: number;
  deviceToDeviceBytes: number;
  hostToHostBytes: number;
}

export interface NativeAudioFrameInfo {
  sampleRate: number;
  channels: number;
  /** Samples per channel. */
  samples: number;
  pts: number | null;
  timeBase: [number, number];
}

export interface NativeAudioFrame {
  info(): NativeAudioFrameInfo;
  close(): void;
  isClosed(): boolean;
  /** A copy of one channel's samples. */
  channelData(channel: number): Float32Array;
}

export interface NativeFramePoolStats {
  capacity: number;
  /** Slots held by frames still referenced (by JS handles or in-flight native work). */
  live: number;
  free: number;
  /** Frames of this pool garbage-collected without close(). */
  leaked: number;
  acquiredTotal: number;
}

export interface NativeFramePool {
  stats(): NativeFramePoolStats;
}

export interface NativeFrameStats {
  /** Core video frames alive in the process (held by handles or native work). */
  videoFramesAlive: number;
  audioFramesAlive: number;
  /** Handles garbage-collected without close() (the GC finalizer released them). */
  videoFramesLeaked: number;
  audioFramesLeaked: number;
}

// ---- TensorRT engine (infer helper: native/bindings/engine_wrap.cc, native/infer/) -----------------

export interface NativeEngineIo {
  name: string;
  mode: 'input' | 'output';
  dtype: 'uint8' | 'float16' | 'float32';
  /** -1 for a dynamic dimension. */
  shape: number[];
}

export interface NativeEngineReport {
  source: 'engine' | 'onnx' | 'cache';
  cachePath?: string;
  cacheError?: string;
  /** The TensorRT timing cache an ONNX build read and updated, and why it could not, if so. */
  timingCachePath?: string;
  timingCacheError?: string;
  /** Execution contexts the engine keeps at most (bounded by free device memory, 1..8). */
  maxContexts?: number;
  precision: string;
  tensorrtVersion: string;
  gpu: string;
  computeCapability: string;
  buildMs: number;
}

/** Counters of one engine (public as `EngineStats`). */
export interface NativeEngineStats {
  runs: number;
  /** Execution contexts alive (one per CUDA stream used, at most `info.maxContexts`, least recently used evicted). */
  contexts: number;
  /** Host (CPU) tensors uploaded to the device by run(): stays 0 on the zero-copy path. */
  hostUploads: number;
  hostUploadBytes: number;
  /** Output buffers allocated, and outputs served from the pool instead. */
  outputsAllocated: number;
  outputsReused: number;
}

export interface NativeEngineLoadOptions {
  path: string;
  onnx: boolean;
  device: number;
  cachePath?: string;
  /** Folder of TensorRT timing caches (ONNX builds). */
  timingCacheDir?: string;
  fp16: boolean;
  workspaceBytes: number;
  inputShapes: Record<string, number[]>;
}

/** A loaded engine. Every method but close()/isClosed() throws ERR_CLOSED after close(). */
export interface NativeEngine {
  io(): NativeEngineIo[];
  report(): NativeEngineReport;
  /**
   * Resolves when the outputs are complete on the GPU. `stream`: a cudaStream_t (0n = the engine's
   * default stream) or the name of an engine-owned stream; one execution context per stream.
   */
  run(
    feeds: Array<{ name: string; tensor: NativeTensor }>,
    stream: bigint | string,
  ): Promise<Array<{ name: string; tensor: NativeTensor }>>;
  stats(): NativeEngineStats;
  close(): void;
  isClosed(): boolean;
}

// ---- media pipeline (media helper: native/bindings/decoder_wrap.cc, encoder_wrap.cc) ----------------

/** A compressed audio packet of a Decoder's input, for passthrough into an Encoder (opaque). */
export interface NativeAudioPacket {
  codec: string;
  pts: number | null;
  size: number;
  timeBase: [number, number];
  /** Opaque, type-tagged native reference. */
  readonly handle: unknown;
}

export interface NativeDecoderOptions {
  device?: string;
  maxQueue?: number;
  poolSize?: number;
  maxBufferedBytes?: number;
  video?: boolean;
  audioFrames?: boolean;
  audioPackets?: boolean;
  format?: string;
  threads?: number;
  /** Input backlog bound in ms (live MPEG-TS path); 0: none. */
  maxBacklogMs?: number;
}

export interface NativeDecoderStats {
  bytesIn: number;
  videoFrames: number;
  audioFrames: number;
  audioPackets: number;
  decodeErrors: number;
  droppedFrames: number;
  demuxErrors: number;
  /** Video access units skipped undecoded because the input backlog outgrew `maxBacklogMs`. */
  backlogSkippedFrames: number;
  /** Times the backlog bound skipped ahead (each skip drops one or more access units). */
  backlogSkips: number;
  /** Threads of the software video decoder as opened (0 before the video decoder opens). */
  threads: number;
  resets: number;
  resolutionChanges: number;
  decodeMs: number;
  hardware: boolean;
  videoCodec: string | null;
  audioCodec: string | null;
  width: number;
  height: number;
  /** The video's nominal frame rate from its SPS timing info; 0 while unknown. */
  frameRate: number;
  hardwareFallbackReason?: string;
  /**
   * How the live MPEG-TS path completed each PES (by its length, by the stuffing that ends it, or
   * only when the next one started); null when the general demuxer reads the input.
   */
  liveTs: { byLength: number; byStuffing: number; byNextStart: number; continuityErrors: number } | null;
  pool: NativeFramePoolStats;
  queued: number;
}

/** Decoder events, delivered on the JS thread in order. 'end' is last. */
export type NativeDecoderEvent =
  | ['video', NativeVideoFrame]
  | ['audio', NativeAudioFrame]
  | ['audioPacket', NativeAudioPacket]
  | ['writable', undefined]
  | ['end', Error | undefined];

export interface NativeDecoder {
  /** Copies the bytes in; false when the caller should wait for 'writable'. */
  push(data: Uint8Array): boolean;
  end(): void;
  cancel(): void;
  /** The consumer took `n` delivered items (returns credits to the decode thread). */
  ack(n: number): void;
  stats(): NativeDecoderStats;
}

export interface NativeEncoderOptions {
  encoder?: string;
  width?: number;
  height?: number;
  bitrate?: number;
  preset?: string;
  tune?: string;
  profile?: string;
  gopSeconds?: number;
  fps?: number;
  threads?: number;
  audio?: string;
  audioBitrate?: number;
  maxQueue?: number;
  maxOutputQueue?: number;
}

export interface NativeEncoderStats {
  framesIn: number;
  framesEncoded: number;
  keyframes: number;
  segments: number;
  bytesOut: number;
  chunksOut: number;
  retimed: number;
  downloads: number;
  downloadBytes: number;
  scaled: number;
  rejected: number;
  audioIn: number;
  audioPacketsOut: number;
  audioDropped: number;
  /** Audio frames converted to the output's channel layout / sample rate. */
  audioConverted: number;
  encodeMs: number;
  downloadMs: number;
  muxMs: number;
  encoder: string | null;
  /** Why `encoder: 'auto'` did not use NVENC (absent when it did or was not asked). */
  encoderReason?: string;
  /** Frames sent to the video encoder whose packet has not come out yet. */
  encoderHeld: number;
  width: number;
  height: number;
  /** The video encoder's threads (x264 slice threads; 0 until it is open): `threads`, or the default by cores, live encoders and frame size. */
  threads: number;
  lastWarning?: string;
  queued: number;
}

/** Facts the decoder's device choice depends on (gpuPolicy.chooseDecodeDevice). */
export interface NativeDecodeFacts {
  driverLoaded: boolean;
  driverError: string;
  deviceCount: number;
  nvdecAvailable: boolean;
  nvdecReason: string;
  kernelsUsable: boolean;
  kernelsReason: string;
}

/** Facts the encoder's choice depends on (gpuPolicy.chooseEncoder). */
export interface NativeEncoderFacts {
  cudaFrame: boolean;
  swFormat: string;
  width: number;
  height: number;
  deviceHasNvenc: boolean;
  deviceReason: string;
  buildHasNvenc: boolean;
}

/** The GPU paths' decisions as pure functions (native/common/gpu_policy.h, frame/color_spec.h). */
export interface NativeGpuPolicy {
  decidePrimaryContext(active: boolean, flags: number): 'use' | 'set-flags' | 'incompatible';
  driverFloor(runtimeVersion: number): { runtimeVersion: number; minDriverApi: number; branch: string };
  driverRunsRuntime(driverApiVersion: number, runtimeVersion: number): boolean;
  chooseDecodeDevice(request: 'auto' | 'cpu' | 'cuda', index: number, facts: NativeDecodeFacts): { useNvdec: boolean; error: boolean; reason: string };
  placeOnDevice(capable: boolean[], liveDecoders: number[]): number;
  nvdecSurfaces(dpbFrames: number): { surfaces: number; fits: boolean; limit: number };
  chooseEncoder(facts: NativeEncoderFacts): { useNvenc: boolean; reason: string };
  /** FFmpeg names: colorspace 'bt709', range 'pc' | 'tv', format 'yuvj420p'. */
  yuvColor(tags: { colorspace?: string; range?: string; format?: string }): 'bt601-limited' | 'bt709-limited' | 'bt601-full' | 'bt709-full';
  unsupportedFormatReason(pixelFormat: string): string;
  maxExecutionContexts(freeBytes: number, perContextBytes: number): number;
}

export type NativeEncoderEvent =
  | ['chunk', Buffer, number, boolean]
  | ['segmentEnd', undefined, number]
  | ['writable']
  | ['warning', Error]
  | ['end', Error | undefined];

export interface NativeEncoder {
  /** Each returns false when the caller should wait for 'writable'. Throws ERR_FRAME_CLOSED. */
  encodeVideo(frame: NativeVideoFrame): boolean;
  encodeAudio(frame: NativeAudioFrame): boolean;
  writeAudioPacket(packet: NativeAudioPacket): boolean;
  end(): void;
  cancel(): void;
  ack(n: number): void;
  stats(): NativeEncoderStats;
}

/** Everything `trickle_rt.node` exports. */
export interface NativeAddon {
  capabilities(): NativeCapabilities;
  /** Devices, CUDA, driver and TensorRT state, without probing NVDEC/NVENC on every GPU. */
  gpuInventory(): NativeGpuInventory;
  /** Per-GPU utilisation from NVML (dlopen of libnvidia-ml.so.1, or `library`). */
  gpuStats(library?: string): NativeGpuStats;
  /** Decodes every video frame of an in-memory container on a worker thread. */
  summarizeVideo(data: Buffer): Promise<NativeVideoSummary>;
  /** Runs the NV12->RGB kernel against its CPU implementation; resolves to the differing byte count. */
  cudaColorSelfTest(device: number, width: number, height: number): Promise<number>;

  // ---- frames (frames helper) ----
  NativeVideoFrame: abstract new (...args: never[]) => NativeVideoFrame;
  NativeAudioFrame: abstract new (...args: never[]) => NativeAudioFrame;
  NativeFramePool: new (capacity: number) => NativeFramePool;
  frameStats(): NativeFrameStats;
  videoFrameFromTensor(tensor: NativeTensor, like: NativeVideoFrame | null, options: NativeFromTensorOptions): Promise<NativeVideoFrame>;
  NativeTensor: abstract new (...args: never[]) => NativeTensor;
  tensorFromData(data: Uint8Array | Uint16Array | Float32Array, shape: number[], dtype: 'uint8' | 'float16' | 'float32'): NativeTensor;
  /** Whole-buffer copies made by frame/tensor code since start (or since the last reset). */
  copyCounters(reset?: boolean): NativeCopyCounters;
  audioFrameFromChannels(
    channels: Float32Array[],
    sampleRate: number,
    pts: number | null,
    timeBaseNum: number,
    timeBaseDen: number,
  ): NativeAudioFrame;
  /** A new frame with `channels` × `sampleRate` (libswresample, flushed). */
  audioFrameConvert(frame: NativeAudioFrame, channels: number, sampleRate: number): NativeAudioFrame;

  // ---- TensorRT engine (infer helper) ----
  /** Deserializes or builds an engine on a worker thread; rejects ERR_TENSORRT_UNAVAILABLE without TensorRT. */
  loadEngine(options: NativeEngineLoadOptions): Promise<NativeEngine>;
  NativeEngine: abstract new (...args: never[]) => NativeEngine;

  // ---- media pipeline (media helper) ----
  Decoder: new (options: NativeDecoderOptions, onEvent: (...event: NativeDecoderEvent) => void) => NativeDecoder;
  Encoder: new (options: NativeEncoderOptions, onEvent: (...event: NativeEncoderEvent) => void) => NativeEncoder;
  /** Cancels and joins every running decoder and encoder of this thread; returns how many. */
  stopPipelines(): number;
  /** Decoders and encoders of this thread whose native thread is running. */
  pipelineCount(): number;

  // ---- GPU policy (tests, diagnostics) ----
  gpuPolicy: NativeGpuPolicy;

  // ---- page memory (the trickle server's segment slabs) ----
  /** The system page size: the unit of `mapPages` and `discardPages`. */
  pageSize: number;
  /** `bytes` (a positive multiple of `pageSize`, at most 1 GiB) of zero-filled memory mapped from the kernel; unmapped when garbage-collected. */
  mapPages(bytes: number): ArrayBuffer;
  /** Gives the pages of a page-aligned range of a `mapPages` buffer back to the kernel now; they read as zeros until written again. */
  discardPages(buffer: ArrayBuffer, offset: number, length: number): void;
  /** Detaches `buffer`, freeing its memory now rather than at a garbage collection; false when it cannot be detached. */
  releaseArrayBuffer(buffer: ArrayBuffer): boolean;
}

// ---- loader ----------------------------------------------------------------------------------------

/** The package root (the folder holding package.json), from src/ or dist/. */
export const packageRoot: string = resolve(__dirname, '..', '..');

const ADDON_FILE = 'trickle_rt.node';

export interface LoadAttempt {
  path: string;
  error: string;
  remedy: string;
}

/** How to rebuild, in the words that fit: a source checkout has scripts/setup.sh, an installed package has npm. */
function rebuildCommand(root: string): string {
  return existsSync(join(root, 'scripts', 'setup.sh')) ? './scripts/setup.sh' : 'npm rebuild trickle-rt';
}

function remedyFor(path: string, message: string, root: string): string {
  const rebuild = rebuildCommand(root);
  const sourceBuild = `${rebuild} (a source build needs cmake, g++, pkg-config, the FFmpeg -dev packages${rebuild.startsWith('npm') ? ' and the npm packages cmake-js and node-addon-api' : ''})`;
  if (/GLIBC_|GLIBCXX_/.test(message)) {
    return `the C library is too old for this binary: prebuilt binaries need glibc >= 2.35 (Debian 12+, Ubuntu 22.04+); build from source with ${sourceBuild}`;
  }
  if (/lib(avcodec|avformat|avutil|swscale|x264)[^ ]*\.so/.test(message)) {
    return `this build links the system FFmpeg, which is missing: install it (apt-get install libavformat59 libavcodec59 libavutil57 libswscale6) or rebuild with ${rebuild}`;
  }
  if (/libcuda|libnvidia|libnvcuvid/.test(message)) {
    return `NVIDIA driver not found: trickle-rt loads the driver lazily, so this binary was built wrongly; rebuild with ${rebuild}`;
  }
  if (/NODE_MODULE_VERSION|napi|N-API|Module did not self-register/i.test(message)) {
    return `Node-API mismatch: trickle-rt needs Node >= 20; rebuild with ${rebuild}`;
  }
  if (/ENOENT|not found|No such file|Cannot find module/i.test(message)) {
    if (path.startsWith(join(root, 'build'))) {
      return rebuild.startsWith('npm')
        ? 'no source build here (normal when the prebuilt binary is used)'
        : 'not built from source: run ./scripts/setup.sh (or npm run build:native with cmake, g++ and the FFmpeg -dev packages)';
    }
    if (path.startsWith(join(root, 'prebuilds'))) {
      if (`${process.platform}-${process.arch}` !== 'linux-x64') {
        return `prebuilt binaries exist for linux-x64 only, and this is ${process.platform}-${process.arch}; build from source with ${sourceBuild}`;
      }
      return `this copy of trickle-rt has no prebuilt binary for linux-x64; build from source with ${sourceBuild}`;
    }
    return 'the file does not exist';
  }
  return `see the error above; rebuild with ${rebuild}`;
}

function candidatePaths(root: string, env: NodeJS.ProcessEnv): string[] {
  const list: string[] = [];
  const explicit = env['TRICKLE_RT_ADDON'];
  if (explicit) list.push(resolve(explicit));
  list.push(join(root, 'build', 'Release', ADDON_FILE));
  const prebuildDir = join(root, 'prebuilds', `${process.platform}-${process.arch}`);
  let prebuilds: string[] = [];
  try {
    prebuilds = readdirSync(prebuildDir)
      .filter((f) => f.endsWith('.node'))
      .sort()
      .map((f) => join(prebuildDir, f));
  } catch {
    // no prebuild folder: reported below as a missing file
  }
  list.push(...(prebuilds.length > 0 ? prebuilds : [join(prebuildDir, 'trickle-rt.node')]));
  return list;
}

/**
 * Loads the addon from `root` (default: this package). Throws TrickleError ERR_NATIVE_LOAD
 * listing each attempt and its remedy. Exposed for tests and diagnostics; most code calls
 * {@link native}.
 */
export function loadNativeAddon(root: string = packageRoot, env: NodeJS.ProcessEnv = process.env): {
  addon: NativeAddon;
  path: string;
} {
  const attempts: LoadAttempt[] = [];
  for (const path of candidatePaths(root, env)) {
    if (!existsSync(path)) {
      const error = 'ENOENT: file not found';
      attempts.push({ path, error, remedy: remedyFor(path, error, root) });
      continue;
    }
    try {
      const addon = require(path) as NativeAddon;
      return { addon, path };
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      attempts.push({ path, error, remedy: remedyFor(path, error, root) });
    }
  }
  const lines = attempts.map((a, i) => `  ${i + 1}. ${a.path}\n     error: ${a.error}\n     remedy: ${a.remedy}`);
  const err = new TrickleError(
    ErrorCodes.ERR_NATIVE_LOAD,
    `trickle-rt could not load its native addon. Tried:\n${lines.join('\n')}`,
  );
  (err as TrickleError & { attempts: LoadAttempt[] }).attempts = attempts;
  throw err;
}

let loaded: { addon: NativeAddon; path: string } | undefined;

/** The loaded native addon (loaded on first call). */
export function native(): NativeAddon {
  if (!loaded) {
    loaded = loadNativeAddon();
    // process.exit() runs no env cleanup hook on the main thread: it goes to exit(), whose handlers
    // unload the CUDA runtime while a decode or encode thread may be inside NVDEC/NVENC. The 'exit'
    // event comes first, synchronously: stop and join every pipeline there. Registered when the
    // addon loads, so it runs before exit listeners added later.
    const addon = loaded.addon;
    process.once('exit', () => addon.stopPipelines());
  }
  return loaded.addon;
}

/** The path the addon was loaded from (loads it if needed). */
export function nativeAddonPath(): string {
  native();
  return (loaded as { path: string }).path;
}
