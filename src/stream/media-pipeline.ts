/**
 * The media path of one stream:
 *
 *   subscriber → decoder → frame-rate gate (max_framerate, media time) → latest-wins queue →
 *   input resize (params width×height, scale + centre crop) → processor → encoder → publisher
 *
 * Four cooperating loops on the JS thread, all waiting on promises (no polling): input (trickle GET
 * bytes into the decoder, with the stall timer), decode (gate + queue), process (processor +
 * encoder), output (encoder segments into trickle POSTs). The decoder and encoder run on their own
 * native threads; their bounded queues are the backpressure.
 *
 * Frame ownership: every frame taken from the decoder is closed exactly once here: when gated,
 * dropped by the queue, after processing (the encoder holds its own reference), or at shutdown.
 *
 * End: input EOS → decoder drains → queue drains → encoder flushes its last segment → output
 * channel closed with DELETE (downstream sees EOS). `stop()` cuts the input and does the same,
 * bounded by `timings.drainMs`.
 */
import { ErrorCodes, TrickleError } from '../errors';
import { resolveAudioMode, type ClosableFrame } from '../processor/frame-processor';
import { mediaSettings } from '../params';
import type { StreamEnd } from './stream-handle';
import { FrameRateGate } from './frame-rate-gate';
import { LatestQueue } from './latest-queue';
import type { MediaPipeline, MediaPipelineContext, MediaPipelineFactory } from './stream-session';
import { delay } from '../util';
import type { ChannelPublisher, OutageHandling } from './transport';

/** The frame shape the pipeline relies on (the native VideoFrame). */
export interface PipelineVideoFrame extends ClosableFrame {
  readonly width: number;
  readonly height: number;
  readonly pts: number | null;
  readonly timeBase: [number, number];
}

export type PipelineDecodedItem<V, A> =
  | { type: 'video'; frame: V }
  | { type: 'audio'; frame: A }
  | { type: 'audioPacket'; packet: unknown };

/** The decoder shape the pipeline relies on (src/media/decoder.ts). */
export interface PipelineDecoder<V, A> {
  push(data: Uint8Array): Promise<void>;
  end(): void;
  frames(options: { signal?: AbortSignal }): AsyncIterable<PipelineDecodedItem<V, A>>;
  close(): Promise<void>;
  /** `audioCodec` / `videoCodec` are non-null once the demuxer found such a stream (null: none); `frameRate` once the video's is known (0: unknown). */
  stats(): {
    decodeErrors?: number;
    audioCodec?: string | null;
    videoCodec?: string | null;
    frameRate?: number;
    decodeMs?: number;
    videoFrames?: number;
    /** Input frames skipped undecoded by the backlog bound (cumulative). */
    backlogSkippedFrames?: number;
  };
}

/** The encoder shape the pipeline relies on (src/media/encoder.ts). */
export interface PipelineEncoder<V, A> {
  encode(frame: V): Promise<void>;
  encodeAudio(frame: A): Promise<void>;
  writeAudioPacket(packet: unknown): Promise<void>;
  end(): void;
  segments(options: { signal?: AbortSignal }): AsyncIterable<{ index: number; chunks(): AsyncIterable<Uint8Array> }>;
  destroy(err?: Error): void;
  /** Time spent in the native encoder (for the stage stats). */
  stats?(): { encodeMs?: number; muxMs?: number; framesEncoded?: number };
}

/** How the pipeline makes decoders, encoders and resized input frames. */
export interface MediaBackend<V extends PipelineVideoFrame, A extends ClosableFrame> {
  createDecoder(options: {
    audio: 'frames' | 'packets' | 'none';
    /** Input backlog bound (ms): older undecoded input is skipped up to a keyframe; 0: none. */
    maxBacklogMs: number;
  }): PipelineDecoder<V, A>;
  createEncoder(options: {
    width: number;
    height: number;
    audio: 'passthrough' | 'aac' | 'none';
    /** The output frame rate (rate control and the rate the output declares). */
    fps: number;
    /** The stream's `bitrate`: bits/s, 'quality' (constant quality), or null: the backend's default. */
    bitrate: number | 'quality' | null;
  }): PipelineEncoder<V, A>;
  /** Scales `frame` to cover width×height and centre-crops it (pytrickle's input transform). A new frame. */
  resize(frame: V, width: number, height: number): Promise<V>;
}

