import { ErrorCodes, invalidArg, TrickleError } from '../errors';
import {
  native,
  type NativeCudaInterop,
  type NativeFromTensorOptions,
  type NativePlane,
  type NativeToTensorOptions,
  type NativeVideoFrame,
} from '../native/addon';
import { checkTimeBase } from './audio-frame';
import { type FramePool, framePoolHandle } from './frame-pool';
import { callNative, callNativeSync } from '../native/call';
import { OwnedHandle } from './owned-handle';
import { type DType, type Tensor, tensorFromHandle, tensorHandle } from './tensor';

const INTERNAL = Symbol('VideoFrame.internal');
let handleOf: (frame: VideoFrame) => NativeVideoFrame;

/** Pixel layouts trickle-rt's tensor ops understand (decoders may report others, e.g. 'yuvj420p'). */
export type PixelFormat = 'nv12' | 'yuv420p' | 'rgb24' | 'rgba' | (string & {});
export type FrameLocation = 'cuda' | 'cpu';

/** One plane of a host frame (a copy). */
export type FramePlane = NativePlane;

/** Device pointers of a CUDA frame for user CUDA code (valid while the frame is open). */
export type CudaInterop = NativeCudaInterop;

type Triple = [number, number, number];

/** Options of {@link VideoFrame.toTensor}. Semantics and tolerances: docs/frames.md. */
export interface ToTensorOptions {
  /** 'nchw' → shape [1, 3, H, W]; 'nhwc' → [1, H, W, 3]. Default 'nchw'. Channels are RGB. */
  layout?: 'nchw' | 'nhwc';
  /** Default 'float32'. uint8 gives the RGB bytes; float types give (v / 255 - mean) / std. */
  dtype?: DType;
  /** Output size, [width, height] or {width, height}; default the frame's size. */
  size?: readonly [number, number] | { width: number; height: number };
  /** Resampling filter. Only 'bilinear' (half-pixel centres). */
  resize?: 'bilinear';
  /** How the frame's aspect ratio maps to `size`. Default 'stretch'. */
  fit?: 'crop' | 'letterbox' | 'stretch';
  /** Per-channel mean (RGB order) or one value for all, in the 0..1 scale. Float dtypes only. */
  mean?: number | readonly number[];
  /** Per-channel standard deviation (RGB) or one value, in the 0..1 scale. Float dtypes only. */
  std?: number | readonly number[];
  /** Letterbox padding colour as RGB bytes (before mean/std). Default 0 (black). */
  pad?: number | readonly number[];
}

/** Options of {@link VideoFrame.fromTensor}. */
export interface FromTensorOptions {
  /** Pixel format of the new frame. Default 'yuv420p' for CPU tensors, 'nv12' for CUDA tensors. */
  format?: 'nv12' | 'yuv420p' | 'rgb24' | 'rgba';
  /** Layout of the tensor when its shape is ambiguous (e.g. [1, 3, H, 3]). */
  layout?: 'nchw' | 'nhwc';
  /** Take a slot of this pool (throws ERR_POOL_EXHAUSTED when it is full). */
  pool?: FramePool;
  /** Presentation time (overrides `like`). */
  pts?: number;
  /** Time base (overrides `like`). */
  timeBase?: [number, number];
}

/**
 * A decoded or generated picture in native memory (CUDA device memory in GPU mode, host memory
 * otherwise). Pixels never cross into JavaScript unless asked for.
 *
 * Ownership: the frame holds one reference to its native picture, which also holds a slot of the
 * pool it came from. {@link VideoFrame.close} (or `using`) drops that reference; in-flight native
 * work (encoder, tensor ops) holds its own, so closing early is always safe. A frame that is
 * garbage-collected without close() is counted as a leak (`frameStats()`, `pool.stats().leaked`).
 * Every method of a closed frame throws `ERR_FRAME_CLOSED`.
 *
 * @example
 * for await (const frame of decoder.frames()) {
 *   using f = frame;
 *   const t = await f.toTensor({ layout: 'nchw', dtype: 'float32', size: [640, 640], fit: 'letterbox' });
 * }
 */
export class VideoFrame implements Disposable {
  readonly #owned: OwnedHandle<NativeVideoFrame>;
  readonly width: number;
  readonly height: number;
  readonly format: PixelFormat;
  readonly location: FrameLocation;
  /** CUDA device index; -1 for host frames. */
  readonly device: number;
  /** Presentation time in `timeBase` units; null when unknown. */
  readonly pts: number | null;
  readonly timeBase: [number, number];
  readonly keyFrame: boolean;

  static {
    handleOf = (frame) => frame.#owned.get();
  }

