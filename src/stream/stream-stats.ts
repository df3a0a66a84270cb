/**
 * Per-stream counters and latency samples. This is the stable measurement API of a stream (used
 * by `/metrics`, heartbeats, status events, the demo and the bench): `snapshot()` for counters,
 * `latencySamples()` for the raw per-frame latencies.
 */

/** Frames-per-second over a sliding window, as pytrickle's FPSMeter: (n − 1) / (t_last − t_first). */
export class FpsMeter {
  private readonly times: number[] = [];
  constructor(
    private readonly windowMs = 10_000,
    private readonly maxSamples = 600,
  ) {}
  record(now = performance.now()): void {
    this.times.push(now);
    if (this.times.length > this.maxSamples) this.times.shift();
  }
  fps(now = performance.now()): number {
    const cutoff = now - this.windowMs;
    while (this.times.length > 0 && (this.times[0] as number) < cutoff) this.times.shift();
    if (this.times.length < 2) return 0;
    const span = (this.times[this.times.length - 1] as number) - (this.times[0] as number);
    return span > 0 ? ((this.times.length - 1) * 1000) / span : 0;
  }
}

/**
 * Where a frame's time goes inside the runtime, per stage, in milliseconds. Measured per frame in
 * JS: `queue` (decoded → taken by the processor loop), `resize` (input scale + crop), `processor`,
 * `encoderSubmit` (handing the frame to the encoder, which waits while its queue is full),
 * `outputWrite` (an output chunk handed to the socket). Averages from the native threads:
 * `decode` (in the video decoder, per frame) and `encode` (in the video encoder, per frame, muxing
 * included). Not measurable here: the wait for a frame's bytes to arrive, and the hand-offs between
 * the native threads and JS.
 */
export type StageName = 'queue' | 'resize' | 'processor' | 'encoderSubmit' | 'outputWrite' | 'decode' | 'encode';
export type StageSummary = { count: number; p50: number | null; p99: number | null };

export interface LatencySummary {
  count: number;
  p50: number | null;
  p99: number | null;
  max: number | null;
  last: number | null;
}

export interface StreamFps {
  ingress_video_fps: number;
  ingress_audio_fps: number;
  egress_video_fps: number;
  egress_audio_fps: number;
}

/** A point-in-time copy of a stream's counters. Field names are stable. */
export interface StreamStatsSnapshot {
  /** Decoded input video frames (before the frame-rate gate). */
  framesIn: number;
  /** Frames dropped by the `max_framerate` gate. */
  framesGated: number;
  /** Frames dropped by the latest-wins queue because the processor was busy (queue full). */
  framesDropped: number;
  /** Frames dropped by that queue because they waited longer than its age bound. */
  framesStale: number;
  /**
   * Input video frames skipped before decoding because the input backlog (bytes waiting for the
   * decoder) outgrew its age bound: decoding resumed at a keyframe. Not in `framesIn`.
   */
  framesSkipped: number;
  /** Frames the processor was called with. */
  framesProcessed: number;
  /** Frames the processor dropped by returning null. */
  framesNulled: number;
  /** Frames dropped because the processor threw. */
  processorErrors: number;
  /** Video frames handed to the encoder. */
  framesOut: number;
  audioFramesIn: number;
  audioFramesOut: number;
  segmentsIn: number;
  bytesIn: number;
  segmentsOut: number;
  bytesOut: number;
  decodeErrors: number;
  encodeErrors: number;
  controlMessages: number;
  controlErrors: number;
  eventsSent: number;
  eventsFailed: number;
  dataLinesSent: number;
  dataLinesDropped: number;
  inputStalls: number;
  /** Processor calls that were still pending at `timings.processorDeadlineMs`. */
  processorDeadlineMisses: number;
  /** Input segments that ended cut short (publisher gone mid-segment); their bytes were still decoded. */
  segmentsCut: number;
  /** Decoders/encoders replaced after a native failure (the status event's `restart_count`). */
  restarts: number;
  fps: StreamFps;
  /** Decode-to-encode latency of output frames, in milliseconds. */
  latencyMs: LatencySummary;
  /** Milliseconds from stream start to the first frame handed to the encoder (null before). */
  timeToFirstOutputMs: number | null;
  /** Time per stage (see {@link StageName}); decode/encode are running averages (p50 = p99). */
  stagesMs: Record<StageName, StageSummary>;
  startedAt: number;
  lastInputAt: number | null;
  lastOutputAt: number | null;
}

const LATENCY_RING = 2048;

function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx] as number;
}

export type StatsCounter = Exclude<keyof StreamStatsSnapshot, 'fps' | 'latencyMs' | 'timeToFirstOutputMs' | 'stagesMs' | 'startedAt' | 'lastInputAt' | 'lastOutputAt'>;

const STAGE_RING = 512;
const STAGES: readonly StageName[] = ['queue', 'resize', 'processor', 'encoderSubmit', 'outputWrite', 'decode', 'encode'];

