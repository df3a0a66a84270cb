import { ErrorCodes, invalidArg, TrickleError } from '../errors';
import { native, type NativeTensor } from '../native/addon';
import { callNative, callNativeSync } from '../native/call';
import { OwnedHandle } from './owned-handle';

export type DType = 'uint8' | 'float16' | 'float32';
export type TensorLocation = 'cuda' | 'cpu';
/** Host data of a tensor: float16 elements are returned as their raw IEEE half bits. */
export type TensorData = Uint8Array | Uint16Array | Float32Array;

const INTERNAL = Symbol('Tensor.internal');
let handleOf: (t: Tensor) => NativeTensor;

/**
 * A dense tensor in host or CUDA device memory: the currency between frames
 * (`frame.toTensor()`, `VideoFrame.fromTensor()`), inference engines and user code.
 *
 * Ownership: like frames, a tensor holds one reference to native memory until {@link Tensor.close}
 * (or `using`); in-flight native work keeps its own. A closed tensor throws `ERR_CLOSED`.
 *
 * @example
 * using t = Tensor.from(new Float32Array(3 * 4 * 4), [1, 3, 4, 4]);
 * console.log(t.shape, t.dtype, t.location); // [1, 3, 4, 4] 'float32' 'cpu'
 */
export class Tensor implements Disposable {
  readonly #owned: OwnedHandle<NativeTensor>;
  readonly shape: readonly number[];
  readonly dtype: DType;
  readonly location: TensorLocation;
  /** CUDA device index; -1 for host tensors. */
  readonly device: number;

  static {
    handleOf = (t) => t.#owned.get();
  }

  /** @internal Tensors come from {@link Tensor.from}, `frame.toTensor()` and engines. */
  constructor(token: typeof INTERNAL, handle: NativeTensor) {
    if (token !== INTERNAL) throw new TypeError('Tensor cannot be constructed directly; use Tensor.from');
    this.#owned = new OwnedHandle(handle, closedError);
    const info = callNativeSync(() => handle.info());
    this.shape = Object.freeze(info.shape);
    this.dtype = info.dtype;
    this.location = info.location;
    this.device = info.device;
  }

  /**
   * A host tensor holding a copy of `data`. The dtype follows the array type: Uint8Array → uint8,
   * Float32Array → float32, Uint16Array → float16 (raw half bits).
   */
  static from(data: TensorData, shape: readonly number[]): Tensor {
    let dtype: DType;
    if (data instanceof Uint8Array) dtype = 'uint8';
    else if (data instanceof Float32Array) dtype = 'float32';
    else if (data instanceof Uint16Array) dtype = 'float16';
    else throw invalidArg('data', 'a Uint8Array, Uint16Array (float16 bits) or Float32Array', data);
    if (!Array.isArray(shape) || shape.length > 8 || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw invalidArg('shape', 'an array of at most 8 non-negative integers', shape);
    }
    const count = shape.reduce((a, b) => a * b, 1);
    if (count !== data.length) throw invalidArg('data.length', `${count} elements for shape [${shape.join(', ')}]`, data.length);
    const handle = callNativeSync(() => native().tensorFromData(data, [...shape], dtype));
    return new Tensor(INTERNAL, handle);
  }

  get closed(): boolean {
    return this.#owned.released;
  }

  /**
   * A copy of the elements of a CPU tensor in JavaScript memory (each read copies; keep the result).
   * float16 tensors give a Uint16Array of half bits. CUDA tensors: `await tensor.toHost()` first.
   */
  get data(): TensorData {
    const h = handleOf(this);
    if (this.location !== 'cpu') {
      throw new TrickleError(ErrorCodes.ERR_INVALID_ARG, 'data is readable for CPU tensors only; await tensor.toHost() first');
    }
    return callNativeSync(() => h.data());
  }

  /** A host copy (CPU tensors: this tensor's storage, shared). */
  async toHost(): Promise<Tensor> {
    const h = handleOf(this);
    return new Tensor(INTERNAL, await callNative(() => h.toHost()));
  }

  /** A copy in CUDA device memory (`ERR_CUDA_UNAVAILABLE` without CUDA). */
  async toDevice(device = 0): Promise<Tensor> {
    if (!Number.isInteger(device) || device < 0) throw invalidArg('device', 'a non-negative integer', device);
    const h = handleOf(this);
    return new Tensor(INTERNAL, await callNative(() => h.toDevice(device)));
  }

  /** Drops this reference to the native memory. Idempotent. */
  close(): void {
    this.#owned.release();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

function closedError(): TrickleError {
  return new TrickleError(ErrorCodes.ERR_CLOSED, 'the Tensor was closed');
}

/** @internal */
export function tensorFromHandle(handle: NativeTensor): Tensor {
  return new Tensor(INTERNAL, handle);
}

/** @internal The native handle of an open tensor (for engines); throws ERR_CLOSED. */
export function tensorHandle(t: Tensor): NativeTensor {
  return handleOf(t);
}
