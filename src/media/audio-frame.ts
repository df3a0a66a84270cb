import { ErrorCodes, invalidArg, TrickleError } from '../errors';
import { native, type NativeAudioFrame } from '../native/addon';
import { callNativeSync } from '../native/call';
import { OwnedHandle } from './owned-handle';

const INTERNAL = Symbol('AudioFrame.internal');
let handleOf: (frame: AudioFrame) => NativeAudioFrame;

export interface AudioFrameInit {
  sampleRate: number;
  /** Presentation time in `timeBase` units; null when unknown. Default null. */
  pts?: number | null;
  /** Default [1, sampleRate]. */
  timeBase?: [number, number];
}

/**
 * Audio in native memory: planar float32 samples, sample rate, channel count, pts and time base.
 *
 * Ownership: the frame holds one reference to native memory until {@link AudioFrame.close} (also
 * called by `using`); in-flight native work (the encoder) keeps its own reference, so closing early
 * is always safe. Using a closed frame throws `ERR_FRAME_CLOSED`.
 *
 * @example
 * using frame = AudioFrame.fromChannels([left, right], { sampleRate: 48000, pts: 0 });
 */
export class AudioFrame implements Disposable {
  readonly #owned: OwnedHandle<NativeAudioFrame>;
  readonly sampleRate: number;
  readonly channels: number;
  /** Samples per channel. */
  readonly samples: number;
  readonly pts: number | null;
  readonly timeBase: [number, number];

  static {
    handleOf = (frame) => frame.#owned.get();
  }

  /** @internal Frames come from decoders or {@link AudioFrame.fromChannels}. */
  constructor(token: typeof INTERNAL, handle: NativeAudioFrame) {
    if (token !== INTERNAL) throw new TypeError('AudioFrame cannot be constructed directly; use AudioFrame.fromChannels');
    this.#owned = new OwnedHandle(handle, closedError);
    const info = callNativeSync(() => handle.info());
    this.sampleRate = info.sampleRate;
    this.channels = info.channels;
    this.samples = info.samples;
    this.pts = info.pts;
    this.timeBase = info.timeBase;
  }

  /** Copies planar float32 channels (all the same length) into a new native frame. */
  static fromChannels(channels: Float32Array[], init: AudioFrameInit): AudioFrame {
    if (!Array.isArray(channels) || channels.length < 1 || channels.length > 64) {
      throw invalidArg('channels', 'an array of 1 to 64 Float32Array', channels);
    }
    for (const c of channels) {
      if (!(c instanceof Float32Array)) throw invalidArg('channels[i]', 'a Float32Array', c);
      if (c.length !== channels[0]!.length) throw invalidArg('channels[i].length', `${channels[0]!.length}`, c.length);
    }
    const { sampleRate } = init;
    if (!Number.isInteger(sampleRate) || sampleRate < 1 || sampleRate > 768000) {
      throw invalidArg('sampleRate', 'an integer from 1 to 768000', sampleRate);
    }
    const pts = init.pts ?? null;
    if (pts !== null && !Number.isSafeInteger(pts)) throw invalidArg('pts', 'a safe integer or null', pts);
    const tb = init.timeBase ?? [1, sampleRate];
    checkTimeBase(tb);
    const handle = callNativeSync(() => native().audioFrameFromChannels(channels, sampleRate, pts, tb[0], tb[1]));
    return new AudioFrame(INTERNAL, handle);
  }

  /**
   * A new frame with another channel count and/or sample rate (each defaults to this frame's);
   * this frame stays open. Mono into stereo duplicates the samples; other layouts are mixed with
   * libswresample's default matrix, normalised so that the mix never exceeds the loudest channel;
   * another rate is resampled and the result holds all of it (about `samples × sampleRate /
   * this.sampleRate` samples). pts and time base are kept. One frame is converted on its own: to
   * convert a continuous stream without seams at frame edges, hand the frames to an Encoder, which
   * converts them to its output's layout and rate with one converter across frames.
   *
   * @example
   * using stereo48k = frame.convert({ channels: 2, sampleRate: 48000 });
   */
  convert(options: { channels?: number; sampleRate?: number }): AudioFrame {
    if (options === null || typeof options !== 'object') throw invalidArg('options', 'an object', options);
    const channels = options.channels ?? this.channels;
    const sampleRate = options.sampleRate ?? this.sampleRate;
    if (!Number.isInteger(channels) || channels < 1 || channels > 8) throw invalidArg('channels', 'an integer from 1 to 8', channels);
    if (!Number.isInteger(sampleRate) || sampleRate < 1 || sampleRate > 768000) {
      throw invalidArg('sampleRate', 'an integer from 1 to 768000', sampleRate);
    }
    const h = handleOf(this);
    return new AudioFrame(INTERNAL, callNativeSync(() => native().audioFrameConvert(h, channels, sampleRate)));
  }

  /** True after close(). */
  get closed(): boolean {
    return this.#owned.released;
  }

  /** A copy of one channel's samples. */
  channelData(channel: number): Float32Array {
    if (!Number.isInteger(channel) || channel < 0 || channel >= this.channels) {
      throw invalidArg('channel', `an integer from 0 to ${this.channels - 1}`, channel);
    }
    const h = handleOf(this);
    return callNativeSync(() => h.channelData(channel));
  }

  /** Drops this reference to the native frame. Idempotent. */
  close(): void {
    this.#owned.release();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

function closedError(): TrickleError {
  return new TrickleError(ErrorCodes.ERR_FRAME_CLOSED, 'the AudioFrame was closed');
}

export function checkTimeBase(tb: unknown): asserts tb is [number, number] {
  if (
    !Array.isArray(tb) || tb.length !== 2 || !Number.isInteger(tb[0]) || !Number.isInteger(tb[1]) ||
    (tb[0] as number) <= 0 || (tb[1] as number) <= 0 || (tb[0] as number) > 0x7fffffff || (tb[1] as number) > 0x7fffffff
  ) {
    throw invalidArg('timeBase', 'a pair of positive 32-bit integers [num, den]', tb);
  }
}

/** @internal Wraps a native handle (from the decoder) into an AudioFrame; the frame owns the handle. */
export function audioFrameFromHandle(handle: NativeAudioFrame): AudioFrame {
  return new AudioFrame(INTERNAL, handle);
}

/** @internal The native handle of an open frame (for the encoder); throws ERR_FRAME_CLOSED. */
export function audioFrameHandle(frame: AudioFrame): NativeAudioFrame {
  return handleOf(frame);
}
