/**
 * B3: streams per box. For N = 1, 2, 4, … the probe runs N concurrent 512² 24 fps streams through
 * one runtime process (StreamServer, identity processor, capacity = N), each fed in real time from
 * the same clip, and checks every stream's output: frames out = frames in (no drops) and output
 * rate ≥ 0.95 × input rate. The curve stops after `stopAfterFailures` steps in a row that fail even
 * with start-up drops (first 2 s) forgiven.
 * Output frames are identified by the index stamped in their pixels, not by the runtime's own
 * counters; the runtime's CPU time over each step is reported next to them.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';

import { ensureClip } from '../clips';
import { makeFigure } from '../figures';
import { collect, feed, ProbeChannels, readStamps, RuntimeProcess, withTimeout, type CollectRecord, type FeedRecord } from '../runtime-probe';
import { param, type ScenarioOutcome } from '../scenario';
import { summarize } from '../stats';
import { frameChunks } from '../ts-index';
import type { CaseResult, RunOptions } from '../types';

interface Step {
  n: number;
  pass: boolean;
  /** Passing when drops in the first 2 s (start-up backlog) are not counted. */
  steadyPass: boolean;
  minFps: number;
  dropped: number;
  steadyDropped: number;
  latencyP50: number;
  latencyP99: number;
  cpuPercent: number;
  /** Runtime CPU (user+sys) over the step / output frames of all streams. */
  cpuPerFrameMs: number;
  /** The runtime's own drop counters, summed over the streams (sampled when the feeds ended). */
  staleDrops: number;
  fullDrops: number;
  /** Input frames the runtime skipped undecoded (input backlog bound). */
  backlogSkips: number;
  /** 1-minute load average of the machine when the step started (other work on the same cores). */
  loadAvg: number;
  rssBytes: number;
  feedLagMs: number;
  endLagMs: number;
}

/** A counter of the runtime's stream stats, summed over `ids` (0 where a stream already ended). */
function sumCounter(streams: Record<string, Record<string, unknown>>, ids: readonly string[], key: string): number {
  return ids.reduce((acc, id) => acc + (Number(streams[id]?.[key]) || 0), 0);
}