  /** @internal Frames come from decoders and {@link VideoFrame.fromTensor}. */
  constructor(token: typeof INTERNAL, handle: NativeVideoFrame) {
    if (token !== INTERNAL) throw new TypeError('VideoFrame cannot be constructed directly; use VideoFrame.fromTensor');
    this.#owned = new OwnedHandle(handle, closedError);
    const info = callNativeSync(() => handle.info());
    this.width = info.width;
    this.height = info.height;
    this.format = info.format;
    this.location = info.location;
    this.device = info.device;
    this.pts = info.pts;
    this.timeBase = info.timeBase;
    this.keyFrame = info.keyFrame;
  }

  /** True after close(). */
  get closed(): boolean {
    return this.#owned.released;
  }

  /**
   * Copies of the planes of a host frame (Y, U, V for yuv420p; Y, UV for nv12; one for rgb24/rgba),
   * each tightly packed. CUDA frames: `await frame.download()` first.
   */
  planes(): FramePlane[] {
    const h = handleOf(this);
    return callNativeSync(() => h.planes());
  }

  /**
   * Converts (and resizes, normalises) the picture into an RGB tensor in the frame's location
   * (CUDA kernel for CUDA frames, C++ loops on a worker thread for host frames). Both paths have
   * identical semantics and give bit-identical results (docs/frames.md).
   *
   * @example
   * using t = await frame.toTensor({ dtype: 'float16', size: [640, 640], fit: 'letterbox',
   *   mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] });
   */
  async toTensor(options: ToTensorOptions = {}): Promise<Tensor> {
    const opts = normalizeToTensorOptions(options);
    const h = handleOf(this);
    return tensorFromHandle(await callNative(() => h.toTensor(opts)));
  }

  /**
   * Makes a frame from an RGB tensor ([1,3,H,W], [3,H,W], [1,H,W,3] or [H,W,3]; uint8, or float in
   * 0..1) in the tensor's location: yuv420p for CPU tensors, nv12 for CUDA tensors (or
   * `options.format`). pts, time base and key-frame flag come from `like` when given.
   *
   * @example
   * using out = await VideoFrame.fromTensor(styled, frame);
   */
  static async fromTensor(tensor: Tensor, like?: VideoFrame | null, options: FromTensorOptions = {}): Promise<VideoFrame> {
    const t = tensorHandle(tensor);
    const l = like ? handleOf(like) : null;
    const o: NativeFromTensorOptions = {};
    if (options.format !== undefined) {
      if (!['nv12', 'yuv420p', 'rgb24', 'rgba'].includes(options.format)) {
        throw invalidArg('format', "'nv12', 'yuv420p', 'rgb24' or 'rgba'", options.format);
      }
      o.format = options.format;
    }
    if (options.layout !== undefined) {
      if (options.layout !== 'nchw' && options.layout !== 'nhwc') throw invalidArg('layout', "'nchw' or 'nhwc'", options.layout);
      o.layout = options.layout;
    }
    if (options.pool !== undefined) o.pool = framePoolHandle(options.pool);
    if (options.pts !== undefined) {
      if (!Number.isSafeInteger(options.pts)) throw invalidArg('pts', 'a safe integer', options.pts);
      o.pts = options.pts;
    }
    if (options.timeBase !== undefined) {
      checkTimeBase(options.timeBase);
      o.timeBase = options.timeBase;
    }
    const addon = native();
    return new VideoFrame(INTERNAL, await callNative(() => addon.videoFrameFromTensor(t, l, o)));
  }

  /**
   * A host copy of the frame: one device→host copy for CUDA frames; for host frames a new frame
   * sharing the same (immutable) pixels, without copying.
   */
  async download(): Promise<VideoFrame> {
    const h = handleOf(this);
    return new VideoFrame(INTERNAL, await callNative(() => h.download()));
  }

  /**
   * A resized copy in YUV (yuv420p, host memory), in one native pass with no RGB step: `fit: 'crop'`
   * (default) scales to cover width×height and centre-crops, `'stretch'` ignores the aspect ratio.
   * Keeps the timestamp. Host frames only: CUDA frames are resized on the device by `toTensor()`.
   */
  async scale(width: number, height: number, options: { fit?: 'crop' | 'stretch' } = {}): Promise<VideoFrame> {
    for (const [name, v] of [['width', width], ['height', height]] as const) {
      if (!Number.isInteger(v) || v < 2 || v > 16384 || v % 2 !== 0) throw invalidArg(name, 'an even integer from 2 to 16384', v);
    }
    const fit = options.fit ?? 'crop';
    if (fit !== 'crop' && fit !== 'stretch') throw invalidArg('fit', "'crop' or 'stretch'", fit);
    const h = handleOf(this);
    if (this.location !== 'cpu') throw invalidArg('frame', 'a host frame (CUDA frames are resized by toTensor())', this.location);
    return new VideoFrame(INTERNAL, await callNative(() => h.scale(width, height, fit)));
  }

