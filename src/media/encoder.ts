import { ErrorCodes, fromNativeError, invalidArg, TrickleError } from '../errors';
import { native, type NativeEncoder, type NativeEncoderStats } from '../native/addon';
import { AudioFrame, audioFrameHandle } from './audio-frame';
import type { AudioPacket } from './decoder';
import { callNativeSync } from '../native/call';
import { PipelineCore } from './pipeline-core';
import { VideoFrame, videoFrameHandle } from './video-frame';

export interface EncoderOptions {
  /**
   * `'libx264'` (default), `'h264_nvenc'` (throws `ERR_NVENC_UNAVAILABLE` where there is none), or
   * `'auto'`: NVENC for 8-bit 4:2:0 CUDA frames up to 4096x4096 when the frame's own GPU has it,
   * else x264, also when NVENC fails to open (a warning); the reason is in `stats().encoderReason`.
   * CUDA frames going to x264 are downloaded once per frame, counted in `stats().downloads`.
   */
  encoder?: 'libx264' | 'h264_nvenc' | 'auto';
  /** Output size; default the first frame's. Frames of another size are rescaled (libswscale). */
  width?: number;
  height?: number;
  /** Target bits/s (capped VBR); default: x264's quality mode (crf 23). */
  bitrate?: number;
  /** x264 preset (default `'superfast'`); mapped to NVENC p1..p7. */
  preset?: string;
  /** x264 tune (default `'zerolatency'`; `''` for none). */
  tune?: string;
  /** H.264 profile (default `'high'`). */
  profile?: 'baseline' | 'main' | 'high';
  /** Keyframe = segment interval in seconds of media time (default 2). */
  gopSeconds?: number;
  /** Nominal frame rate for rate control and for re-timing frames without a usable pts (default 30). */
  fps?: number;
  /** Encoder threads (default min(8, cores / encoders alive in the process, pixels per frame / 512 Ki), at least 1: a frame under half a megapixel is encoded by one thread). */
  threads?: number;
  /**
   * `'passthrough'` (default): remux packets given to `writeAudioPacket` without re-encoding;
   * `'aac'` / `'opus'`: encode AudioFrames given to `encodeAudio`; `'none'`: video only.
   */
  audio?: 'passthrough' | 'aac' | 'opus' | 'none';
  /** Audio bits/s for `'aac'`/`'opus'` (default 96000). */
  audioBitrate?: number;
  /** Input items queued before `encode()` waits (default 16). */
  maxQueue?: number;
  /** Output chunks delivered ahead of the consumer before the encoder thread waits (default 16). */
  maxOutputQueue?: number;
  /** Recoverable problems (a frame dropped, audio disabled); also in `stats().lastWarning`. */
  onWarning?: (warning: TrickleError) => void;
}

/** One piece of MPEG-TS output. */
export type EncodedChunk =
  /** Bytes of segment `segmentIndex`; `segmentStart` on its first chunk (PAT/PMT, then the IDR). */
  | { type: 'chunk'; segmentIndex: number; data: Buffer; segmentStart: boolean }
  /** Every byte of segment `segmentIndex` has been delivered. */
  | { type: 'segmentEnd'; segmentIndex: number };

/** One standalone MPEG-TS segment (starts with PAT/PMT and an IDR), streamed while produced. */
export interface EncodedSegment {
  index: number;
  /** The segment's bytes as they are produced; finishes at the segment's end. Iterate once. */
  chunks(): AsyncIterableIterator<Buffer>;
}

export type EncoderStats = NativeEncoderStats;
export type EncoderState = 'running' | 'draining' | 'ended' | 'closed' | 'errored';

function checkNumber(what: string, value: unknown, min: number, max: number, integer: boolean): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    throw invalidArg(what, `${integer ? 'an integer' : 'a number'} from ${min} to ${max}`, value);
  }
}

