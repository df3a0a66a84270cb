/**
 * The trickle server attacked as a hostile client would: readers that never read, channels filled
 * to the brim, slow headers, idle bodies, floods of channels and subscribers from one address, the
 * sequence-number edge, unauthenticated requests. Each case asserts the bound the server keeps.
 * Loopback only; attackers use another loopback source address (127.0.0.2) than the healthy client
 * (127.0.0.1) so per-client limits can tell them apart. Every wait is bounded by the small limits
 * each case configures; nothing asserts a duration.
 */
import { createHash, randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { TrickleError, TricklePublisher, TrickleServer, TrickleSubscriber, type TrickleServerOptions } from '../../src/index';
import { native } from '../../src/native/addon';
import { rawOnce } from '../helpers/raw-http';
import { until } from '../helpers/worker-harness';

const ATTACKER = '127.0.0.2';
const cleanups: Array<() => unknown> = [];

afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function serve(opts: TrickleServerOptions = {}, channels: string[] = ['ch']): Promise<{ server: TrickleServer; port: number; base: string }> {
  const server = new TrickleServer(opts);
  for (const name of channels) server.createChannel(name, 'video/MP2T');
  const port = await server.listen(0, '127.0.0.1');
  cleanups.push(() => server.close());
  return { server, port, base: `http://127.0.0.1:${port}` };
}

/** `trickle-rt trickle-server <args>` in a child process (node options first); resolves once it listens, with its URL and stderr so far. */
async function startTrickleServerCli(args: string[], nodeOptions: string[] = []): Promise<{ url: string; stderr: () => string }> {
  const child = spawn(process.execPath, [...nodeOptions, resolve(__dirname, '..', '..', 'bin/trickle-rt.js'), 'trickle-server', ...args]);
  cleanups.push(() => child.kill('SIGKILL'));
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const url = await new Promise<string>((res, rej) => {
    child.stdout.on('data', (d: Buffer) => {
      const m = /listening on (\S+)/.exec(d.toString());
      if (m) res(m[1] as string);
    });
    child.once('exit', (code) => rej(new Error(`trickle-server exited (${code}): ${stderr}`)));
  });
  return { url, stderr: () => stderr };
}

/** A raw connection from `from`; it reads (and drops) what it receives until the test pauses it. */
function rawSocket(port: number, from: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress: from }, () => resolve(socket));
    socket.resume();
    socket.once('error', reject);
    socket.on('error', () => undefined);
    cleanups.push(() => socket.destroy());
  });
}