  /** A CUDA copy of a host nv12/yuv420p frame on `device` (`ERR_CUDA_UNAVAILABLE` without CUDA). */
  async upload(device = 0): Promise<VideoFrame> {
    if (!Number.isInteger(device) || device < 0) throw invalidArg('device', 'a non-negative integer', device);
    const h = handleOf(this);
    return new VideoFrame(INTERNAL, await callNative(() => h.upload(device)));
  }

  /**
   * Device pointers for user CUDA code (DLPack-like): `{device, ptr, pitch, stream, planes}`.
   * Valid while this frame is open; enqueue work on `stream` (or wait on it) to be ordered after
   * trickle-rt's writes. Host frames throw `ERR_CUDA_UNAVAILABLE`.
   */
  cudaInterop(): CudaInterop {
    const h = handleOf(this);
    if (this.location !== 'cuda') {
      throw new TrickleError(ErrorCodes.ERR_CUDA_UNAVAILABLE, 'cudaInterop() needs a CUDA frame; this frame is in host memory');
    }
    return callNativeSync(() => h.cudaInterop());
  }

  /** Drops this reference to the native picture. Idempotent. */
  close(): void {
    this.#owned.release();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

function triple(what: string, v: number | readonly number[] | undefined, fallback: number, min: number, max: number): Triple {
  if (v === undefined) return [fallback, fallback, fallback];
  const arr = typeof v === 'number' ? [v, v, v] : v;
  if (!Array.isArray(arr) || arr.length !== 3 || !arr.every((x) => typeof x === 'number' && Number.isFinite(x) && x >= min && x <= max)) {
    throw invalidArg(what, `a number or 3 numbers from ${min} to ${max}`, v);
  }
  return [arr[0], arr[1], arr[2]] as Triple;
}

function normalizeToTensorOptions(o: ToTensorOptions): NativeToTensorOptions {
  if (o === null || typeof o !== 'object') throw invalidArg('options', 'an object', o);
  const layout = o.layout ?? 'nchw';
  if (layout !== 'nchw' && layout !== 'nhwc') throw invalidArg('layout', "'nchw' or 'nhwc'", layout);
  const dtype = o.dtype ?? 'float32';
  if (dtype !== 'uint8' && dtype !== 'float16' && dtype !== 'float32') throw invalidArg('dtype', "'uint8', 'float16' or 'float32'", dtype);
  const resize = o.resize ?? 'bilinear';
  if (resize !== 'bilinear') throw invalidArg('resize', "'bilinear'", resize);
  const fit = o.fit ?? 'stretch';
  if (fit !== 'stretch' && fit !== 'crop' && fit !== 'letterbox') throw invalidArg('fit', "'crop', 'letterbox' or 'stretch'", fit);
  let width = 0;
  let height = 0;
  if (o.size !== undefined) {
    const s = o.size as unknown;
    if (Array.isArray(s) && s.length === 2) [width, height] = s as [number, number];
    else if (s !== null && typeof s === 'object' && 'width' in s && 'height' in s) ({ width, height } = s as { width: number; height: number });
    else throw invalidArg('size', '[width, height] or {width, height}', s);
    for (const [name, v] of [['size.width', width], ['size.height', height]] as const) {
      if (!Number.isInteger(v) || v < 1 || v > 16384) throw invalidArg(name, 'an integer from 1 to 16384', v);
    }
  }
  if (dtype === 'uint8' && (o.mean !== undefined || o.std !== undefined)) {
    throw invalidArg('mean/std', "a float dtype ('float16' or 'float32') when normalising", dtype);
  }
  const mean = triple('mean', o.mean, 0, -1e6, 1e6);
  const std = triple('std', o.std, 1, -1e6, 1e6);
  if (std.some((x) => x === 0)) throw invalidArg('std', 'non-zero numbers', o.std);
  const pad = triple('pad', o.pad, 0, 0, 255);
  if (!pad.every(Number.isInteger)) throw invalidArg('pad', 'integers from 0 to 255', o.pad);
  return { layout, dtype, width, height, fit, mean, std, pad };
}

function closedError(): TrickleError {
  return new TrickleError(ErrorCodes.ERR_FRAME_CLOSED, 'the VideoFrame was closed');
}

/** @internal Wraps a native handle (from the decoder or an op) into a VideoFrame that owns it. */
export function videoFrameFromHandle(handle: NativeVideoFrame): VideoFrame {
  return new VideoFrame(INTERNAL, handle);
}

/** @internal The native handle of an open frame (for the encoder); throws ERR_FRAME_CLOSED. */
export function videoFrameHandle(frame: VideoFrame): NativeVideoFrame {
  return handleOf(frame);
}