/**
 * H.264 encoder + MPEG-TS segmenter on its own native thread. Frames go in (`encode`), MPEG-TS comes
 * out as it is produced, cut into standalone segments at keyframes (forced every `gopSeconds` of
 * media time and on the first frame; x264 scene-cut keyframes are off). Output timestamps are the
 * input pts (rescaled to 90 kHz); a frame whose pts would not move forward is re-timed one frame
 * after the previous one (`stats().retimed`), so output never goes backwards.
 *
 * Defaults follow pytrickle: libx264 superfast, tune zerolatency, no B-frames, High profile, GOP 2 s.
 * Audio is passed through (remuxed without re-encoding) by default; it joins at the first segment
 * that starts after its first packet arrives.
 *
 * Lifecycle: running → `end()` (draining: the rest is encoded, the last segment finished) → ended;
 * `close()` = end and wait; `destroy(err)` aborts now.
 *
 * @example
 * const encoder = new Encoder({ gopSeconds: 2 });
 * (async () => { for await (const item of decoder.frames()) if (item.type === 'video') { await encoder.encode(item.frame); item.frame.close(); } encoder.end(); })();
 * for await (const segment of encoder.segments()) {
 *   for await (const bytes of segment.chunks()) publisher.write(segment.index, bytes);
 * }
 */
export class Encoder implements AsyncDisposable {
  readonly #native: NativeEncoder;
  readonly #core = new PipelineCore<EncodedChunk>('encoder', (n) => this.#native.ack(n));
  readonly #onWarning: ((w: TrickleError) => void) | undefined;
  #discard = false;

