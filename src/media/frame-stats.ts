import { native, type NativeFrameStats } from '../native/addon';

/** Process-wide frame counts (all streams and pools). */
export type FrameStats = NativeFrameStats;

/**
 * Frames alive in native memory and frames garbage-collected without close() (leaks). A leak
 * detector for tests and dashboards: after every frame is closed, `videoFramesAlive` returns to 0.
 *
 * @example
 * const { videoFramesAlive, videoFramesLeaked } = frameStats();
 */
export function frameStats(): FrameStats {
  return native().frameStats();
}
