/**
 * One running stream: its processor context, side channels (control, events, data), heartbeat and
 * status events, and its media pipeline. Lifecycle: starting → running → draining → closed
 * (or errored). `done` resolves once everything is released, whatever ended the stream.
 */
import { createHash } from 'node:crypto';

import { DataChannel, type DataChannelFormat } from './channels/data-channel';
import { ControlChannel } from './channels/control-channel';
import { EventsChannel } from './channels/events-channel';
import { ErrorCodes, TrickleError } from '../errors';
import { attachStream, type FrameProcessor, type StreamContext } from '../processor/frame-processor';
import type { Logger } from '../logger';
import { silentLogger } from '../logger';
import { mediaSettings, type StreamParams } from '../params';
import type { ParamsSource, StartRequest, StreamEnd, StreamHandle, StreamPhase } from './stream-handle';
import { applyParamsSchema } from '../processor/params-schema';
import { streamScope, type StreamScope } from './stream-scope';
import { StreamStats, type StreamStatsSnapshot } from './stream-stats';
import type { StreamTimings } from './timings';
import { resolveTimings } from './timings';
import type { TransportFactory } from './transport';

/** What a media pipeline gets from its session. */
export interface MediaPipelineContext {
  request: StartRequest;
  processor: FrameProcessor;
  ctx: StreamContext;
  stats: StreamStats;
  log: Logger;
  timings: StreamTimings;
  transport: TransportFactory;
  signal: AbortSignal;
  /** Current params (read per frame: max_framerate changes apply at once). */
  params: () => StreamParams;
  /** The first input segment arrived. */
  onFirstInputSegment(): void;
  /** The first output bytes were posted. */
  onFirstOutputSegment(): void;
  /** A frame-level problem worth an `error` event (processor error, decode error). Rate-limited by the session. */
  reportError(message: string, details?: Record<string, unknown>): void;
  /** Output dimensions, once known (reported in heartbeats). */
  setOutputSize(width: number, height: number): void;
  /**
   * Frames dropped for latency: `'stale'`, one frame that waited longer than the queue's age bound
   * (counted in `framesStale`); `'input_backlog'`, `count` input frames skipped undecoded because
   * the input backlog outgrew its bound (counted in `framesSkipped`). Reported in a
   * `frames_dropped` event (at most one a second per reason, with the count since the last).
   */
  framesDropped(reason: FrameDropReason, count?: number): void;
  /**
   * The pipeline replaced its decoder or encoder after a native failure (counted in `restarts`,
   * reported in a `restart` event and in the status event's `restart_count`).
   */
  restarted(component: 'decoder' | 'encoder', error: string, details?: Record<string, unknown>): void;
}

/** Why the runtime dropped frames to keep latency bounded (the `reason` of a `frames_dropped` event). */
export type FrameDropReason = 'stale' | 'input_backlog';

/** A stream's media path (subscribe → decode → process → encode → publish). */
export interface MediaPipeline {
  /** Runs until the input ends, stalls, or `stop()` is called; resolves why it ended. */
  run(): Promise<StreamEnd>;
  /** Stops input, flushes the encoder and closes the output channel (DELETE → downstream EOS). */
  stop(): Promise<void>;
}

export type MediaPipelineFactory = (context: MediaPipelineContext) => MediaPipeline;

export interface StreamSessionOptions {
  request: StartRequest;
  processor: FrameProcessor;
  timings?: Partial<StreamTimings> | StreamTimings;
  logger?: Logger;
  transport?: TransportFactory;
  /** The media path; required when the request has `subscribe_url` or `publish_url`. */
  media?: MediaPipelineFactory;
  /** The data channel's format (default `'lines'`: JSON lines). */
  dataFormat?: DataChannelFormat;
}

const EVENT_QUEUE = 'ai_stream_events';

function now(): number {
  return Date.now();
}

/** A short stable digest of a param set (key order does not matter), as ai-runner's `last_params_hash`. */
export function paramsHash(params: Record<string, unknown>): string {
  const canonical = (v: unknown): unknown =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.keys(v as object).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])]))
      : Array.isArray(v) ? v.map(canonical) : v;
  return createHash('sha256').update(JSON.stringify(canonical(params))).digest('hex').slice(0, 16);
}

/** Creates the runtime's {@link StreamHandle}. */
export function createStreamSession(options: StreamSessionOptions): StreamSession {
  return new StreamSession(options);
}

