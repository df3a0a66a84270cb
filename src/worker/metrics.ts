/**
 * Prometheus text exposition (format 0.0.4) for `GET /metrics`. Totals include ended streams;
 * per-stream gauges (fps, latency, queue drops) carry a `stream` label and exist while it runs.
 */
import type { StreamHandle } from '../stream/stream-handle';
import type { WorkerState } from './worker-state';

export interface MetricsTotals {
  started: number;
  ended: number;
  rejected: Record<string, number>;
  /** `"<METHOD> <route> <status>"` → count. */
  requests: Record<string, number>;
  /** Counters of streams that have ended, summed. */
  endedCounters: Record<string, number>;
  /** Errors that escaped every handler and were caught by the process guard. */
  escapedErrors?: number;
}

interface MetricsSource {
  readonly state: WorkerState;
  readonly capacity: number;
  streams(): StreamHandle[];
}

function esc(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function num(v: number | null): string {
  if (v === null || !Number.isFinite(v)) return 'NaN';
  return String(Math.round(v * 1000) / 1000);
}

export function renderMetrics(source: MetricsSource, totals: MetricsTotals): string {
  const lines: string[] = [];
  const family = (name: string, type: 'gauge' | 'counter', help: string) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  };
  const streams = source.streams();

  family('trickle_rt_health', 'gauge', 'Worker health state (1 for the current state).');
  for (const s of ['LOADING', 'IDLE', 'OK', 'ERROR']) lines.push(`trickle_rt_health{state="${s}"} ${source.state.status === s ? 1 : 0}`);
  family('trickle_rt_capacity', 'gauge', 'Maximum concurrent streams.');
  lines.push(`trickle_rt_capacity ${source.capacity}`);
  family('trickle_rt_streams_active', 'gauge', 'Streams currently running.');
  lines.push(`trickle_rt_streams_active ${streams.length}`);
  family('trickle_rt_streams_started_total', 'counter', 'Streams started.');
  lines.push(`trickle_rt_streams_started_total ${totals.started}`);
  family('trickle_rt_streams_ended_total', 'counter', 'Streams ended.');
  lines.push(`trickle_rt_streams_ended_total ${totals.ended}`);
  family('trickle_rt_stream_starts_rejected_total', 'counter', 'Start requests rejected, by reason.');
  for (const [reason, n] of Object.entries(totals.rejected)) lines.push(`trickle_rt_stream_starts_rejected_total{reason="${esc(reason)}"} ${n}`);

  const sum = (key: 'framesIn' | 'framesOut' | 'framesGated' | 'framesDropped' | 'framesStale' | 'framesSkipped' | 'processorErrors' | 'framesNulled' | 'bytesIn' | 'bytesOut') =>
    (totals.endedCounters[key] ?? 0) + streams.reduce((acc, s) => acc + s.stats.get(key), 0);
  family('trickle_rt_frames_in_total', 'counter', 'Decoded input video frames.');
  lines.push(`trickle_rt_frames_in_total ${sum('framesIn')}`);
  family('trickle_rt_frames_out_total', 'counter', 'Video frames encoded for output.');
  lines.push(`trickle_rt_frames_out_total ${sum('framesOut')}`);
  family('trickle_rt_frames_dropped_total', 'counter', 'Video frames dropped, by reason.');
  lines.push(`trickle_rt_frames_dropped_total{reason="max_framerate"} ${sum('framesGated')}`);
  lines.push(`trickle_rt_frames_dropped_total{reason="queue"} ${sum('framesDropped')}`);
  lines.push(`trickle_rt_frames_dropped_total{reason="stale"} ${sum('framesStale')}`);
  lines.push(`trickle_rt_frames_dropped_total{reason="input_backlog"} ${sum('framesSkipped')}`);
  lines.push(`trickle_rt_frames_dropped_total{reason="processor_error"} ${sum('processorErrors')}`);
  lines.push(`trickle_rt_frames_dropped_total{reason="processor_null"} ${sum('framesNulled')}`);
  family('trickle_rt_bytes_total', 'counter', 'Media bytes received and sent.');
  lines.push(`trickle_rt_bytes_total{direction="in"} ${sum('bytesIn')}`);
  lines.push(`trickle_rt_bytes_total{direction="out"} ${sum('bytesOut')}`);

  family('trickle_rt_stream_fps', 'gauge', 'Per-stream frame rate over 10 s.');
  for (const s of streams) {
    const fps = s.stats.fps();
    const id = esc(s.id);
    lines.push(`trickle_rt_stream_fps{stream="${id}",direction="in"} ${num(fps.ingress_video_fps)}`);
    lines.push(`trickle_rt_stream_fps{stream="${id}",direction="out"} ${num(fps.egress_video_fps)}`);
  }
  family('trickle_rt_stream_latency_ms', 'gauge', 'Per-stream decode-to-encode latency quantiles (ms).');
  for (const s of streams) {
    const l = s.stats.snapshot().latencyMs;
    const id = esc(s.id);
    lines.push(`trickle_rt_stream_latency_ms{stream="${id}",quantile="0.5"} ${num(l.p50)}`);
    lines.push(`trickle_rt_stream_latency_ms{stream="${id}",quantile="0.99"} ${num(l.p99)}`);
  }
  const liveness = (key: 'processorDeadlineMisses' | 'inputStalls' | 'segmentsCut' | 'restarts') =>
    (totals.endedCounters[key] ?? 0) + streams.reduce((acc, s) => acc + s.stats.get(key), 0);
  family('trickle_rt_processor_deadline_misses_total', 'counter', 'Processor calls still pending at the per-frame deadline.');
  lines.push(`trickle_rt_processor_deadline_misses_total ${liveness('processorDeadlineMisses')}`);
  family('trickle_rt_input_stalls_total', 'counter', 'Streams ended because their input decoded no frame within the stall window.');
  lines.push(`trickle_rt_input_stalls_total ${liveness('inputStalls')}`);
  family('trickle_rt_input_segments_cut_total', 'counter', 'Input segments that ended cut short (publisher gone mid-segment).');
  lines.push(`trickle_rt_input_segments_cut_total ${liveness('segmentsCut')}`);
  family('trickle_rt_media_restarts_total', 'counter', 'Decoders and encoders replaced after a native failure.');
  lines.push(`trickle_rt_media_restarts_total ${liveness('restarts')}`);
  family('trickle_rt_escaped_errors_total', 'counter', 'Errors that escaped every handler (reported by the process guard).');
  lines.push(`trickle_rt_escaped_errors_total ${totals.escapedErrors ?? 0}`);
  family('trickle_rt_http_requests_total', 'counter', 'HTTP requests by method, route and status.');
  for (const [key, n] of Object.entries(totals.requests)) {
    const [method, route, status] = key.split(' ');
    lines.push(`trickle_rt_http_requests_total{method="${esc(method ?? '')}",route="${esc(route ?? '')}",status="${esc(status ?? '')}"} ${n}`);
  }
  return `${lines.join('\n')}\n`;
}