export interface MediaPipelineOptions {
  /** Latest-wins queue between decoder and processor (default 2 frames). */
  queueSize?: number;
  /**
   * Age bound of that queue in milliseconds: a frame that waited longer is dropped when a newer
   * one is there (counted as `framesStale`, reported in a `frames_dropped` event). Default: two
   * frame intervals of the stream's `max_framerate`, at least 50 ms.
   */
  maxQueueAgeMs?: number;
  /**
   * Age bound of the input backlog in milliseconds: the bytes waiting for the decoder. When the
   * oldest frame not yet decoded has waited longer (the decoder fell behind: CPU overload), the
   * decoder skips ahead to the newest keyframe it holds, or, holding none and once the oldest
   * waited 4 times the bound, drops what it holds and what follows up to the next keyframe; audio
   * is kept. Skipped frames are counted as `framesSkipped` and reported
   * in a `frames_dropped` event (reason `input_backlog`). 0 turns the bound off (the backlog then
   * grows up to the decoder's byte buffer). Default: eight frame intervals of the stream's
   * `max_framerate`, at least 300 ms. Applies to MPEG-TS input with H.264/HEVC video (the live path).
   */
  maxInputBacklogMs?: number;
  /**
   * How often the decoder or the encoder may be replaced after a native failure (an error that is
   * not the input's fault: {@link isRestartableFailure}) before the stream ends with that error.
   * Default: 3 restarts in any 60 s window, decoder and encoder together.
   */
  restarts?: { limit?: number; windowMs?: number };
}

/** Codes of failures inside the native media code that a fresh decoder or encoder may not repeat. */
const RESTARTABLE_CODES: ReadonlySet<string> = new Set([
  ErrorCodes.ERR_NATIVE,
  ErrorCodes.ERR_OUT_OF_MEMORY,
  ErrorCodes.ERR_CUDA,
  ErrorCodes.ERR_ENCODE,
  ErrorCodes.ERR_POOL_EXHAUSTED,
  ErrorCodes.ERR_NVENC_UNAVAILABLE,
  ErrorCodes.ERR_NVDEC_UNAVAILABLE,
]);

/**
 * A decoder/encoder error worth a restart: a native failure (out of memory, CUDA, NVENC/NVDEC, an
 * encoder error). Bad input (ERR_DEMUX, ERR_DECODE, ERR_UNSUPPORTED_FORMAT, no video), closes and
 * aborts are not: a new decoder would fail the same way on the same bytes.
 */
export function isRestartableFailure(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && RESTARTABLE_CODES.has(code);
}

/** A sliding-window budget: at most `limit` uses in any `windowMs`. */
class RestartBudget {
  private readonly times: number[] = [];
  constructor(
    readonly limit: number,
    readonly windowMs: number,
  ) {}
  /** Takes one use if the window has room. */
  take(now = performance.now()): boolean {
    while (this.times.length > 0 && (this.times[0] as number) <= now - this.windowMs) this.times.shift();
    if (this.times.length >= this.limit) return false;
    this.times.push(now);
    return true;
  }
}

/** The default age bound of the frame queue: two frame intervals, at least 50 ms. */
export function defaultQueueAgeMs(maxFramerate: number): number {
  return Math.max(50, 2000 / maxFramerate);
}

/**
 * The default age bound of the input backlog: eight frame intervals, at least 300 ms. Longer than
 * the frame queue's: a skip costs every frame up to a keyframe, so short CPU stalls (a shared
 * machine) are left to the decoder to catch up on, and to the frame queue to drop single stale frames.
 */
export function defaultInputBacklogMs(maxFramerate: number): number {
  return Math.max(300, 8000 / maxFramerate);
}

interface Queued<V> {
  frame: V;
  decodedAt: number;
}

/** How often (in output frames) the native decode/encode times are sampled into the stage stats. */
const NATIVE_STATS_EVERY = 24;

/** An error from inside one input segment's body: the segment was cut short (network, publisher gone). */
function isCutSegment(err: unknown): boolean {
  return err instanceof TrickleError && err.code === ErrorCodes.ERR_TRICKLE_NETWORK;
}

/** What {@link StreamMediaPipeline.callProcessor} returns for a call past `processorTimeoutMs`. */
const TIMED_OUT = Symbol('timed out');

function errMessage(err: unknown): string {
  return (err as Error)?.message ?? String(err);
}

/**
 * A {@link MediaPipelineFactory} over a media backend.
 *
 * @example
 * createStreamSession({ request, processor, transport, media: createMediaPipeline(nativeMediaBackend()) });
 */
export function createMediaPipeline<V extends PipelineVideoFrame, A extends ClosableFrame>(
  backend: MediaBackend<V, A>,
  options: MediaPipelineOptions = {},
): MediaPipelineFactory {
  return (context) => new StreamMediaPipeline(context, backend, options);
}

