/**
 * B8: NVDEC throughput on 1080p H.264, 1 and N concurrent sessions, next to
 * `ffmpeg -hwaccel cuda -hwaccel_output_format cuda -i clip -f null -` (frames stay on the GPU in
 * both), interleaved run by run. Aggregate decoded frames per second over all sessions.
 */
import { readFileSync } from 'node:fs';

import { Decoder } from 'trickle-rt';
import { nvdecArgs, runFfmpegBenchmark } from '../anchors';
import { ensureClip } from '../clips';
import { makeFigure } from '../figures';
import { gpuMemoryUsed } from '../system-info';
import { param, type ScenarioOutcome } from '../scenario';
import type { CaseResult, RunOptions } from '../types';

async function decodeAll(data: Buffer, device: `cuda:${number}`): Promise<number> {
  const decoder = Decoder.from(data, { device, audio: 'none' });
  let frames = 0;
  for await (const item of decoder.frames()) {
    if (item.type === 'video') frames++;
    if (item.type === 'video' || item.type === 'audio') item.frame.close();
  }
  await decoder.close();
  return frames;
}

export async function run(params: Record<string, unknown>, opts: RunOptions): Promise<ScenarioOutcome> {
  const sessions = param<number[]>(params, 'sessions', [1, 4]);
  const c = param(params, 'clip', { width: 1920, height: 1080, noise: 8 as 8 | 25 });
  const clip = ensureClip({ ...c, fps: 30, seconds: 10 }, opts.clipDir);
  const data = readFileSync(clip);
  const runs = Math.max(2, opts.runs);
  const total = sessions.length * runs * 2;
  let step = 0;
  const cases: CaseResult[] = [];
  for (const n of sessions) {
    const ours: number[] = [];
    const anchor: number[] = [];
    for (let r = 0; r < runs; r++) {
      opts.progress(++step, total, `${n} session(s): ffmpeg -hwaccel cuda run ${r + 1}/${runs}`);
      const a = await Promise.all(Array.from({ length: n }, () => runFfmpegBenchmark(nvdecArgs(clip))));
      const aFrames = a.reduce((s, x) => s + x.frames, 0);
      anchor.push(aFrames / (Math.max(...a.map((x) => x.wallMs)) / 1000));
      opts.progress(++step, total, `${n} session(s): ours run ${r + 1}/${runs}`);
      const t1 = performance.now();
      const frames = await Promise.all(Array.from({ length: n }, () => decodeAll(data, 'cuda:0')));
      ours.push(frames.reduce((s, x) => s + x, 0) / ((performance.now() - t1) / 1000));
    }
    cases.push({
      case: `${n} session(s), ${c.width}×${c.height}`,
      figures: [makeFigure({ metric: 'decoded frames/s (all sessions)', unit: 'fps', better: 'higher', ours, anchor, target: { kind: 'ratio', factor: 0.9, text: '>= 0.9× ffmpeg -hwaccel cuda' } })],
      rssBytes: process.memoryUsage.rss(),
      ...gpuMem(),
    });
  }
  return {
    cases,
    notes: [
      `${runs} runs per side interleaved; ffmpeg figures from its -benchmark rtime (decode loop only), ours from the first pushed byte to the last frame; run 1 = cold (CUDA context creation)`,
    ],
  };
}

function gpuMem(): { gpuMemBytes?: number } {
  const used = gpuMemoryUsed();
  return used === undefined ? {} : { gpuMemBytes: used };
}
