import { open } from 'node:fs/promises';

import { ErrorCodes, invalidArg, TrickleError } from '../errors';
import {
  native,
  type NativeAudioFrame,
  type NativeAudioPacket,
  type NativeDecoder,
  type NativeDecoderStats,
  type NativeVideoFrame,
} from '../native/addon';
import { AudioFrame, audioFrameFromHandle } from './audio-frame';
import { callNativeSync } from '../native/call';
import { PipelineCore } from './pipeline-core';
import { VideoFrame, videoFrameFromHandle } from './video-frame';

/** Where decoded video lives: NVDEC into CUDA memory, or software into host memory. */
export type DecoderDevice = 'auto' | 'cpu' | `cuda:${number}`;

export interface DecoderOptions {
  /**
   * `'auto'` (default): NVDEC with frames kept in CUDA memory when an NVIDIA driver with NVDEC is
   * present and this build's CUDA kernels can run there (driver new enough), on the GPU with the
   * fewest live NVDEC decoders; software decoding otherwise, with the reason in
   * `stats().hardwareFallbackReason`. `'cpu'`: always software. `'cuda:N'`: NVDEC on device N, never
   * a silent software fallback: the constructor throws `ERR_NVDEC_UNAVAILABLE` when it is not there,
   * and a stream NVDEC cannot take ends with `ERR_NVDEC_UNAVAILABLE`. Video that is not 8-bit 4:2:0
   * ends at its first frame with `ERR_UNSUPPORTED_FORMAT`.
   */
  device?: DecoderDevice;
  /** Decoded items (frames, packets) delivered ahead of the consumer. Default 4. */
  maxQueue?: number;
  /** Video frames alive at once, including those the consumer still holds. Default 8. */
  poolSize?: number;
  /** Input bytes buffered before `push()` waits. Default 4 MiB. */
  maxBufferedBytes?: number;
  /**
   * `'frames'` (default): decoded AudioFrames; `'packets'`: compressed packets for
   * `Encoder.writeAudioPacket` (passthrough without re-encoding); `'both'`; `'none'`.
   */
  audio?: 'frames' | 'packets' | 'both' | 'none';
  /** Decode video (default true). */
  video?: boolean;
  /** Container short name, e.g. `'mpegts'`; default: probed from the bytes. */
  format?: string;
  /** Software decoder threads; default min(4, cores / decoders alive in the process), at least 1. */
  threads?: number;
  /**
   * Age bound of the input backlog, in milliseconds (default 0: none). Applies to MPEG-TS input
   * with H.264/HEVC video (the live demuxer path). When the oldest video frame not yet decoded has
   * waited longer than this since its bytes were pushed, the decoder skips the video it holds up to
   * the newest keyframe among it, or, with no keyframe held and once the oldest waited 4 times this,
   * all of it and what follows up to the next keyframe. Audio is never skipped. Counted in `stats().backlogSkippedFrames`.
   */
  maxBacklogMs?: number;
}

/** A compressed audio packet of the input (opaque), for `Encoder.writeAudioPacket`. */
export type AudioPacket = NativeAudioPacket;

export type DecodedItem =
  | { type: 'video'; frame: VideoFrame }
  | { type: 'audio'; frame: AudioFrame }
  | { type: 'audioPacket'; packet: AudioPacket };

export type DecoderStats = NativeDecoderStats;

/** idle is never observed: a Decoder starts running when constructed. */
export type DecoderState = 'running' | 'draining' | 'ended' | 'closed' | 'errored';

/** Anything `Decoder.from` accepts as input. */
export type DecoderSource = Uint8Array | string | AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

const DEVICE_RE = /^(auto|cpu|cuda:\d{1,3})$/;

function positiveInt(what: string, value: unknown, fallback: number, max = 2 ** 31 - 1): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw invalidArg(what, `an integer from 1 to ${max}`, value);
  }
  return value;
}

