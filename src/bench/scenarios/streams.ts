/**
 * B3: streams per box. For N = 1, 2, 4, … the probe runs N concurrent 512² 24 fps streams through
 * one runtime process (StreamServer, identity processor, capacity = N), each fed in real time from
 * the same clip, and checks every stream's output: frames out = frames in (no drops) and output
 * rate ≥ 0.95 × input rate. The curve stops after `stopAfterFailures` failing steps in a row.
 * Output frames are counted from the output bytes (video PES starts), not from the runtime's own
 * counters; the runtime's CPU time over each step is reported next to them.
 */
import { readFileSync } from 'node:fs';

import { ensureClip } from '../clips';
import { makeFigure } from '../figures';
import { collect, feed, ProbeChannels, RuntimeProcess, withTimeout, type CollectRecord, type FeedRecord } from '../runtime-probe';
import { param, type ScenarioOutcome } from '../scenario';
import { summarize } from '../stats';
import { frameChunks } from '../ts-index';
import type { CaseResult, RunOptions } from '../types';

interface Step {
  n: number;
  pass: boolean;
  minFps: number;
  dropped: number;
  latencyP50: number;
  latencyP99: number;
  cpuPercent: number;
  rssBytes: number;
  feedLagMs: number;
  endLagMs: number;
}

export async function run(params: Record<string, unknown>, opts: RunOptions): Promise<ScenarioOutcome> {
  const curve = param<number[]>(params, 'curve', [1, 2, 4, 6, 8, 10, 12]);
  const fps = param(params, 'fps', 24);
  const seconds = param(params, 'seconds', 20);
  const width = param(params, 'width', 512);
  const height = param(params, 'height', 512);
  const stopAfter = param(params, 'stopAfterFailures', 2);
  const clip = ensureClip({ width, height, fps, seconds, noise: 8, gop: fps * 2 }, opts.clipDir);
  const frames = frameChunks(readFileSync(clip));
  const steps: Step[] = [];
  let failures = 0;
  const maxN = Math.max(...curve);
  const runtime = await RuntimeProcess.start({ capacity: maxN });
  const channels = new ProbeChannels();
  await channels.start();
  try {
    for (const [i, n] of curve.entries()) {
      opts.progress(i + 1, curve.length, `${n} concurrent stream(s), ${seconds} s`);
      const ids = Array.from({ length: n }, (_, s) => `b3-n${n}-s${s}`);
      const collecting: Promise<CollectRecord>[] = [];
      const feeding: Promise<FeedRecord>[] = [];
      const u0 = await runtime.usage();
      const t0 = performance.now();
      for (const id of ids) {
        const inUrl = channels.channel(`${id}-in`);
        const outUrl = channels.channel(`${id}-out`);
        collecting.push(collect(outUrl, channels.agent, { keepBytes: false }));
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
      let endLag = 0;
      const lat: number[] = [];
      for (const [s, out] of outs.entries()) {
        const count = out.firstByteAt.length;
        dropped += Math.max(0, frames.length - count);
        // Steady-state output rate: over the second half of the output (the first half absorbs the
        // start-up, after which a runtime that keeps up delivers at the input rate).
        const half = Math.floor(count / 2);
        const span = count - half > 1 ? ((out.firstByteAt[count - 1] as number) - (out.firstByteAt[half] as number)) / 1000 : 0;
        minFps = Math.min(minFps, span > 0 ? (count - 1 - half) / span : 0);
        endLag = Math.max(endLag, (out.firstByteAt[count - 1] ?? Number.NaN) - ((fed[s] as FeedRecord).lastByteAt.at(-1) ?? Number.NaN));
        // Without drops output frame k is input frame k: its latency from the input's last byte.
        if (count === frames.length) {
          const f = fed[s] as FeedRecord;
          for (let k = 0; k < count; k++) lat.push((out.firstByteAt[k] as number) - (f.lastByteAt[k] as number));
        }
      }
      const l = summarize(lat);
      const step: Step = {
        n,
        pass: dropped === 0 && minFps >= 0.95 * fps,
        minFps,
        dropped,
        latencyP50: l.p50,
        latencyP99: l.p99,
        cpuPercent: ((u1.cpuMs - u0.cpuMs) / wall) * 100,
        rssBytes: Math.max(mid.rssBytes, u1.rssBytes),
        feedLagMs: Math.max(...fed.map((f) => f.maxLagMs)),
        endLagMs: endLag,
      };
      steps.push(step);
      failures = step.pass ? 0 : failures + 1;
      if (failures >= stopAfter) break;
    }
  } finally {
    await channels.stop();
    await runtime.close();
  }
  const best = steps.filter((s) => s.pass).reduce((m, s) => Math.max(m, s.n), 0);
  const cases: CaseResult[] = steps.map((s) => ({
    case: `N = ${s.n}`,
    figures: [
      makeFigure({ metric: 'slowest stream out fps (2nd half)', unit: 'fps', better: 'higher', ours: [s.minFps], hasCold: false, target: { kind: 'min', value: 0.95 * fps, text: `>= ${(0.95 * fps).toFixed(1)} fps, no drops` } }),
      makeFigure({ metric: 'frames dropped (all streams)', unit: 'frames', better: 'lower', ours: [s.dropped], hasCold: false }),
      makeFigure({ metric: 'latency p50, index-matched', unit: 'ms', better: 'lower', ours: [s.latencyP50], hasCold: false }),
      makeFigure({ metric: 'latency p99, index-matched', unit: 'ms', better: 'lower', ours: [s.latencyP99], hasCold: false }),
      makeFigure({ metric: 'runtime process CPU', unit: '% of a core', better: 'lower', ours: [s.cpuPercent], hasCold: false }),
    ],
    rssBytes: s.rssBytes,
    extra: { pass: s.pass, feedMaxLagMs: s.feedLagMs, lastOutputAfterLastInputMs: s.endLagMs },
  }));
  cases.push({
    case: 'curve',
    figures: [makeFigure({ metric: 'most streams passing', unit: 'streams', better: 'higher', ours: [best], hasCold: false, target: { kind: 'min', value: 10, text: '>= 10 streams on 2 cores' } })],
  });
  return {
    cases,
    notes: [
      `${frames.length} frames per stream (${seconds} s at ${fps} fps, 512² clip, GOP ${fps * 2}); one runtime process for the whole curve; the probe (feeders, trickle server, collectors) shares the machine`,
      'a step passes when no stream lost a frame and every stream’s output rate over the second half of its output is ≥ 0.95× its input rate; latency over all frames of the step, output frame k matched to input frame k (valid only without drops)',
    ],
  };
}