class StreamMediaPipeline<V extends PipelineVideoFrame, A extends ClosableFrame> implements MediaPipeline {
  private readonly inputAbort = new AbortController();
  private readonly allAbort = new AbortController();
  private readonly gate: FrameRateGate;
  private readonly queue: LatestQueue<Queued<V>>;
  private decoder: PipelineDecoder<V, A> | undefined;
  private encoder: PipelineEncoder<V, A> | undefined;
  private encoderReady!: (enc: PipelineEncoder<V, A> | undefined) => void;
  private readonly encoderPromise: Promise<PipelineEncoder<V, A> | undefined>;
  private publisher: ChannelPublisher | undefined;
  private stallTimer: NodeJS.Timeout | undefined;
  private endReason: StreamEnd | undefined;
  private running: Promise<StreamEnd> | undefined;
  private pendingAudio: Array<{ packet: unknown } | { frame: A }> = [];
  /** The input ended (EOS, stall, abort): the stall timer is not re-armed any more. */
  private inputDone = false;
  private sawVideo = false;
  private readonly audioMode: 'passthrough' | 'process' | 'none';
  private framesSinceNativeStats = 0;
  private readonly maxInputBacklogMs: number | undefined;
  /** The decoder's skipped-frame count already reported, and when it was last read. */
  private backlogSkipsSeen = 0;
  private backlogCheckedAt = 0;
  private encoderOptions: Parameters<MediaBackend<V, A>['createEncoder']>[0] | undefined;
  private encoderEnded = false;
  private readonly restartBudget: RestartBudget;
  /** One restart decision per failed component, whichever loop saw the failure first. */
  private readonly restartDecisions = new WeakMap<object, Promise<boolean>>();
  /** Decode errors of decoders already replaced. */
  private decodeErrorsBefore = 0;
  /** Errors thrown by the output publisher (not the encoder's). */
  private readonly deliveryErrors = new WeakSet<object>();

  constructor(
    private readonly c: MediaPipelineContext,
    private readonly backend: MediaBackend<V, A>,
    options: MediaPipelineOptions,
  ) {
    this.gate = new FrameRateGate(mediaSettings(c.params()).maxFramerate);
    this.queue = new LatestQueue<Queued<V>>(
      options.queueSize ?? 2,
      (item, reason) => {
        item.frame.close();
        if (reason === 'stale') c.framesDropped('stale', 1);
        else c.stats.add('framesDropped');
      },
      { maxAgeMs: () => options.maxQueueAgeMs ?? defaultQueueAgeMs(mediaSettings(c.params()).maxFramerate) },
    );
    this.encoderPromise = new Promise((resolve) => {
      this.encoderReady = resolve;
    });
    this.audioMode = resolveAudioMode(c.processor);
    this.maxInputBacklogMs = options.maxInputBacklogMs;
    this.restartBudget = new RestartBudget(options.restarts?.limit ?? 3, options.restarts?.windowMs ?? 60_000);
    c.signal.addEventListener('abort', () => this.allAbort.abort(), { once: true });
  }

  run(): Promise<StreamEnd> {
    this.running ??= this.runInner();
    return this.running;
  }

  private async runInner(): Promise<StreamEnd> {
    const { request } = this.c;
    if (!request.subscribe_url) {
      // Nothing to decode: the stream lives until stopped (pytrickle's "no subscribe_url" mode).
      await new Promise<void>((resolve) => this.allAbort.signal.addEventListener('abort', () => resolve(), { once: true }));
      return this.endReason ?? { reason: 'stopped' };
    }
    this.decoder = this.createDecoder();
    const output = request.publish_url ? this.outputLoop(request.publish_url) : Promise.resolve();
    const input = this.inputLoop(request.subscribe_url);
    const decode = this.decodeLoop();
    const proc = this.processLoop();
    await Promise.allSettled([input, decode, proc]);
    // No more frames: flush the encoder (or release the output side when no frame ever came).
    this.encoderEnded = true;
    if (this.encoder) this.encoder.end();
    else this.encoderReady(undefined);
    for (const item of this.pendingAudio.splice(0)) if ('frame' in item) item.frame.close();
    await output;
    return this.endReason ?? { reason: 'input_ended' };
  }

  private createDecoder(): PipelineDecoder<V, A> {
    const decoderAudio = this.audioMode === 'process' ? 'frames' : this.audioMode === 'passthrough' ? 'packets' : 'none';
    const maxBacklogMs = this.maxInputBacklogMs ?? defaultInputBacklogMs(mediaSettings(this.c.params()).maxFramerate);
    return this.backend.createDecoder({ audio: decoderAudio, maxBacklogMs });
  }

