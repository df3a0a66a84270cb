/**
 * B5: time to the first output frame after `/stream/start`, in a warm runtime process. Each run:
 * the probe POSTs /stream/start, starts publishing the input in real time at once (as a gateway
 * does), and notes when the first input IDR's last byte is written and when the first byte of the
 * first output frame arrives. The target compares the latter with the former (first IDR + 150 ms).
 * Run 1 is the process's first stream (cold: codecs and pools set up for the first time).
 */
import { readFileSync } from 'node:fs';

import { ensureClip } from '../clips';
import { makeFigure } from '../figures';
import { collect, feed, newFeedRecord, ProbeChannels, RuntimeProcess, withTimeout } from '../runtime-probe';
import { param, type ScenarioOutcome } from '../scenario';
import { frameChunks } from '../ts-index';
import type { RunOptions } from '../types';

export async function run(params: Record<string, unknown>, opts: RunOptions): Promise<ScenarioOutcome> {
  const fps = param(params, 'fps', 30);
  const width = param(params, 'width', 512);
  const height = param(params, 'height', 512);
  const runs = Math.max(2, opts.runs);
  const clip = ensureClip({ width, height, fps, seconds: 10, noise: 8 }, opts.clipDir);
  const frames = frameChunks(readFileSync(clip)).slice(0, fps * 3);
  const runtime = await RuntimeProcess.start({ capacity: 1 });
  const channels = new ProbeChannels();
  await channels.start();
  const afterIdr: number[] = [];
  const afterStart: number[] = [];
  try {
    for (let r = 0; r < runs; r++) {
      opts.progress(r + 1, runs, `stream ${r + 1}/${runs}`);
      const id = `b5-${r}`;
      const inUrl = channels.channel(`${id}-in`);
      const outUrl = channels.channel(`${id}-out`);
      let firstOut = 0;
      let resolveFirst!: () => void;
      const first = new Promise<void>((resolve) => (resolveFirst = resolve));
      const collecting = collect(outUrl, channels.agent, {
        keepBytes: false,
        onFrame: (k, at) => {
          if (k === 0) {
            firstOut = at;
            resolveFirst();
          }
        },
      });
      const rec = newFeedRecord();
      let stop = false;
      const t0 = performance.now();
      await runtime.startStream(id, inUrl, outUrl, { max_framerate: fps, width, height });
      const feeding = feed(inUrl, frames, fps, channels.agent, rec, () => stop);
      await withTimeout(first, 20_000, `B5 run ${r + 1}: first output frame`);
      stop = true;
      await feeding;
      await runtime.stopStream(id);
      await withTimeout(collecting, 20_000, `B5 run ${r + 1}: output end of stream`);
      const idr = rec.lastByteAt[0];
      if (idr === undefined) throw new Error('the first input frame was never written');
      afterIdr.push(firstOut - idr);
      afterStart.push(firstOut - t0);
    }
  } finally {
    await channels.stop();
    await runtime.close();
  }
  return {
    cases: [
      {
        case: `${width}×${height}, ${fps} fps input`,
        figures: [
          makeFigure({
            metric: 'first output byte − first input IDR written',
            unit: 'ms',
            better: 'lower',
            ours: afterIdr,
            target: { kind: 'max', value: 150, text: '<= first IDR + 150 ms' },
          }),
          makeFigure({ metric: 'first output byte − /stream/start sent', unit: 'ms', better: 'lower', ours: afterStart }),
        ],
      },
    ],
    notes: [`${runs} streams one after another in one runtime process (warm after run 1, which is reported as cold)`],
  };
}