export async function run(params: Record<string, unknown>, opts: RunOptions): Promise<ScenarioOutcome> {
  const curve = param<number[]>(params, 'curve', [1, 2, 4, 6, 8, 10, 12]);
  const fps = param(params, 'fps', 24);
  const seconds = param(params, 'seconds', 20);
  const width = param(params, 'width', 512);
  const height = param(params, 'height', 512);
  const stopAfter = param(params, 'stopAfterFailures', 2);
  const clip = ensureClip({ width, height, fps, seconds, noise: 8, gop: fps * 2, stamped: true }, opts.clipDir);
  const startupFrames = fps * 2;
  const frames = frameChunks(readFileSync(clip));
  const steps: Step[] = [];
  let failures = 0;
  const maxN = Math.max(...curve);
  // Runtime settings to compare (`--set inputBacklogMs=0`, `--set decoderThreads=2`, …); the runtime's defaults when absent.
  const backlog = params['inputBacklogMs'];
  const decThreads = params['decoderThreads'];
  const encThreads = params['encoderThreads'];
  const runtime = await RuntimeProcess.start({
    capacity: maxN,
    ...(typeof backlog === 'number' ? { maxInputBacklogMs: backlog } : {}),
    ...(typeof decThreads === 'number' ? { decoderThreads: decThreads } : {}),
    ...(typeof encThreads === 'number' ? { encoderThreads: encThreads } : {}),
  });
  const channels = new ProbeChannels();
  await channels.start();
  try {
    for (const [i, n] of curve.entries()) {
      opts.progress(i + 1, curve.length, `${n} concurrent stream(s), ${seconds} s`);
      const ids = Array.from({ length: n }, (_, s) => `b3-n${n}-s${s}`);
      const collecting: Promise<CollectRecord>[] = [];
      const feeding: Promise<FeedRecord>[] = [];
      const loadAvg = os.loadavg()[0] as number;
      const u0 = await runtime.usage();
      const t0 = performance.now();
      for (const id of ids) {
        const inUrl = channels.channel(`${id}-in`);
        const outUrl = channels.channel(`${id}-out`);
        collecting.push(collect(outUrl, channels.agent, { keepBytes: true }));
        await runtime.startStream(id, inUrl, outUrl, { max_framerate: fps, width, height });
        feeding.push(feed(inUrl, frames, fps, channels.agent));
      }
      const fed = await Promise.all(feeding);
      const mid = await runtime.usage();
      const outs = await withTimeout(Promise.all(collecting), 60_000, `B3 N=${n}: outputs end of stream`);
      const wall = performance.now() - t0;
      const u1 = await runtime.usage();
      let minFps = Infinity;
      let dropped = 0;
      let steadyDropped = 0;
      let endLag = 0;
      const lat: number[] = [];
      let framesOut = 0;
      for (const [s, out] of outs.entries()) {
        const f = fed[s] as FeedRecord;
        const count = out.firstByteAt.length;
        framesOut += count;
        // Which input frames came out: read back from the stamps in the output pixels.
        const stamps = await readStamps(out.bytes, width);
        const seen = new Set<number>();
        for (let k = 0; k < Math.min(count, stamps.length); k++) {
          const n = stamps[k] as number;
          if (n >= frames.length || seen.has(n)) continue;
          seen.add(n);
          lat.push((out.firstByteAt[k] as number) - (f.lastByteAt[n] as number));
        }
        for (let n = 0; n < frames.length; n++) {
          if (seen.has(n)) continue;
          dropped++;
          if (n >= startupFrames) steadyDropped++;
        }
        // Steady-state output rate: over the second half of the output (the first half absorbs the
        // start-up, after which a runtime that keeps up delivers at the input rate).
        const half = Math.floor(count / 2);
        const span = count - half > 1 ? ((out.firstByteAt[count - 1] as number) - (out.firstByteAt[half] as number)) / 1000 : 0;
        minFps = Math.min(minFps, span > 0 ? (count - 1 - half) / span : 0);
        endLag = Math.max(endLag, (out.firstByteAt[count - 1] ?? Number.NaN) - (f.lastByteAt.at(-1) ?? Number.NaN));
      }
      const l = summarize(lat);
      const step: Step = {
        n,
        pass: dropped === 0 && minFps >= 0.95 * fps,
        steadyPass: steadyDropped === 0 && minFps >= 0.95 * fps,
        minFps,
        dropped,
        steadyDropped,
        latencyP50: l.p50,
        latencyP99: l.p99,
        cpuPercent: ((u1.cpuMs - u0.cpuMs) / wall) * 100,
        cpuPerFrameMs: framesOut > 0 ? (u1.cpuMs - u0.cpuMs) / framesOut : Number.NaN,
        staleDrops: sumCounter(mid.streams, ids, 'framesStale'),
        fullDrops: sumCounter(mid.streams, ids, 'framesDropped'),
        backlogSkips: sumCounter(mid.streams, ids, 'framesSkipped'),
        loadAvg,
        rssBytes: Math.max(mid.rssBytes, u1.rssBytes),
        feedLagMs: Math.max(...fed.map((f) => f.maxLagMs)),
        endLagMs: endLag,
      };
      steps.push(step);
      failures = step.pass || step.steadyPass ? 0 : failures + 1;
      if (failures >= stopAfter) break;
    }
  } finally {
    await channels.stop();
    await runtime.close();
  }
  const best = steps.filter((s) => s.pass).reduce((m, s) => Math.max(m, s.n), 0);
  const bestSteady = steps.filter((s) => s.steadyPass).reduce((m, s) => Math.max(m, s.n), 0);
  // Latency at every load: the largest N up to which every step held p50 <= 60 ms.
  let latencyHeld = 0;
  for (const s of steps) {
    if (!(s.latencyP50 <= 60)) break;
    latencyHeld = s.n;
  }
  const cases: CaseResult[] = steps.map((s) => ({
    case: `N = ${s.n}`,
    figures: [
      makeFigure({ metric: 'slowest stream out fps (2nd half)', unit: 'fps', better: 'higher', ours: [s.minFps], hasCold: false, target: { kind: 'min', value: 0.95 * fps, text: `>= ${(0.95 * fps).toFixed(1)} fps, no drops` } }),
      makeFigure({ metric: 'frames dropped (all streams)', unit: 'frames', better: 'lower', ours: [s.dropped], hasCold: false }),
      makeFigure({ metric: 'of which after the first 2 s', unit: 'frames', better: 'lower', ours: [s.steadyDropped], hasCold: false }),
      makeFigure({ metric: 'latency p50 (stamp-matched)', unit: 'ms', better: 'lower', ours: [s.latencyP50], hasCold: false, target: { kind: 'max', value: 60, text: 'p50 <= 60 ms' } }),
      makeFigure({ metric: 'latency p99 (stamp-matched)', unit: 'ms', better: 'lower', ours: [s.latencyP99], hasCold: false }),
      makeFigure({ metric: 'runtime process CPU', unit: '% of a core', better: 'lower', ours: [s.cpuPercent], hasCold: false }),
      makeFigure({ metric: 'runtime CPU per output frame', unit: 'ms', better: 'lower', ours: [s.cpuPerFrameMs], hasCold: false }),
      makeFigure({ metric: "runtime's drops: stale (waited past the queue's age bound)", unit: 'frames', better: 'lower', ours: [s.staleDrops], hasCold: false }),
      makeFigure({ metric: "runtime's drops: queue full", unit: 'frames', better: 'lower', ours: [s.fullDrops], hasCold: false }),
      makeFigure({ metric: "runtime's drops: input backlog (skipped undecoded)", unit: 'frames', better: 'lower', ours: [s.backlogSkips], hasCold: false }),
      makeFigure({ metric: 'machine load average (1 min) at the start', unit: '', better: 'lower', ours: [s.loadAvg], hasCold: false }),
    ],
    rssBytes: s.rssBytes,
    extra: { pass: s.pass, steadyPass: s.steadyPass, feedMaxLagMs: s.feedLagMs, lastOutputAfterLastInputMs: s.endLagMs },
  }));
  cases.push({
    case: 'curve',
    figures: [
      makeFigure({ metric: 'most streams passing (no drop at all)', unit: 'streams', better: 'higher', ours: [best], hasCold: false, target: { kind: 'min', value: 12, text: '>= 12 streams on 2 cores' } }),
      makeFigure({ metric: 'most streams with no drop after the first 2 s', unit: 'streams', better: 'higher', ours: [bestSteady], hasCold: false }),
      makeFigure({ metric: 'most streams with latency p50 <= 60 ms at every step up to it', unit: 'streams', better: 'higher', ours: [latencyHeld], hasCold: false }),
    ],
  });
  return {
    cases,
    notes: [
      `${frames.length} frames per stream (${seconds} s at ${fps} fps, 512² clip, GOP ${fps * 2}); one runtime process for the whole curve; the probe (feeders, trickle server, collectors) shares the machine`,
      'a step passes when no stream lost a frame and every stream’s output rate over the second half of its output is ≥ 0.95× its input rate; which frames came out is read from the frame index stamped in the pixels (output decoded with the ffmpeg CLI), and so is the latency match; drops in the first 2 s (start-up backlog) are also shown apart',
    ],
  };
}