  /**
   * (Re-)arms the input stall timer. It is re-armed by decoded frames, not by bytes: an input that
   * drips a byte a second never decodes a frame and stalls like one that sends nothing.
   */
  private armStallTimer(): void {
    // Not after the input was ended (a stall, a stop): a frame still draining must not re-arm it.
    if (this.inputDone || this.inputAbort.signal.aborted) return;
    // One timer for the stream, pushed back per frame (no new timer per frame).
    if (this.stallTimer) {
      this.stallTimer.refresh();
      return;
    }
    this.stallTimer = setTimeout(() => {
      this.c.stats.add('inputStalls');
      this.c.log.warn('input stalled', { stall_ms: this.c.timings.inputStallMs });
      this.c.reportError(`input stalled: no bytes for ${this.c.timings.inputStallMs} ms`);
      this.endReason ??= { reason: 'input_stalled' };
      this.inputAbort.abort();
    }, this.c.timings.inputStallMs);
  }

  private async inputLoop(url: string): Promise<void> {
    const signal = AbortSignal.any([this.inputAbort.signal, this.allAbort.signal]);
    let first = true;
    this.armStallTimer();
    this.stallTimer?.unref();
    const subscriber = this.c.transport.subscriber(url, { start: -2, signal, ...this.outageHandling('input') });
    try {
      for await (const segment of subscriber) {
        try {
          for await (const chunk of segment) {
            this.c.stats.add('bytesIn', chunk.byteLength);
            await this.pushToDecoder(chunk);
          }
        } catch (err) {
          // A segment cut short (its publisher went away mid-segment): what arrived was decoded,
          // the decoder resynchronises on the next one. Anything else ends the input.
          if (signal.aborted || !isCutSegment(err)) throw err;
          this.c.stats.add('segmentsCut');
          this.c.log.warn('input segment cut short', { err });
        }
        this.c.stats.add('segmentsIn');
        if (first) {
          first = false;
          this.c.onFirstInputSegment();
        }
      }
      if (first && subscriber.endReason === 'not-found' && !signal.aborted) {
        const error = `input channel not found: ${url} answered 404 (check subscribe_url, and that the gateway created the channel before /stream/start)`;
        this.c.log.warn('input channel not found', { subscribe_url: url });
        this.c.reportError(error);
        this.endReason ??= { reason: 'error', error };
      }
    } catch (err) {
      if (!signal.aborted) {
        this.c.log.warn('input subscription failed', { err });
        this.endReason ??= { reason: 'error', error: `input: ${errMessage(err)}` };
      }
    } finally {
      this.inputDone = true;
      clearTimeout(this.stallTimer);
      this.decoder?.end();
    }
  }

  /** Pushes input bytes into the current decoder; one that failed natively is replaced first (within the budget). */
  private async pushToDecoder(chunk: Uint8Array): Promise<void> {
    for (;;) {
      const decoder = this.decoder!;
      try {
        await decoder.push(chunk);
        return;
      } catch (err) {
        // After a restart the chunk that met the failure is not pushed again (its start may have
        // been decoded already): the new decoder begins with the next bytes.
        if (!(await this.restartDecoder(decoder, err))) throw err;
        return;
      }
    }
  }

  /**
   * Replaces `failed` with a new decoder when its error is a native failure, the input is still
   * open and the restart budget has room. Idempotent per decoder: the input and decode loops may
   * both see the same failure. The new decoder resynchronises at the next keyframe.
   */
  private restartDecoder(failed: PipelineDecoder<V, A>, err: unknown): Promise<boolean> {
    let decision = this.restartDecisions.get(failed);
    if (!decision) {
      decision = (async () => {
        if (this.decoder !== failed || this.inputDone || this.allAbort.signal.aborted || this.endReason) return false;
        if (!isRestartableFailure(err)) return false;
        if (!this.restartBudget.take()) return this.restartRefused('decoder', err);
        this.decodeErrorsBefore += failed.stats().decodeErrors ?? 0;
        this.checkBacklogSkips(true);
        try {
          // Replaced before the old one is closed: the decode loop that sees it end finds the new one.
          this.decoder = this.createDecoder();
          this.backlogSkipsSeen = 0;
        } catch (createErr) {
          this.c.log.warn('decoder could not be recreated', { err: createErr });
          return this.restartRefused('decoder', createErr);
        } finally {
          void failed.close().catch(() => undefined);
        }
        this.c.restarted('decoder', errMessage(err), { code: (err as { code?: string }).code, restarts_limit: this.restartBudget.limit, restarts_window_ms: this.restartBudget.windowMs });
        return true;
      })();
      this.restartDecisions.set(failed, decision);
    }
    return decision;
  }

  /** A restart that cannot happen (budget spent, or the new component failed too): the stream ends with the error. */
  private restartRefused(component: 'decoder' | 'encoder', err: unknown): false {
    const error = `${component === 'decoder' ? 'decode' : 'encode'}: ${errMessage(err)} (${this.restartBudget.limit} restarts in ${this.restartBudget.windowMs / 1000} s already used)`;
    if (!this.endReason) {
      this.c.log.error(`${component} failed again; ending the stream`, { err });
      this.c.reportError(`${component} failed: ${errMessage(err)}; restart limit reached, ending the stream`);
      this.endReason = { reason: 'error', error };
    }
    this.inputAbort.abort();
    return false;
  }