/** Sends one request from `from` and resolves with the status code of the reply (or 0 when the connection is closed first). */
function statusFrom(port: number, from: string, method: string, path: string, body = ''): Promise<number> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress: from }, () => {
      socket.write(`${method} ${path} HTTP/1.1\r\nHost: t\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    });
    let head = '';
    socket.on('data', (d: Buffer) => {
      head += d.toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(head);
      if (m) {
        resolve(Number(m[1]));
        socket.destroy();
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(0));
  });
}

function closed(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed) resolve();
    else socket.once('close', () => resolve());
  });
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

async function readAll(sub: TrickleSubscriber, count: number): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const seg of sub) {
    out.push(await seg.bytes());
    if (out.length >= count) break;
  }
  return out;
}

describe('hostile clients against the trickle server', () => {
  it('readers that never read are cut after readerStallTimeoutMs: they release the segment, a healthy reader gets it whole', async () => {
    const { server, port, base } = await serve({ readerStallTimeoutMs: 300 });
    const payload = randomBytes(16 * 1024 * 1024);
    const stalled: Socket[] = [];
    for (let i = 0; i < 8; i++) {
      const s = await rawSocket(port, ATTACKER);
      s.pause(); // never reads: the kernel buffers fill, then the server's writes back up
      s.write('GET /ch/0 HTTP/1.1\r\nHost: t\r\n\r\n');
      stalled.push(s);
    }
    await expect.poll(() => server.channelInfo('ch')?.subscribers, { timeout: 10_000 }).toBe(8);
    const sub = new TrickleSubscriber(`${base}/ch`, { start: 0 });
    cleanups.push(() => sub.close());
    const healthy = readAll(sub, 1);
    const pub = new TricklePublisher(`${base}/ch`, { mime: 'video/MP2T', start: 0 });
    cleanups.push(() => pub.destroy());
    await pub.writeSegment(payload);
    expect(sha((await healthy)[0] as Buffer)).toBe(sha(payload));
    // Every stalled reader was cut by the limit; none is left attached to the segment.
    await expect.poll(() => server.counters().readersCut, { timeout: 10_000 }).toBe(8);
    expect(server.channelInfo('ch')?.segments[0]?.readerBytes).toEqual([]);
    sub.close(); // (its GET for the next segment is the only one left)
    await expect.poll(() => server.channelInfo('ch')?.subscribers, { timeout: 10_000 }).toBe(0);
  });

  it('a global maxRetainedBytes bounds the bytes of all channels together; publishers are never refused or held', async () => {
    const budget = 6 * 1024 * 1024;
    const names = ['a', 'b', 'c', 'd'];
    const { server, base } = await serve({ maxRetainedBytes: budget }, names);
    const segment = randomBytes(1024 * 1024);
    let peak = 0;
    for (let seq = 0; seq < 5; seq++) {
      for (const name of names) {
        const r = await fetch(`${base}/${name}/${seq}`, { method: 'POST', body: segment });
        await r.arrayBuffer();
        expect(r.status).toBe(200);
        peak = Math.max(peak, server.counters().retainedBytes);
      }
    }
    // 20 MiB were published into 4 channels of 5 slots; never more than the budget was held.
    expect(peak).toBeLessThanOrEqual(budget);
    expect(server.counters().segmentsEvicted).toBeGreaterThanOrEqual(14);
    // The newest segment of every channel is still readable and intact.
    for (const name of names) {
      const r = await fetch(`${base}/${name}/4`);
      expect(sha(Buffer.from(await r.arrayBuffer()))).toBe(sha(segment));
    }
  });

  it('over the budget with readers attached, the readers of old segments are cut rather than the memory growing', async () => {
    const budget = 24 * 1024 * 1024;
    const { server, port, base } = await serve({ maxRetainedBytes: budget, readerStallTimeoutMs: 60_000 });
    // Larger than what loopback socket buffers absorb, so the reader really holds the segment.
    const big = randomBytes(16 * 1024 * 1024);
    // A stalled reader on segment 0 (its stall timeout is far away: only the budget can free it).
    await fetch(`${base}/ch/0`, { method: 'POST', body: big }).then((r) => r.arrayBuffer());
    const s = await rawSocket(port, ATTACKER);
    s.pause();
    s.write('GET /ch/0 HTTP/1.1\r\nHost: t\r\n\r\n');
    await expect.poll(() => server.channelInfo('ch')?.subscribers, { timeout: 10_000 }).toBe(1);
    await fetch(`${base}/ch/1`, { method: 'POST', body: big }).then((r) => expect(r.status).toBe(200));
    expect(server.counters().retainedBytes).toBeLessThanOrEqual(budget);
    expect(server.counters().readersCut).toBe(1);
    expect(server.channelInfo('ch')?.segments.map((x) => x.seq)).toEqual([1]);
  });

  it('a publisher that outgrows the budget alone is cut with 507; its readers learn the segment is incomplete', async () => {
    const budget = 2 * 1024 * 1024;
    const { server, base } = await serve({ maxRetainedBytes: budget });
    const sub = new TrickleSubscriber(`${base}/ch`, { start: 0 });
    cleanups.push(() => sub.close());
    const seen = (async () => {
      for await (const seg of sub) {
        try {
          await seg.bytes();
          return 'complete';
        } catch (err) {
          return (err as TrickleError).code;
        }
      }
      return 'none';
    })();
    const r = await fetch(`${base}/ch/0`, { method: 'POST', body: randomBytes(8 * 1024 * 1024) }).catch((err: unknown) => err as Error);
    // The reply is 507 (or the connection is closed under the still-sending client).
    if (!(r instanceof Error)) expect(r.status).toBe(507);
    expect(await seen).toBe('ERR_TRICKLE_NETWORK');
    // The cut reader holds the segment until the server has closed its response, which can be a
    // tick after the client saw the cut: then the slabs go back and the bytes are within budget.
    await until(() => server.counters().retainedBytes <= budget, 'the cut segment released');
    expect(server.counters().retainedBytes).toBeLessThanOrEqual(budget);
    expect(server.counters().segmentsCut).toBe(1);
  });

  it('the budget cuts only what frees memory: a cut segment whose reader is still flushing is released at once, an empty open segment is left alone', async () => {
    const budget = 256 * 1024;
    const { server, port, base } = await serve({ maxRetainedBytes: budget });
    // A reader of segment 0 that keeps up: when the segment is cut it has been handed every byte,
    // ends its response and holds the segment until its socket has closed.
    const first = fetch(`${base}/ch/0`).then(
      (r) => r.arrayBuffer().then(() => 'complete', () => 'cut'),
      () => 'cut',
    );
    // A reader waiting for segment 1 (precreated, open, no bytes yet).
    const next = fetch(`${base}/ch/1`).then(async (r) => sha(Buffer.from(await r.arrayBuffer())));
    await expect.poll(() => server.channelInfo('ch')?.subscribers, { timeout: 10_000 }).toBe(2);
    // A publisher sending segment 0 in small pieces, each read before the next is sent, past the budget.
    const publisher = await rawSocket(port, '127.0.0.1');
    const total = 1024 * 1024;
    publisher.write(`POST /ch/0 HTTP/1.1\r\nHost: t\r\nContent-Length: ${total}\r\n\r\n`);
    let reply = '';
    publisher.on('data', (d: Buffer) => (reply += d.toString('latin1')));
    for (let sent = 0; sent < total && !publisher.destroyed && reply === ''; sent += 8 * 1024) {
      publisher.write(randomBytes(8 * 1024));
      await new Promise((r) => setTimeout(r, 2));
    }
    await until(() => server.counters().segmentsCut > 0, 'segment 0 cut');
    // Segment 0 alone was cut, and its bytes were released without waiting for its reader's socket.
    expect(server.counters().segmentsCut).toBe(1);
    expect(server.counters().retainedBytes).toBeLessThanOrEqual(budget);
    expect(await first).toBe('cut');
    // Segment 1 was not touched: its reader gets it whole once it is published.
    const small = randomBytes(64 * 1024);
    await fetch(`${base}/ch/1`, { method: 'POST', body: small }).then((res) => expect(res.status).toBe(200));
    expect(await next).toBe(sha(small));
  });

  it('segment memory is pooled slabs reused across segments: every reader gets its own segment\'s bytes, the pool stays within the budget', async () => {
    const budget = 768 * 1024;
    const { server, base } = await serve({ maxRetainedBytes: budget, closedGraceMs: 0 });
    const bodies: Buffer[] = [];
    for (let seq = 0; seq < 24; seq++) {
      const body = randomBytes(200 * 1024 + seq * 1000);
      bodies.push(body);
      // A reader waiting on the segment before it is written, and one on the previous segment
      // (retained, or evicted by the budget: 470 then), both read while the next one is written.
      const waiting = fetch(`${base}/ch/${seq}`).then(async (r) => ({ status: r.status, bytes: Buffer.from(await r.arrayBuffer()) }));
      const previous = seq > 0 ? fetch(`${base}/ch/${seq - 1}`).then(async (r) => ({ status: r.status, bytes: Buffer.from(await r.arrayBuffer()) })) : undefined;
      const posted = await fetch(`${base}/ch/${seq}`, { method: 'POST', body });
      await posted.arrayBuffer();
      expect(posted.status).toBe(200);
      const got = await waiting;
      expect(got.status).toBe(200);
      expect(sha(got.bytes)).toBe(sha(body));
      const prev = await previous;
      if (prev && prev.status === 200) expect(sha(prev.bytes)).toBe(sha(bodies[seq - 1] as Buffer));
      const c = server.counters();
      expect(c.retainedBytes + c.pooledBytes).toBeLessThanOrEqual(budget);
    }
    expect(server.counters().segmentsEvicted).toBeGreaterThan(0);
    // A released segment hands its slabs to the pool at once (no garbage collection needed).
    const { retainedBytes: held, pooledBytes: pooledBefore } = server.counters();
    expect(held).toBeGreaterThan(0);
    server.deleteChannel('ch');
    await expect.poll(() => server.counters().retainedBytes).toBe(0);
    expect(server.counters().pooledBytes).toBe(pooledBefore + held);
  });

  it('page slabs: each uploaded body chunk is freed as soon as its bytes are copied; mounted beside another body reader, chunks are left alone', async () => {
    const addon = native();
    const original = addon.releaseArrayBuffer;
    let released = 0;
    addon.releaseArrayBuffer = (ab: ArrayBuffer) => {
      const bytes = ab.byteLength;
      const ok = original(ab);
      if (ok && ab.byteLength === 0) released += bytes;
      return ok;
    };
    cleanups.push(() => (addon.releaseArrayBuffer = original));
    const { server, base } = await serve();
    expect(server.slabMemory).toBe('pages');
    const bodies = [randomBytes(3 * 1024 * 1024 + 17), randomBytes(1 << 20)];
    for (const [seq, body] of bodies.entries()) {
      const reading = fetch(`${base}/ch/${seq}`).then(async (r) => sha(Buffer.from(await r.arrayBuffer())));
      const r = await fetch(`${base}/ch/${seq}`, { method: 'POST', body });
      expect(r.status).toBe(200);
      expect(await reading).toBe(sha(body));
    }
    expect(released).toBe(bodies[0]!.length + bodies[1]!.length);

    // Mounted in an app whose own listener also reads the body: nothing is released under it.
    released = 0;
    const mounted = new TrickleServer({ basePath: '/trickle/' });
    mounted.createChannel('ch');
    const seen: Buffer[] = [];
    const app = createServer((req, res) => {
      req.on('data', (c: Buffer) => seen.push(c));
      if (!mounted.handleRequest(req, res)) res.writeHead(404).end();
    });
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', () => r()));
    cleanups.push(async () => {
      await mounted.close();
      await new Promise<void>((r) => app.close(() => r()));
    });
    const appBase = `http://127.0.0.1:${(app.address() as AddressInfo).port}/trickle`;
    const body = randomBytes(2 * 1024 * 1024);
    const r = await fetch(`${appBase}/ch/0`, { method: 'POST', body });
    expect(r.status).toBe(200);
    expect(released).toBe(0);
    expect(sha(Buffer.concat(seen))).toBe(sha(body));
    const back = await fetch(`${appBase}/ch/0`);
    expect(sha(Buffer.from(await back.arrayBuffer()))).toBe(sha(body));
  });

  it('without the native addon the server keeps working on heap slabs, and says so', async () => {
    // A preload that makes every native addon fail to load, as on an install without a binary.
    const dir = mkdtempSync(join(tmpdir(), 'trickle-noaddon-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const preload = join(dir, 'no-addon.js');
    writeFileSync(preload, "require('node:module')._extensions['.node'] = () => { throw new Error('no native addon here'); };\n");
    const cli = await startTrickleServerCli(['--port', '0', '--channel', 'ch'], ['--require', preload]);
    const url = cli.url.replace(/\/$/, '');
    await until(() => cli.stderr().includes('the native addon did not load'), 'the heap-slab notice', 5000);
    const body = randomBytes(300 * 1024);
    const reading = fetch(`${url}/ch/0`).then(async (r) => sha(Buffer.from(await r.arrayBuffer())));
    expect((await fetch(`${url}/ch/0`, { method: 'POST', body })).status).toBe(200);
    expect(await reading).toBe(sha(body));
  });

  it("memoryBudgetScope 'process': the budget also absorbs the RSS growth segments do not account for; publishers are never held", async () => {
    expect(() => new TrickleServer({ memoryBudgetScope: 'heap' as 'process' })).toThrow(/memoryBudgetScope/);
    const budget = 8 * 1024 * 1024;
    const { server, base } = await serve({ maxRetainedBytes: budget, memoryBudgetScope: 'process' });
    const segment = randomBytes(1024 * 1024);
    for (let seq = 0; seq < 20; seq++) {
      const r = await fetch(`${base}/ch/${seq}`, { method: 'POST', body: segment });
      await r.arrayBuffer();
      expect(r.status).toBe(200);
      const c = server.counters();
      expect(c.rssOverheadBytes).toBeGreaterThanOrEqual(0);
      // Segments keep at least a quarter of the budget, and never more than what the RSS growth leaves them.
      expect(c.retainedBytes + c.pooledBytes).toBeLessThanOrEqual(Math.max(budget / 4, budget - c.rssOverheadBytes) + 64 * 1024);
    }
    const r = await fetch(`${base}/ch/19`);
    expect(sha(Buffer.from(await r.arrayBuffer()))).toBe(sha(segment));
  });

  it('slow headers: connections that never finish their request head are closed after headersTimeoutMs, without an answer', async () => {
    const { port } = await serve({ headersTimeoutMs: 400 });
    const sockets: Socket[] = [];
    const drips: NodeJS.Timeout[] = [];
    let answered = 0;
    for (let i = 0; i < 50; i++) {
      const s = await rawSocket(port, ATTACKER);
      s.on('data', (d: Buffer) => (answered += d.length));
      s.write('GET /ch/0 HTTP/1.1\r\n');
      drips.push(setInterval(() => s.writable && s.write('X'), 50));
      sockets.push(s);
    }
    cleanups.push(() => drips.forEach(clearInterval));
    await Promise.all(sockets.map(closed));
    expect(sockets.every((s) => s.destroyed)).toBe(true);
    expect(answered).toBe(0);
  });

  it('maxConnectionsPerClient: one address cannot take every connection; another address still gets served', async () => {
    const { server, port } = await serve({ maxConnectionsPerClient: 20 });
    const sockets: Socket[] = [];
    for (let i = 0; i < 40; i++) sockets.push(await rawSocket(port, ATTACKER));
    await Promise.all(sockets.slice(20).map(closed));
    expect(sockets.slice(0, 20).some((s) => s.destroyed)).toBe(false);
    expect(server.counters().connectionsRefused).toBe(20);
    const r = await rawOnce(port, 'GET', '/ch/next');
    r.conn.destroy();
    expect(r.status).toBe(200);
  });

  it('a POST body that goes silent after its first byte is cut after bodyIdleTimeoutMs; its reader sees an incomplete segment', async () => {
    const { server, port, base } = await serve({ bodyIdleTimeoutMs: 300 });
    const sub = new TrickleSubscriber(`${base}/ch`, { start: 0 });
    cleanups.push(() => sub.close());
    const seen = (async () => {
      for await (const seg of sub) {
        const parts: Buffer[] = [];
        try {
          for await (const c of seg) parts.push(c);
          return ['complete', Buffer.concat(parts).toString()];
        } catch (err) {
          return [(err as TrickleError).code, Buffer.concat(parts).toString()];
        }
      }
      return ['none', ''];
    })();
    const s = await rawSocket(port, ATTACKER);
    s.write('POST /ch/0 HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n');
    let reply = '';
    s.on('data', (d: Buffer) => (reply += d.toString('latin1')));
    await closed(s);
    expect(reply.startsWith('HTTP/1.1 408')).toBe(true);
    expect(await seen).toEqual(['ERR_TRICKLE_NETWORK', 'hello']);
    expect(server.counters().segmentsCut).toBe(1);
  });

  it('channel creations from one address stop at maxChannelsPerClient; other clients can still create channels', async () => {
    const { server, port } = await serve({ autocreate: true, maxChannelsPerClient: 10, maxChannels: 100 }, []);
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) statuses.push(await statusFrom(port, ATTACKER, 'POST', `/spam${i}/0`, 'x'));
    expect(statuses.filter((s) => s === 200)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(20);
    expect(await statusFrom(port, '127.0.0.1', 'POST', '/mine/0', 'x')).toBe(200);
    expect(server.hasChannel('mine')).toBe(true);
    // Deleting its channels gives the client its share back.
    for (let i = 0; i < 10; i++) server.deleteChannel(`spam${i}`);
    expect(await statusFrom(port, ATTACKER, 'POST', '/again/0', 'x')).toBe(200);
  });

  it('idle GETs from one address stop at maxSubscribersPerClient; the real subscriber still gets its segment', async () => {
    const { server, port, base } = await serve({ maxSubscribersPerClient: 8, maxSubscribersPerChannel: 256 });
    const idle: Socket[] = [];
    for (let i = 0; i < 8; i++) {
      const s = await rawSocket(port, ATTACKER);
      s.write('GET /ch/0 HTTP/1.1\r\nHost: t\r\n\r\n');
      idle.push(s);
    }
    await expect.poll(() => server.channelInfo('ch')?.subscribers, { timeout: 10_000 }).toBe(8);
    expect(await statusFrom(port, ATTACKER, 'GET', '/ch/0')).toBe(429);
    const sub = new TrickleSubscriber(`${base}/ch`, { start: 0 });
    cleanups.push(() => sub.close());
    const got = readAll(sub, 1);
    await fetch(`${base}/ch/0`, { method: 'POST', body: 'real data' }).then((r) => r.arrayBuffer());
    expect((await got)[0]?.toString()).toBe('real data');
    expect(server.counters().clientLimitRefusals).toBe(1);
  });

  it('one address flooding uploads is paused at maxClientBytesPerSecond; another address publishes beside it, intact', async () => {
    const { server, port, base } = await serve({ maxClientBytesPerSecond: 1024 * 1024 }, ['flood', 'ch']);
    const flood = randomBytes(4 * 1024 * 1024);
    const flooding = new Promise<number>((resolve) => {
      const s = connect({ port, host: '127.0.0.1', localAddress: ATTACKER }, () => {
        s.write(`POST /flood/0 HTTP/1.1\r\nHost: t\r\nContent-Length: ${flood.length}\r\n\r\n`);
        s.write(flood);
      });
      s.on('error', () => undefined);
      s.on('data', (d: Buffer) => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(d.toString('latin1'))?.[1] ?? 0)));
      cleanups.push(() => s.destroy());
    });
    const sub = new TrickleSubscriber(`${base}/ch`, { start: 0 });
    cleanups.push(() => sub.close());
    const got = readAll(sub, 1);
    const mine = randomBytes(256 * 1024);
    await fetch(`${base}/ch/0`, { method: 'POST', body: mine }).then((r) => expect(r.status).toBe(200));
    expect(sha((await got)[0] as Buffer)).toBe(sha(mine));
    // The flood was paused (and still arrives whole: throttled, not refused).
    expect(await flooding).toBe(200);
    expect(server.counters().uploadsThrottled).toBeGreaterThan(0);
    expect(server.channelInfo('flood')?.segments[0]?.bytes).toBe(flood.length);
  });

  it('the sequence edge: a write that would move nextWrite past 2^53 - 1 is refused (400), the channel keeps working', async () => {
    const { port } = await serve();
    const last = Number.MAX_SAFE_INTEGER - 1;
    const first = await rawOnce(port, 'POST', `/ch/${last}`, { body: 'edge' });
    first.conn.destroy();
    expect(first.status).toBe(200);
    const next = await rawOnce(port, 'GET', '/ch/next');
    next.conn.destroy();
    expect(next.text).toBe(String(Number.MAX_SAFE_INTEGER));
    // Before the fix this answered 200 and silently dropped the body, and every later -1 write too.
    for (let i = 0; i < 3; i++) {
      const r = await rawOnce(port, 'POST', '/ch/-1', { body: `lost ${i}` });
      r.conn.destroy();
      expect([r.status, r.text]).toEqual([400, 'Invalid idx: sequence numbers are exhausted\n']);
    }
    const restart = await rawOnce(port, 'POST', '/ch/0', { body: 'fresh', headers: { 'Lp-Trickle-Reset': '1' } });
    restart.conn.destroy();
    expect(restart.status).toBe(200);
    const read = await rawOnce(port, 'GET', '/ch/0');
    read.conn.destroy();
    expect(read.text).toBe('fresh');
  });

  it('authToken: every request without the bearer token gets 401; the clients pass it as a header', async () => {
    const { server, port, base } = await serve({ authToken: 's3cret' });
    for (const [method, path] of [['GET', '/ch/next'], ['POST', '/ch/0'], ['DELETE', '/ch'], ['GET', '/ch/0']] as const) {
      const r = await rawOnce(port, method, path, { body: 'x' });
      r.conn.destroy();
      expect([r.status, r.headers['www-authenticate']]).toEqual([401, 'Bearer']);
    }
    const wrong = await rawOnce(port, 'GET', '/ch/next', { headers: { Authorization: 'Bearer s3cre7' } });
    wrong.conn.destroy();
    expect(wrong.status).toBe(401);
    expect(server.channelInfo('ch')?.nextWrite).toBe(0);
    const headers = { Authorization: 'Bearer s3cret' };
    const sub = new TrickleSubscriber(`${base}/ch`, { start: 0, headers });
    cleanups.push(() => sub.close());
    const got = readAll(sub, 1);
    const pub = new TricklePublisher(`${base}/ch`, { mime: 'video/MP2T', start: 0, headers });
    cleanups.push(() => pub.destroy());
    await pub.writeSegment('authorized');
    expect((await got)[0]?.toString()).toBe('authorized');
    expect(server.counters().unauthorized).toBe(5);
  });

  it('trickle-rt trickle-server takes every limit as a flag, and --auth-token', async () => {
    const { url } = await startTrickleServerCli([
      '--port', '0', '--channel', 'ch',
      '--auth-token', 'tok', '--max-subscribers-per-client', '1', '--max-retained-bytes', '1048576', '--headers-timeout-ms', '300',
      '--memory-budget-scope', 'process',
    ]);
    const port = Number(new URL(url).port);
    expect((await rawOnce(port, 'GET', '/ch/next').then((r) => (r.conn.destroy(), r.status)))).toBe(401);
    const auth = { Authorization: 'Bearer tok' };
    const first = await rawOnce(port, 'GET', '/ch/next', { headers: auth });
    first.conn.destroy();
    expect(first.status).toBe(200);
    // One GET held from this address, the second gets 429 (--max-subscribers-per-client 1).
    const held = await rawSocket(port, '127.0.0.1');
    held.write('GET /ch/0 HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer tok\r\n\r\n');
    // The held GET has no reply to wait for (its segment is empty): give the server a moment to take it.
    await new Promise((r) => setTimeout(r, 500));
    const second = await rawOnce(port, 'GET', '/ch/0', { headers: auth });
    second.conn.destroy();
    expect(second.status).toBe(429);
    // --headers-timeout-ms 300: a head that never completes is closed.
    const slow = await rawSocket(port, ATTACKER);
    slow.write('GET /ch/0 HTTP/1.1\r\n');
    await closed(slow);
    expect(() => new TrickleServer({ maxClientBytesPerSecond: 1.5 })).toThrow(/maxClientBytesPerSecond/);
  });

  it('trickle-rt trickle-server refuses an unknown --memory-budget-scope', async () => {
    const child = spawn(process.execPath, [resolve(__dirname, '..', '..', 'bin/trickle-rt.js'), 'trickle-server', '--port', '0', '--memory-budget-scope', 'heap']);
    cleanups.push(() => child.kill('SIGKILL'));
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((res) => child.once('exit', (c) => res(c)));
    expect(code).toBe(2);
    expect(stderr).toMatch(/--memory-budget-scope must be one of segments, process/);
  });

  it('rejects limits that are not positive integers', () => {
    expect(() => new TrickleServer({ maxRetainedBytes: 0 })).toThrow(TrickleError);
    expect(() => new TrickleServer({ readerStallTimeoutMs: -1 })).toThrow(/readerStallTimeoutMs/);
    expect(() => new TrickleServer({ authToken: '' })).toThrow(/authToken/);
    expect(new TrickleServer({ maxConnections: 7 }).limits.maxConnections).toBe(7);
  });
});
