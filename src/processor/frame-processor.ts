/**
 * The user-facing processing contract: one {@link FrameProcessor} serves every stream of a worker;
 * each call gets the stream's {@link StreamContext}. See docs/worker.md.
 */
import type { StreamParams } from '../params';
import type { Logger } from '../logger';
import type { ParamsSchema } from './params-schema';

/**
 * What the pipeline hands a processor: a decoded frame. The concrete classes are the native
 * `VideoFrame` / `AudioFrame` of src/media; the processor contract only relies on `close()`.
 */
export interface ClosableFrame {
  close(): void;
}

/** Per-stream context handed to every processor hook. */
export interface StreamContext {
  /** The stream's `gateway_request_id`. */
  readonly streamId: string;
  /** The stream's current params (start params merged with every accepted update). */
  readonly params: Readonly<StreamParams>;
  /** Aborted when the stream stops (stop request, input end, shutdown). Pass it to long work. */
  readonly signal: AbortSignal;
  /**
   * Queues one JSON-serialisable value for the data channel (one JSONL line each). Returns false,
   * and counts a drop, when the stream has no data channel, the line would reach 64 KiB, or the
   * stream is stopping.
   */
  publishData(data: unknown): boolean;
  /** Sends one event on the events channel (`queue_event_type` defaults to `custom_monitoring_event`). */
  sendEvent(event: Record<string, unknown>, queueEventType?: string): void;
  /** A per-stream scratch object for the processor's own state (models per stream, counters, …). */
  readonly state: Record<string, unknown>;
  /** The stream's structured logger. */
  readonly log: Logger;
}

/** Which input size the pipeline delivers to `processVideo`. */
export type InputSize = 'params' | 'native';

/**
 * What happens to input audio: `'passthrough'` remuxes it untouched (no decode, no re-encode);
 * `'process'` decodes it, calls `processAudio` and encodes the result (AAC); `'none'` drops it;
 * `'auto'` (the default) is `'process'` when the processor defines its own `processAudio`, else
 * `'passthrough'`.
 */
export type AudioMode = 'auto' | 'passthrough' | 'process' | 'none';

/**
 * Base class of a processor. Override what you need; `processVideo` passes frames through and
 * `processAudio` passes audio through by default.
 *
 * Frame ownership: the pipeline owns the frames it hands in and closes them after the hook returns
 * (or after encoding, when the hook returns the same frame). A frame the hook *returns* is owned by
 * the pipeline from then on. Returning `null` drops the frame (no output for it). A hook that throws
 * drops that frame only: the error is counted, logged and reported as an `error` event, and the
 * stream goes on.
 *
 * @example
 * class Invert extends FrameProcessor<VideoFrame> {
 *   override async processVideo(frame: VideoFrame) {
 *     const t = await frame.toTensor({ layout: 'nhwc', dtype: 'uint8' });
 *     // …change t…
 *     return VideoFrame.fromTensor(t, frame);
 *   }
 * }
 */
/** The streams each processor serves right now (maintained by the worker through {@link attachStream}). */
const servedStreams = new WeakMap<object, Set<StreamContext>>();

/**
 * Records that `processor` serves the stream of `ctx` until the returned function is called; what
 * {@link FrameProcessor.publishData} and {@link FrameProcessor.sendEvent} reach. Called by the worker.
 */
export function attachStream(processor: object, ctx: StreamContext): () => void {
  let set = servedStreams.get(processor);
  if (!set) {
    set = new Set();
    servedStreams.set(processor, set);
  }
  set.add(ctx);
  return () => {
    set.delete(ctx);
  };
}

export abstract class FrameProcessor<V extends ClosableFrame = ClosableFrame, A extends ClosableFrame = ClosableFrame> {
  /** A name for logs and `/version` (`model_id` when no capability name is configured). */
  name = 'frame-processor';
  /**
   * `'params'` (default, as pytrickle): input frames are scaled and centre-cropped to the stream's
   * `width`×`height` params (512×512 unless given). `'native'`: frames arrive at the input size.
   */
  inputSize: InputSize = 'params';
  /** Audio handling; see {@link AudioMode}. Default `'auto'`: `processAudio` is called whenever the processor defines it. */
  audioMode: AudioMode = 'auto';
  /**
   * Validates params before they reach a frame: a Standard Schema validator (e.g. zod) or a function
   * returning the params to use (or throwing). A bad value answers 400 on `/stream/start` and
   * `/stream/params`. See {@link ParamsSchema}.
   */
  paramsSchema?: ParamsSchema;

  /** Loads models. `/health` is LOADING until it resolves, ERROR if it rejects. Runs once. */
  async initialize(): Promise<void> {}

  /** Processes one video frame. Return a frame (the same or a new one) to output it, `null` to drop it. */
  processVideo(frame: V, _ctx: StreamContext): V | null | Promise<V | null> {
    return frame;
  }

  /** Processes one audio frame. Return the frames to output, or `null`/`[]` for none. */
  processAudio(frame: A, _ctx: StreamContext): A[] | null | Promise<A[] | null> {
    return [frame];
  }

  /** Called with every accepted params update (HTTP `/stream/params` or the control channel). */
  updateParams(_params: StreamParams, _ctx: StreamContext): void | Promise<void> {}

  /** Called once per stream before the first frame, with the start request's `params` (`{}` if none). */
  onStreamStart(_params: StreamParams, _ctx: StreamContext): void | Promise<void> {}

  /** Called once per stream after its last frame. */
  onStreamStop(_ctx: StreamContext): void | Promise<void> {}

  /**
   * pytrickle's `send_data`, from anywhere (a timer, a model callback): queues `data` on the data
   * channel of every stream this processor serves now. Returns true when at least one stream took
   * it. Inside a hook, `ctx.publishData` addresses that hook's stream only.
   */
  publishData(data: unknown): boolean {
    let accepted = false;
    for (const ctx of servedStreams.get(this) ?? []) accepted = ctx.publishData(data) || accepted;
    return accepted;
  }

  /**
   * pytrickle's `send_monitoring_event`, from anywhere: sends `event` on the events channel of every
   * stream this processor serves now; returns how many streams it went to. Inside a hook,
   * `ctx.sendEvent` addresses that hook's stream only.
   */
  sendEvent(event: Record<string, unknown>, queueEventType?: string): number {
    const streams = [...(servedStreams.get(this) ?? [])];
    for (const ctx of streams) ctx.sendEvent(event, queueEventType);
    return streams.length;
  }
}

/**
 * The audio handling a processor gets: its `audioMode`, with `'auto'` (or none, for a processor
 * from another copy of the package) resolved to `'process'` when it defines its own `processAudio`.
 */
export function resolveAudioMode(processor: Pick<FrameProcessor, 'processAudio'> & { audioMode?: AudioMode }): Exclude<AudioMode, 'auto'> {
  const mode = processor.audioMode ?? 'auto';
  if (mode !== 'auto') return mode;
  return processor.processAudio !== FrameProcessor.prototype.processAudio ? 'process' : 'passthrough';
}