  /**
   * The media channels ride out outages up to `timings.outageMs`; each outage is told as a
   * `transport_outage` event when it begins and a `transport_recovered` event when it ends.
   */
  private outageHandling(channel: 'input' | 'output'): OutageHandling {
    return {
      outageMs: this.c.timings.outageMs,
      onOutage: ({ error }) => {
        this.c.log.warn('media channel unreachable; riding the outage out', { channel, error, limit_ms: this.c.timings.outageMs });
        this.c.ctx.sendEvent({ type: 'transport_outage', channel, error, limit_ms: this.c.timings.outageMs, timestamp: Date.now() }, 'ai_stream_events');
      },
      onRecovered: ({ outageMs, segmentsDropped }) => {
        this.c.log.info('media channel back', { channel, outage_ms: outageMs, segments_dropped: segmentsDropped });
        this.c.ctx.sendEvent({ type: 'transport_recovered', channel, outage_ms: outageMs, segments_dropped: segmentsDropped, timestamp: Date.now() }, 'ai_stream_events');
      },
    };
  }

  private async decodeLoop(): Promise<void> {
    const { stats } = this.c;
    let decoder = this.decoder!;
    try {
      for (;;) {
        try {
          await this.decodeFrom(decoder);
          // Its frames also end when the input loop replaced it after a failure.
          if (this.decoder === decoder) return;
          decoder = this.decoder!;
        } catch (err) {
          if (!(await this.restartDecoder(decoder, err))) throw err;
          decoder = this.decoder!;
        }
      }
    } catch (err) {
      // A decoder failing after the input already ended with a known cause (no channel, a stall)
      // only repeats it in other words.
      if (!this.allAbort.signal.aborted && !this.endReason) {
        this.c.log.warn('decoder failed', { err });
        this.c.reportError(`decode failed: ${errMessage(err)}`);
        this.endReason ??= { reason: 'error', error: `decode: ${errMessage(err)}` };
      }
    } finally {
      stats.add('decodeErrors', this.decodeErrorsBefore + (this.decoder?.stats().decodeErrors ?? 0));
      this.checkBacklogSkips(true);
      this.queue.close();
    }
  }

  /** Takes `decoder`'s frames into the gate and the queue until it ends (or throws its failure). */
  private async decodeFrom(decoder: PipelineDecoder<V, A>): Promise<void> {
    const { stats } = this.c;
    {
      for await (const item of decoder.frames({ signal: this.allAbort.signal })) {
        this.armStallTimer();
        this.checkBacklogSkips(false);
        if (item.type !== 'video' && !this.sawVideo && decoder.stats().videoCodec === null) {
          this.audioOnlyInput(item);
          continue;
        }
        if (item.type === 'video') {
          this.sawVideo = true;
          const frame = item.frame;
          stats.videoIn();
          const settings = mediaSettings(this.c.params());
          this.gate.setFps(settings.maxFramerate);
          const t = frame.pts === null ? performance.now() / 1000 : (frame.pts * frame.timeBase[0]) / frame.timeBase[1];
          if (!this.gate.accept(t)) {
            frame.close();
            stats.add('framesGated');
            continue;
          }
          this.queue.push({ frame, decodedAt: performance.now() });
        } else if (item.type === 'audio') {
          stats.audioIn();
          await this.handleAudio(item.frame);
        } else {
          stats.audioIn();
          await this.passAudioPacket(item.packet);
        }
      }
    }
  }

  /**
   * The input has audio but no video stream: there is nothing to process. Reported once (an
   * `error` event), and the stream ends with that error instead of holding its slot producing nothing.
   */
  private audioOnlyInput(item: PipelineDecodedItem<V, A>): void {
    if (item.type === 'audio') item.frame.close();
    if (this.endReason) return;
    const message = 'input has no video stream (audio only): nothing to process';
    this.c.reportError(message);
    this.endReason = { reason: 'error', error: message };
    this.inputAbort.abort();
  }

  /** Reports the frames the decoder skipped for its input backlog bound (read at most every 200 ms, and at the end). */
  private checkBacklogSkips(final: boolean): void {
    const t = performance.now();
    if (!final && t - this.backlogCheckedAt < 200) return;
    this.backlogCheckedAt = t;
    const skipped = this.decoder?.stats().backlogSkippedFrames ?? 0;
    if (skipped > this.backlogSkipsSeen) {
      this.c.framesDropped('input_backlog', skipped - this.backlogSkipsSeen);
      this.backlogSkipsSeen = skipped;
    }
  }

  private async passAudioPacket(packet: unknown): Promise<void> {
    if (!this.c.request.publish_url) return;
    await this.writeAudio({ packet });
  }