/**
 * A streaming demuxer + decoder on its own native thread. Bytes go in as they arrive (a continuous
 * MPEG-TS stream across trickle segments, or any streamable container); video frames, audio frames
 * and, on request, compressed audio packets come out through `frames()`.
 *
 * Backpressure both ways: `push()` resolves once the bytes fit in the bounded input buffer, and the
 * decode thread waits while `maxQueue` items are undelivered or `poolSize` frames are alive.
 *
 * Lifecycle: running → (after `end()`) draining → ended; `close()` stops now and releases every
 * undelivered frame (→ closed); `destroy(err)` does the same and fails the iterator with `err`
 * (→ errored). A corrupt container start fails with `ERR_DEMUX`; corrupt packets later on are
 * counted in `stats().decodeErrors` and decoding resumes at the next keyframe.
 *
 * @example
 * const decoder = new Decoder({ device: 'auto' });
 * subscriber.on('data', (bytes) => decoder.push(bytes));      // or: await decoder.push(bytes)
 * for await (const item of decoder.frames({ signal })) {
 *   if (item.type === 'video') { using frame = item.frame; console.log(frame.width, frame.pts); }
 *   else if (item.type === 'audio') item.frame.close();
 * }
 */
export class Decoder implements AsyncDisposable {
  readonly #native: NativeDecoder;
  readonly #core = new PipelineCore<DecodedItem>('decoder', (n) => this.#native.ack(n));
  #discard = false;