export class StreamStats {
  private readonly counters: Record<StatsCounter, number> = {
    framesIn: 0, framesGated: 0, framesDropped: 0, framesStale: 0, framesSkipped: 0, framesProcessed: 0, framesNulled: 0, processorErrors: 0,
    framesOut: 0, audioFramesIn: 0, audioFramesOut: 0, segmentsIn: 0, bytesIn: 0, segmentsOut: 0, bytesOut: 0,
    decodeErrors: 0, encodeErrors: 0, controlMessages: 0, controlErrors: 0, eventsSent: 0, eventsFailed: 0,
    dataLinesSent: 0, dataLinesDropped: 0, inputStalls: 0, processorDeadlineMisses: 0, segmentsCut: 0, restarts: 0,
  };
  /** Processor calls now pending past their deadline (status DEGRADED_INFERENCE while > 0). */
  processorCallsOverdue = 0;
  private readonly ingressVideo = new FpsMeter();
  private readonly ingressAudio = new FpsMeter();
  private readonly egressVideo = new FpsMeter();
  private readonly egressAudio = new FpsMeter();
  private readonly latency: number[] = [];
  private latencyNext = 0;
  private latencyCount = 0;
  private lastLatency: number | null = null;
  private maxLatency: number | null = null;
  private firstOutputMs: number | null = null;
  readonly startedAt = Date.now();
  private readonly startedPerf = performance.now();
  private lastInputAt: number | null = null;
  private lastOutputAt: number | null = null;
  private readonly listeners = new Set<(snapshot: StreamStatsSnapshot) => void>();
  private readonly stages = new Map<StageName, { ring: number[]; next: number; count: number }>();

  /** One frame's time in a stage (ms); the last 512 per stage are kept. */
  stage(name: StageName, ms: number): void {
    let s = this.stages.get(name);
    if (!s) this.stages.set(name, (s = { ring: [], next: 0, count: 0 }));
    if (s.ring.length < STAGE_RING) s.ring.push(ms);
    else s.ring[s.next] = ms;
    s.next = (s.next + 1) % STAGE_RING;
    s.count += 1;
  }

  /** A stage measured as a running average elsewhere (the native threads): replaces what was there. */
  stageAverage(name: StageName, ms: number, count: number): void {
    this.stages.set(name, { ring: [ms], next: 0, count });
  }

  private stageSummaries(): Record<StageName, StageSummary> {
    const out = {} as Record<StageName, StageSummary>;
    for (const name of STAGES) {
      const s = this.stages.get(name);
      const sorted = s ? [...s.ring].sort((a, b) => a - b) : [];
      out[name] = { count: s?.count ?? 0, p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
    }
    return out;
  }

  add(counter: StatsCounter, n = 1): void {
    this.counters[counter] += n;
  }
  get(counter: StatsCounter): number {
    return this.counters[counter];
  }

  videoIn(): void {
    this.counters.framesIn += 1;
    this.ingressVideo.record();
    this.lastInputAt = Date.now();
  }
  audioIn(): void {
    this.counters.audioFramesIn += 1;
    this.ingressAudio.record();
    this.lastInputAt = Date.now();
  }
  /** One video frame handed to the encoder; `decodedAt` is the performance.now() of its decode. */
  videoOut(decodedAt: number | undefined): void {
    const now = performance.now();
    this.counters.framesOut += 1;
    this.egressVideo.record(now);
    this.lastOutputAt = Date.now();
    if (this.firstOutputMs === null) this.firstOutputMs = now - this.startedPerf;
    if (decodedAt !== undefined) {
      const ms = now - decodedAt;
      this.lastLatency = ms;
      this.maxLatency = this.maxLatency === null ? ms : Math.max(this.maxLatency, ms);
      if (this.latency.length < LATENCY_RING) this.latency.push(ms);
      else this.latency[this.latencyNext] = ms;
      this.latencyNext = (this.latencyNext + 1) % LATENCY_RING;
      this.latencyCount += 1;
    }
  }
  audioOut(n = 1): void {
    this.counters.audioFramesOut += n;
    for (let i = 0; i < n; i++) this.egressAudio.record();
  }

  /** The most recent decode-to-encode latencies in milliseconds (up to 2048, oldest first). */
  latencySamples(): number[] {
    if (this.latency.length < LATENCY_RING) return [...this.latency];
    return [...this.latency.slice(this.latencyNext), ...this.latency.slice(0, this.latencyNext)];
  }

  fps(): StreamFps {
    return {
      ingress_video_fps: this.ingressVideo.fps(),
      ingress_audio_fps: this.ingressAudio.fps(),
      egress_video_fps: this.egressVideo.fps(),
      egress_audio_fps: this.egressAudio.fps(),
    };
  }

  snapshot(): StreamStatsSnapshot {
    const sorted = [...this.latency].sort((a, b) => a - b);
    return {
      ...this.counters,
      fps: this.fps(),
      latencyMs: {
        count: this.latencyCount,
        p50: percentile(sorted, 50),
        p99: percentile(sorted, 99),
        max: this.maxLatency,
        last: this.lastLatency,
      },
      timeToFirstOutputMs: this.firstOutputMs,
      stagesMs: this.stageSummaries(),
      startedAt: this.startedAt,
      lastInputAt: this.lastInputAt,
      lastOutputAt: this.lastOutputAt,
    };
  }
}