  /**
   * Audio that arrives before the encoder exists (it is created from the first output frame) waits
   * in a small buffer (oldest dropped, frames closed); afterwards it goes straight to the encoder.
   */
  private async writeAudio(item: { packet: unknown } | { frame: A }): Promise<void> {
    if (!this.encoder) {
      this.pendingAudio.push(item);
      if (this.pendingAudio.length > 200) {
        const old = this.pendingAudio.shift() as { frame?: A };
        old.frame?.close();
      }
      return;
    }
    try {
      if ('packet' in item) await this.encoder.writeAudioPacket(item.packet);
      else await this.encoder.encodeAudio(item.frame);
      this.c.stats.audioOut();
    } catch (err) {
      this.c.log.debug('audio dropped', { err });
    } finally {
      if ('frame' in item) item.frame.close();
    }
  }

  private async handleAudio(frame: A): Promise<void> {
    let outputs: A[] | null = null;
    try {
      const result = await this.callProcessor('processAudio', () => this.c.processor.processAudio(frame, this.c.ctx) as Promise<A[] | null>, (late) => {
        for (const out of late ?? []) if (out !== frame) out.close();
      });
      if (result === TIMED_OUT) {
        frame.close();
        return;
      }
      outputs = result;
    } catch (err) {
      this.c.stats.add('processorErrors');
      this.c.reportError(`processAudio failed: ${errMessage(err)}`);
    }
    let keptInput = false;
    for (const out of outputs ?? []) {
      if (out === frame) keptInput = true;
      if (this.c.request.publish_url) await this.writeAudio({ frame: out });
      else out.close();
    }
    if (!keptInput) frame.close();
  }

  /**
   * One processor call under the stream's deadlines. Past `processorDeadlineMs` it is reported (an
   * `error` event, status DEGRADED_INFERENCE while it stays pending, `processorDeadlineMisses`);
   * past `processorTimeoutMs` the stream ends with an error (its output is then flushed and closed)
   * and TIMED_OUT is returned. A call that settles after that has its result handed to `discard`.
   */
  private async callProcessor<T>(what: string, call: () => Promise<T>, discard: (late: T) => void): Promise<T | typeof TIMED_OUT> {
    const { timings, stats } = this.c;
    const pending = Promise.resolve().then(call);
    let overdue = false;
    let deadline: NodeJS.Timeout | undefined;
    let timeout: NodeJS.Timeout | undefined;
    const timedOut = new Promise<typeof TIMED_OUT>((resolve) => {
      deadline = setTimeout(() => {
        overdue = true;
        stats.processorCallsOverdue += 1;
        stats.add('processorDeadlineMisses');
        this.c.reportError(`${what} exceeded its ${timings.processorDeadlineMs} ms deadline`, {
          deadline_ms: timings.processorDeadlineMs,
          deadline_misses: stats.get('processorDeadlineMisses'),
        });
      }, timings.processorDeadlineMs);
      timeout = setTimeout(() => resolve(TIMED_OUT), timings.processorTimeoutMs);
    });
    try {
      const result = await Promise.race([pending, timedOut]);
      if (result === TIMED_OUT) {
        pending.then(discard, () => undefined);
        const message = `${what} did not settle within ${timings.processorTimeoutMs} ms`;
        this.c.log.error('processor call timed out; ending the stream', { what, timeout_ms: timings.processorTimeoutMs });
        this.c.reportError(message);
        this.endReason ??= { reason: 'error', error: message };
        this.inputAbort.abort();
      }
      return result;
    } finally {
      clearTimeout(deadline);
      clearTimeout(timeout);
      if (overdue) stats.processorCallsOverdue -= 1;
    }
  }

  private async prepare(frame: V): Promise<V> {
    if (this.c.processor.inputSize === 'native') return frame;
    const { width, height } = mediaSettings(this.c.params());
    if (frame.width === width && frame.height === height) return frame;
    const t0 = performance.now();
    const resized = await this.backend.resize(frame, width, height);
    this.c.stats.stage('resize', performance.now() - t0);
    frame.close();
    return resized;
  }