  constructor(options: EncoderOptions = {}) {
    if (options === null || typeof options !== 'object') throw invalidArg('options', 'an object', options);
    const encoder = options.encoder ?? 'libx264';
    if (!['libx264', 'h264_nvenc', 'auto'].includes(encoder)) throw invalidArg('encoder', "'libx264', 'h264_nvenc' or 'auto'", encoder);
    const audio = options.audio ?? 'passthrough';
    if (!['passthrough', 'aac', 'opus', 'none'].includes(audio)) throw invalidArg('audio', "'passthrough', 'aac', 'opus' or 'none'", audio);
    const profile = options.profile ?? 'high';
    if (!['baseline', 'main', 'high'].includes(profile)) throw invalidArg('profile', "'baseline', 'main' or 'high'", profile);
    if ((options.width === undefined) !== (options.height === undefined)) {
      throw invalidArg('width/height', 'both or neither', { width: options.width, height: options.height });
    }
    checkNumber('width', options.width, 16, 8192, true);
    checkNumber('height', options.height, 16, 8192, true);
    if ((options.width ?? 0) % 2 || (options.height ?? 0) % 2) {
      throw invalidArg('width/height', 'even numbers (H.264 4:2:0)', { width: options.width, height: options.height });
    }
    checkNumber('bitrate', options.bitrate, 10_000, 500_000_000, true);
    checkNumber('gopSeconds', options.gopSeconds, 0.05, 60, false);
    checkNumber('fps', options.fps, 1, 240, false);
    checkNumber('threads', options.threads, 1, 64, true);
    checkNumber('audioBitrate', options.audioBitrate, 8000, 1_000_000, true);
    checkNumber('maxQueue', options.maxQueue, 1, 1024, true);
    checkNumber('maxOutputQueue', options.maxOutputQueue, 1, 1024, true);
    for (const key of ['preset', 'tune'] as const) {
      const v = options[key];
      if (v !== undefined && (typeof v !== 'string' || !/^[a-z0-9]*$/.test(v))) throw invalidArg(key, 'a preset/tune name', v);
    }
    if (options.onWarning !== undefined && typeof options.onWarning !== 'function') throw invalidArg('onWarning', 'a function', options.onWarning);
    this.#onWarning = options.onWarning;
    const addon = native();
    this.#native = callNativeSync(
      () =>
        new addon.Encoder(
          {
            encoder,
            audio,
            profile,
            preset: options.preset ?? 'superfast',
            tune: options.tune ?? 'zerolatency',
            gopSeconds: options.gopSeconds ?? 2,
            fps: options.fps ?? 30,
            ...(options.width !== undefined ? { width: options.width, height: options.height } : {}),
            ...(options.bitrate !== undefined ? { bitrate: options.bitrate } : {}),
            ...(options.threads !== undefined ? { threads: options.threads } : {}),
            ...(options.audioBitrate !== undefined ? { audioBitrate: options.audioBitrate } : {}),
            maxQueue: options.maxQueue ?? 16,
            maxOutputQueue: options.maxOutputQueue ?? 16,
          },
          (kind: string, a?: unknown, b?: unknown, c?: unknown) => this.#onEvent(kind, a, b, c),
        ),
    );
  }

  get state(): EncoderState {
    return this.#core.state;
  }

  /**
   * Queues a video frame (the encoder takes its own reference: the caller may close the frame as soon
   * as this returns). Resolves when the input queue has room. Throws `ERR_FRAME_CLOSED` for a closed
   * frame and `ERR_CLOSED` after `end()`/`close()`.
   */
  async encode(frame: VideoFrame): Promise<void> {
    if (!(frame instanceof VideoFrame)) throw invalidArg('frame', 'a VideoFrame', frame);
    await this.#submit(() => this.#native.encodeVideo(videoFrameHandle(frame)));
  }

  /** Queues decoded audio to encode (`audio: 'aac' | 'opus'`; ignored otherwise). */
  async encodeAudio(frame: AudioFrame): Promise<void> {
    if (!(frame instanceof AudioFrame)) throw invalidArg('frame', 'an AudioFrame', frame);
    await this.#submit(() => this.#native.encodeAudio(audioFrameHandle(frame)));
  }

  /** Queues a compressed audio packet from a Decoder (`audio: 'passthrough'`; ignored otherwise). */
  async writeAudioPacket(packet: AudioPacket): Promise<void> {
    if (packet === null || typeof packet !== 'object') throw invalidArg('packet', 'an audio packet from a Decoder', packet);
    await this.#submit(() => this.#native.writeAudioPacket(packet));
  }

  /** No more input: encode what is queued, flush, finish the last segment. */
  end(): void {
    if (this.#core.state !== 'running') return;
    this.#core.state = 'draining';
    this.#native.end();
  }

  /**
   * Output in order: chunks of each segment and a `segmentEnd` marker after each. One iterator at a
   * time (shared with `segments()`). Breaking out destroys the encoder; an aborted `signal` destroys
   * it with `ERR_ABORTED`.
   */
  chunks(options: { signal?: AbortSignal } = {}): AsyncIterableIterator<EncodedChunk> {
    const { take, done } = this.#consumer(options.signal);
    const iterator: AsyncIterableIterator<EncodedChunk> = {
      next: async () => {
        const item = await take();
        return item === undefined ? { value: undefined, done: true } : { value: item, done: false };
      },
      return: async () => {
        done();
        this.destroy();
        return { value: undefined, done: true };
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  /**
   * Output as segments, each a standalone MPEG-TS (one trickle segment), each an async iterable of
   * its chunks, streamed while the segment is produced. Moving to the next segment skips what the
   * consumer did not read of the previous one.
   */
  segments(options: { signal?: AbortSignal } = {}): AsyncIterableIterator<EncodedSegment> {
    const { take, done } = this.#consumer(options.signal);
    let pending: EncodedChunk | undefined; // first chunk of the next segment, read ahead
    let current: { index: number; ended: boolean } | undefined;
    const skipRest = async (): Promise<void> => {
      while (current && !current.ended) {
        const item = await take();
        if (item === undefined) return;
        if (item.type === 'segmentEnd' && item.segmentIndex === current.index) current.ended = true;
        else if (item.type === 'chunk' && item.segmentStart && item.segmentIndex !== current.index) {
          pending = item;
          current.ended = true;
        }
      }
    };
    const iterator: AsyncIterableIterator<EncodedSegment> = {
      next: async () => {
        await skipRest();
        let first = pending;
        pending = undefined;
        while (!first || first.type !== 'chunk' || !first.segmentStart) {
          first = await take();
          if (first === undefined) return { value: undefined, done: true };
        }
        const seg = { index: first.segmentIndex, ended: false };
        current = seg;
        let head: Buffer | undefined = first.data;
        let used = false;
        const segment: EncodedSegment = {
          index: seg.index,
          chunks: () => {
            if (used) throw new TrickleError(ErrorCodes.ERR_INVALID_ARG, 'a segment can be iterated once');
            used = true;
            const inner: AsyncIterableIterator<Buffer> = {
              next: async () => {
                if (head) {
                  const value = head;
                  head = undefined;
                  return { value, done: false };
                }
                if (seg.ended || current !== seg) return { value: undefined, done: true };
                const item = await take();
                if (item === undefined) {
                  seg.ended = true;
                  return { value: undefined, done: true };
                }
                if (item.type === 'segmentEnd') {
                  seg.ended = true;
                  return { value: undefined, done: true };
                }
                if (item.segmentStart) {
                  pending = item; // defensive: a new segment without an end marker
                  seg.ended = true;
                  return { value: undefined, done: true };
                }
                return { value: item.data, done: false };
              },
              [Symbol.asyncIterator]: () => inner,
            };
            return inner;
          },
        };
        return { value: segment, done: false };
      },
      return: async () => {
        done();
        this.destroy();
        return { value: undefined, done: true };
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  stats(): EncoderStats {
    return this.#native.stats();
  }

  /** Resolves once the native thread has finished. */
  get finished(): Promise<void> {
    return this.#core.finished;
  }

  /**
   * Ends the input and resolves when the last segment is out. Output nobody is iterating is
   * discarded so that close() cannot wait forever on a missing consumer.
   */
  async close(): Promise<void> {
    this.end();
    if (!this.#core.iterating) this.#startDiscarding();
    await this.#core.finished;
    if (this.#core.error && this.#core.state === 'errored') throw this.#core.error;
  }

  /** Aborts now: queued frames are released, iterators fail with `err` (or finish without one). */
  destroy(err?: Error): void {
    if (!this.#core.halt(err)) return;
    this.#native.cancel();
    this.#startDiscarding();
    this.#core.queue.finish(this.#core.error);
    this.#core.settleWriters();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#core.active) this.destroy();
    await this.#core.finished;
  }

  #consumer(signal?: AbortSignal): { take: () => Promise<EncodedChunk | undefined>; done: () => void } {
    return this.#core.consumer(signal, 'the encoder output is already being iterated', (err) => this.destroy(err));
  }

  /**
   * Hands one input to the native queue once the encoder is known to be open (so a closed encoder
   * reports ERR_CLOSED before a closed frame reports ERR_FRAME_CLOSED); waits while the queue is full.
   */
  async #submit(queue: () => boolean): Promise<void> {
    if (this.#core.state !== 'running') {
      throw this.#core.error ?? new TrickleError(ErrorCodes.ERR_CLOSED, `cannot encode: the encoder is ${this.#core.state}`);
    }
    if (callNativeSync(queue)) return;
    await this.#core.waitWritable();
  }

  #startDiscarding(): void {
    this.#discard = true;
    const n = this.#core.queue.drain().length;
    if (n > 0) this.#native.ack(n);
  }

  #onEvent(kind: string, a: unknown, b: unknown, c: unknown): void {
    switch (kind) {
      case 'chunk':
      case 'segmentEnd': {
        const item: EncodedChunk =
          kind === 'chunk'
            ? { type: 'chunk', data: a as Buffer, segmentIndex: b as number, segmentStart: c as boolean }
            : { type: 'segmentEnd', segmentIndex: b as number };
        if (this.#discard) this.#native.ack(1);
        else this.#core.queue.push(item);
        break;
      }
      case 'writable':
        this.#core.settleWriters();
        break;
      case 'warning':
        if (this.#onWarning) this.#onWarning(fromNativeError(a));
        break;
      case 'end':
        this.#core.onEnd(a);
        break;
      default:
        break;
    }
  }
}