export class StreamSession implements StreamHandle {
  readonly id: string;
  readonly request: StartRequest;
  readonly stats = new StreamStats();
  readonly done: Promise<StreamEnd>;
  private phase_: StreamPhase = 'starting';
  private params_: StreamParams;
  private readonly processor: FrameProcessor;
  private readonly timings: StreamTimings;
  private readonly log: Logger;
  private readonly transport: TransportFactory | undefined;
  private readonly mediaFactory: MediaPipelineFactory | undefined;
  private readonly abort = new AbortController();
  /** Events/data publishers outlive `abort`: the final events and data lines go out after the media stopped. */
  private readonly channelAbort = new AbortController();
  private readonly ctx: StreamContext;
  private events: EventsChannel | undefined;
  private data: DataChannel | undefined;
  private control: ControlChannel | undefined;
  private media: MediaPipeline | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private statusTimer: NodeJS.Timeout | undefined;
  private resolveDone!: (end: StreamEnd) => void;
  private finishing: Promise<void> | undefined;
  private detachFromProcessor: (() => void) | undefined;
  private started = false;
  private readonly scope: StreamScope;
  private lastError: string | null = null;
  private lastErrorAt = 0;
  private readonly drops: Record<FrameDropReason, { lastEventAt: number; unreported: number }> = {
    stale: { lastEventAt: 0, unreported: 0 },
    input_backlog: { lastEventAt: 0, unreported: 0 },
  };
  /** When `lastError` was set (ms since the epoch). */
  private lastErrorTime: number | null = null;
  private lastRestartAt: number | null = null;
  private lastStateChangeAt = now();
  private lastState: string | undefined;
  private errorEventsSuppressed = 0;
  private outputSize: { width: number; height: number } | undefined;
  private lastParamsAt: number | null = null;
  private paramsLock: Promise<void> = Promise.resolve();
  private readonly dataFormat: DataChannelFormat;

  constructor(options: StreamSessionOptions) {
    this.request = options.request;
    this.id = options.request.gateway_request_id;
    this.scope = {
      streamId: this.id,
      fail: (error) => {
        const message = (error as Error)?.message ?? String(error);
        this.reportError(`internal error: ${message}`);
        void this.finish({ reason: 'error', error: `internal error: ${message}` });
      },
    };
    this.params_ = { ...options.request.params };
    this.processor = options.processor;
    this.timings = resolveTimings(options.timings);
    this.log = (options.logger ?? silentLogger).child({ stream_id: this.id });
    this.transport = options.transport;
    this.mediaFactory = options.media;
    this.dataFormat = options.dataFormat ?? 'lines';
    const r = options.request;
    const needsTransport = [r.subscribe_url, r.publish_url, r.control_url, r.events_url, r.data_url].some((u) => u !== undefined);
    if (needsTransport && !this.transport) {
      throw new TrickleError(ErrorCodes.ERR_INVALID_ARG, 'no trickle transport is configured for channel URLs');
    }
    if ((r.subscribe_url !== undefined || r.publish_url !== undefined) && !this.mediaFactory) {
      throw new TrickleError(ErrorCodes.ERR_INVALID_ARG, 'no media pipeline is configured for subscribe_url/publish_url');
    }
    this.done = new Promise((resolve) => {
      this.resolveDone = resolve;
    });
    const state: Record<string, unknown> = {};
    const self = this;
    this.ctx = {
      streamId: this.id,
      get params() {
        return self.params_;
      },
      signal: this.abort.signal,
      publishData: (value) => {
        if (!this.data) {
          this.stats.add('dataLinesDropped');
          return false;
        }
        return this.data.publish(value);
      },
      sendEvent: (event, queueEventType = 'custom_monitoring_event') => this.sendEvent(event, queueEventType),
      state,
      log: this.log,
    };
  }

  get phase(): StreamPhase {
    return this.phase_;
  }

  get params(): StreamParams {
    return this.params_;
  }

  /** The processor context of this stream. */
  get context(): StreamContext {
    return this.ctx;
  }

  /** Sends one event (wrapped as `{event, queue_event_type}`); dropped when the stream has no events channel. */
  sendEvent(event: Record<string, unknown>, queueEventType: string): void {
    this.events?.send(event, queueEventType);
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    // Everything the stream starts inherits its scope: an error escaping all handling is traced
    // back to this stream (and ends it) by the worker's process guard.
    streamScope.run(this.scope, () => void this.run());
  }

