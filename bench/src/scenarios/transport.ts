/**
 * B6: the trickle transport on loopback, next to a plain node:http chunked relay measured in the
 * same process, interleaved run by run:
 *  - bulk throughput: N bytes in 64 KiB writes, cut into 16 MiB segments, publisher → server →
 *    subscriber, MB/s from the first write to the last byte received;
 *  - per-write latency: 1 KiB writes sent one at a time (each after the previous one arrived), time
 *    from write() to the arrival of its last byte;
 *  - many channels: C channels at B bit/s each (30 writes/s, a segment every 2 s), all at once;
 *    delivered rate per channel, per-write latency, schedule lag and process CPU.
 * Publisher, server and subscriber share this process (and its event loop), as does the anchor.
 * `--set clients=plain` drives our TrickleServer with the anchor's plain clients instead (isolates
 * the server's cost from the clients').
 */
import { Agent } from 'node:http';

import { TricklePublisher } from 'trickle-rt';
import { TrickleServer } from 'trickle-rt';
import { TrickleSubscriber } from 'trickle-rt';
import { makeFigure } from '../figures';
import { getStream, PlainHttpRelay, PostWriter } from '../http-relay';
import { param, type ScenarioOutcome } from '../scenario';
import { summarize } from '../stats';
import type { CaseResult, RunOptions } from '../types';

/** One segment being written. */
interface SegmentWriter {
  write(chunk: Buffer): Promise<void> | undefined;
  end(): Promise<void>;
}

/** A channel: its publisher side and its subscriber side. */
interface ChannelUnderTest {
  segment(): SegmentWriter | Promise<SegmentWriter>;
  /** Reads `segments` segments in order, calling onChunk for each chunk as it arrives. */
  subscribe(segments: number, onChunk: (chunk: Buffer) => void): Promise<void>;
  close(): Promise<void>;
}

/** What is measured: a relay (anchor or ours) with its clients. */
export interface RelayUnderTest {
  label: string;
  start(): Promise<void>;
  open(name: string): Promise<ChannelUnderTest>;
  stop(): Promise<void>;
}

/** Plain HTTP clients for `{ch}/{seq}` relays: a POST per segment, GETs preconnected one ahead. */
function plainChannel(base: URL, name: string, agent: Agent): ChannelUnderTest {
  let seq = 0;
  return {
    segment: () => new PostWriter(new URL(`${name}/${seq++}`, base), agent),
    async subscribe(segments, onChunk) {
      let next = segments > 0 ? getStream(new URL(`${name}/0`, base), agent, onChunk) : undefined;
      for (let s = 0; s < segments && next; s++) {
        const current = next;
        await current.headers;
        next = s + 1 < segments ? getStream(new URL(`${name}/${s + 1}`, base), agent, onChunk) : undefined;
        await current.done;
      }
    },
    async close() {},
  };
}

export function plainRelay(): RelayUnderTest {
  const relay = new PlainHttpRelay();
  const agent = new Agent({ keepAlive: true, maxSockets: Infinity });
  let base: URL;
  return {
    label: 'node:http relay',
    async start() {
      base = new URL(`http://127.0.0.1:${await relay.listen()}/`);
    },
    async open(name) {
      return plainChannel(base, name, agent);
    },
    async stop() {
      agent.destroy();
      await relay.close();
    },
  };
}

/**
 * B6 measures the transport's ceiling: the per-client upload cap (a fairness limit against one
 * client starving the others, measured by B10) is lifted, as are the channel and segment limits.
 */
const TRANSPORT_SERVER_OPTIONS = { maxChannels: 4096, maxSegmentBytes: 64 * 1024 * 1024, maxClientBytesPerSecond: Number.MAX_SAFE_INTEGER };

/** Our TrickleServer driven by the same plain clients (isolates the server's cost). */
export function trickleServerPlainClients(): RelayUnderTest {
  const server = new TrickleServer(TRANSPORT_SERVER_OPTIONS);
  const agent = new Agent({ keepAlive: true, maxSockets: Infinity });
  let base: URL;
  return {
    label: 'TrickleServer + plain http clients',
    async start() {
      base = new URL(`http://127.0.0.1:${await server.listen(0, '127.0.0.1')}/`);
    },
    async open(name) {
      server.createChannel(name);
      const ch = plainChannel(base, name, agent);
      return { ...ch, close: async () => void server.deleteChannel(name) };
    },
    async stop() {
      agent.destroy();
      await server.close();
    },
  };
}

