/**
 * Intervals and timeouts of a stream. Defaults follow pytrickle and go-livepeer (docs/compat.md: heartbeat 10 s, data keepalive
 * 25 s, data batch 333 ms); every one is configurable so tests can run fast.
 */
import { invalidArg } from '../errors';

export interface StreamTimings {
  /** Heartbeat event interval (default 10 000 ms; the BYOC gateway stops a stream silent for 30 s). */
  heartbeatMs: number;
  /** `status` event interval (default 10 000 ms). */
  statusMs: number;
  /**
   * No decoded frame (video or audio) for this long → the stream ends as stalled (default 60 000 ms,
   * as ai-runner; status turns DEGRADED_INPUT at half). Bytes that decode to nothing (an input
   * dripping a byte a second) do not count as input.
   */
  inputStallMs: number;
  /**
   * An output segment that cannot be delivered within this (the publish URL accepts the connection
   * and never answers, or never reads) ends the stream with an error (default 20 000 ms).
   */
  outputStallMs: number;
  /**
   * A processor call (processVideo/processAudio) still pending after this is reported: an `error`
   * event, status DEGRADED_INFERENCE, the `processorDeadlineMisses` counter (default 5 000 ms).
   */
  processorDeadlineMs: number;
  /** A processor call still pending after this ends the stream with an error; its output is closed (DELETE) (default 30 000 ms). */
  processorTimeoutMs: number;
  /** Data channel: lines are flushed as one segment at most this often (default 333 ms). */
  dataFlushMs: number;
  /** Data channel: `[]` is sent after this much silence (default 25 000 ms). */
  dataKeepaliveMs: number;
  /** First retry delay of a failing side channel (default 250 ms), doubled up to `retryMaxMs`. */
  retryInitialMs: number;
  /** Largest retry delay of a failing side channel (default 10 000 ms). */
  retryMaxMs: number;
  /** How long stop waits for the encoder to flush and the output to be posted (default 5 000 ms). */
  drainMs: number;
  /**
   * How long the media channels may stay unreachable (orchestrator or trickle server restarting,
   * connections dropped) before the stream ends with an error (default 30 000 ms). Meanwhile output
   * segments are dropped and input resumes at the live edge.
   */
  outageMs: number;
}

export const DEFAULT_TIMINGS: Readonly<StreamTimings> = Object.freeze({
  heartbeatMs: 10_000,
  statusMs: 10_000,
  inputStallMs: 60_000,
  outputStallMs: 20_000,
  processorDeadlineMs: 5_000,
  processorTimeoutMs: 30_000,
  dataFlushMs: 333,
  dataKeepaliveMs: 25_000,
  retryInitialMs: 250,
  retryMaxMs: 10_000,
  drainMs: 5_000,
  outageMs: 30_000,
});

export function resolveTimings(partial: Partial<StreamTimings> = {}): StreamTimings {
  const out = { ...DEFAULT_TIMINGS, ...partial };
  for (const [key, value] of Object.entries(out)) {
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw invalidArg(`timings.${key}`, 'a positive number of milliseconds', value);
  }
  return out;
}
