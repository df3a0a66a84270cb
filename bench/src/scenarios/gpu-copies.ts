/**
 * B7: the GPU data path, counted by the addon itself (copyCounters: whole-buffer copies made by
 * trickle-rt's frame, tensor and encoder code). 1080p H.264 through NVDEC with frames kept in device
 * memory, then two paths:
 *  - decode → model input: `frame.toTensor()` on the device (what a model consumes); target 0 host
 *    copies per frame;
 *  - decode → identity → encode with `encoder: 'auto'`: NVENC takes CUDA frames (target 0 copies), a
 *    GPU without NVENC (H100/H200) downloads once for x264 (target exactly 1 D2H per frame).
 * Per-frame copy counts and bytes are exact; the copies' time is shown as the wall time per frame
 * of each path (the counters do not time copies).
 */
import { readFileSync } from 'node:fs';

import { capabilities } from 'trickle-rt';
import { copyCounters } from 'trickle-rt';
import { Decoder } from 'trickle-rt';
import { Encoder } from 'trickle-rt';
import { ensureClip } from '../clips';
import { makeFigure } from '../figures';
import { gpuMemoryUsed } from '../system-info';
import { param, type ScenarioOutcome } from '../scenario';
import type { CaseResult, RunOptions } from '../types';

interface PathRun {
  frames: number;
  h2d: number;
  d2h: number;
  h2h: number;
  d2hBytes: number;
  h2dBytes: number;
  wallMs: number;
}

async function runPath(data: Buffer, frames: number, path: 'tensor' | 'encode'): Promise<PathRun> {
  copyCounters(true);
  const t0 = performance.now();
  const decoder = Decoder.from(data, { device: 'cuda:0', audio: 'none' });
  const encoder = path === 'encode' ? new Encoder({ encoder: 'auto', audio: 'none', fps: 30 }) : undefined;
  const draining = encoder
    ? (async () => {
        for await (const _ of encoder.chunks()) void _;
      })()
    : Promise.resolve();
  let n = 0;
  for await (const item of decoder.frames()) {
    if (item.type !== 'video') continue;
    const frame = item.frame;
    try {
      if (n < frames) {
        if (path === 'tensor') {
          const t = await frame.toTensor({ layout: 'nchw', dtype: 'float16', size: [512, 512], fit: 'crop' });
          t.close();
        } else {
          await encoder?.encode(frame);
        }
        n++;
      }
    } finally {
      frame.close();
    }
  }
  encoder?.end();
  await draining;
  const wallMs = performance.now() - t0;
  const c = copyCounters();
  await decoder.close();
  await encoder?.close();
  return { frames: n, h2d: c.hostToDevice, d2h: c.deviceToHost, h2h: c.hostToHost, d2hBytes: c.deviceToHostBytes, h2dBytes: c.hostToDeviceBytes, wallMs };
}

export async function run(params: Record<string, unknown>, opts: RunOptions): Promise<ScenarioOutcome> {
  const frames = param(params, 'frames', 300);
  const c = param(params, 'clip', { width: 1920, height: 1080, noise: 8 as 8 | 25 });
  const data = readFileSync(ensureClip({ ...c, fps: 30, seconds: 10 }, opts.clipDir));
  const nvenc = capabilities().nvenc.available;
  const runs = Math.max(2, opts.runs);
  const cases: CaseResult[] = [];
  let step = 0;
  for (const path of ['tensor', 'encode'] as const) {
    const rs: PathRun[] = [];
    for (let r = 0; r < runs; r++) {
      opts.progress(++step, runs * 2, `${path} path run ${r + 1}/${runs}`);
      rs.push(await runPath(data, frames, path));
    }
    const per = (f: (x: PathRun) => number): number[] => rs.map((x) => f(x) / x.frames);
    const hostCopies = per((x) => x.h2d + x.d2h + x.h2h);
    const expectD2h = path === 'tensor' || nvenc ? 0 : 1;
    cases.push({
      case: path === 'tensor' ? 'NVDEC → toTensor (model input)' : `NVDEC → identity → ${nvenc ? 'NVENC' : 'x264 (no NVENC)'}`,
      figures: [
        makeFigure({
          metric: 'D2H copies per frame',
          unit: 'copies',
          better: 'lower',
          ours: per((x) => x.d2h),
          target: { kind: 'custom', pass: per((x) => x.d2h).every((v) => v === expectD2h), text: `exactly ${expectD2h}` },
        }),
        makeFigure({
          metric: 'host copies per frame (H2D + D2H + H2H)',
          unit: 'copies',
          better: 'lower',
          ours: hostCopies,
          target: { kind: 'custom', pass: hostCopies.every((v) => v === expectD2h), text: `${expectD2h} in total` },
        }),
        makeFigure({ metric: 'D2H bytes per frame', unit: 'KiB', better: 'lower', ours: per((x) => x.d2hBytes / 1024) }),
        makeFigure({ metric: 'wall per frame', unit: 'ms', better: 'lower', ours: per((x) => x.wallMs) }),
      ],
      rssBytes: process.memoryUsage.rss(),
      ...gpuMem(),
    });
  }
  return { cases, notes: [`copy counts from the addon's copyCounters(), reset before each run; ${frames} frames of 1080p per run; NVENC ${nvenc ? 'present' : 'absent'}`] };
}

function gpuMem(): { gpuMemBytes?: number } {
  const used = gpuMemoryUsed();
  return used === undefined ? {} : { gpuMemBytes: used };
}
