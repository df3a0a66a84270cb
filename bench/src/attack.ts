/**
 * The attacker of B11 (bench/src/scenarios/hostile.ts), in a process of its own: from loopback
 * addresses other than the healthy client's, it keeps channels full of large segments, readers
 * that never read, connections dripping their headers and idle GETs going against the trickle
 * server at `port`, re-opening each as the server cuts it, until the bench disconnects.
 */
import { Agent, request } from 'node:http';
import { connect, type Socket } from 'node:net';

const ATTACKER = '127.0.0.2';
const SLOW = '127.0.0.3';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface AttackConfig {
  port: number;
  fullChannels: number;
  segmentBytes: number;
  stalledReaders: number;
  slowHeaders: number;
  idleGets: number;
  /** The healthy channel the idle GETs wait on. */
  healthy: string;
}

/** Keeps `n` things going until `stop` is aborted: each `open()` resolves when it ended, then it is re-opened. */
function keep(n: number, stop: AbortSignal, open: (i: number) => Promise<void>): Promise<void> {
  const one = async (i: number): Promise<void> => {
    while (!stop.aborted) {
      await open(i).catch(() => undefined);
      if (!stop.aborted) await sleep(50);
    }
  };
  return Promise.all(Array.from({ length: n }, (_, i) => one(i))).then(() => undefined);
}

function socketFrom(port: number, from: string, stop: AbortSignal): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1', localAddress: from }, () => resolve(s));
    s.once('error', reject);
    s.on('error', () => undefined);
    stop.addEventListener('abort', () => s.destroy(), { once: true });
  });
}

const closed = (s: Socket): Promise<void> => new Promise((resolve) => (s.destroyed ? resolve() : s.once('close', () => resolve())));

/** The attack; resolves once `stop` is aborted and everything wound down. */
async function attack(p: AttackConfig, stop: AbortSignal): Promise<void> {
  const port = p.port;
  const agent = new Agent({ keepAlive: true, localAddress: ATTACKER, maxSockets: 64 });
  const body = Buffer.alloc(p.segmentBytes, 7);
  const seqs = new Array<number>(p.fullChannels).fill(0);
  const post = (ch: number) =>
    new Promise<void>((resolve) => {
      const req = request({ host: '127.0.0.1', port, path: `/full-${ch}/${seqs[ch]!++}`, method: 'POST', agent }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', () => resolve());
      req.end(body);
    });
  const full = keep(p.fullChannels, stop, (ch) => post(ch));
  const stalled = keep(p.stalledReaders, stop, async (i) => {
    const s = await socketFrom(port, ATTACKER, stop);
    s.pause(); // never reads: the server cuts it after its stall timeout, or when the budget needs its segment
    s.write(`GET /full-${i % p.fullChannels}/-1 HTTP/1.1\r\nHost: t\r\n\r\n`);
    // A paused socket does not notice being cut; hold it a while, then attach a fresh one.
    await sleep(5000);
    s.destroy();
  });
  const slow = keep(p.slowHeaders, stop, async () => {
    const s = await socketFrom(port, SLOW, stop);
    s.resume();
    s.write('GET /healthy/0 HTTP/1.1\r\n');
    const drip = setInterval(() => s.writable && s.write('X'), 1000);
    await closed(s);
    clearInterval(drip);
  });
  const idle = keep(p.idleGets, stop, async () => {
    const s = await socketFrom(port, ATTACKER, stop);
    s.resume();
    s.write(`GET /${p.healthy}/-1 HTTP/1.1\r\nHost: t\r\n\r\n`);
    await closed(s);
  });
  await Promise.all([full, stalled, slow, idle]);
  agent.destroy();
}


const stop = new AbortController();
process.on('disconnect', () => stop.abort());
const config = JSON.parse(process.argv[2] ?? '{}') as AttackConfig;
void attack(config, stop.signal).then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench attack: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