/** Ours end to end: TricklePublisher → TrickleServer → TrickleSubscriber. */
export function trickleRt(): RelayUnderTest {
  const server = new TrickleServer(TRANSPORT_SERVER_OPTIONS);
  const agent = new Agent({ keepAlive: true, maxSockets: Infinity });
  let base: URL;
  return {
    label: 'TricklePublisher → TrickleServer → TrickleSubscriber',
    async start() {
      base = new URL(`http://127.0.0.1:${await server.listen(0, '127.0.0.1')}/`);
    },
    async open(name) {
      server.createChannel(name);
      const url = new URL(name, base);
      const pub = new TricklePublisher(url, { start: 0, agent, retries: 0 });
      return {
        segment: () => pub.next(),
        async subscribe(segments, onChunk) {
          const sub = new TrickleSubscriber(url, { start: 0, agent });
          let n = 0;
          try {
            for await (const segment of sub) {
              for await (const chunk of segment) onChunk(chunk);
              if (++n >= segments) break;
            }
          } finally {
            sub.close();
          }
        },
        async close() {
          await pub.close();
        },
      };
    },
    async stop() {
      agent.destroy();
      await server.close();
    },
  };
}

// ------------------------------------------------------------------------------------------ cases

function payload(bytes: number, fill: number): Buffer {
  return Buffer.alloc(bytes, fill & 0xff);
}

/** Bulk: returns MB/s (1 MB = 10^6 bytes). */
async function bulk(relay: RelayUnderTest, name: string, totalBytes: number, chunkBytes: number, segmentBytes: number): Promise<number> {
  const ch = await relay.open(name);
  const chunk = payload(chunkBytes, 0x5a);
  const segments = Math.ceil(totalBytes / segmentBytes);
  let received = 0;
  const reading = ch.subscribe(segments, (c) => {
    received += c.length;
  });
  const t0 = performance.now();
  let sent = 0;
  for (let s = 0; s < segments; s++) {
    const w = await ch.segment();
    const end = Math.min(totalBytes, (s + 1) * segmentBytes);
    while (sent < end) {
      const n = Math.min(chunkBytes, end - sent);
      const wait = w.write(n === chunkBytes ? chunk : chunk.subarray(0, n));
      sent += n;
      if (wait) await wait;
    }
    await w.end();
  }
  await reading;
  const secs = (performance.now() - t0) / 1000;
  await ch.close();
  if (received !== totalBytes) throw new Error(`${relay.label}: bulk delivered ${received} of ${totalBytes} bytes`);
  return totalBytes / 1e6 / secs;
}

/** Ping-pong writes of fixed size; returns per-write latencies (ms). */
async function writeLatency(relay: RelayUnderTest, name: string, writes: number, bytes: number): Promise<number[]> {
  const ch = await relay.open(name);
  let received = 0;
  let waiter: { target: number; resolve: () => void } | undefined;
  const reading = ch.subscribe(1, (c) => {
    received += c.length;
    if (waiter && received >= waiter.target) {
      const w = waiter;
      waiter = undefined;
      w.resolve();
    }
  });
  const w = await ch.segment();
  const lat: number[] = [];
  const buf = payload(bytes, 0x33);
  // A few unmeasured writes first so that the connections are up.
  const warm = 20;
  for (let k = 0; k < writes + warm; k++) {
    const target = (k + 1) * bytes;
    const arrived = new Promise<void>((resolve) => (waiter = { target, resolve }));
    const t = performance.now();
    const wait = w.write(buf);
    await arrived;
    if (k >= warm) lat.push(performance.now() - t);
    if (wait) await wait;
  }
  await w.end();
  await reading;
  await ch.close();
  return lat;
}

interface ChannelsRun {
  /** Lowest delivered rate of any channel / configured rate. */
  minRateRatio: number;
  latencies: number[];
  maxLagMs: number;
  cpuPercent: number;
  rssBytes: number;
}

