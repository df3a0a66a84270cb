/**
 * `trickle-rt demo`: the whole system on one machine, with nothing else installed. An embedded
 * trickle server plays the orchestrator; a synthetic input is encoded on the fly and published into
 * it in real time; a StreamServer with the sample tint processor is started through its own HTTP
 * API; halfway through, the tint is changed through `/stream/params`; the output is subscribed and
 * decoded back. The summary's figures come from the decoded output, and the exit code is 0 only if
 * the effect is visible in the output pixels of both phases.
 */
import { createWriteStream, type WriteStream } from 'node:fs';

import { Decoder } from '../../media/decoder';
import { Encoder } from '../../media/encoder';
import { Tensor } from '../../media/tensor';
import { VideoFrame } from '../../media/video-frame';
import { createTintProcessor, type Tint } from '../../processor/samples/tint';
import { createLogger } from '../../logger';
import { StreamServer } from '../../worker/stream-server';
import { TricklePublisher } from '../../trickle/trickle-publisher';
import { TrickleServer } from '../../trickle-server/trickle-server';
import { TrickleSubscriber } from '../../trickle/trickle-subscriber';
import { defineCommand } from '../args';

const IN_W = 640;
const IN_H = 360;

/** A synthetic RGB picture: a moving grey ramp with red, green and blue bars of equal area (no dominant channel). */
function syntheticFrame(i: number): Uint8Array {
  const rgb = new Uint8Array(IN_W * IN_H * 3);
  const shift = (i * 6) % IN_W;
  for (let y = 0; y < IN_H; y++) {
    const band = Math.floor((y * 4) / IN_H); // 0..3
    for (let x = 0; x < IN_W; x++) {
      const o = (y * IN_W + x) * 3;
      const ramp = Math.floor((((x + shift) % IN_W) / IN_W) * 200) + 28;
      if (band === 3) {
        rgb[o] = ramp;
        rgb[o + 1] = ramp;
        rgb[o + 2] = ramp;
      } else {
        rgb[o] = band === 0 ? 200 : 40;
        rgb[o + 1] = band === 1 ? 200 : 40;
        rgb[o + 2] = band === 2 ? 200 : 40;
      }
    }
  }
  return rgb;
}

interface PhaseResult {
  tint: Tint;
  frames: number;
  dominant: number;
  meanRgb: [number, number, number];
  ok: boolean;
}

function dominantChannel(rgb: [number, number, number]): { channel: number; margin: number } {
  const order = [0, 1, 2].sort((a, b) => rgb[b]! - rgb[a]!);
  return { channel: order[0]!, margin: rgb[order[0]!]! - rgb[order[1]!]! };
}

const CHANNEL_OF: Record<string, number> = { red: 0, green: 1, blue: 2 };

/** Resolves `value` after `ms` without keeping the process alive. */
function after<T>(ms: number, value: T): Promise<T> {
  return new Promise((resolve) => setTimeout(() => resolve(value), ms).unref());
}

