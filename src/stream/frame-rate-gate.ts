/**
 * The `max_framerate` gate, on media time (pytrickle's algorithm, decoder.py:146-157) with one fix:
 * a timestamp that jumps backwards by more than `jumpToleranceS` (source reconnect, 33-bit MPEG-TS
 * wrap) re-synchronises the gate instead of dropping every frame until the clock catches up.
 */
export class FrameRateGate {
  private next: number | undefined;
  private interval: number;

  constructor(
    fps: number,
    private readonly jumpToleranceS = 1,
  ) {
    this.interval = 1 / fps;
  }

  /** Changes the rate; takes effect from the next frame. */
  setFps(fps: number): void {
    const interval = 1 / fps;
    if (interval === this.interval) return;
    this.interval = interval;
    this.next = undefined;
  }

  get fps(): number {
    return 1 / this.interval;
  }

  /** Whether the frame at media time `t` (seconds) passes. */
  accept(t: number): boolean {
    const next = this.next;
    if (next === undefined || t < next - this.interval - this.jumpToleranceS || t > next + this.interval) {
      // first frame, a backwards jump, or a gap: resync on this frame
      this.next = t + this.interval;
      return true;
    }
    if (t < next - this.interval * 0.1) return false; // slack for rounded timestamps (ms time bases)
    this.next = next + this.interval;
    return true;
  }
}