/** C paced channels at once. */
async function manyChannels(
  relay: RelayUnderTest,
  prefix: string,
  channels: number,
  bitrate: number,
  seconds: number,
  segmentSeconds: number,
  writesPerSecond: number,
): Promise<ChannelsRun> {
  const writeBytes = Math.round(bitrate / 8 / writesPerSecond);
  const totalWrites = Math.round(seconds * writesPerSecond);
  const writesPerSegment = Math.round(segmentSeconds * writesPerSecond);
  const segments = Math.ceil(totalWrites / writesPerSegment);
  const opened = await Promise.all(Array.from({ length: channels }, (_, i) => relay.open(`${prefix}-${i}`)));
  const latencies: number[] = [];
  let maxLag = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now() + 50;
  const perChannel = opened.map(async (ch, i) => {
    const sentAt: number[] = [];
    let received = 0;
    let firstAt = 0;
    let lastAt = 0;
    const reading = ch.subscribe(segments, (c) => {
      const now = performance.now();
      if (received === 0) firstAt = now;
      const before = Math.floor(received / writeBytes);
      received += c.length;
      const after = Math.floor(received / writeBytes);
      for (let k = before; k < after; k++) latencies.push(now - (sentAt[k] as number));
      lastAt = now;
    });
    const offset = (i / channels) * (1000 / writesPerSecond); // stagger the channels over one tick
    const buf = payload(writeBytes, i);
    let k = 0;
    for (let s = 0; s < segments; s++) {
      const w = await ch.segment();
      for (let j = 0; j < writesPerSegment && k < totalWrites; j++, k++) {
        const due = t0 + offset + (k * 1000) / writesPerSecond;
        const wait = due - performance.now();
        if (wait > 1) await new Promise((r) => setTimeout(r, wait));
        const now = performance.now();
        maxLag = Math.max(maxLag, now - due);
        sentAt[k] = now;
        const drain = w.write(buf);
        if (drain) await drain;
      }
      await w.end();
    }
    await reading;
    await ch.close();
    if (received !== totalWrites * writeBytes) throw new Error(`${relay.label}: channel ${i} got ${received} of ${totalWrites * writeBytes} bytes`);
    // Delivered rate over the span the writer needed (first to last write interval plus one tick).
    const span = Math.max(lastAt - firstAt, 1) + 1000 / writesPerSecond;
    return (received * 8) / (span / 1000) / bitrate;
  });
  const rates = await Promise.all(perChannel);
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return {
    minRateRatio: Math.min(...rates),
    latencies,
    maxLagMs: maxLag,
    cpuPercent: ((cpu.user + cpu.system) / 1000 / wall) * 100,
    rssBytes: process.memoryUsage.rss(),
  };
}

// -------------------------------------------------------------------------------------------- run

async function withRelay<T>(factory: () => RelayUnderTest, fn: (r: RelayUnderTest) => Promise<T>): Promise<T> {
  const relay = factory();
  await relay.start();
  try {
    return await fn(relay);
  } finally {
    await relay.stop();
  }
}