  private async run(): Promise<void> {
    const r = this.request;
    const transport = this.transport;
    try {
      if (transport && r.events_url) {
        const url = r.events_url;
        this.events = new EventsChannel({
          open: () => transport.publisher(url, { mimeType: 'application/json', signal: this.channelAbort.signal }),
          stats: this.stats,
          log: this.log.child({ channel: 'events' }),
          timings: this.timings,
        });
      }
      if (transport && r.data_url) {
        const url = r.data_url;
        this.data = new DataChannel({
          open: () => transport.publisher(url, { mimeType: 'application/jsonl', signal: this.channelAbort.signal }),
          stats: this.stats,
          log: this.log.child({ channel: 'data' }),
          timings: this.timings,
          format: this.dataFormat,
        });
      }
      this.heartbeat();
      this.heartbeatTimer = setInterval(() => this.heartbeat(), this.timings.heartbeatMs);
      this.statusTimer = setInterval(() => this.statusEvent(), this.timings.statusMs);
      this.detachFromProcessor = attachStream(this.processor, this.ctx);
      try {
        await this.processor.onStreamStart(this.params_, this.ctx);
      } catch (err) {
        this.reportError(`onStreamStart failed: ${(err as Error)?.message ?? String(err)}`);
      }
      if (this.abort.signal.aborted) return;
      if (transport && r.control_url) {
        const url = r.control_url;
        this.control = new ControlChannel({
          open: (signal) => transport.subscriber(url, { start: -2, signal }),
          apply: (params) => this.updateParams(params, 'control'),
          report: (message) => this.reportError(message, { source: 'control' }),
          stats: this.stats,
          log: this.log.child({ channel: 'control' }),
          timings: this.timings,
          signal: this.abort.signal,
        });
      }
      this.phase_ = 'running';
      this.statusEvent();
      if (this.mediaFactory && transport && (r.subscribe_url || r.publish_url)) {
        this.media = this.mediaFactory({
          request: r,
          processor: this.processor,
          ctx: this.ctx,
          stats: this.stats,
          log: this.log,
          timings: this.timings,
          transport,
          signal: this.abort.signal,
          params: () => this.params_,
          onFirstInputSegment: () => this.sendEvent({ type: 'receive_first_ingest_segment', timestamp: now() }, EVENT_QUEUE),
          onFirstOutputSegment: () => this.sendEvent({ type: 'send_first_processed_segment', timestamp: now() }, EVENT_QUEUE),
          reportError: (message, details) => this.reportError(message, details),
          setOutputSize: (width, height) => {
            this.outputSize = { width, height };
          },
          framesDropped: (reason, count) => this.reportDrop(reason, count),
          restarted: (component, error, details) => this.reportRestart(component, error, details),
        });
        const end = await this.media.run();
        void this.finish(end);
      }
      // Without a media path the stream runs until stopped (pytrickle's "no subscribe_url" mode).
    } catch (err) {
      this.log.error('stream failed', { err });
      void this.finish({ reason: 'error', error: (err as Error)?.message ?? String(err) });
    }
  }

  /** Counts dropped frames; a `frames_dropped` event per reason at most once a second carries the count since the last. */
  private reportDrop(reason: FrameDropReason, count = 1): void {
    if (!(count > 0)) return;
    this.stats.add(reason === 'stale' ? 'framesStale' : 'framesSkipped', count);
    const drops = this.drops[reason];
    drops.unreported += count;
    const t = now();
    if (t - drops.lastEventAt < 1000) return;
    drops.lastEventAt = t;
    const unreported = drops.unreported;
    drops.unreported = 0;
    this.log.debug('frames dropped', { reason, count: unreported });
    this.sendEvent({ type: 'frames_dropped', reason, count: unreported, timestamp: t }, EVENT_QUEUE);
  }

  /** An `error` event (rate-limited to one per second; suppressed ones are counted in the next). */
  reportError(message: string, details: Record<string, unknown> = {}): void {
    this.lastError = message;
    const t = now();
    this.lastErrorTime = t;
    if (t - this.lastErrorAt < 1000) {
      this.errorEventsSuppressed += 1;
      return;
    }
    this.lastErrorAt = t;
    const suppressed = this.errorEventsSuppressed;
    this.errorEventsSuppressed = 0;
    this.log.warn('stream error', { message, ...details });
    this.sendEvent({ type: 'error', message, timestamp: t, ...details, ...(suppressed ? { suppressed } : {}) }, EVENT_QUEUE);
  }

