/**
 * B11: the trickle server under attack. A TrickleServer process (serve-trickle.ts, its own RSS)
 * with a retained-memory budget carries one healthy channel: 30 writes/s of 4 KiB, a segment a
 * second, each write stamped with the time it was written; its subscriber measures write → arrival
 * latency. First alone (the anchor, same run, same process), then beside an attack from other
 * loopback addresses (127.0.0.2, 127.0.0.3), everything the hostile suite tests at once:
 *  - `fullChannels` channels kept full of `segmentBytes` segments (5 retained each without a budget);
 *  - `stalledReaders` readers that never read, re-attached whenever they are cut;
 *  - `slowHeaders` connections dripping a header byte a second, re-opened when closed;
 *  - `idleGets` GETs waiting on the healthy channel from one address.
 * The server runs with `memoryBudgetScope: 'process'` unless the parameter says 'segments'.
 * Reported: the server's peak RSS and its growth over the idle RSS against the budget, the healthy
 * channel's p50/p99 under attack against its own figures without it, and the limit counters.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { join } from 'node:path';

import { TricklePublisher, TrickleSubscriber, type TrickleServerOptions } from 'trickle-rt';
import { makeFigure } from '../figures';
import { nodeArgsFromEnv } from '../runtime-probe';
import { param, type ScenarioOutcome } from '../scenario';
import type { ServeTrickleReply, ServeTrickleRequest } from '../serve-trickle';
import { summarize } from '../stats';
import type { RunOptions } from '../types';

const MiB = 1024 * 1024;
/**
 * RSS allowance over the budget. Scope 'segments': the budget bounds the segments' slabs only, the
 * RSS also carries the JS heap of the attack's connections (and, without the native addon, the
 * parser's buffers awaiting the garbage collector). Scope 'process': the budget bounds the RSS
 * growth itself (docs/security.md), so none.
 */
function rssAllowanceMiB(scope: 'segments' | 'process'): number {
  return scope === 'process' ? 0 : 128;
}

/** The healthy channel "keeps its p99" when the p99 under attack is within this factor of its p99 alone (same run, same server). */
const P99_FACTOR = 2;

/** The trickle server process: port, and RSS/counters on request. */
class TrickleProcess {
  private nextId = 0;
  private readonly waiters = new Map<number, (u: { rssBytes: number; counters: Record<string, number> }) => void>();

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {
    child.on('message', (msg: ServeTrickleReply) => {
      if (msg.type !== 'usage') return;
      this.waiters.get(msg.id)?.({ rssBytes: msg.rssBytes, counters: msg.counters });
      this.waiters.delete(msg.id);
    });
  }

