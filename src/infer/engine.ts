import { mkdir, stat } from 'node:fs/promises';
import { extname, resolve } from 'node:path';

import { gpuInventory } from '../native/capabilities';
import { ErrorCodes, TrickleError, fromNativeError, invalidArg } from '../errors';
import { callNative } from '../native/call';
import { Tensor, tensorFromHandle, tensorHandle } from '../media/tensor';
import { OwnedHandle } from '../media/owned-handle';
import { native, type NativeEngine, type NativeEngineIo, type NativeEngineReport, type NativeEngineStats } from '../native/addon';
import { defaultEngineCacheDir, engineCacheKey, engineCachePath, onnxExternalDataHashes, sha256File } from './engine-cache';

/** Element types an engine's inputs and outputs may have (those of {@link Tensor}). */
export type EngineDType = 'uint8' | 'float16' | 'float32';

/** One input or output of an engine. */
export interface EngineTensorInfo {
  readonly name: string;
  readonly dtype: EngineDType;
  /** Dimensions; -1 marks a dynamic one (its size is taken from the tensor fed to run()). */
  readonly shape: readonly number[];
}

export interface EngineLoadOptions {
  /** CUDA device: an index or `'cuda:N'`. Default 0. */
  device?: number | `cuda:${number}`;
  /**
   * Where engines built from ONNX are cached (created if missing), or `false` for no cache.
   * Default: {@link defaultEngineCacheDir} (`~/.cache/trickle-rt/engines`).
   */
  cacheDir?: string | false;
  /**
   * ONNX builds: let TensorRT 10 pick fp16 kernels where the GPU has fast fp16 (default true).
   * TensorRT 11 networks are strongly typed: precision follows the model's own types, and this
   * option has no effect (export the model in fp16 for fp16).
   */
  fp16?: boolean;
  /** ONNX builds: workspace memory limit in bytes (default: TensorRT's, the device memory). */
  workspaceBytes?: number;
  /**
   * ONNX builds: the shape of each input that has dynamic dimensions (one optimization profile with
   * min = opt = max = this shape; a video stream has a fixed resolution).
   */
  inputShapes?: Readonly<Record<string, readonly number[]>>;
}

/** How an engine was obtained. */
export interface EngineLoadInfo {
  /** `'engine'`: a serialized engine file; `'onnx'`: built now; `'cache'`: a cached build. */
  readonly source: 'engine' | 'onnx' | 'cache';
  /** The cache file, when the build was cached or came from the cache. */
  readonly cachePath?: string;
  /** Why the build could not be written to the cache (the engine still works). */
  readonly cacheError?: string;
  /** ONNX builds: the TensorRT timing cache read and updated (beside the engine cache). */
  readonly timingCachePath?: string;
  /** Why the timing cache could not be used or written (the build still works). */
  readonly timingCacheError?: string;
  /** Execution contexts (one per stream) the engine keeps at most: as many as fit in memory, 1..8. */
  readonly maxContexts?: number;
  /** `'fp16'`/`'fp32'` (TensorRT 10 builds), `'strongly-typed'` (TensorRT 11 builds), `'engine'` (deserialized). */
  readonly precision: string;
  readonly tensorrtVersion: string;
  readonly gpu: string;
  readonly computeCapability: string;
  /** Build time of an ONNX build in milliseconds (0 otherwise). */
  readonly buildMs: number;
}

export interface EngineRunOptions {
  /**
   * Where to enqueue. A string names a CUDA stream the engine creates and owns (e.g. the trickle
   * stream id, `ctx.streamId`); a bigint is your own `cudaStream_t` (e.g.
   * `frame.cudaInterop().stream`). Each distinct stream gets its own execution context, so runs on
   * different streams overlap on the GPU; runs on one stream are serialized. Default: the engine's
   * default stream. Inputs made by trickle-rt (toTensor, toDevice, other engines) are waited for on
   * the GPU through their ready events, whatever the stream.
   */
  stream?: bigint | string;
}

export type EngineStats = NativeEngineStats;

const ENGINE_EXTENSIONS = new Set(['.engine', '.plan', '.trt']);
const INTERNAL = Symbol('Engine.internal');