  private heartbeat(): void {
    const settings = mediaSettings(this.params_);
    const r = this.request;
    this.sendEvent(
      {
        type: 'heartbeat',
        timestamp: now(),
        urls: {
          subscribe: r.subscribe_url ?? '',
          publish: r.publish_url ?? '',
          control: r.control_url ?? '',
          events: r.events_url ?? '',
          data: r.data_url ?? '',
        },
        dimensions: this.outputSize ?? { width: settings.width, height: settings.height },
        fps: this.stats.fps(),
      },
      'stream_heartbeat',
    );
  }

  /** A decoder/encoder restart: counted, logged, and told in a `restart` event (never rate-limited). */
  private reportRestart(component: 'decoder' | 'encoder', error: string, details: Record<string, unknown> = {}): void {
    this.stats.add('restarts');
    const t = now();
    this.lastRestartAt = t;
    this.lastError = `${component} failed: ${error}`;
    this.lastErrorTime = t;
    const count = this.stats.get('restarts');
    this.log.warn('media component restarted after a failure', { component, error, restart_count: count, ...details });
    this.sendEvent({ type: 'restart', component, error, restart_count: count, timestamp: t, ...details }, EVENT_QUEUE);
  }

  /** The ai-runner style `status` event the gateway stores as the stream's status. */
  statusSnapshot(): Record<string, unknown> {
    const s = this.stats.snapshot();
    const t = now();
    const inputStale = s.lastInputAt === null || t - s.lastInputAt > this.timings.inputStallMs / 2;
    const state =
      this.phase_ === 'running'
        ? this.request.subscribe_url && inputStale
          ? 'DEGRADED_INPUT'
          : this.stats.processorCallsOverdue > 0 || (s.processorErrors > 0 && s.framesOut === 0 && s.framesProcessed > 0)
            ? 'DEGRADED_INFERENCE'
            : 'ONLINE'
        : this.phase_ === 'starting'
          ? 'LOADING'
          : 'OFFLINE';
    if (state !== this.lastState) {
      this.lastState = state;
      this.lastStateChangeAt = t;
    }
    const restartCount = this.stats.get('restarts');
    const lastParams = { ...this.params_ };
    return {
      type: 'status',
      timestamp: t,
      // ai-runner's PipelineStatus fields (times in ms since the epoch, as every trickle-rt event).
      pipeline: this.processor.name,
      start_time: s.startedAt,
      state,
      last_state_update_time: this.lastStateChangeAt,
      pipeline_phase: this.phase_,
      last_params: lastParams,
      last_params_update_time: this.lastParamsAt,
      last_error: this.lastError,
      last_error_time: this.lastErrorTime,
      last_restart_time: this.lastRestartAt,
      restart_count: restartCount,
      input_status: { last_input_time: s.lastInputAt, fps: s.fps.ingress_video_fps },
      inference_status: {
        last_output_time: s.lastOutputAt,
        fps: s.fps.egress_video_fps,
        last_params: lastParams,
        last_params_hash: paramsHash(lastParams),
        last_params_update_time: this.lastParamsAt,
        last_error: this.lastError,
        last_error_time: this.lastErrorTime,
        last_restart_time: this.lastRestartAt,
        restart_count: restartCount,
      },
      stats: {
        frames_in: s.framesIn,
        frames_out: s.framesOut,
        frames_dropped: s.framesDropped + s.framesStale + s.framesSkipped + s.framesGated,
        processor_errors: s.processorErrors,
        latency_ms_p50: s.latencyMs.p50,
        latency_ms_p99: s.latencyMs.p99,
      },
    };
  }

  private statusEvent(): void {
    this.sendEvent(this.statusSnapshot(), EVENT_QUEUE);
  }