  constructor(options: DecoderOptions = {}) {
    if (options === null || typeof options !== 'object') throw invalidArg('options', 'an object', options);
    const device = options.device ?? 'auto';
    if (typeof device !== 'string' || !DEVICE_RE.test(device)) {
      throw invalidArg('device', "'auto', 'cpu' or 'cuda:N'", device);
    }
    const audio = options.audio ?? 'frames';
    if (!['frames', 'packets', 'both', 'none'].includes(audio)) {
      throw invalidArg('audio', "'frames', 'packets', 'both' or 'none'", audio);
    }
    if (options.video !== undefined && typeof options.video !== 'boolean') throw invalidArg('video', 'a boolean', options.video);
    if (options.format !== undefined && (typeof options.format !== 'string' || !/^[a-z0-9_,]+$/.test(options.format))) {
      throw invalidArg('format', 'a container short name such as "mpegts"', options.format);
    }
    const maxQueue = positiveInt('maxQueue', options.maxQueue, 4, 1024);
    const poolSize = positiveInt('poolSize', options.poolSize, 8, 1024);
    const maxBufferedBytes = positiveInt('maxBufferedBytes', options.maxBufferedBytes, 4 * 1024 * 1024, 1 << 30);
    const threads = options.threads === undefined ? 0 : positiveInt('threads', options.threads, 0, 64);
    const maxBacklogMs = options.maxBacklogMs ?? 0;
    if (typeof maxBacklogMs !== 'number' || !Number.isFinite(maxBacklogMs) || maxBacklogMs < 0) {
      throw invalidArg('maxBacklogMs', 'a number of milliseconds >= 0', options.maxBacklogMs);
    }
    const addon = native();
    this.#native = callNativeSync(
      () =>
        new addon.Decoder(
          {
            device,
            maxQueue,
            poolSize,
            maxBufferedBytes,
            threads,
            maxBacklogMs,
            video: options.video ?? true,
            audioFrames: audio === 'frames' || audio === 'both',
            audioPackets: audio === 'packets' || audio === 'both',
            ...(options.format !== undefined ? { format: options.format } : {}),
          },
          (kind, payload) => this.#onEvent(kind, payload),
        ),
    );
  }

  /**
   * A decoder fed from `source` in the background: a Buffer, a file path, or an (async) iterable of
   * Buffers. Iterate `frames()` to consume; a failure to read the source destroys the decoder with it.
   *
   * @example
   * for await (const item of Decoder.from('clip.ts', { device: 'cpu' }).frames()) { ... }
   */
  static from(source: DecoderSource, options: DecoderOptions = {}): Decoder {
    const isBytes = source instanceof Uint8Array;
    const isIterable =
      !isBytes &&
      typeof source === 'object' &&
      source !== null &&
      (Symbol.asyncIterator in source || Symbol.iterator in source);
    if (!isBytes && typeof source !== 'string' && !isIterable) {
      throw invalidArg('source', 'a Buffer, a file path or an iterable of Buffers', source);
    }
    const decoder = new Decoder(options);
    void decoder.#feed(source);
    return decoder;
  }

  async #feed(source: DecoderSource): Promise<void> {
    try {
      if (source instanceof Uint8Array) {
        // Chunked so that the bounded input buffer applies to big Buffers too.
        const step = 256 * 1024;
        for (let i = 0; i < source.length && this.#acceptsInput(); i += step) {
          await this.push(source.subarray(i, Math.min(source.length, i + step)));
        }
      } else if (typeof source === 'string') {
        const fh = await open(source, 'r');
        try {
          for await (const chunk of fh.createReadStream({ highWaterMark: 256 * 1024 })) {
            if (!this.#acceptsInput()) break;
            await this.push(chunk as Buffer);
          }
        } finally {
          await fh.close();
        }
      } else {
        for await (const chunk of source as AsyncIterable<Uint8Array>) {
          if (!this.#acceptsInput()) break;
          await this.push(chunk);
        }
      }
      if (this.#acceptsInput()) this.end();
    } catch (err) {
      if (this.#core.state === 'running') {
        this.destroy(err instanceof TrickleError ? err : new TrickleError(ErrorCodes.ERR_DEMUX, `reading the decoder input failed: ${String(err)}`, { cause: err }));
      }
    }
  }

  #acceptsInput(): boolean {
    return this.#core.state === 'running';
  }

  get state(): DecoderState {
    return this.#core.state;
  }

  /**
   * Appends bytes of the input stream (copied; the Buffer may be reused afterwards). Resolves when
   * the input buffer has room again. Rejects with `ERR_CLOSED` after `end()`, `close()` or an error.
   */
  async push(data: Uint8Array): Promise<void> {
    if (!(data instanceof Uint8Array)) throw invalidArg('data', 'a Buffer or Uint8Array', data);
    if (!this.#acceptsInput()) {
      throw this.#core.error ?? new TrickleError(ErrorCodes.ERR_CLOSED, `cannot push to a decoder that is ${this.#core.state}`);
    }
    if (data.length === 0) return;
    if (this.#native.push(data)) return;
    await this.#core.waitWritable();
  }

  /** No more input: the decoder flushes, delivers its last frames and the iterator finishes. */
  end(): void {
    if (this.#core.state !== 'running') return;
    this.#core.state = 'draining';
    this.#native.end();
  }

  /**
   * Decoded items in order. One iterator at a time. Breaking out of the loop closes the decoder;
   * an aborted `signal` destroys it with `ERR_ABORTED`. Frames are owned by the consumer: close them
   * (or `using`) when done, or the decoder stalls once `poolSize` frames are held.
   */
  frames(options: { signal?: AbortSignal } = {}): AsyncIterableIterator<DecodedItem> {
    const { take, done } = this.#core.consumer(options.signal, 'frames() is already being iterated', (err) => this.destroy(err));
    const iterator: AsyncIterableIterator<DecodedItem> = {
      next: async () => {
        const item = await take();
        return item === undefined ? { value: undefined, done: true } : { value: item, done: false };
      },
      return: async () => {
        done();
        await this.close();
        return { value: undefined, done: true };
      },
      [Symbol.asyncIterator]() {
        return iterator;
      },
    };
    return iterator;
  }

  /** Counters (frames, errors, resets, decode time) and the frame pool's state. */
  stats(): DecoderStats {
    return this.#native.stats();
  }

  /** Resolves once the native thread has finished (ended, closed or errored). */
  get finished(): Promise<void> {
    return this.#core.finished;
  }

  /** Stops decoding now, releases undelivered frames, resolves when the native thread is done. */
  async close(): Promise<void> {
    if (this.#core.halt()) {
      this.#stop();
      this.#core.queue.finish();
    }
    await this.#core.finished;
  }

  /** Aborts now; the iterator (and pending pushes) fail with `err` when given. */
  destroy(err?: Error): void {
    if (!this.#core.halt(err)) return;
    this.#stop();
    this.#core.queue.finish(this.#core.error);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #stop(): void {
    this.#discard = true;
    this.#native.cancel();
    for (const item of this.#core.queue.drain()) release(item);
    this.#core.settleWriters();
  }

  #onEvent(kind: string, payload: unknown): void {
    switch (kind) {
      case 'video':
      case 'audio':
      case 'audioPacket': {
        const item: DecodedItem =
          kind === 'video'
            ? { type: 'video', frame: videoFrameFromHandle(payload as NativeVideoFrame) }
            : kind === 'audio'
              ? { type: 'audio', frame: audioFrameFromHandle(payload as NativeAudioFrame) }
              : { type: 'audioPacket', packet: payload as NativeAudioPacket };
        if (this.#discard) {
          release(item);
          this.#native.ack(1);
        } else {
          this.#core.queue.push(item);
        }
        break;
      }
      case 'writable':
        this.#core.settleWriters();
        break;
      case 'end':
        this.#core.onEnd(payload);
        break;
      default:
        break;
    }
  }
}

function release(item: DecodedItem): void {
  if (item.type === 'video' || item.type === 'audio') item.frame.close();
}