  private async processLoop(): Promise<void> {
    const { stats, processor, ctx } = this.c;
    for (;;) {
      const item = await this.queue.shift();
      if (!item) return;
      stats.stage('queue', performance.now() - item.decodedAt);
      let input: V | undefined = item.frame;
      let output: V | null = null;
      try {
        input = await this.prepare(item.frame);
        stats.add('framesProcessed');
        const prepared = input;
        const t0 = performance.now();
        const result = await this.callProcessor('processVideo', () => processor.processVideo(prepared, ctx) as Promise<V | null>, (late) => {
          if (late && late !== prepared) late.close();
        });
        if (result === TIMED_OUT) {
          input.close();
          if (input !== item.frame) item.frame.close();
          this.queue.clear();
          return;
        }
        stats.stage('processor', performance.now() - t0);
        output = result;
      } catch (err) {
        stats.add('processorErrors');
        this.c.reportError(`processVideo failed: ${errMessage(err)}`, { frames_failed: stats.get('processorErrors') });
        input.close();
        if (input !== item.frame) item.frame.close();
        continue;
      }
      if (output === null || output === undefined) {
        stats.add('framesNulled');
        input.close();
        continue;
      }
      try {
        await this.emit(output, item.decodedAt);
      } catch (err) {
        stats.add('encodeErrors');
        this.c.reportError(`encode failed: ${errMessage(err)}`);
      } finally {
        output.close();
        if (output !== input) input.close();
      }
    }
  }

  private async emit(frame: V, decodedAt: number): Promise<void> {
    if (!this.c.request.publish_url) {
      this.c.stats.videoOut(decodedAt);
      return;
    }
    if (!this.encoder) {
      // detect_out_resolution (default): the output size is the first processed frame's;
      // otherwise the stream's width×height. Later frames of another size are rescaled by the encoder.
      const settings = mediaSettings(this.c.params());
      const width = settings.detectOutResolution ? frame.width : settings.width;
      const height = settings.detectOutResolution ? frame.height : settings.height;
      const audio = this.audioMode === 'process' ? 'aac' : this.audioMode === 'passthrough' ? 'passthrough' : 'none';
      // The output declares the real frame rate: the input's (from its SPS), capped by max_framerate.
      const inputFps = this.decoder?.stats().frameRate ?? 0;
      const fps = inputFps > 0 ? Math.min(inputFps, settings.maxFramerate) : settings.maxFramerate;
      this.encoderOptions = { width, height, audio, fps, bitrate: settings.bitrate };
      this.encoder = this.backend.createEncoder(this.encoderOptions);
      this.c.setOutputSize(width, height);
      this.encoderReady(this.encoder);
      // Audio that came first goes in now. Audio that comes after the first frame is not waited
      // for: the encoder starts a new segment that declares it (nothing is lost).
      const pending = this.pendingAudio;
      this.pendingAudio = [];
      for (const item of pending) await this.writeAudio(item);
    }
    const t0 = performance.now();
    const encoder = this.encoder;
    try {
      await encoder.encode(frame);
    } catch (err) {
      // A native failure: the frame goes to the encoder that replaces this one.
      if (!(await this.restartEncoder(encoder, err))) throw err;
      await this.encoder.encode(frame);
    }
    this.c.stats.stage('encoderSubmit', performance.now() - t0);
    this.c.stats.videoOut(decodedAt);
    if (++this.framesSinceNativeStats >= NATIVE_STATS_EVERY) this.sampleNativeStages();
  }

  /** The native threads' per-frame decode and encode times (running averages), into the stage stats. */
  private sampleNativeStages(): void {
    this.framesSinceNativeStats = 0;
    const d = this.decoder?.stats();
    if (d?.decodeMs !== undefined && d.videoFrames) this.c.stats.stageAverage('decode', d.decodeMs / d.videoFrames, d.videoFrames);
    const e = this.encoder?.stats?.();
    if (e?.encodeMs !== undefined && e.framesEncoded) {
      this.c.stats.stageAverage('encode', (e.encodeMs + (e.muxMs ?? 0)) / e.framesEncoded, e.framesEncoded);
    }
  }

  /**
   * Replaces the encoder `failed` with a new one of the same settings when its error is a native
   * failure and the restart budget has room. Idempotent per encoder (the process and output loops
   * may both see the failure). The output goes on with the new encoder's segments.
   */
  private restartEncoder(failed: PipelineEncoder<V, A>, err: unknown): Promise<boolean> {
    let decision = this.restartDecisions.get(failed);
    if (!decision) {
      decision = (async () => {
        if (this.encoder !== failed || this.encoderEnded || this.allAbort.signal.aborted || !this.encoderOptions) return false;
        if (!isRestartableFailure(err)) return false;
        if (!this.restartBudget.take()) {
          failed.destroy();
          return this.restartRefused('encoder', err);
        }
        failed.destroy();
        try {
          this.encoder = this.backend.createEncoder(this.encoderOptions);
        } catch (createErr) {
          this.c.log.warn('encoder could not be recreated', { err: createErr });
          return this.restartRefused('encoder', createErr);
        }
        this.c.restarted('encoder', errMessage(err), { code: (err as { code?: string }).code, restarts_limit: this.restartBudget.limit, restarts_window_ms: this.restartBudget.windowMs });
        return true;
      })();
      this.restartDecisions.set(failed, decision);
    }
    return decision;
  }

