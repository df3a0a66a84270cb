/**
 * End-to-end harness over real sockets: an embedded TrickleServer playing the orchestrator, a
 * StreamServer, helpers to publish input, send control messages, and read back the decoded output,
 * events and data lines.
 */
import { readFileSync } from 'node:fs';

import { Decoder } from '../../src/media/decoder';
import type { FrameProcessor } from '../../src/processor/frame-processor';
import { silentLogger } from '../../src/logger';
import { StreamServer, type StreamServerOptions } from '../../src/worker/stream-server';
import { TricklePublisher } from '../../src/trickle/trickle-publisher';
import { TrickleServer } from '../../src/trickle-server/trickle-server';
import { TrickleSubscriber } from '../../src/trickle/trickle-subscriber';
import { fixturePath } from './fixtures';

export const FAST_TIMINGS = { heartbeatMs: 300, statusMs: 500, retryInitialMs: 20, retryMaxMs: 200, drainMs: 5000 };

export interface OutputFrame {
  width: number;
  height: number;
  pts: number | null;
  rgb: [number, number, number];
}

export class Harness {
  readonly trickle = new TrickleServer();
  trickleUrl = '';
  server!: StreamServer;
  private readonly aborts = new AbortController();

  static async create(processor: FrameProcessor, opts: Partial<StreamServerOptions> = {}): Promise<Harness> {
    const h = new Harness();
    h.trickleUrl = `http://127.0.0.1:${await h.trickle.listen(0, '127.0.0.1')}`;
    h.server = new StreamServer({
      processor,
      port: 0,
      host: '127.0.0.1',
      logger: silentLogger,
      register: false,
      timings: FAST_TIMINGS,
      // Input is fed faster than real time: keep every frame (no count or age drops, no input
      // backlog skips).
      queueSize: 256,
      maxQueueAgeMs: 3_600_000,
      maxInputBacklogMs: 0,
      media: { device: 'cpu' },
      ...opts,
    });
    await h.server.listen();
    await h.server.initialize();
    return h;
  }

  /** Creates the five channels of stream `id` as an orchestrator does; returns the start body URLs. */
  channels(id: string, which: Array<'subscribe' | 'publish' | 'control' | 'events' | 'data'> = ['subscribe', 'publish', 'control', 'events', 'data']) {
    const names = { subscribe: id, publish: `${id}-out`, control: `${id}-control`, events: `${id}-events`, data: `${id}-data` };
    const mimes = { subscribe: 'video/MP2T', publish: 'video/MP2T', control: 'application/json', events: 'application/json', data: 'application/jsonl' };
    const body: Record<string, string> = {};
    for (const k of which) {
      this.trickle.createChannel(names[k], mimes[k]);
      body[`${k}_url`] = `${this.trickleUrl}/${names[k]}`;
    }
    return body;
  }

