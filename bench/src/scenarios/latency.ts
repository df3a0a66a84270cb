/**
 * B4: added latency of the runtime, measured on the real path. The input clip carries each frame's
 * index in its pixels (see clips.ts). The probe publishes it in real time (30 fps) into a trickle
 * channel and notes when the last byte of frame N is handed to the socket; a StreamServer in another
 * process (identity processor) decodes, processes, encodes and publishes; the probe subscribes to
 * the output and notes when the first byte of each output frame arrives. After the run the output
 * is decoded (ffmpeg CLI, an independent decoder) and each output frame's stamp tells which input
 * frame it is. Latency = first output byte of frame N − last input byte of frame N.
 *
 * Each run is a new stream in the same runtime process; run 1 (the process's first stream) is the
 * cold run.
 */
import { readFileSync } from 'node:fs';

import { floorArgs, runFfmpegBenchmark } from '../anchors';
import { ensureClip } from '../clips';
import { makeFigure } from '../figures';
import { collect, feed, ProbeChannels, readStamps, RuntimeProcess, withTimeout } from '../runtime-probe';
import { param, type ScenarioOutcome } from '../scenario';
import { summarize } from '../stats';
import { frameChunks } from '../ts-index';
import type { RunOptions } from '../types';

export async function run(params: Record<string, unknown>, opts: RunOptions): Promise<ScenarioOutcome> {
  const fps = param(params, 'fps', 30);
  const seconds = param(params, 'seconds', 10);
  const width = param(params, 'width', 512);
  const height = param(params, 'height', 512);
  const targetP50 = param(params, 'targetP50', 10);
  const targetP99 = param(params, 'targetP99', 33);
  const runs = Math.max(2, opts.runs);
  const clip = ensureClip({ width, height, fps, seconds, noise: 8, stamped: true }, opts.clipDir);
  const frames = frameChunks(readFileSync(clip));
  const runtime = await RuntimeProcess.start({ capacity: 1 });
  const channels = new ProbeChannels();
  await channels.start();
  const perRun: number[][] = [];
  // The floor: ffmpeg's decode + x264 encode of one frame of the same clip (wall ms per frame),
  // one run next to each stream run.
  const floorPerFrame: number[] = [];
  // Where the time goes inside the runtime, per stage (p50 of the stream's own per-frame figures).
  const stagePerRun: Array<Record<string, number>> = [];
  const perRunNext: number[][] = [];
  const matchedPerRun: number[] = [];
  const outFramesPerRun: number[] = [];
  let rss = 0;
  try {
    for (let r = 0; r < runs; r++) {
      opts.progress(r + 1, runs, `stream ${r + 1}/${runs}: ${frames.length} stamped frames at ${fps} fps`);
      const id = `b4-${r}`;
      const inUrl = channels.channel(`${id}-in`);
      const outUrl = channels.channel(`${id}-out`);
      opts.progress(r + 1, runs, `floor run ${r + 1}/${runs}: ffmpeg decode + x264 of the same clip`);
      const floor = await runFfmpegBenchmark(floorArgs(clip, null));
      floorPerFrame.push(floor.wallMs / Math.max(1, floor.frames));
      const collecting = collect(outUrl, channels.agent, { keepBytes: true });
      await runtime.startStream(id, inUrl, outUrl, { max_framerate: fps, width, height });
      // The stream's stage figures, sampled while it runs (it is gone once its output ended).
      let stages: Record<string, { p50: number | null }> | undefined;
      const sampling = setInterval(() => {
        void runtime.usage().then((u) => {
          const snap = u.streams[id] as { stagesMs?: Record<string, { p50: number | null }> } | undefined;
          if (snap?.stagesMs) stages = snap.stagesMs;
        });
      }, 500);
      const fed = await feed(inUrl, frames, fps, channels.agent).finally(() => clearInterval(sampling));
      const out = await withTimeout(collecting, 30_000, `B4 run ${r + 1}: output end of stream`);
      const stamps = await readStamps(out.bytes, width);
      if (stamps.length !== out.firstByteAt.length) {
        throw new Error(`run ${r + 1}: ffmpeg decoded ${stamps.length} output frames, the TS index found ${out.firstByteAt.length}`);
      }
      const lat: number[] = [];
      const latNext: number[] = [];
      const seen = new Set<number>();
      for (let k = 0; k < stamps.length; k++) {
        const n = stamps[k] as number;
        if (n >= frames.length || seen.has(n) || fed.lastByteAt[n] === undefined) continue;
        seen.add(n);
        lat.push((out.firstByteAt[k] as number) - (fed.lastByteAt[n] as number));
        const next = fed.firstByteAt[n + 1];
        if (next !== undefined) latNext.push((out.firstByteAt[k] as number) - next);
      }
      if (lat.length === 0) throw new Error(`run ${r + 1}: no output frame carried a readable input stamp`);
      const stageP50: Record<string, number> = {};
      for (const [name, s] of Object.entries(stages ?? {})) stageP50[name] = s.p50 ?? 0;
      stagePerRun.push(stageP50);
      perRun.push(lat);
      perRunNext.push(latNext);
      matchedPerRun.push(seen.size);
      outFramesPerRun.push(stamps.length);
      rss = Math.max(rss, (await runtime.usage()).rssBytes);
      await runtime.stopStream(id);
    }
  } finally {
    await channels.stop();
    await runtime.close();
  }
  const steadyItems = perRun.slice(1).flat();
  const p = (xs: number[], q: 'p50' | 'p99'): number => summarize(xs)[q];
  // The stage breakdown of the p50 latency: the runtime's own stages, and the rest (the wait for
  // a frame's bytes through the input, and the hand-offs between native threads and JS).
  const stageNames: Array<[string, string]> = [
    ['decode', 'decode (native, per frame)'],
    ['queue', 'queue (decoded → processor)'],
    ['resize', 'resize'],
    ['processor', 'processor'],
    ['encoderSubmit', 'encoder submit'],
    ['encode', 'encode + mux (native, per frame)'],
    ['outputWrite', 'output write'],
  ];
  const stageFigures = stageNames.map(([key, label]) =>
    makeFigure({ metric: `stage p50: ${label}`, unit: 'ms', better: 'lower', ours: stagePerRun.map((s) => s[key] ?? 0) }),
  );
  const rest = perRun.map((x, i) => p(x, 'p50') - stageNames.reduce((acc, [key]) => acc + (stagePerRun[i]?.[key] ?? 0), 0));
  stageFigures.push(makeFigure({ metric: 'stage p50: input wait + thread hand-offs (the rest of p50)', unit: 'ms', better: 'lower', ours: rest }));
  return {
    cases: [
      {
        case: `${width}×${height}, ${fps} fps, ${seconds} s per stream`,
        figures: [
          makeFigure({
            metric: 'latency p50 (last in byte → first out byte); anchor: ffmpeg decode + encode per frame',
            unit: 'ms',
            better: 'lower',
            ours: perRun.map((x) => p(x, 'p50')),
            anchor: floorPerFrame,
            oursItems: steadyItems,
            target: { kind: 'max', value: targetP50, stat: 'p50', text: `p50 <= ${targetP50} ms` },
          }),
          makeFigure({
            metric: 'latency p99',
            unit: 'ms',
            better: 'lower',
            ours: perRun.map((x) => p(x, 'p99')),
            oursItems: steadyItems,
            target: { kind: 'max', value: targetP99, stat: 'p99', text: `p99 <= ${targetP99} ms` },
          }),
          makeFigure({
            metric: 'diagnostic: first out byte − first in byte of frame N+1',
            unit: 'ms',
            better: 'lower',
            ours: perRunNext.map((x) => p(x, 'p50')),
            oursItems: perRunNext.slice(1).flat(),
          }),
          ...stageFigures,
        ],
        rssBytes: rss,
        extra: {
          inputFrames: frames.length,
          outputFramesLastRun: outFramesPerRun.at(-1) ?? 0,
          matchedFramesLastRun: matchedPerRun.at(-1) ?? 0,
        },
      },
    ],
    notes: [
      `${runs} streams one after another in one runtime process (StreamServer + identity processor, own process); run 1 is the cold run`,
      'latency per frame from the stamp in the decoded output pixels: first output byte of frame N (TS packet starting its PES) − last input byte of frame N handed to the socket; both clocks in the probe process',
      'the diagnostic row measures from the first byte of frame N+1: an MPEG-TS demuxer can only finish a PES of unknown length when the next one starts, so this is the part of the latency the runtime controls',
      'RSS column: the runtime process',
      'anchor of the p50 row: the floor, ffmpeg decode + x264 (superfast, zerolatency, 1 thread) of the same clip, wall ms per frame, one run next to each stream',
      "stage rows: the runtime's per-frame figures (StreamStats stagesMs, p50 per run); decode/encode are the native threads' averages; the last row is p50 minus the stages",
    ],
  };
}
