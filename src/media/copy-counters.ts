import { native, type NativeCopyCounters } from '../native/addon';

/** Whole-buffer copies (count and bytes) made by frame and tensor code, per direction. */
export type CopyCounters = NativeCopyCounters;

/**
 * Process-wide copy counters of trickle-rt's frame and tensor code: host↔device transfers
 * (download, upload, toHost, toDevice) and host copies into or out of JavaScript memory
 * (`tensor.data`, `Tensor.from`, `frame.planes()`). The bench divides them by frames processed.
 * `reset: true` zeroes them after reading.
 *
 * @example
 * copyCounters(true); await pipeline(); const { deviceToHost } = copyCounters();
 */
export function copyCounters(reset = false): CopyCounters {
  return native().copyCounters(reset);
}