/** Each run starts a fresh relay (cold connections on run 1 of the process, warm code after). */
export async function runTransport(
  params: Record<string, unknown>,
  opts: RunOptions,
  ours: () => RelayUnderTest,
): Promise<ScenarioOutcome> {
  const anchor = plainRelay;
  const runs = Math.max(2, opts.runs);
  const bulkBytes = param(params, 'bulkBytes', 256 * 1024 * 1024);
  const bulkChunk = param(params, 'bulkChunk', 64 * 1024);
  const bulkSegment = param(params, 'bulkSegmentBytes', 16 * 1024 * 1024);
  const latencyWrites = param(params, 'latencyWrites', 2000);
  const latencyBytes = param(params, 'latencyWriteBytes', 1024);
  const channels = param(params, 'channels', 100);
  const bitrate = param(params, 'channelBitrate', 4_000_000);
  const chSeconds = param(params, 'channelSeconds', 10);
  const chSegSeconds = param(params, 'channelSegmentSeconds', 2);
  const chWps = param(params, 'channelWritesPerSecond', 30);
  const total = runs * 2 * 3;
  let step = 0;
  const tick = (what: string, side: string, r: number): void => opts.progress(++step, total, `${what}: ${side} run ${r + 1}/${runs}`);
  const oursLabel = ours().label;

  const bulkA: number[] = [];
  const bulkB: number[] = [];
  for (let r = 0; r < runs; r++) {
    tick('bulk', 'anchor', r);
    bulkA.push(await withRelay(anchor, (x) => bulk(x, `bulk-a${r}`, bulkBytes, bulkChunk, bulkSegment)));
    tick('bulk', 'ours', r);
    bulkB.push(await withRelay(ours, (x) => bulk(x, `bulk-b${r}`, bulkBytes, bulkChunk, bulkSegment)));
  }
  const latA: number[][] = [];
  const latB: number[][] = [];
  for (let r = 0; r < runs; r++) {
    tick('write latency', 'anchor', r);
    latA.push(await withRelay(anchor, (x) => writeLatency(x, `lat-a${r}`, latencyWrites, latencyBytes)));
    tick('write latency', 'ours', r);
    latB.push(await withRelay(ours, (x) => writeLatency(x, `lat-b${r}`, latencyWrites, latencyBytes)));
  }
  const chA: ChannelsRun[] = [];
  const chB: ChannelsRun[] = [];
  for (let r = 0; r < runs; r++) {
    tick(`${channels} channels`, 'anchor', r);
    chA.push(await withRelay(anchor, (x) => manyChannels(x, `ch-a${r}`, channels, bitrate, chSeconds, chSegSeconds, chWps)));
    tick(`${channels} channels`, 'ours', r);
    chB.push(await withRelay(ours, (x) => manyChannels(x, `ch-b${r}`, channels, bitrate, chSeconds, chSegSeconds, chWps)));
  }

  const p99 = (xs: number[]): number => summarize(xs).p99;
  const p50 = (xs: number[]): number => summarize(xs).p50;
  const steadyItems = (runsOf: number[][]): number[] => runsOf.slice(1).flat();
  const latOursP99 = summarize(steadyItems(latB)).p99;
  const latAnchorP99 = summarize(steadyItems(latA)).p99;
  const cases: CaseResult[] = [
    {
      case: `bulk ${(bulkBytes / 2 ** 20).toFixed(0)} MiB, ${bulkChunk / 1024} KiB writes`,
      figures: [
        makeFigure({ metric: 'throughput', unit: 'MB/s', better: 'higher', ours: bulkB, anchor: bulkA, target: { kind: 'min', value: 300, text: '>= 300 MB/s' } }),
      ],
      rssBytes: process.memoryUsage.rss(),
    },
    {
      case: `${latencyBytes} B writes, one at a time`,
      figures: [
        makeFigure({
          metric: 'per-write latency p50',
          unit: 'ms',
          better: 'lower',
          ours: latB.map(p50),
          anchor: latA.map(p50),
          oursItems: steadyItems(latB),
          anchorItems: steadyItems(latA),
        }),
        makeFigure({
          metric: 'per-write latency p99',
          unit: 'ms',
          better: 'lower',
          ours: latB.map(p99),
          anchor: latA.map(p99),
          target: { kind: 'custom', pass: latOursP99 - latAnchorP99 <= 1, text: 'p99 <= anchor p99 + 1 ms' },
        }),
      ],
      extra: { addedP99Ms: latOursP99 - latAnchorP99, writesPerRun: latencyWrites },
    },
    {
      case: `${channels} × ${(bitrate / 1e6).toFixed(0)} Mbps channels, ${chSeconds} s`,
      figures: [
        makeFigure({
          metric: 'slowest channel rate / target',
          unit: '×',
          better: 'higher',
          ours: chB.map((c) => c.minRateRatio),
          anchor: chA.map((c) => c.minRateRatio),
          target: { kind: 'min', value: 0.95, text: `every channel >= 0.95× ${(bitrate / 1e6).toFixed(0)} Mbps` },
        }),
        makeFigure({
          metric: 'write latency p50 under load',
          unit: 'ms',
          better: 'lower',
          ours: chB.map((c) => p50(c.latencies)),
          anchor: chA.map((c) => p50(c.latencies)),
        }),
        makeFigure({
          metric: 'write latency p99 under load',
          unit: 'ms',
          better: 'lower',
          ours: chB.map((c) => p99(c.latencies)),
          anchor: chA.map((c) => p99(c.latencies)),
        }),
        makeFigure({ metric: 'max schedule lag', unit: 'ms', better: 'lower', ours: chB.map((c) => c.maxLagMs), anchor: chA.map((c) => c.maxLagMs) }),
        makeFigure({ metric: 'process CPU', unit: '% of a core', better: 'lower', ours: chB.map((c) => c.cpuPercent), anchor: chA.map((c) => c.cpuPercent) }),
      ],
      rssBytes: Math.max(...chB.map((c) => c.rssBytes)),
    },
  ];
  return {
    cases,
    notes: [
      `ours: ${oursLabel}; anchor: plain node:http relay; both in this one process, a fresh relay per run, ${runs} runs each interleaved A B A B; run 1 reported as cold`,
      `bulk segments ${(bulkSegment / 2 ** 20).toFixed(0)} MiB; channels: ${chWps} writes/s of ${Math.round(bitrate / 8 / chWps)} B, a segment every ${chSegSeconds} s`,
    ],
  };
}

export async function run(params: Record<string, unknown>, opts: RunOptions): Promise<ScenarioOutcome> {
  return runTransport(params, opts, param<string>(params, 'clients', 'trickle-rt') === 'plain' ? trickleServerPlainClients : trickleRt);
}