function round(n: number | null, digits = 1): number | null {
  if (n === null || !Number.isFinite(n)) return null;
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

export const demoCommand = defineCommand({
  name: 'demo',
  summary: 'run the whole pipeline locally (trickle server, synthetic input, worker, output check)',
  description: `Starts an embedded trickle server, publishes a synthetic 640x360 input encoded on the fly, starts a
worker with a colour-tint processor through its HTTP API (red, then blue after a /stream/params
call halfway), decodes the output, prints a live status line and a final JSON summary. --out saves
the output MPEG-TS. Exit code 0 only if the tint is visible in the decoded output pixels.`,
  options: {
    seconds: { kind: 'number', min: 2, max: 3600, default: 8, help: 'length of the input' },
    fps: { kind: 'integer', min: 1, max: 60, default: 24, help: 'frame rate of the input' },
    out: { kind: 'string', valueName: 'FILE', help: 'save the output MPEG-TS here' },
    quiet: { kind: 'boolean', help: 'no live status line' },
  },
  async run({ options }) {
    const quiet = options.quiet || !process.stderr.isTTY;
    return runDemo({ seconds: options.seconds, fps: options.fps, out: options.out, quiet });
  },
});

interface DemoOptions {
  seconds: number;
  fps: number;
  out: string | undefined;
  quiet: boolean;
}

async function runDemo(opts: DemoOptions): Promise<number> {
  const t0 = performance.now();
  const logs: string[] = [];
  const logger = createLogger({ level: process.env['TRICKLE_LOG_LEVEL'] === 'debug' ? 'debug' : 'warn', write: (l) => logs.push(l) });
  const trickle = new TrickleServer();
  const trickleUrl = `http://127.0.0.1:${await trickle.listen(0, '127.0.0.1')}`;
  const id = 'demo';
  const channels = { subscribe_url: id, publish_url: `${id}-out`, control_url: `${id}-control`, events_url: `${id}-events`, data_url: `${id}-data` };
  // As an orchestrator does, create the stream's channels up front.
  trickle.createChannel(channels.subscribe_url, 'video/MP2T');
  trickle.createChannel(channels.publish_url, 'video/MP2T');
  trickle.createChannel(channels.control_url, 'application/json');
  trickle.createChannel(channels.events_url, 'application/json');
  trickle.createChannel(channels.data_url, 'application/jsonl');

  const worker = new StreamServer({ processor: createTintProcessor(), port: 0, host: '127.0.0.1', logger, register: false });
  await worker.listen();
  await worker.initialize();
  const abort = new AbortController();
  let outFile: WriteStream | undefined;
  if (opts.out) outFile = createWriteStream(opts.out);

  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${worker.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  // ---- output: subscribe, decode, measure ----
  let switchedAt: number | null = null; // output frame count when the tint changed
  const perFrame: FrameColour[] = [];
  let lastDraw = 0;
  const draw = (force = false) => {
    if (opts.quiet) return;
    const now = performance.now();
    if (!force && now - lastDraw < 250) return;
    lastDraw = now;
    const s = worker.stream(id)?.stats.snapshot();
    const line =
      `demo ${((now - t0) / 1000).toFixed(1)}s | in ${s ? s.fps.ingress_video_fps.toFixed(1) : '-'} fps | ` +
      `out ${s ? s.fps.egress_video_fps.toFixed(1) : '-'} fps | latency p50 ${s?.latencyMs.p50 !== null && s ? s.latencyMs.p50.toFixed(0) : '-'} ms | ` +
      `drops ${s ? s.framesDropped + s.framesGated : 0} | decoded out ${output.frames}`;
    process.stderr.write(`\r${line.padEnd(110)}`);
  };
  const output = watchOutput(`${trickleUrl}/${channels.publish_url}`, abort.signal, outFile, (rgb) => {
    output.firstFrameMs ??= performance.now() - t0;
    perFrame.push({ rgb, afterSwitch: switchedAt !== null });
    draw();
  });

  // ---- events: count by type ----
  const events = countEvents(`${trickleUrl}/${channels.events_url}`, abort.signal);

  // ---- start the stream through the worker's own HTTP API ----
  const startReply = await post('/stream/start', {
    gateway_request_id: id,
    subscribe_url: `${trickleUrl}/${channels.subscribe_url}`,
    publish_url: `${trickleUrl}/${channels.publish_url}`,
    control_url: `${trickleUrl}/${channels.control_url}`,
    events_url: `${trickleUrl}/${channels.events_url}`,
    data_url: `${trickleUrl}/${channels.data_url}`,
    params: { tint: 'red', strength: 0.6, max_framerate: opts.fps },
  });
  if (startReply.status !== 200) {
    process.stderr.write(`demo: /stream/start answered ${startReply.status}: ${JSON.stringify(startReply.body)}\n`);
    abort.abort();
    await worker.shutdown();
    await trickle.close();
    return 1;
  }

  // ---- input: synthetic frames, encoded on the fly, published in real time ----
  let total = Math.round(opts.seconds * opts.fps);
  const encoder = new Encoder({ gopSeconds: 1, audio: 'none' });
  const publisher = new TricklePublisher(`${trickleUrl}/${channels.subscribe_url}`, { mime: 'video/MP2T', start: 0 });
  const publishing = (async () => {
    for await (const segment of encoder.segments()) {
      const writer = await publisher.next();
      for await (const chunk of segment.chunks()) await writer.write(chunk);
      await writer.end();
    }
  })();
  let paramsReply: { status: number; body: Record<string, unknown> } | undefined;
  // The tint switches halfway through the input, but not before some red frames came back out: on a
  // slow or busy machine the first output frame can take seconds (decoder probing, encoder start).
  const half = Math.floor(total / 2);
  const minPhaseFrames = Math.max(6, Math.ceil(opts.fps / 2));
  let clock = performance.now();
  let clockFrame = 0;
  for (let i = 0; i < total; i++) {
    const due = clock + ((i - clockFrame) * 1000) / opts.fps;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    using t = Tensor.from(syntheticFrame(i), [IN_H, IN_W, 3]);
    using frame = await VideoFrame.fromTensor(t, null, { pts: Math.round((i * 90000) / opts.fps), timeBase: [1, 90000] });
    await encoder.encode(frame);
    if (i >= half && switchedAt === null && (output.frames >= minPhaseFrames || i >= total - 1)) {
      paramsReply = await post('/stream/params', { tint: 'blue', strength: 0.6 });
      switchedAt = output.frames;
      // the second half of the input starts now
      total = Math.max(total, i + 1 + (total - half));
      clock = performance.now();
      clockFrame = i + 1;
    }
    draw();
  }
  encoder.end();
  await publishing;
  await publisher.close(); // DELETE: the worker sees input EOS, drains, and DELETEs its output

  const stream = worker.stream(id);
  const statsAtEnd = stream?.stats;
  const ended = stream ? await Promise.race([stream.done, after(15_000, null)]) : null;
  await Promise.race([output.done, after(10_000, null)]);
  const healthAfter = ((await (await fetch(`${worker.url}/health`)).json()) as { status: string }).status;
  abort.abort();
  await Promise.allSettled([output.done, events.done]);
  await worker.shutdown();
  await trickle.close();
  if (outFile) await new Promise<void>((r) => outFile!.end(() => r()));
  if (!opts.quiet) {
    draw(true);
    process.stderr.write('\n');
  }

  // ---- verdict from the decoded pixels ----
  const { red, blue } = judgeTints(perFrame, minPhaseFrames);
  const snap = statsAtEnd?.snapshot();
  const ok = red.ok && blue.ok && output.width === 512 && output.height === 512 && paramsReply?.status === 200;
  const summary = {
    ok,
    seconds: round((performance.now() - t0) / 1000),
    input: { frames: total, width: IN_W, height: IN_H, fps: opts.fps },
    output: {
      frames: output.frames,
      width: output.width,
      height: output.height,
      segments: output.segments,
      bytes: output.bytes,
      first_frame_ms: round(output.firstFrameMs, 0),
      file: opts.out ?? null,
    },
    effect: { red, blue, params_update_status: paramsReply?.status ?? null },
    worker: snap
      ? {
          frames_in: snap.framesIn,
          frames_processed: snap.framesProcessed,
          frames_out: snap.framesOut,
          dropped_queue: snap.framesDropped,
          dropped_framerate: snap.framesGated,
          processor_errors: snap.processorErrors,
          latency_ms: { p50: round(snap.latencyMs.p50), p99: round(snap.latencyMs.p99), max: round(snap.latencyMs.max) },
          time_to_first_output_ms: round(snap.timeToFirstOutputMs, 0),
          end: ended?.reason ?? 'timeout',
          health_after: healthAfter,
        }
      : null,
    events: events.counts,
  };
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  if (!ok && logs.length > 0) process.stderr.write(`worker log (last lines):\n${logs.slice(-20).join('')}`);
  return ok ? 0 : 1;
}

/** The mean colour of one decoded output frame, and whether it was decoded after the params call. */
interface FrameColour {
  rgb: [number, number, number];
  afterSwitch: boolean;
}

interface OutputWatch {
  frames: number;
  width: number;
  height: number;
  segments: number;
  bytes: number;
  firstFrameMs: number | null;
  /** Settles when the output channel ended (or the signal aborted). */
  done: Promise<void>;
}

/**
 * Subscribes to the worker's output channel, decodes it (saving the bytes to `outFile` if given)
 * and calls `onFrame` with each video frame's mean RGB, measured on a 64×64 RGB copy.
 */
function watchOutput(
  url: string,
  signal: AbortSignal,
  outFile: WriteStream | undefined,
  onFrame: (rgb: [number, number, number]) => void,
): OutputWatch {
  const watch: OutputWatch = { frames: 0, width: 0, height: 0, segments: 0, bytes: 0, firstFrameMs: null, done: Promise.resolve() };
  watch.done = (async () => {
    const decoder = new Decoder({ device: 'cpu', audio: 'none' });
    const sub = new TrickleSubscriber(url, { start: 0, signal });
    const feed = (async () => {
      try {
        for await (const segment of sub) {
          watch.segments += 1;
          for await (const chunk of segment) {
            watch.bytes += chunk.byteLength;
            outFile?.write(chunk);
            await decoder.push(chunk);
          }
        }
      } finally {
        decoder.end();
      }
    })();
    for await (const item of decoder.frames({ signal })) {
      if (item.type !== 'video') continue;
      const frame = item.frame;
      try {
        watch.frames += 1;
        watch.width = frame.width;
        watch.height = frame.height;
        using t = await frame.toTensor({ layout: 'nhwc', dtype: 'uint8', size: [64, 64] });
        const px = t.data as Uint8Array;
        const sum = [0, 0, 0];
        for (let i = 0; i < px.length; i += 3) {
          sum[0] += px[i]!;
          sum[1] += px[i + 1]!;
          sum[2] += px[i + 2]!;
        }
        const n = px.length / 3;
        onFrame([sum[0]! / n, sum[1]! / n, sum[2]! / n]);
      } finally {
        frame.close();
      }
    }
    await feed;
  })();
  return watch;
}

/** Counts the events channel's messages by `event.type` until the channel ends or `signal` aborts. */
function countEvents(url: string, signal: AbortSignal): { counts: Record<string, number>; done: Promise<void> } {
  const counts: Record<string, number> = {};
  const done = (async () => {
    const sub = new TrickleSubscriber(url, { start: 0, signal });
    for await (const segment of sub) {
      try {
        const msg = JSON.parse((await segment.bytes()).toString('utf8')) as { event?: { type?: string } };
        const type = msg.event?.type ?? 'unknown';
        counts[type] = (counts[type] ?? 0) + 1;
      } catch {
        counts['unparseable'] = (counts['unparseable'] ?? 0) + 1;
      }
    }
  })();
  return { counts, done };
}

/**
 * The verdict from the decoded pixels: the frames before the params call must be red, those after
 * it blue. Frames decoded after the call that were processed before it (in flight) are still red:
 * the blue phase starts at the first blue frame, and `switchFrames` says how many came before it.
 */
function judgeTints(perFrame: FrameColour[], minPhaseFrames: number): { red: PhaseResult; blue: PhaseResult & { switchFrames?: number } } {
  const isTint = (f: FrameColour, tint: Tint) => {
    const d = dominantChannel(f.rgb);
    return d.channel === CHANNEL_OF[tint] && d.margin > 40;
  };
  const phase = (tint: Tint, frames: FrameColour[], skipped = 0): PhaseResult & { switchFrames?: number } => {
    const mean: [number, number, number] = [0, 0, 0];
    let dominant = 0;
    for (const f of frames) {
      for (let c = 0; c < 3; c++) mean[c] += f.rgb[c]! / frames.length;
      if (isTint(f, tint)) dominant += 1;
    }
    return {
      tint,
      frames: frames.length,
      dominant,
      meanRgb: mean.map((v) => Math.round(v)) as [number, number, number],
      ok: frames.length >= minPhaseFrames && dominant / frames.length >= 0.9,
      ...(tint === 'blue' ? { switchFrames: skipped } : {}),
    };
  };
  const red = phase('red', perFrame.filter((f) => !f.afterSwitch));
  const afterSwitch = perFrame.filter((f) => f.afterSwitch);
  const firstBlue = afterSwitch.findIndex((f) => isTint(f, 'blue'));
  const blue = phase('blue', firstBlue < 0 ? [] : afterSwitch.slice(firstBlue), firstBlue < 0 ? afterSwitch.length : firstBlue);
  return { red, blue };
}
