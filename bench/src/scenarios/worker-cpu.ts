/**
 * B10: worker CPU per frame on the real worker path. One real-time 24 fps stream at a time through
 * the runtime process (StreamServer, identity processor, output 512², so a 1080p input goes through
 * the worker's own resize), over trickle on loopback; the runtime process's CPU time (user+sys)
 * over the stream, divided by the frames it output. Anchor, run next to each stream: the ffmpeg
 * floor on the same clip (decode, scale to 512² where the input is larger, x264 superfast
 * zerolatency, one thread), its own -benchmark CPU time per frame.
 */
import { readFileSync } from 'node:fs';

import { floorArgs, runFfmpegBenchmark } from '../anchors';
import { ensureClip } from '../clips';
import { makeFigure } from '../figures';
import { collect, feed, ProbeChannels, RuntimeProcess, ThreadCpuSampler, type ThreadGroup, withTimeout } from '../runtime-probe';
import { param, type ScenarioOutcome } from '../scenario';
import { summarize } from '../stats';
import { frameChunks } from '../ts-index';
import type { CaseResult, RunOptions } from '../types';

interface CpuCase {
  name: string;
  input: [number, number];
  /** CPU ms per frame the goal allows on the 2-core CPU machine. */
  goalMs: number;
}

const THREAD_GROUPS: readonly ThreadGroup[] = ['js', 'decode', 'encode', 'other'];

export async function run(params: Record<string, unknown>, opts: RunOptions): Promise<ScenarioOutcome> {
  const fps = param(params, 'fps', 24);
  const seconds = param(params, 'seconds', 10);
  const cases = param<CpuCase[]>(params, 'cases', [
    { name: '512²→512²', input: [512, 512], goalMs: 6 },
    { name: '1080p→512²', input: [1920, 1080], goalMs: 10 },
  ]);
  const runs = Math.max(2, opts.runs);
  // Decoder / encoder thread counts of the runtime (`--set 'runtime={"encoderThreads":1}'`); its defaults when absent.
  const threadCounts = param<{ decoderThreads?: number; encoderThreads?: number }>(params, 'runtime', {});
  const runtime = await RuntimeProcess.start({ capacity: 1, ...threadCounts });
  const channels = new ProbeChannels();
  await channels.start();
  const results: CaseResult[] = [];
  let step = 0;
  const total = cases.length * runs;
  try {
    for (const c of cases) {
      const clip = ensureClip({ width: c.input[0], height: c.input[1], fps, seconds, noise: 8, gop: fps * 2 }, opts.clipDir);
      const frames = frameChunks(readFileSync(clip));
      const scale: [number, number] | null = c.input[0] === 512 && c.input[1] === 512 ? null : [512, 512];
      const ours: number[] = [];
      const anchor: number[] = [];
      const outFrames: number[] = [];
      const perThread: Partial<Record<ThreadGroup, number[]>> = {};
      let rss = 0;
      for (let r = 0; r < runs; r++) {
        opts.progress(++step, total, `${c.name}: floor, then stream ${r + 1}/${runs}`);
        const floor = await runFfmpegBenchmark(floorArgs(clip, scale));
        anchor.push(floor.cpuMs / Math.max(1, floor.frames));
        const id = `b10-${c.input[1]}-${r}`;
        const inUrl = channels.channel(`${id}-in`);
        const outUrl = channels.channel(`${id}-out`);
        const collecting = collect(outUrl, channels.agent, { keepBytes: false });
        const threads = new ThreadCpuSampler(runtime.pid);
        const u0 = await runtime.usage();
        threads.begin();
        await runtime.startStream(id, inUrl, outUrl, { max_framerate: fps, width: 512, height: 512 });
        await feed(inUrl, frames, fps, channels.agent);
        const out = await withTimeout(collecting, 60_000, `B10 ${c.name} run ${r + 1}: output end of stream`);
        const u1 = await runtime.usage();
        const byThread = threads.end();
        rss = Math.max(rss, u1.rssBytes);
        const n = out.firstByteAt.length;
        if (n === 0) throw new Error(`B10 ${c.name} run ${r + 1}: no output frame`);
        ours.push((u1.cpuMs - u0.cpuMs) / n);
        // The first run warms the process up (module loading, JIT): like the medians, the breakdown is of the later runs.
        if (r > 0) for (const g of THREAD_GROUPS) (perThread[g] ??= []).push((byThread[g] ?? 0) / n);
        outFrames.push(n);
        await runtime.stopStream(id);
      }
      results.push({
        case: c.name,
        figures: [
          makeFigure({
            metric: 'worker CPU (user+sys) per output frame; anchor: ffmpeg floor CPU per frame',
            unit: 'ms',
            better: 'lower',
            ours,
            anchor,
            target: { kind: 'max', value: c.goalMs, text: `<= ${c.goalMs} ms` },
          }),
        ],
        rssBytes: rss,
        extra: {
          inputFrames: frames.length,
          outputFramesPerRun: outFrames.join(' '),
          ...(Object.keys(perThread).length > 0
            ? { cpuPerFrameByThreadMs: THREAD_GROUPS.map((g) => `${g} ${summarize(perThread[g] ?? [0]).median.toFixed(2)}`).join(' · ') }
            : {}),
        },
      });
    }
  } finally {
    await channels.stop();
    await runtime.close();
  }
  return {
    cases: results,
    notes: [
      `${runs} runs per case, interleaved (floor, stream, floor, stream …); one stream at a time, ${seconds} s at ${fps} fps, real time, params width=height=512 (the worker resizes larger input)`,
      'ours: CPU time of the whole runtime process (decode, resize, identity processor, encode, trickle subscribe and publish) over the stream / frames out; the probe (feeder, trickle server, collector) runs in another process',
      'cpuPerFrameByThreadMs (Linux): the same CPU time by thread, median of the runs after the first: js = the main thread (JavaScript, HTTP I/O, native calls from JS), decode / encode = the addon\'s trt-decode / trt-encode threads with their libavcodec and x264 workers, other = V8\'s GC and compiler threads and libuv\'s pool (the 1080p resize runs there); 10 ms resolution per thread',
      `floor: ffmpeg ${floorArgs('clip.ts', [512, 512]).join(' ')} (scale only for the 1080p input); -benchmark utime+stime / frames`,
    ],
  };
}