  private async outputLoop(url: string): Promise<void> {
    let encoder = await this.encoderPromise;
    this.publisher = this.c.transport.publisher(url, { mimeType: 'video/MP2T', signal: this.allAbort.signal, ...this.outageHandling('output') });
    const publisher = this.publisher;
    let first = true;
    try {
      while (encoder) {
        const current = encoder;
        try {
          await this.publishSegments(current, publisher, () => {
            if (first) {
              first = false;
              this.c.onFirstOutputSegment();
            }
          });
          // Its segments also end when the process loop replaced it after a failure.
          encoder = this.encoder !== current ? this.encoder : undefined;
        } catch (err) {
          // The encoder failed natively: its replacement's segments follow on the same channel.
          if (this.deliveryErrors.has(err as object) || !(await this.restartEncoder(current, err))) throw err;
          encoder = this.encoder;
        }
      }
    } catch (err) {
      if (!this.allAbort.signal.aborted) {
        this.c.log.warn('output failed', { err });
        this.c.reportError(`output failed: ${errMessage(err)}`);
        this.endReason ??= { reason: 'error', error: `output: ${errMessage(err)}` };
        this.encoder?.destroy();
        // Stop taking input: there is nowhere to send it.
        this.inputAbort.abort();
      }
    } finally {
      // DELETE the output channel so downstream sees EOS (bounded: the output may not answer at all).
      await this.bounded(publisher.close(), this.c.timings.drainMs, 'output close');
    }
  }

  /** Publishes `encoder`'s segments, one trickle segment each, until it ends (or throws its failure). */
  private async publishSegments(encoder: PipelineEncoder<V, A>, publisher: ChannelPublisher, onFirstBytes: () => void): Promise<void> {
    for await (const segment of encoder.segments({ signal: this.allAbort.signal })) {
      const writer = await this.deliver(publisher.next(), `segment ${segment.index}`);
      try {
        for await (const chunk of segment.chunks()) {
          const t0 = performance.now();
          await this.deliver(writer.write(chunk), `segment ${segment.index}`);
          this.c.stats.stage('outputWrite', performance.now() - t0);
          this.c.stats.add('bytesOut', chunk.byteLength);
          onFirstBytes();
        }
      } catch (err) {
        // The encoder failed mid-segment: what it produced is sent; the next encoder starts a new segment.
        if (!this.deliveryErrors.has(err as object)) await this.bounded(writer.close(), this.c.timings.drainMs, 'cut segment close');
        throw err;
      }
      await this.deliver(writer.close(), `segment ${segment.index}`);
      this.c.stats.add('segmentsOut');
    }
  }

  /**
   * One step of delivering output, bounded by `timings.outputStallMs`: an output that accepts the
   * connection and never answers (or never reads) ends the stream with a clear error instead of
   * holding it, and its capacity slot, for good.
   */
  private async deliver<T>(step: Promise<T>, what: string): Promise<T> {
    const ms = this.c.timings.outputStallMs;
    let timer: NodeJS.Timeout | undefined;
    const stalled = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`output stalled: could not deliver ${what} within ${ms} ms`)), ms);
    });
    step.catch(() => undefined);
    try {
      return await Promise.race([step, stalled]);
    } catch (err) {
      if (err !== null && typeof err === 'object') this.deliveryErrors.add(err);
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Waits for a best-effort step at most `ms`; failures and overruns are logged, never thrown. */
  private async bounded(step: Promise<unknown>, ms: number, what: string): Promise<void> {
    const timer = new AbortController();
    const outcome = await Promise.race([
      step.then(
        () => 'done' as const,
        (err: unknown) => {
          this.c.log.debug(`${what} failed`, { err });
          return 'done' as const;
        },
      ),
      delay(ms, timer.signal).then(() => 'late' as const),
    ]);
    timer.abort();
    if (outcome === 'late') this.c.log.warn(`${what} did not finish; going on`, { wait_ms: ms });
  }

  async stop(): Promise<void> {
    this.endReason ??= { reason: 'stopped' };
    this.inputAbort.abort();
    if (!this.running) {
      this.allAbort.abort();
      return;
    }
    const timer = new AbortController();
    const drained = await Promise.race([this.running.then(() => true), delay(this.c.timings.drainMs, timer.signal).then(() => false)]);
    timer.abort();
    if (!drained) {
      this.c.log.warn('drain timed out; aborting the pipeline', { drain_ms: this.c.timings.drainMs });
      this.allAbort.abort();
      this.queue.clear();
      for (const item of this.pendingAudio.splice(0)) if ('frame' in item) item.frame.close();
      this.encoder?.destroy();
      await this.decoder?.close().catch(() => undefined);
      if (this.publisher) await this.bounded(this.publisher.close(), this.c.timings.drainMs, 'output close');
    }
  }
}