  async post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await fetch(`${this.server.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  /** Starts stream `id` with its input channel and the channels in `which` (default: all five). */
  async start(id: string, params: Record<string, unknown> = {}, which?: Parameters<Harness['channels']>[1]) {
    // A start always names its input channel (subscribe_url is required).
    const urls = this.channels(id, which && !which.includes('subscribe') ? ['subscribe', ...which] : which);
    return this.post('/stream/start', { gateway_request_id: id, ...urls, params });
  }

  /** Publishes MPEG-TS bytes as `segments` trickle segments; closes (DELETE → EOS) unless `keepOpen`. */
  async publishInput(id: string, data: Buffer, opts: { segments?: number; keepOpen?: boolean; gapMs?: number } = {}): Promise<TricklePublisher> {
    const pub = new TricklePublisher(`${this.trickleUrl}/${id}`, { mime: 'video/MP2T', start: 0 });
    const n = opts.segments ?? 1;
    const per = Math.ceil(data.length / n / 188) * 188;
    for (let i = 0; i < n; i++) {
      await pub.writeSegment(data.subarray(i * per, Math.min(data.length, (i + 1) * per)));
      if (opts.gapMs) await new Promise((r) => setTimeout(r, opts.gapMs));
    }
    if (!opts.keepOpen) await pub.close();
    return pub;
  }

  /** Sends one control message (one segment on `<id>-control`). */
  async control(id: string, message: unknown, pub?: TricklePublisher): Promise<TricklePublisher> {
    const p = pub ?? new TricklePublisher(`${this.trickleUrl}/${id}-control`, { mime: 'application/json' });
    await p.writeSegment(typeof message === 'string' ? message : JSON.stringify(message));
    return p;
  }

  /** Subscribes the output from its first segment and decodes it until EOS. */
  output(id: string): { frames: OutputFrame[]; bytes: () => number; raw: Buffer[]; done: Promise<void> } {
    const frames: OutputFrame[] = [];
    const raw: Buffer[] = [];
    let bytes = 0;
    const decoder = new Decoder({ device: 'cpu', audio: 'none' });
    const sub = new TrickleSubscriber(`${this.trickleUrl}/${id}-out`, { start: 0, signal: this.aborts.signal });
    const feed = (async () => {
      try {
        for await (const segment of sub) {
          for await (const chunk of segment) {
            bytes += chunk.byteLength;
            raw.push(chunk);
            await decoder.push(chunk);
          }
        }
      } finally {
        decoder.end();
      }
    })();
    const decoding = (async () => {
      for await (const item of decoder.frames({ signal: this.aborts.signal })) {
        if (item.type !== 'video') continue;
        using frame = item.frame;
        using t = await frame.toTensor({ layout: 'nhwc', dtype: 'uint8', size: [32, 32] });
        const px = t.data as Uint8Array;
        const s = [0, 0, 0];
        for (let i = 0; i < px.length; i += 3) for (let c = 0; c < 3; c++) s[c]! += px[i + c]!;
        const n = px.length / 3;
        frames.push({ width: frame.width, height: frame.height, pts: frame.pts, rgb: [s[0]! / n, s[1]! / n, s[2]! / n] });
      }
    })();
    // An output that ended without a byte is not a container: that is "no frames", not an error.
    const done = Promise.all([feed, decoding.catch((err: unknown) => {
      if (bytes > 0) throw err;
    })]).then(() => undefined);
    return { frames, bytes: () => bytes, raw, done };
  }

  /** Collects `{event, queue_event_type}` messages from `<id>-events`. */
  events(id: string): Array<{ event: Record<string, unknown>; queue_event_type: string }> {
    const list: Array<{ event: Record<string, unknown>; queue_event_type: string }> = [];
    const sub = new TrickleSubscriber(`${this.trickleUrl}/${id}-events`, { start: 0, signal: this.aborts.signal });
    void (async () => {
      for await (const segment of sub) list.push(JSON.parse((await segment.bytes()).toString('utf8')));
    })().catch(() => undefined);
    return list;
  }

  /** Collects the lines of `<id>-data`. */
  data(id: string): string[] {
    const lines: string[] = [];
    const sub = new TrickleSubscriber(`${this.trickleUrl}/${id}-data`, { start: 0, signal: this.aborts.signal });
    void (async () => {
      for await (const segment of sub) {
        for (const line of (await segment.bytes()).toString('utf8').split('\n')) if (line !== '') lines.push(line);
      }
    })().catch(() => undefined);
    return lines;
  }

  async close(): Promise<void> {
    await this.server.shutdown();
    this.aborts.abort();
    await this.trickle.close();
  }
}

export function fixtureBytes(): Buffer {
  return readFileSync(fixturePath('testsrc512'));
}

/** Resolves once `predicate()` holds (checked every 20 ms; test helper only). */
export async function until(predicate: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function dominance(rgb: [number, number, number], channel: 0 | 1 | 2): number {
  const others = [0, 1, 2].filter((c) => c !== channel).map((c) => rgb[c]!);
  return rgb[channel] - Math.max(...others);
}