  static async start(options: TrickleServerOptions): Promise<TrickleProcess> {
    const child = fork(join(__dirname, '..', 'serve-trickle.js'), [JSON.stringify(options)], { execArgv: nodeArgsFromEnv('B11_SERVER_NODE_ARGS'), stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    let tail = '';
    child.stderr?.on('data', (d: Buffer) => (tail = (tail + d.toString()).slice(-4000)));
    const port = await new Promise<number>((resolve, reject) => {
      child.once('message', (msg: ServeTrickleReply) => {
        if (msg.type === 'ready') resolve(msg.port);
      });
      child.once('exit', (code) => reject(new Error(`the trickle server process exited (${code}) before listening: ${tail}`)));
    });
    return new TrickleProcess(child, port);
  }

  usage(): Promise<{ rssBytes: number; counters: Record<string, number> }> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiters.set(id, resolve);
      this.child.send({ type: 'usage', id } satisfies ServeTrickleRequest);
    });
  }

  async close(): Promise<void> {
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.disconnect();
    await exited;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The healthy channel for `seconds`: returns the write → arrival latency of every write that arrived, and how many were written. */
async function healthy(base: string, name: string, seconds: number, writesPerSecond: number, writeBytes: number): Promise<{ latencies: number[]; written: number }> {
  await new Promise<void>((resolve, reject) => {
    const req = request(`${base}/${name}`, { method: 'POST' }, (res) => {
      res.resume();
      res.on('end', resolve);
    });
    req.on('error', reject);
    req.end();
  });
  const pub = new TricklePublisher(`${base}/${name}`, { mime: 'application/octet-stream', start: 0 });
  const sub = new TrickleSubscriber(`${base}/${name}`, { start: 0 });
  const latencies: number[] = [];
  const total = seconds * writesPerSecond;
  const reading = (async () => {
    for await (const seg of sub) {
      let pending: Buffer = Buffer.alloc(0);
      try {
        for await (const chunk of seg) {
          pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
          while (pending.length >= writeBytes) {
            latencies.push(performance.now() - pending.readDoubleLE(0));
            pending = pending.subarray(writeBytes);
          }
        }
      } catch {
        /* a cut segment: its writes that did not arrive count as lost */
      }
    }
  })();
  const interval = 1000 / writesPerSecond;
  const t0 = performance.now();
  let written = 0;
  while (written < total) {
    const seg = await pub.next();
    for (let i = 0; i < writesPerSecond && written < total; i++, written++) {
      const wait = t0 + written * interval - performance.now();
      if (wait > 0) await sleep(wait);
      const b = Buffer.alloc(writeBytes);
      b.writeDoubleLE(performance.now(), 0);
      await seg.write(b);
    }
    await seg.end();
  }
  await pub.close();
  await Promise.race([reading, sleep(10_000)]);
  sub.close();
  return { latencies, written };
}

export async function run(params: Record<string, unknown>, opts: RunOptions): Promise<ScenarioOutcome> {
  const budget = param(params, 'budgetBytes', 256 * MiB);
  const scope = param(params, 'memoryBudgetScope', 'process') as 'segments' | 'process';
  const seconds = param(params, 'seconds', 10);
  const p = {
    fullChannels: param(params, 'fullChannels', 8),
    segmentBytes: param(params, 'segmentBytes', 16 * MiB),
    stalledReaders: param(params, 'stalledReaders', 40),
    slowHeaders: param(params, 'slowHeaders', 200),
    idleGets: param(params, 'idleGets', 256),
    healthy: 'healthy-attacked',
  };
  const writesPerSecond = 30;
  const writeBytes = 4096;
  /** The server's per-client upload limit (its default when not given). */
  const clientBytesPerSecond = param<number | undefined>(params, 'maxClientBytesPerSecond', undefined);
  const server = await TrickleProcess.start({
    maxRetainedBytes: budget,
    memoryBudgetScope: scope,
    readerStallTimeoutMs: 2000,
    headersTimeoutMs: 2000,
    ...(clientBytesPerSecond !== undefined ? { maxClientBytesPerSecond: clientBytesPerSecond } : {}),
  });
  const base = `http://127.0.0.1:${server.port}`;
  try {
    const idleRss = (await server.usage()).rssBytes;
    opts.progress(1, 3, `healthy channel alone, ${seconds} s`);
    const alone = await healthy(base, 'healthy-alone', seconds, writesPerSecond, writeBytes);
    opts.progress(2, 3, `healthy channel under attack, ${seconds} s`);
    // The attack runs in a process of its own, so that its clients do not share an event loop with
    // the healthy channel's publisher and subscriber measured here.
    const attacker = fork(join(__dirname, '..', 'attack.js'), [JSON.stringify({ port: server.port, ...p })], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    const attackerExited = new Promise<void>((resolve) => attacker.once('exit', () => resolve()));
    let peakRss = 0;
    /** The server's counters and memory breakdown at its RSS peak. */
    let atPeak: Record<string, number> = {};
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const u = await server.usage();
        if (u.rssBytes > peakRss) {
          peakRss = u.rssBytes;
          atPeak = u.counters;
        }
        await sleep(100);
      }
    })();
    await sleep(1000); // let the attack reach its stride before measuring
    const attacked = await healthy(base, p.healthy, seconds, writesPerSecond, writeBytes);
    sampling = false;
    await sampler;
    const { counters } = await server.usage();
    attacker.disconnect();
    await attackerExited;
    opts.progress(3, 3, 'done');
    const growth = (peakRss - idleRss) / MiB;
    const a = summarize(alone.latencies);
    const b = summarize(attacked.latencies);
    return {
      cases: [
        {
          case: `budget ${budget / MiB} MiB (${scope})${clientBytesPerSecond !== undefined ? `, upload limit ${clientBytesPerSecond / MiB} MiB/s per client` : ''}; ${p.fullChannels} full channels of ${p.segmentBytes / MiB} MiB segments, ${p.stalledReaders} stalled readers, ${p.slowHeaders} slow headers, ${p.idleGets} idle GETs`,
          figures: [
            makeFigure({
              metric: 'trickle server RSS growth under attack (peak − idle)',
              unit: 'MiB',
              better: 'lower',
              ours: [growth],
              hasCold: false,
              // What the budget bounds depends on its scope (see rssAllowanceMiB).
              target: {
                kind: 'custom',
                pass: growth <= budget / MiB + rssAllowanceMiB(scope),
                text: rssAllowanceMiB(scope) === 0 ? `<= budget (${budget / MiB} MiB, scope ${scope})` : `<= budget (${budget / MiB} MiB, scope ${scope}) + ${rssAllowanceMiB(scope)} MiB`,
              },
            }),
            makeFigure({ metric: 'healthy channel write→arrival p50 (anchor: same channel, no attack)', unit: 'ms', better: 'lower', ours: [b.p50], anchor: [a.p50], hasCold: false }),
            makeFigure({
              metric: 'healthy channel write→arrival p99 (anchor: same channel, no attack)',
              unit: 'ms',
              better: 'lower',
              ours: [b.p99],
              anchor: [a.p99],
              hasCold: false,
              target: { kind: 'custom', pass: b.p99 <= P99_FACTOR * a.p99, text: `<= ${P99_FACTOR}× the channel alone` },
            }),
          ],
          rssBytes: peakRss,
          extra: {
            idleRssMiB: idleRss / MiB,
            peakRssMiB: peakRss / MiB,
            healthyWritesAlone: `${alone.latencies.length}/${alone.written}`,
            healthyWritesAttacked: `${attacked.latencies.length}/${attacked.written}`,
            ...counters,
            ...Object.fromEntries(
              ['retainedBytes', 'pooledBytes', 'rssOverheadBytes', 'heapTotalBytes', 'arrayBufferBytes'].map((k) => [`atPeakMiB.${k}`, Math.round((atPeak[k] ?? 0) / MiB)]),
            ),
          },
        },
      ],
      notes: [
        'attack and measurement share this process; the trickle server runs in its own (serve-trickle.ts), RSS sampled every 200 ms',
        'attackers use source addresses 127.0.0.2/127.0.0.3, the healthy client 127.0.0.1 (per-client limits tell them apart)',
      ],
    };
  } finally {
    await server.close();
  }
}