/**
 * A TensorRT engine: a serialized `.engine` file, or one built from an `.onnx` model (and cached).
 * Runs on CUDA tensors without host copies; see docs/tensorrt.md for the zero-copy path and its
 * requirements. Without TensorRT (not compiled in, or libnvinfer missing) `Engine.load` rejects
 * with `ERR_TENSORRT_UNAVAILABLE` and the reason.
 *
 * @example
 * const engine = await Engine.load('model.onnx', { inputShapes: { input: [1, 3, 384, 640] } });
 * using input = await frame.toTensor({ layout: 'nchw', dtype: 'float32', size: [640, 384] });
 * const { output } = await engine.run({ input });
 * using out = VideoFrame.fromTensor(output, frame);
 */
export class Engine implements Disposable {
  readonly #owned: OwnedHandle<NativeEngine>;
  readonly inputs: readonly EngineTensorInfo[];
  readonly outputs: readonly EngineTensorInfo[];
  /** The CUDA device the engine runs on. */
  readonly device: number;
  readonly info: EngineLoadInfo;

  /** @internal Engines come from {@link Engine.load}. */
  constructor(token: typeof INTERNAL, handle: NativeEngine, device: number) {
    if (token !== INTERNAL) throw new TypeError('Engine cannot be constructed directly; use Engine.load');
    this.#owned = new OwnedHandle(handle, closedError);
    this.device = device;
    const io = handle.io();
    this.inputs = Object.freeze(io.filter((t) => t.mode === 'input').map(toInfo));
    this.outputs = Object.freeze(io.filter((t) => t.mode === 'output').map(toInfo));
    this.info = Object.freeze(toLoadInfo(handle.report()));
  }

  /**
   * Deserializes an engine file (`.engine`, `.plan`, `.trt`) or builds an engine from an `.onnx`
   * model on a worker thread. ONNX builds are cached (see {@link EngineLoadOptions.cacheDir}).
   *
   * Rejects with `ERR_INVALID_ARG` (bad path or options, before any native work),
   * `ERR_TENSORRT_UNAVAILABLE` (with the reason), `ERR_CUDA_UNAVAILABLE` (no GPU) or
   * `ERR_TENSORRT` (the parse, build or deserialization failed; TensorRT's messages included).
   */
  static async load(path: string, options: EngineLoadOptions = {}): Promise<Engine> {
    if (typeof path !== 'string' || path.length === 0) throw invalidArg('path', 'a path to an .engine or .onnx file', path);
    const ext = extname(path).toLowerCase();
    const onnx = ext === '.onnx';
    if (!onnx && !ENGINE_EXTENSIONS.has(ext)) {
      throw invalidArg('path', 'a file ending in .onnx, .engine, .plan or .trt', path);
    }
    const opts = validateLoadOptions(options);
    const file = resolve(path);
    const st = await stat(file).catch(() => null);
    if (!st || !st.isFile() || st.size === 0) throw invalidArg('path', 'an existing, non-empty model file', path);

    const caps = gpuInventory();
    if (!caps.tensorrt.available) {
      throw new TrickleError(
        ErrorCodes.ERR_TENSORRT_UNAVAILABLE,
        `TensorRT is not available: ${caps.tensorrt.reason ?? 'unknown reason'}`,
      );
    }
    const gpu = caps.devices.find((d) => d.index === opts.device);
    if (!gpu) {
      throw new TrickleError(
        ErrorCodes.ERR_CUDA_UNAVAILABLE,
        caps.devices.length === 0
          ? `no CUDA device: ${caps.cuda.status}`
          : `no CUDA device cuda:${opts.device} (devices: ${caps.devices.map((d) => `cuda:${d.index}`).join(', ')})`,
      );
    }

    let cachePath: string | undefined;
    if (onnx && opts.cacheDir !== false) {
      const key = engineCacheKey({
        modelSha256: await sha256File(file),
        externalData: await onnxExternalDataHashes(file),
        gpu: gpu.name,
        computeCapability: gpu.computeCapability,
        tensorrtVersion: caps.tensorrt.version ?? 'unknown',
        inputShapes: opts.inputShapes,
        fp16: opts.fp16,
        workspaceBytes: opts.workspaceBytes,
      });
      await mkdir(opts.cacheDir, { recursive: true });
      cachePath = engineCachePath(opts.cacheDir, file, key);
    }

    const handle = await callNative(() =>
      native().loadEngine({
        path: file,
        onnx,
        device: opts.device,
        ...(cachePath !== undefined ? { cachePath, timingCacheDir: opts.cacheDir as string } : {}),
        fp16: opts.fp16,
        workspaceBytes: opts.workspaceBytes,
        inputShapes: opts.inputShapes,
      }),
    );
    return new Engine(INTERNAL, handle, opts.device);
  }

