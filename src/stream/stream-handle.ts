/**
 * What the StreamServer needs from one running stream. The runtime's StreamSession implements it;
 * tests of the HTTP layer substitute their own.
 */
import type { StreamStats } from './stream-stats';
import type { StreamParams } from '../params';

/** A validated `/stream/start` body. */
export interface StartRequest {
  gateway_request_id: string;
  subscribe_url?: string;
  publish_url?: string;
  control_url?: string;
  events_url?: string;
  data_url?: string;
  /** Validated start params (`{}` when none were given). */
  params: StreamParams;
  /** The orchestrator's `X-Stream-Id` header, when sent (accepted as an alias of the id). */
  streamIdHeader?: string;
}

/** idle → starting → running → draining → closed | errored. */
export type StreamPhase = 'starting' | 'running' | 'draining' | 'closed' | 'errored';

/** Why a stream ended. */
export interface StreamEnd {
  reason: 'stopped' | 'input_ended' | 'input_stalled' | 'error' | 'shutdown';
  error?: string;
}

/** Where a params update came from. */
export type ParamsSource = 'http' | 'control';

export interface StreamHandle {
  readonly id: string;
  readonly request: StartRequest;
  readonly phase: StreamPhase;
  readonly stats: StreamStats;
  /** Current params (start params merged with accepted updates). */
  readonly params: StreamParams;
  /** Resolves (never rejects) once the stream has fully ended and released everything. */
  readonly done: Promise<StreamEnd>;
  /** Starts the stream in the background; failures end it through `done`. */
  start(): void;
  /** Stops the stream: drains the output, closes channels (DELETE output), resolves when done. */
  stop(reason: StreamEnd['reason']): Promise<void>;
  /**
   * Applies a validated params update and calls the processor's `updateParams`. Rejects with the
   * processor's error when that throws (the stream goes on).
   */
  updateParams(params: StreamParams, source: ParamsSource): Promise<void>;
}

/** Builds the stream for a start request; the server calls `start()` on it after registering it. */
export type StreamFactory = (request: StartRequest) => StreamHandle;
