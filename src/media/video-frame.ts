import { ErrorCodes, TrickleError } from '../errors';
import type { NativePlane, NativeVideoFrame } from '../native';
import { callNativeSync } from './native-sync';

const INTERNAL = Symbol('VideoFrame.internal');
let handleOf: (frame: VideoFrame) => NativeVideoFrame;

/** Pixel layouts trickle-rt's tensor ops understand (decoders may report others, e.g. 'yuvj420p'). */
export type PixelFormat = 'nv12' | 'yuv420p' | 'rgb24' | 'rgba' | (string & {});
export type FrameLocation = 'cuda' | 'cpu';

/** One plane of a host frame (a copy). */
export type FramePlane = NativePlane;

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
  #handle: NativeVideoFrame | null;
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
    handleOf = (frame) => {
      if (!frame.#handle) throw closedError();
      return frame.#handle;
    };
  }

  /** @internal Frames come from decoders and {@link VideoFrame.fromTensor}. */
  constructor(token: typeof INTERNAL, handle: NativeVideoFrame) {
    if (token !== INTERNAL) throw new TypeError('VideoFrame cannot be constructed directly; use VideoFrame.fromTensor');
    this.#handle = handle;
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
    return this.#handle === null;
  }

  /**
   * Copies of the planes of a host frame (Y, U, V for yuv420p; Y, UV for nv12; one for rgb24/rgba),
   * each tightly packed. CUDA frames: `await frame.download()` first.
   */
  planes(): FramePlane[] {
    const h = handleOf(this);
    return callNativeSync(() => h.planes());
  }

  /** Drops this reference to the native picture. Idempotent. */
  close(): void {
    const h = this.#handle;
    this.#handle = null;
    h?.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
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