  /** True after close(). */
  get closed(): boolean {
    return this.#owned.released;
  }

  /**
   * Runs the engine once. `feeds` maps every input name to a {@link Tensor} (a single Tensor is
   * accepted when the engine has one input). CUDA tensors are bound by device pointer (zero copy);
   * host tensors are uploaded first and counted in {@link Engine.stats} `hostUploads`. Resolves, when
   * the GPU has finished, to one CUDA Tensor per output, by name. Output buffers come from a pool and
   * are reused once their Tensor is closed: close outputs when done with them.
   *
   * Names, dtypes and shapes are validated before any native work (`ERR_INVALID_ARG`); shapes
   * outside a deserialized engine's optimization profile are rejected by the engine, also with
   * `ERR_INVALID_ARG`.
   */
  async run(feeds: Tensor | Readonly<Record<string, Tensor>>, options: EngineRunOptions = {}): Promise<Record<string, Tensor>> {
    const handle = this.#owned.get();
    const list = this.#validateFeeds(feeds);
    if (options === null || typeof options !== 'object') throw invalidArg('options', 'an object', options);
    const stream = options.stream ?? 0n;
    const validStream =
      typeof stream === 'bigint' ? stream >= 0n && stream < 1n << 64n : typeof stream === 'string' && stream.length > 0 && stream.length <= 256;
    if (!validStream) {
      throw invalidArg('options.stream', 'a stream name (1 to 256 characters) or a cudaStream_t handle as a non-negative bigint', options.stream);
    }
    let nativeFeeds;
    try {
      nativeFeeds = list.map(([name, tensor]) => ({ name, tensor: tensorHandle(tensor) }));
    } catch (err) {
      throw fromNativeError(err);
    }
    const results = await callNative(() => handle.run(nativeFeeds, stream));
    const out: Record<string, Tensor> = {};
    for (const r of results) out[r.name] = tensorFromHandle(r.tensor);
    return out;
  }

  /** Counters of this engine (runs, contexts, host uploads, output pool). */
  stats(): EngineStats {
    return this.#owned.get().stats();
  }

  /**
   * Drops this engine. Runs in flight finish first (they hold the native engine); its memory is
   * freed when the last of them ends. Output tensors stay valid. Idempotent.
   */
  close(): void {
    this.#owned.release();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #validateFeeds(feeds: Tensor | Readonly<Record<string, Tensor>>): Array<[string, Tensor]> {
    let entries: Array<[string, unknown]>;
    if (feeds instanceof Tensor) {
      const only = this.inputs[0];
      if (this.inputs.length !== 1 || !only) {
        throw invalidArg('feeds', `an object naming each of the inputs ${this.inputs.map((i) => `'${i.name}'`).join(', ')}`, 'a single Tensor');
      }
      entries = [[only.name, feeds]];
    } else if (feeds !== null && typeof feeds === 'object' && !Array.isArray(feeds)) {
      entries = Object.entries(feeds);
    } else {
      throw invalidArg('feeds', 'a Tensor or an object mapping input names to Tensors', feeds);
    }
    const known = new Set(this.inputs.map((i) => i.name));
    for (const [name] of entries) {
      if (!known.has(name)) throw invalidArg('feeds', `only the inputs ${[...known].map((n) => `'${n}'`).join(', ')}`, name);
    }
    const out: Array<[string, Tensor]> = [];
    for (const input of this.inputs) {
      const entry = entries.find(([name]) => name === input.name);
      if (!entry) throw invalidArg(`feeds['${input.name}']`, `a ${input.dtype} Tensor of shape ${shapeText(input.shape)}`, undefined);
      const t = entry[1];
      const what = `feeds['${input.name}']`;
      if (!(t instanceof Tensor)) throw invalidArg(what, 'a Tensor', t);
      if (t.closed) throw new TrickleError(ErrorCodes.ERR_CLOSED, `${what}: the Tensor was closed`);
      if (t.dtype !== input.dtype) throw invalidArg(`${what}.dtype`, `'${input.dtype}'`, t.dtype);
      const shape = t.shape;
      const fits =
        shape.length === input.shape.length && shape.every((d, i) => input.shape[i] === -1 || d === input.shape[i]);
      if (!fits) throw invalidArg(`${what}.shape`, shapeText(input.shape), [...shape]);
      if (t.location === 'cuda' && t.device !== this.device) {
        throw invalidArg(`${what}.device`, `a tensor on cuda:${this.device} (the engine's device)`, `cuda:${t.device}`);
      }
      out.push([input.name, t]);
    }
    return out;
  }
}

