/**
 * The probe side of the runtime scenarios (B3, B4, B5, B9). It plays the orchestrator and the
 * gateway: an embedded TrickleServer holds each stream's input and output channels, a paced feeder
 * publishes an MPEG-TS clip frame by frame in real time (a new segment at each keyframe), and a
 * collector subscribes to the output and notes when the first byte of each output frame arrives.
 * The runtime itself (a StreamServer with an identity processor) runs in another process
 * (serve-worker), driven over its HTTP API exactly as go-livepeer drives a worker.
 *
 * All timestamps are taken in this process (performance.now()), so input and output share a clock.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';

import { TricklePublisher } from 'trickle-rt';
import { TrickleServer } from 'trickle-rt';
import { TrickleSubscriber } from 'trickle-rt';
import type { ServeWorkerConfig, ServeWorkerReply } from './serve-worker';
import { TsFrameScanner } from './ts-index';
import { STAMP, readStamp } from './clips';

function serveWorkerPath(): string {
  return join(__dirname, 'serve-worker.js');
}

export interface RuntimeUsage {
  rssBytes: number;
  cpuMs: number;
  streams: Record<string, Record<string, unknown>>;
}

/** A StreamServer process with an identity processor. */
export class RuntimeProcess {
  private nextId = 0;
  private readonly waiters = new Map<number, (u: RuntimeUsage) => void>();
  private stderrTail = '';

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    readonly pid: number,
  ) {
    child.on('message', (msg: ServeWorkerReply) => {
      if (msg.type !== 'usage') return;
      const w = this.waiters.get(msg.id);
      this.waiters.delete(msg.id);
      w?.({ rssBytes: msg.rssBytes, cpuMs: (msg.cpuUserUs + msg.cpuSystemUs) / 1000, streams: msg.streams as Record<string, Record<string, unknown>> });
    });
    child.stderr?.on('data', (d: Buffer) => {
      this.stderrTail = (this.stderrTail + d.toString()).slice(-4000);
    });
  }

  static async start(cfg: ServeWorkerConfig): Promise<RuntimeProcess> {
    const child = fork(serveWorkerPath(), [JSON.stringify(cfg)], { execArgv: nodeArgsFromEnv('BENCH_WORKER_NODE_ARGS'), stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    let tail = '';
    child.stderr?.on('data', (d: Buffer) => {
      tail = (tail + d.toString()).slice(-4000);
    });
    const ready = await new Promise<{ port: number; pid: number }>((resolve, reject) => {
      child.once('message', (msg: ServeWorkerReply) => {
        if (msg.type === 'ready') resolve({ port: msg.port, pid: msg.pid });
      });
      child.once('exit', (code) => reject(new Error(`the runtime process exited (${code}) before listening: ${tail}`)));
    });
    return new RuntimeProcess(child, ready.port, ready.pid);
  }

  get log(): string {
    return this.stderrTail;
  }

  usage(): Promise<RuntimeUsage> {
    const id = ++this.nextId;
    return new Promise((resolve) => {
      this.waiters.set(id, resolve);
      this.child.send({ type: 'usage', id });
    });
  }

  /** POST a JSON body to the worker; resolves with status and parsed body. */
  post(path: string, body: unknown): Promise<{ status: number; body: unknown }> {
    const data = Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port: this.port, path, method: 'POST', headers: { 'Content-Type': 'application/json', 'Content-Length': data.length } },
        (res) => {
          const parts: Buffer[] = [];
          res.on('data', (d: Buffer) => parts.push(d));
          res.on('end', () => {
            const text = Buffer.concat(parts).toString();
            let parsed: unknown = text;
            try {
              parsed = JSON.parse(text);
            } catch {
              // not JSON: keep the text
            }
            resolve({ status: res.statusCode ?? 0, body: parsed });
          });
        },
      );
      req.on('error', reject);
      req.end(data);
    });
  }

  async startStream(id: string, subscribeUrl: string, publishUrl: string, params: Record<string, unknown>): Promise<void> {
    const r = await this.post('/stream/start', { gateway_request_id: id, subscribe_url: subscribeUrl, publish_url: publishUrl, params });
    if (r.status !== 200) throw new Error(`/stream/start ${id}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
  }

  async stopStream(id: string): Promise<void> {
    const r = await this.post(`/stream/stop?stream_id=${encodeURIComponent(id)}`, {});
    // 400/404: the stream had already ended (no stream at all / none under this id).
    if (r.status !== 200 && r.status !== 400 && r.status !== 404) throw new Error(`/stream/stop ${id}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.disconnect();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

/**
 * Node options for a child process the bench starts: those in the environment variable `name`
 * (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof", to profile it), else this process's own.
 */
export function nodeArgsFromEnv(name: string): string[] {
  return process.env[name]?.split(' ').filter((a) => a !== '') ?? process.execArgv;
}

/** What a thread of the runtime process does, from its name (the addon names its media threads). */
export type ThreadGroup = 'js' | 'decode' | 'encode' | 'other';

/** Clock ticks per second of /proc's utime/stime (USER_HZ: 100 on every Linux ABI). */
const USER_HZ = 100;

/**
 * CPU time of each thread of a process over an interval, by thread group: `js` is the process's
 * main thread (JavaScript, libuv I/O and every native call made from JS), `decode` and `encode` the
 * addon's decoder and encoder threads with the libavcodec / x264 workers they start (they inherit
 * the names `trt-decode` / `trt-encode`), `other` the rest (V8's GC and compiler threads, libuv's
 * pool). Read from /proc/<pid>/task (Linux; `available` is false elsewhere), sampled every
 * `intervalMs` so that threads which exit before the end (a stream's, when it ends) still count, up
 * to their last sample. Resolution: 10 ms of CPU per thread.
 */
export class ThreadCpuSampler {
  private readonly startTicks = new Map<string, number>();
  private readonly lastSeen = new Map<string, { group: ThreadGroup; ticks: number }>();
  private timer: NodeJS.Timeout | undefined;
  readonly available: boolean;

  constructor(
    private readonly pid: number,
    private readonly intervalMs = 200,
  ) {
    this.available = process.platform === 'linux' && existsSync(`/proc/${pid}/task`);
  }

  begin(): void {
    if (!this.available) return;
    for (const [tid, t] of this.read()) this.startTicks.set(tid, t.ticks);
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
  }

  /** Stops sampling; CPU ms per group since `begin()` (empty when not available). */
  end(): Partial<Record<ThreadGroup, number>> {
    clearInterval(this.timer);
    if (!this.available) return {};
    this.sample();
    const out: Partial<Record<ThreadGroup, number>> = {};
    for (const [tid, t] of this.lastSeen) {
      const ticks = t.ticks - (this.startTicks.get(tid) ?? 0);
      if (ticks > 0) out[t.group] = (out[t.group] ?? 0) + (ticks * 1000) / USER_HZ;
    }
    return out;
  }

  private sample(): void {
    for (const [tid, t] of this.read()) this.lastSeen.set(tid, t);
  }

  private read(): Map<string, { group: ThreadGroup; ticks: number }> {
    const out = new Map<string, { group: ThreadGroup; ticks: number }>();
    let tids: string[];
    try {
      tids = readdirSync(`/proc/${this.pid}/task`);
    } catch {
      return out;
    }
    for (const tid of tids) {
      try {
        const stat = readFileSync(`/proc/${this.pid}/task/${tid}/stat`, 'utf8');
        const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
        // Fields after the name: state is field 3; utime and stime are fields 14 and 15.
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        const ticks = Number(fields[11]) + Number(fields[12]);
        const group: ThreadGroup = tid === String(this.pid) ? 'js' : name.startsWith('trt-decode') ? 'decode' : name.startsWith('trt-encode') ? 'encode' : 'other';
        out.set(tid, { group, ticks });
      } catch {
        // The thread exited meanwhile.
      }
    }
    return out;
  }
}

/** The orchestrator's trickle server, in the probe process. */
export class ProbeChannels {
  readonly server = new TrickleServer({ maxChannels: 4096 });
  readonly agent = new Agent({ keepAlive: true, maxSockets: Infinity });
  private base = '';

  async start(): Promise<void> {
    this.base = `http://127.0.0.1:${await this.server.listen(0, '127.0.0.1')}/`;
  }

  /** Creates a channel (as the orchestrator does before /stream/start) and returns its URL. */
  channel(name: string): string {
    this.server.createChannel(name, 'video/MP2T');
    return `${this.base}${name}`;
  }

  async stop(): Promise<void> {
    this.agent.destroy();
    await this.server.close();
  }
}

export interface FeedRecord {
  /** When the last byte of frame k was handed to the socket. */
  lastByteAt: number[];
  /** When the first byte of frame k was handed to the socket. */
  firstByteAt: number[];
  keyframes: number[];
  /** Largest lateness of a write against its schedule, ms. */
  maxLagMs: number;
  startedAt: number;
  /** Frames written so far. */
  written: number;
}

/**
 * Publishes `frames` (per-frame chunks of a TS clip) in real time at `fps`: frame k is written at
 * t0 + k/fps, each keyframe opens a new segment. `rec` fills in live (B5 reads it while feeding).
 * Stops early when `shouldStop()` turns true; closes the channel (EOS) at the end either way.
 */
export async function feed(
  url: string,
  frames: ReadonlyArray<{ bytes: Buffer; keyframe: boolean }>,
  fps: number,
  agent: Agent,
  rec: FeedRecord = newFeedRecord(),
  shouldStop: () => boolean = () => false,
): Promise<FeedRecord> {
  const pub = new TricklePublisher(url, { start: 0, agent });
  const ends: Promise<void>[] = [];
  try {
    let seg = await pub.next();
    const t0 = performance.now();
    rec.startedAt = t0;
    for (let k = 0; k < frames.length; k++) {
      const f = frames[k] as { bytes: Buffer; keyframe: boolean };
      const due = t0 + (k * 1000) / fps;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      if (shouldStop()) break;
      if (f.keyframe && k > 0) {
        ends.push(seg.end());
        seg = await pub.next();
      }
      if (f.keyframe) rec.keyframes.push(k);
      const before = performance.now();
      rec.maxLagMs = Math.max(rec.maxLagMs, before - due);
      rec.firstByteAt[k] = before;
      const drained = seg.write(f.bytes);
      rec.lastByteAt[k] = performance.now();
      rec.written = k + 1;
      await drained;
    }
    ends.push(seg.end());
    await Promise.all(ends);
  } finally {
    await pub.close();
  }
  return rec;
}

export function newFeedRecord(): FeedRecord {
  return { lastByteAt: [], firstByteAt: [], keyframes: [], maxLagMs: 0, startedAt: 0, written: 0 };
}

export interface CollectRecord {
  /** Arrival time of the first byte of output frame k (the TS packet that starts its PES). */
  firstByteAt: number[];
  keyframes: boolean[];
  bytes: Buffer;
  segments: number;
}

/** Subscribes to an output channel until EOS, noting each output frame's first byte arrival. */
export async function collect(url: string, agent: Agent, opts: { keepBytes: boolean; signal?: AbortSignal; onFrame?: (k: number, at: number) => void }): Promise<CollectRecord> {
  const sub = new TrickleSubscriber(url, { start: 0, agent, ...(opts.signal ? { signal: opts.signal } : {}) });
  const scanner = new TsFrameScanner();
  const chunkStart: number[] = [];
  const chunkAt: number[] = [];
  const kept: Buffer[] = [];
  let offset = 0;
  const rec: CollectRecord = { firstByteAt: [], keyframes: [], bytes: Buffer.alloc(0), segments: 0 };
  try {
    for await (const segment of sub) {
      rec.segments++;
      for await (const chunk of segment) {
        const at = performance.now();
        chunkStart.push(offset);
        chunkAt.push(at);
        offset += chunk.length;
        if (opts.keepBytes) kept.push(chunk);
        const before = scanner.frames.length;
        scanner.push(chunk);
        for (let k = before; k < scanner.frames.length; k++) {
          const f = scanner.frames[k] as { pesOffset: number; keyframe: boolean };
          let i = chunkStart.length - 1;
          while (i > 0 && (chunkStart[i] as number) > f.pesOffset) i--;
          rec.firstByteAt[k] = chunkAt[i] as number;
          rec.keyframes[k] = f.keyframe;
          opts.onFrame?.(k, chunkAt[i] as number);
        }
        // keep the chunk index small: only the tail can still hold a PES start being scanned
        if (chunkStart.length > 64) {
          chunkStart.splice(0, chunkStart.length - 8);
          chunkAt.splice(0, chunkAt.length - 8);
        }
      }
    }
  } finally {
    sub.close();
  }
  rec.bytes = opts.keepBytes ? Buffer.concat(kept) : Buffer.alloc(0);
  return rec;
}

/**
 * Reads the stamped frame index of every frame of an MPEG-TS output (decoded with the ffmpeg CLI,
 * an independent decoder; bench only). Returns one index per output frame, in output order.
 */
export async function readStamps(ts: Buffer, width: number): Promise<number[]> {
  const { spawn } = await import('node:child_process');
  const rows = STAMP.rows;
  const frameBytes = width * rows;
  return new Promise((resolve, reject) => {
    const child = spawn('ffmpeg', ['-v', 'error', '-f', 'mpegts', '-i', 'pipe:0', '-map', '0:v:0', '-fps_mode', 'passthrough', '-vf', `crop=${width}:${rows}:0:0`, '-f', 'rawvideo', '-pix_fmt', 'gray', 'pipe:1'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) {
        reject(new Error(`ffmpeg could not decode the output: ${err.slice(-1000)}`));
        return;
      }
      const all = Buffer.concat(out);
      const stamps: number[] = [];
      for (let off = 0; off + frameBytes <= all.length; off += frameBytes) stamps.push(readStamp(all.subarray(off, off + frameBytes), width));
      resolve(stamps);
    });
    child.stdin.on('error', () => {});
    child.stdin.end(ts);
  });
}

/** Resolves after `ms`, or rejects with `what` — for waits that must not hang a bench run. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result after ${(ms / 1000).toFixed(0)} s`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}