  async updateParams(params: StreamParams, source: ParamsSource): Promise<void> {
    // Updates are serialised per stream: HTTP and control-channel updates never interleave.
    // In the stream's scope even when called from an HTTP request (the processor's hook runs here).
    const run = streamScope.run(this.scope, () => this.paramsLock.then(async () => {
      if (this.phase_ === 'closed' || this.phase_ === 'errored') return;
      let next: StreamParams = { ...this.params_, ...params };
      const schema = this.processor.paramsSchema;
      if (schema) {
        // The processor's schema sees the whole param set; a refusal changes nothing.
        try {
          next = await applyParamsSchema(schema, next);
        } catch (err) {
          this.lastErrorAt = 0;
          this.reportError(`Parameter update refused: ${(err as Error)?.message ?? String(err)}`, { source });
          throw err;
        }
      }
      this.params_ = next;
      this.lastParamsAt = now();
      try {
        await this.processor.updateParams(params, this.ctx);
      } catch (err) {
        const message = `Parameter update failed: ${(err as Error)?.message ?? String(err)}`;
        this.lastErrorAt = 0;
        this.reportError(message, { source });
        throw err;
      }
      this.sendEvent({ type: 'params_updated', timestamp: now(), params, source }, EVENT_QUEUE);
    }));
    this.paramsLock = run.catch(() => undefined);
    return run;
  }

  async stop(reason: StreamEnd['reason']): Promise<void> {
    await this.finish({ reason });
  }

  private finish(end: StreamEnd): Promise<void> {
    this.finishing ??= (async () => {
      this.phase_ = 'draining';
      this.log.info('stream ending', { reason: end.reason, error: end.error });
      if (this.media) {
        await this.media.stop().catch((err: unknown) => this.log.warn('media stop failed', { err }));
      }
      this.abort.abort();
      this.detachFromProcessor?.();
      // Bounded like the drain: a processor whose onStreamStop never settles must not hold the slot.
      let stopTimer: NodeJS.Timeout | undefined;
      const stopped = Promise.resolve()
        .then(() => this.processor.onStreamStop(this.ctx))
        .then(
          () => true,
          (err: unknown) => {
            this.log.warn('onStreamStop failed', { err });
            return true;
          },
        );
      const late = new Promise<false>((resolve) => {
        stopTimer = setTimeout(() => resolve(false), this.timings.drainMs);
      });
      if (!(await Promise.race([stopped, late]))) this.log.warn('onStreamStop did not settle; going on', { wait_ms: this.timings.drainMs });
      clearTimeout(stopTimer);
      clearInterval(this.heartbeatTimer);
      clearInterval(this.statusTimer);
      await this.control?.done;
      this.sendEvent({ type: 'stream_stopped', timestamp: now(), reason: end.reason, ...(end.error ? { error: end.error } : {}) }, EVENT_QUEUE);
      this.phase_ = end.reason === 'error' ? 'errored' : 'closed';
      this.statusEvent();
      await Promise.all([this.events?.close(this.timings.drainMs), this.data?.close(this.timings.drainMs)]);
      this.channelAbort.abort();
      this.log.info('stream ended', streamSummary(end, this.stats.snapshot()));
      this.resolveDone(end);
    })();
    return this.finishing;
  }
}

/**
 * The one log line of a stream's end: why, how long, frames in/out and where the others went, as
 * fields and as one readable `summary` sentence.
 */
export function streamSummary(end: StreamEnd, s: StreamStatsSnapshot, now = Date.now()): Record<string, unknown> {
  const seconds = Math.max(0, (now - s.startedAt) / 1000);
  const dropped = s.framesDropped + s.framesStale + s.framesGated + s.processorErrors + s.framesNulled;
  const parts = [
    `${s.framesIn} frames in, ${s.framesOut} out, ${dropped} not output`,
    `(${s.framesGated} over max_framerate, ${s.framesDropped + s.framesStale} dropped to keep up, ${s.framesNulled} dropped by the processor, ${s.processorErrors} processor errors)`,
  ];
  return {
    reason: end.reason,
    ...(end.error ? { error: end.error } : {}),
    seconds: Math.round(seconds * 10) / 10,
    frames_in: s.framesIn,
    frames_out: s.framesOut,
    frames_dropped: dropped,
    frames_over_max_framerate: s.framesGated,
    frames_dropped_to_keep_up: s.framesDropped + s.framesStale,
    frames_dropped_by_processor: s.framesNulled,
    processor_errors: s.processorErrors,
    summary: `stream ended (${end.reason}${end.error ? `: ${end.error}` : ''}) after ${seconds.toFixed(1)} s: ${parts.join(' ')}`,
  };
}