function closedError(): TrickleError {
  return new TrickleError(ErrorCodes.ERR_CLOSED, 'the Engine is closed');
}

function shapeText(shape: readonly number[]): string {
  return `[${shape.map((d) => (d === -1 ? '?' : String(d))).join(', ')}]`;
}

function toInfo(t: NativeEngineIo): EngineTensorInfo {
  return Object.freeze({ name: t.name, dtype: t.dtype, shape: Object.freeze([...t.shape]) });
}

function toLoadInfo(r: NativeEngineReport): EngineLoadInfo {
  return {
    source: r.source,
    ...(r.cachePath !== undefined ? { cachePath: r.cachePath } : {}),
    ...(r.cacheError !== undefined ? { cacheError: r.cacheError } : {}),
    ...(r.timingCachePath !== undefined ? { timingCachePath: r.timingCachePath } : {}),
    ...(r.timingCacheError !== undefined ? { timingCacheError: r.timingCacheError } : {}),
    ...(r.maxContexts !== undefined ? { maxContexts: r.maxContexts } : {}),
    precision: r.precision,
    tensorrtVersion: r.tensorrtVersion,
    gpu: r.gpu,
    computeCapability: r.computeCapability,
    buildMs: r.buildMs,
  };
}

interface ValidLoadOptions {
  device: number;
  cacheDir: string | false;
  fp16: boolean;
  workspaceBytes: number;
  inputShapes: Record<string, number[]>;
}

function validateLoadOptions(options: EngineLoadOptions): ValidLoadOptions {
  if (options === null || typeof options !== 'object') throw invalidArg('options', 'an object', options);
  let device = 0;
  if (options.device !== undefined) {
    const d = options.device;
    const m = typeof d === 'string' ? /^cuda:(\d+)$/.exec(d) : null;
    if (typeof d === 'number' && Number.isInteger(d) && d >= 0) device = d;
    else if (m) device = Number(m[1]);
    else throw invalidArg('options.device', "a device index or 'cuda:N' (TensorRT runs on CUDA devices only)", d);
  }
  let cacheDir: string | false = defaultEngineCacheDir();
  if (options.cacheDir !== undefined) {
    if (options.cacheDir === false) cacheDir = false;
    else if (typeof options.cacheDir === 'string' && options.cacheDir.length > 0) cacheDir = resolve(options.cacheDir);
    else throw invalidArg('options.cacheDir', 'a directory path or false', options.cacheDir);
  }
  if (options.fp16 !== undefined && typeof options.fp16 !== 'boolean') throw invalidArg('options.fp16', 'a boolean', options.fp16);
  const workspaceBytes = options.workspaceBytes ?? 0;
  if (!Number.isSafeInteger(workspaceBytes) || workspaceBytes < 0) {
    throw invalidArg('options.workspaceBytes', 'a non-negative integer', options.workspaceBytes);
  }
  const inputShapes: Record<string, number[]> = {};
  if (options.inputShapes !== undefined) {
    const shapes = options.inputShapes;
    if (shapes === null || typeof shapes !== 'object' || Array.isArray(shapes)) {
      throw invalidArg('options.inputShapes', 'an object mapping input names to shapes', shapes);
    }
    for (const [name, shape] of Object.entries(shapes)) {
      const ok =
        Array.isArray(shape) && shape.length >= 1 && shape.length <= 8 && shape.every((v) => Number.isSafeInteger(v) && v > 0);
      if (!ok) throw invalidArg(`options.inputShapes['${name}']`, 'an array of 1 to 8 positive integers', shape);
      inputShapes[name] = [...(shape as number[])];
    }
  }
  return { device, cacheDir, fp16: options.fp16 ?? true, workspaceBytes, inputShapes };
}

/** @internal For tests of the TypeScript layer: an Engine over any NativeEngine implementation. */
export function engineFromHandle(handle: NativeEngine, device = 0): Engine {
  return new Engine(INTERNAL, handle, device);
}
