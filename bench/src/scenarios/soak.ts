/**
 * B9: memory of the runtime over a soak. A StreamServer process runs `streams` live 512² streams
 * for `minutes` (fed in real time from one long clip); its RSS is sampled every `sampleSeconds`.
 * After `warmupSeconds` the samples are fitted with a line: growth = slope × soak length. Flat means
 * growth ≤ max(4 MiB, 2 % of the starting RSS). GPU memory is reported on GPU machines only.
 */
import { readFileSync } from 'node:fs';

import { ensureClip } from '../clips';
import { makeFigure } from '../figures';
import { collect, feed, ProbeChannels, RuntimeProcess, withTimeout, type CollectRecord } from '../runtime-probe';
import { param, type ScenarioOutcome } from '../scenario';
import { slope } from '../stats';
import { gpuMemoryUsed } from '../system-info';
import { frameChunks } from '../ts-index';
import type { RunOptions } from '../types';

export async function run(params: Record<string, unknown>, opts: RunOptions): Promise<ScenarioOutcome> {
  const minutes = param(params, 'minutes', 10);
  const streams = param(params, 'streams', 2);
  const fps = param(params, 'fps', 24);
  const width = param(params, 'width', 512);
  const height = param(params, 'height', 512);
  const sampleSeconds = param(params, 'sampleSeconds', 10);
  const warmupSeconds = param(params, 'warmupSeconds', 30);
  const seconds = Math.ceil(warmupSeconds + minutes * 60 + 2);
  opts.progress(0, 1, `making a ${seconds} s clip (cached)`);
  const clip = ensureClip({ width, height, fps, seconds, noise: 8, gop: fps * 2 }, opts.clipDir);
  const frames = frameChunks(readFileSync(clip));
  const runtime = await RuntimeProcess.start({ capacity: streams });
  const channels = new ProbeChannels();
  await channels.start();
  const times: number[] = [];
  const rss: number[] = [];
  const gpu: number[] = [];
  let outs: CollectRecord[] = [];
  try {
    const collecting: Promise<CollectRecord>[] = [];
    const feeding: Promise<unknown>[] = [];
    for (let s = 0; s < streams; s++) {
      const id = `b9-s${s}`;
      const inUrl = channels.channel(`${id}-in`);
      const outUrl = channels.channel(`${id}-out`);
      collecting.push(collect(outUrl, channels.agent, { keepBytes: false }));
      await runtime.startStream(id, inUrl, outUrl, { max_framerate: fps, width, height });
      feeding.push(feed(inUrl, frames, fps, channels.agent));
    }
    const t0 = performance.now();
    let done = false;
    const fed = Promise.all(feeding).finally(() => (done = true));
    const total = Math.ceil(seconds / sampleSeconds);
    for (let i = 0; !done; i++) {
      await Promise.race([new Promise((r) => setTimeout(r, sampleSeconds * 1000)), fed]);
      if (done) break;
      const u = await runtime.usage();
      const t = (performance.now() - t0) / 1000;
      times.push(t);
      rss.push(u.rssBytes);
      const g = opts.gpu.available ? gpuMemoryUsed(runtime.pid) : undefined;
      if (g !== undefined) gpu.push(g);
      opts.progress(i + 1, total, `${t.toFixed(0)} s of ${seconds} s, runtime RSS ${(u.rssBytes / 2 ** 20).toFixed(0)} MiB`);
    }
    await fed;
    outs = await withTimeout(Promise.all(collecting), 60_000, 'B9: outputs end of stream');
  } finally {
    await channels.stop();
    await runtime.close();
  }
  const keep = times.map((t, i) => (t >= warmupSeconds ? i : -1)).filter((i) => i >= 0);
  const xs = keep.map((i) => ((times[i] as number) - warmupSeconds) / 60);
  const ys = keep.map((i) => (rss[i] as number) / 2 ** 20);
  const perMin = slope(xs, ys);
  const startMiB = ys[0] ?? Number.NaN;
  const growth = perMin * minutes;
  const allowed = Math.max(4, 0.02 * startMiB);
  const outFrames = outs.map((o) => o.firstByteAt.length);
  return {
    cases: [
      {
        case: `${streams} stream(s) × ${minutes} min, ${width}² ${fps} fps`,
        figures: [
          makeFigure({ metric: 'runtime RSS after warm-up', unit: 'MiB', better: 'lower', ours: [startMiB], hasCold: false }),
          makeFigure({ metric: 'runtime RSS at the end', unit: 'MiB', better: 'lower', ours: [ys.at(-1) ?? Number.NaN], hasCold: false }),
          makeFigure({
            metric: 'RSS growth over the soak (fit)',
            unit: 'MiB',
            better: 'lower',
            ours: [growth],
            hasCold: false,
            target: { kind: 'custom', pass: Number.isFinite(growth) ? growth <= allowed : undefined, text: `flat: <= ${allowed.toFixed(1)} MiB` },
          }),
          makeFigure({ metric: 'RSS slope', unit: 'MiB/min', better: 'lower', ours: [perMin], hasCold: false }),
        ],
        rssBytes: Math.max(...rss),
        ...(gpu.length > 0 ? { gpuMemBytes: Math.max(...gpu) } : {}),
        extra: {
          gpuSeriesMiB: gpu.map((b) => (b / 2 ** 20).toFixed(0)).join(' '),
          samples: rss.length,
          maxRssMiB: Math.max(...rss) / 2 ** 20,
          inputFramesPerStream: frames.length,
          outputFrames: outFrames.join(' '),
          rssSeriesMiB: rss.map((b) => (b / 2 ** 20).toFixed(1)).join(' '),
        },
      },
    ],
    notes: [
      `soak ${minutes} min after ${warmupSeconds} s warm-up, RSS of the runtime process sampled every ${sampleSeconds} s; growth = least-squares slope × soak length`,
    ],
  };
}
