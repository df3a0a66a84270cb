/**
 * B1/B2: the per-frame media loop of one stream, next to the ffmpeg CLI floor (same FFmpeg
 * libraries, one thread each for decode and encode) run as a child process, interleaved A B A B.
 *
 * Ours: the clip's bytes are pushed into a streaming Decoder in 64 KiB pieces (as trickle segments
 * arrive), every decoded frame goes through an identity processor in JS and into an Encoder
 * (libx264 superfast/zerolatency, no B-frames, like the floor; 1 thread each, like the floor), and
 * the MPEG-TS output is drained as it is produced. Wall ms/frame is first byte in → last byte out;
 * CPU ms/frame is this process's user+sys over the same span (native decode/encode threads
 * included). The floor's figures come from its own `-benchmark` (transcode loop only).
 */
import { readFileSync } from 'node:fs';

import { Decoder } from 'trickle-rt';
import { Encoder } from 'trickle-rt';
import type { VideoFrame } from 'trickle-rt';
import { floorArgs, runFfmpegBenchmark } from '../anchors';
import { ensureClip } from '../clips';
import { makeFigure } from '../figures';
import { gpuMemoryUsed } from '../system-info';
import { param, type ScenarioOutcome } from '../scenario';
import { frameChunks } from '../ts-index';
import type { CaseResult, RunOptions } from '../types';

interface MediaCase {
  name: string;
  clip: { width: number; height: number; noise: 8 | 25 };
  scale: [number, number] | null;
}

interface LoopRun {
  wallMs: number;
  cpuMs: number;
  frames: number;
  outBytes: number;
  rssBytes: number;
  gpuMemBytes: number | undefined;
}

/** The identity processor: what a user's `processVideo` returning its input costs in JS. */
function identity(frame: VideoFrame): VideoFrame {
  return frame;
}

export async function mediaLoop(input: Buffer, scale: [number, number] | null, device: 'cpu' | `cuda:${number}`): Promise<LoopRun> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const decoder = new Decoder({ device, threads: 1, audio: 'none' });
  const encoder = new Encoder({
    encoder: 'libx264',
    preset: 'superfast',
    tune: 'zerolatency',
    threads: 1,
    audio: 'none',
    fps: 30,
    ...(scale ? { width: scale[0], height: scale[1] } : {}),
  });
  let outBytes = 0;
  const draining = (async () => {
    for await (const item of encoder.chunks()) if (item.type === 'chunk') outBytes += item.data.length;
  })();
  const feeding = (async () => {
    const step = 64 * 1024;
    for (let i = 0; i < input.length; i += step) await decoder.push(input.subarray(i, Math.min(input.length, i + step)));
    decoder.end();
  })();
  let frames = 0;
  for await (const item of decoder.frames()) {
    if (item.type !== 'video') continue;
    const frame = item.frame;
    try {
      const out = identity(frame);
      await encoder.encode(out);
      frames++;
    } finally {
      frame.close();
    }
  }
  await feeding;
  encoder.end();
  await draining;
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const gpuMemBytes = device === 'cpu' ? undefined : gpuMemoryUsed();
  await decoder.close();
  await encoder.close();
  return { wallMs, cpuMs: (cpu.user + cpu.system) / 1000, frames, outBytes, rssBytes: process.memoryUsage.rss(), gpuMemBytes };
}

export async function run(params: Record<string, unknown>, opts: RunOptions): Promise<ScenarioOutcome> {
  const cases = param<MediaCase[]>(params, 'cases', []);
  const maxFrames = param(params, 'frames', 300);
  const device = param<'cpu' | `cuda:${number}`>(params, 'device', 'cpu');
  const focus = param<'wall' | 'cpu'>(params, 'focus', 'wall');
  const runs = Math.max(2, opts.runs);
  const total = cases.length * runs * 2;
  let step = 0;
  const results: CaseResult[] = [];
  let anchorCommand = '';
  for (const c of cases) {
    const clip = ensureClip({ width: c.clip.width, height: c.clip.height, noise: c.clip.noise, fps: 30, seconds: 10 }, opts.clipDir);
    const data = readFileSync(clip);
    const chunks = frameChunks(data);
    const frames = Math.min(maxFrames, chunks.length);
    // The first `frames` frames' bytes (the whole clip when frames = its length).
    const input = frames < chunks.length ? data.subarray(0, data.length - chunks.slice(frames).reduce((s, x) => s + x.bytes.length, 0)) : data;
    const args = floorArgs(clip, c.scale, frames < chunks.length ? frames : undefined);
    anchorCommand = `ffmpeg ${floorArgs('clip.ts', c.scale).join(' ')}`;
    const anchor: Array<{ wallMs: number; cpuMs: number; frames: number; rss: number }> = [];
    const ours: LoopRun[] = [];
    for (let r = 0; r < runs; r++) {
      opts.progress(++step, total, `${c.name}: anchor (ffmpeg floor) run ${r + 1}/${runs}`);
      const a = await runFfmpegBenchmark(args);
      anchor.push({ wallMs: a.wallMs, cpuMs: a.cpuMs, frames: a.frames, rss: a.maxRssBytes });
      opts.progress(++step, total, `${c.name}: ours run ${r + 1}/${runs}`);
      ours.push(await mediaLoop(input, c.scale, device));
    }
    const bad = ours.find((o) => o.frames !== frames);
    if (bad) throw new Error(`${c.name}: ours decoded/encoded ${bad.frames} frames, expected ${frames}`);
    const badA = anchor.find((a) => a.frames !== frames);
    if (badA) throw new Error(`${c.name}: the floor reported ${badA.frames} frames, expected ${frames}`);
    const wall = makeFigure({
      metric: 'wall per frame',
      unit: 'ms',
      better: 'lower',
      ours: ours.map((o) => o.wallMs / o.frames),
      anchor: anchor.map((a) => a.wallMs / a.frames),
      ...(focus === 'wall' ? { target: { kind: 'ratio' as const, factor: 1.1, text: '<= 1.10× floor' } } : {}),
    });
    const cpu = makeFigure({
      metric: 'CPU (user+sys) per frame',
      unit: 'ms',
      better: 'lower',
      ours: ours.map((o) => o.cpuMs / o.frames),
      anchor: anchor.map((a) => a.cpuMs / a.frames),
      ...(focus === 'cpu' ? { target: { kind: 'ratio' as const, factor: 1.1, text: '<= 1.10× floor' } } : {}),
    });
    results.push({
      case: c.name,
      figures: focus === 'wall' ? [wall, cpu] : [cpu, wall],
      rssBytes: Math.max(...ours.map((o) => o.rssBytes)),
      ...(ours.some((o) => o.gpuMemBytes !== undefined) ? { gpuMemBytes: Math.max(...ours.map((o) => o.gpuMemBytes ?? 0)) } : {}),
      extra: {
        frames,
        anchorMaxRssBytes: Math.max(...anchor.map((a) => a.rss)),
        outBytesPerRun: ours.at(-1)?.outBytes ?? 0,
        clip: clip.split('/').at(-1) ?? clip,
      },
    });
  }
  return {
    cases: results,
    anchorCommand,
    notes: [
      `${runs} runs per side, interleaved (floor, ours, floor, ours …); run 1 of ours is the cold run (first Decoder/Encoder of a fresh process)`,
      'ours: Decoder (1 thread) → identity in JS → Encoder (libx264 superfast, zerolatency, 1 thread); decode and encode run on separate native threads, so wall time may pipeline below the floor while CPU time cannot',
      'floor: -benchmark utime+stime and rtime of the transcode loop (input probing excluded); ours: the whole loop including codec set-up',
    ],
  };
}
