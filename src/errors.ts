/**
 * Typed errors. Every error trickle-rt raises on purpose is a {@link TrickleError} with a stable
 * `code`; the list of codes, with what each means and what to do, is in docs/errors.md.
 */

/** Stable error codes. Add new codes here and to docs/errors.md together. */
export const ErrorCodes = {
  /** The native addon could not be loaded (see the message for each attempt and its remedy). */
  ERR_NATIVE_LOAD: 'ERR_NATIVE_LOAD',
  /** A native operation failed without a more specific code. */
  ERR_NATIVE: 'ERR_NATIVE',
  /** An argument or parameter failed validation. */
  ERR_INVALID_ARG: 'ERR_INVALID_ARG',
  ERR_INVALID_PARAM: 'ERR_INVALID_PARAM',
  ERR_OUT_OF_MEMORY: 'ERR_OUT_OF_MEMORY',
  /** Bytes are not a readable container. */
  ERR_DEMUX: 'ERR_DEMUX',
  ERR_NO_VIDEO_STREAM: 'ERR_NO_VIDEO_STREAM',
  ERR_DECODE: 'ERR_DECODE',
  ERR_DECODER_UNAVAILABLE: 'ERR_DECODER_UNAVAILABLE',
  /** The video is not 8-bit 4:2:0 (10-bit/P010, 4:2:2, 4:4:4): refused at the stream's first frame. */
  ERR_UNSUPPORTED_FORMAT: 'ERR_UNSUPPORTED_FORMAT',
  ERR_ENCODE: 'ERR_ENCODE',
  ERR_ENCODER_UNAVAILABLE: 'ERR_ENCODER_UNAVAILABLE',
  ERR_MUX: 'ERR_MUX',
  ERR_FRAME_CLOSED: 'ERR_FRAME_CLOSED',
  ERR_POOL_EXHAUSTED: 'ERR_POOL_EXHAUSTED',
  ERR_CUDA: 'ERR_CUDA',
  ERR_CUDA_UNAVAILABLE: 'ERR_CUDA_UNAVAILABLE',
  ERR_NVDEC_UNAVAILABLE: 'ERR_NVDEC_UNAVAILABLE',
  ERR_NVENC_UNAVAILABLE: 'ERR_NVENC_UNAVAILABLE',
  ERR_TENSORRT_UNAVAILABLE: 'ERR_TENSORRT_UNAVAILABLE',
  /** TensorRT failed to parse, build, deserialize or run an engine (its log in the message). */
  ERR_TENSORRT: 'ERR_TENSORRT',
  ERR_CLOSED: 'ERR_CLOSED',
  ERR_ABORTED: 'ERR_ABORTED',
  ERR_STREAM_NOT_FOUND: 'ERR_STREAM_NOT_FOUND',
  /** A configured limit (channels, subscribers, segment size) was reached. */
  ERR_LIMIT_EXCEEDED: 'ERR_LIMIT_EXCEEDED',
  /** A trickle channel reached its end (the server sent `Lp-Trickle-Closed`). */
  ERR_TRICKLE_EOS: 'ERR_TRICKLE_EOS',
  /** A trickle server answered with an unexpected HTTP status. */
  ERR_TRICKLE_HTTP: 'ERR_TRICKLE_HTTP',
  /** A trickle request failed on the network (refused, reset, truncated body) after its retries. */
  ERR_TRICKLE_NETWORK: 'ERR_TRICKLE_NETWORK',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes] | (string & {});

export interface TrickleErrorOptions {
  cause?: unknown;
  /** The native operation that failed (e.g. `avcodec_send_packet`). */
  op?: string;
  /** The native status (AVERROR, CUresult, cudaError_t, TensorRT status). */
  nativeCode?: number;
}

/**
 * The base class of every error trickle-rt raises on purpose.
 *
 * @example
 * try { await decoder.push(bytes); } catch (err) {
 *   if (err instanceof TrickleError && err.code === 'ERR_DEMUX') console.warn('bad segment', err.message);
 * }
 */
export class TrickleError extends Error {
  readonly code: ErrorCode;
  readonly op?: string;
  readonly nativeCode?: number;

  constructor(code: ErrorCode, message: string, options: TrickleErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TrickleError';
    this.code = code;
    if (options.op !== undefined) this.op = options.op;
    if (options.nativeCode !== undefined) this.nativeCode = options.nativeCode;
  }
}

interface NativeErrorShape {
  message: string;
  code?: unknown;
  op?: unknown;
  nativeCode?: unknown;
}

function isNativeErrorShape(value: unknown): value is NativeErrorShape {
  return value instanceof Error;
}

/**
 * Converts an error thrown by the native addon (an Error with `code`, `op`, `nativeCode`
 * properties) into a TrickleError. `site`, when given, is an Error captured before the async
 * native call so that the stack points at the caller, not at the event loop.
 */
export function fromNativeError(err: unknown, site?: Error): TrickleError {
  if (err instanceof TrickleError) return err;
  if (!isNativeErrorShape(err)) {
    return new TrickleError(ErrorCodes.ERR_NATIVE, String(err));
  }
  const code = typeof err.code === 'string' ? err.code : ErrorCodes.ERR_NATIVE;
  const options: TrickleErrorOptions = { cause: err };
  if (typeof err.op === 'string') options.op = err.op;
  if (typeof err.nativeCode === 'number') options.nativeCode = err.nativeCode;
  const wrapped = new TrickleError(code, err.message, options);
  if (site?.stack) {
    wrapped.stack = `${wrapped.name}: ${wrapped.message}\n${site.stack.split('\n').slice(1).join('\n')}`;
  }
  return wrapped;
}

/** Builds the standard validation error ("Expected a positive integer for width but received -1"). */
export function invalidArg(what: string, expected: string, received: unknown): TrickleError {
  return new TrickleError(ErrorCodes.ERR_INVALID_ARG, `Expected ${expected} for ${what} but received ${describe(received)}`);
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (value === null || value === undefined || typeof value !== 'object') return String(value);
  try {
    return JSON.stringify(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}
