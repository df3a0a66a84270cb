/**
 * TricklePublisher / TrickleSubscriber behaviour against TrickleServer and against a deliberately
 * misbehaving server (test/helpers/misbehaving-server.ts). Delivered bytes are checked by sha256.
 * Covers the client side of the conformance cases of docs/protocol.md: 16, 27, 28, 36, 38, 39, 40.
 */
import { createHash, randomBytes } from 'node:crypto';

import { afterEach, describe, expect, it } from 'vitest';

import { TrickleError } from '../../src/errors';
import { TricklePublisher } from '../../src/trickle/trickle-publisher';
import { TrickleServer, type TrickleServerOptions } from '../../src/trickle-server/trickle-server';
import type { TrickleSegment } from '../../src/trickle/trickle-segment';
import { TrickleSubscriber } from '../../src/trickle/trickle-subscriber';
import { MisbehavingServer, type Script } from '../helpers/misbehaving-server';
import { stillPending } from '../helpers/raw-http';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function trickle(opts: TrickleServerOptions = {}, channels: string[] = ['ch']): Promise<{ server: TrickleServer; base: string }> {
  const server = new TrickleServer(opts);
  for (const c of channels) server.createChannel(c, 'video/MP2T');
  const port = await server.listen(0, '127.0.0.1');
  cleanups.push(() => server.close());
  return { server, base: `http://127.0.0.1:${port}` };
}

async function misbehaving(script: Script): Promise<{ server: MisbehavingServer; base: string }> {
  const server = new MisbehavingServer(script);
  const port = await server.listen();
  cleanups.push(() => server.close());
  return { server, base: `http://127.0.0.1:${port}` };
}

function publisher(url: string, opts: ConstructorParameters<typeof TricklePublisher>[1] = {}): TricklePublisher {
  const p = new TricklePublisher(url, { retryDelayMs: 10, ...opts });
  cleanups.push(() => p.destroy());
  return p;
}

function subscriber(url: string, opts: ConstructorParameters<typeof TrickleSubscriber>[1] = {}): TrickleSubscriber {
  const s = new TrickleSubscriber(url, { retryDelayMs: 10, ...opts });
  cleanups.push(() => s.close());
  return s;
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

async function collect(sub: TrickleSubscriber, max = Infinity): Promise<Array<{ seq: number; data: Buffer }>> {
  const out: Array<{ seq: number; data: Buffer }> = [];
  for await (const seg of sub) {
    out.push({ seq: seg.seq, data: await seg.bytes() });
    if (out.length >= max) break;
  }
  return out;
}

async function waitFor(cond: () => boolean): Promise<void> {
  await expect.poll(cond, { timeout: 10_000, interval: 5 }).toBe(true);
}

/** Bounds an await and, if it does not settle, fails with the server's view of the channel. */
async function within<T>(p: Promise<T>, what: string, server: TrickleServer, ms = 15_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle; channel: ${JSON.stringify(server.channelInfo('ch'))}`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    expect(err).toBeInstanceOf(TrickleError);
    return (err as TrickleError).code;
  }
}

describe('TricklePublisher → TrickleServer → TrickleSubscriber', () => {
  it('delivers every segment byte-exact, chunks streamed as written, then EOS on close()', async () => {
    const { base } = await trickle();
    const sub = subscriber(`${base}/ch`, { start: 0 });
    const received = collect(sub);
    const pub = publisher(`${base}/ch`);
    const sent: Buffer[] = [];
    for (let i = 0; i < 7; i++) {
      const seg = await pub.next();
      expect(seg.seq).toBe(i);
      const parts = [randomBytes(1000 + i * 5000), randomBytes(70_000), randomBytes(i)];
      for (const p of parts) await seg.write(p);
      await seg.end();
      sent.push(Buffer.concat(parts));
    }
    await pub.close();
    expect(pub.state).toBe('closed');
    const got = await received;
    expect(got.map((g) => g.seq)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(got.map((g) => sha(g.data))).toEqual(sent.map(sha));
    expect(sub.endReason).toBe('eos');
  });

  it('close() of a publisher that never published still DELETEs the channel: a waiting subscriber sees EOS', async () => {
    const { base } = await trickle();
    const sub = subscriber(`${base}/ch`, { start: -1 });
    const received = collect(sub);
    const pub = publisher(`${base}/ch`);
    await pub.close();
    expect(pub.state).toBe('closed');
    expect(await received).toEqual([]);
    expect(sub.endReason).toBe('eos');
  });

  it('streams: a subscriber sees the first bytes of a segment before the publisher ends it', async () => {
    const { base, server } = await trickle();
    const sub = subscriber(`${base}/ch`, { start: -1 });
    const pub = publisher(`${base}/ch`);
    const seg = await pub.next();
    const segP = sub.read();
    await waitFor(() => server.channelInfo('ch')?.subscribers === 1); // -1 = the segment after the ones started
    await seg.write('first-');
    const s = (await segP) as TrickleSegment;
    const it = s[Symbol.asyncIterator]();
    expect((await it.next()).value?.toString()).toBe('first-');
    await seg.write('second');
    expect((await it.next()).value?.toString()).toBe('second');
    await seg.end();
    expect((await it.next()).done).toBe(true);
    expect(s.complete).toBe(true);
  });

  it('preconnects: the publisher holds a POST for seq+1, the subscriber a GET for seq+1', async () => {
    const { base, server } = await trickle();
    const pub = publisher(`${base}/ch`);
    const seg0 = await pub.next();
    await waitFor(() => server.channelInfo('ch')?.segments.some((s) => s.seq === 1 && !s.closed) === true);
    const sub = subscriber(`${base}/ch`, { start: 0 });
    const r = sub.read();
    await seg0.write('abc');
    const s0 = (await r) as TrickleSegment;
    // While segment 0 is still open, the subscriber already waits on 1 (2 GETs on the channel).
    await waitFor(() => server.channelInfo('ch')?.subscribers === 2);
    await seg0.end();
    expect((await s0.bytes()).toString()).toBe('abc');
    await pub.writeSegment('def');
    const s1 = (await sub.read()) as TrickleSegment;
    expect([s1.seq, (await s1.bytes()).toString()]).toEqual([1, 'def']);
  });

  it('starts at -2 (current segment from its start), -1 (next) or N', async () => {
    const { base } = await trickle();
    const pub = publisher(`${base}/ch`);
    for (const t of ['s0', 's1', 's2']) await pub.writeSegment(t);
    const curSub = subscriber(`${base}/ch`, { start: -2 });
    const cur = (await curSub.read()) as TrickleSegment;
    expect([cur.seq, (await cur.bytes()).toString()]).toEqual([2, 's2']);
    curSub.close();
    const fixedSub = subscriber(`${base}/ch`, { start: 1 });
    const fixed = (await fixedSub.read()) as TrickleSegment;
    expect([fixed.seq, (await fixed.bytes()).toString()]).toEqual([1, 's1']);
    fixedSub.close();
    // -1 on a server of its own, so that the only GET the server sees is this subscriber's.
    const other = await trickle();
    const pub2 = publisher(`${other.base}/ch`);
    for (const t of ['s0', 's1', 's2']) await pub2.writeSegment(t);
    const nextSub = subscriber(`${other.base}/ch`, { start: -1 });
    const p = nextSub.read();
    expect(await stillPending(p)).toBe('pending');
    await waitFor(() => other.server.channelInfo('ch')?.subscribers === 1);
    await pub2.writeSegment('s3');
    const nxt = (await p) as TrickleSegment;
    expect([nxt.seq, (await nxt.bytes()).toString()]).toEqual([3, 's3']);
  });

  it('470 resync: a subscriber behind the retention window jumps to Lp-Trickle-Latest', async () => {
    const { base, server } = await trickle();
    const waiting = (seq: number) => () => server.channelInfo('ch')?.segments.find((x) => x.seq === seq)?.readerBytes.length === 1;
    const pub = publisher(`${base}/ch`);
    for (let i = 0; i < 10; i++) await pub.writeSegment(`seg${i}`);
    const behind = subscriber(`${base}/ch`, { start: 0 });
    const p = behind.read();
    await waitFor(waiting(10)); // 470 (Latest 10) → GET 10 waits
    await within(pub.writeSegment('seg10'), 'writeSegment(seg10)', server);
    const s = (await within(p, 'read() of seg 10', server)) as TrickleSegment;
    expect([s.seq, (await s.bytes()).toString()]).toEqual([10, 'seg10']);
  });

  it('470 resync: a subscriber ahead of the publisher (e.g. after a publisher restart) jumps back to Lp-Trickle-Latest', async () => {
    const { base, server } = await trickle();
    const pub = publisher(`${base}/ch`);
    for (let i = 0; i < 3; i++) await pub.writeSegment(`seg${i}`);
    const ahead = subscriber(`${base}/ch`, { start: 50 });
    const q = ahead.read();
    // 470 (Latest 3) → GET 3 waits (this subscriber is the only reader on this server)
    await waitFor(() => ahead.nextSeq === 3 && server.channelInfo('ch')?.segments.find((x) => x.seq === 3)?.readerBytes.length === 1);
    await within(pub.writeSegment('seg3'), 'writeSegment(seg3)', server);
    const a = (await within(q, 'read() of seg 3', server)) as TrickleSegment;
    expect([a.seq, (await a.bytes()).toString()]).toEqual([3, 'seg3']);
  });

  it('an empty segment is a valid segment, not EOS', async () => {
    const { base } = await trickle();
    const sub = subscriber(`${base}/ch`, { start: 0 });
    const pub = publisher(`${base}/ch`);
    await pub.writeSegment('');
    await pub.writeSegment('after');
    const got = await collect(sub, 2);
    expect(got.map((g) => [g.seq, g.data.toString()])).toEqual([[0, ''], [1, 'after']]);
  });

  it('case 27: a publisher whose channel is deleted gets EOS on its preconnect and 404 on a fresh start', async () => {
    const { base, server } = await trickle();
    const pub = publisher(`${base}/ch`);
    await pub.writeSegment('one');
    await waitFor(() => server.channelInfo('ch')?.segments.some((s) => s.seq === 1) === true);
    server.deleteChannel('ch');
    expect(await codeOf(pub.writeSegment('two'))).toBe('ERR_TRICKLE_EOS');
    expect(pub.state).toBe('closed');
    const late = publisher(`${base}/ch`, { start: 0 });
    expect(await codeOf(late.writeSegment('x'))).toBe('ERR_STREAM_NOT_FOUND');
    // Resuming (GET next) during the grace period sees the end of the stream instead.
    expect(await codeOf(publisher(`${base}/ch`).writeSegment('x'))).toBe('ERR_TRICKLE_EOS');
    expect(late.state).toBe('errored');
  });

  it('case 28: a subscriber gets EOS if its GET was pending at deletion, not-found if issued after', async () => {
    const { base, server } = await trickle({ closedGraceMs: 0 });
    const pending = subscriber(`${base}/ch`, { start: 0 });
    const p = pending.read();
    await waitFor(() => server.channelInfo('ch')?.subscribers === 1);
    server.deleteChannel('ch');
    expect(await p).toBeUndefined();
    expect(pending.endReason).toBe('eos');
    const after = subscriber(`${base}/ch`);
    expect(await after.read()).toBeUndefined();
    expect(after.endReason).toBe('not-found');
  });

  it('case 38: a restarted publisher resumes after the last segment (GET next + Reset), no data lost', async () => {
    const { base, server } = await trickle();
    const first = publisher(`${base}/ch`, { deleteOnClose: false });
    for (const t of ['a', 'b', 'c']) await first.writeSegment(t);
    await first.close();
    const sub = subscriber(`${base}/ch`, { start: -1 });
    const r = sub.read();
    await waitFor(() => server.channelInfo('ch')?.subscribers === 1);
    const second = publisher(`${base}/ch`);
    expect(await second.writeSegment('d')).toBe(3);
    const s = (await r) as TrickleSegment;
    expect([s.seq, (await s.bytes()).toString()]).toEqual([3, 'd']);
    // A publisher forced to start at 0 never reports dropped data as written.
    const naive = publisher(`${base}/ch`, { start: 0, deleteOnClose: false });
    const seg = await naive.next();
    await seg.write('lost?');
    const code = await codeOf(seg.end());
    if (code === undefined) expect(seg.seq).toBeGreaterThanOrEqual(4);
    else expect(code).toBe('ERR_TRICKLE_HTTP');
  });

  it('reset releases subscribers hung on a segment a dead publisher left open', async () => {
    const { base, server } = await trickle();
    const dead = publisher(`${base}/ch`, { deleteOnClose: false });
    await dead.writeSegment('zero');
    await dead.next(); // seq 1 preconnected; nothing is sent
    const sub = subscriber(`${base}/ch`, { start: 1 });
    const r = sub.read();
    await waitFor(() => server.channelInfo('ch')?.subscribers === 1);
    dead.destroy();
    expect(await stillPending(r)).toBe('pending');
    const fresh = publisher(`${base}/ch`);
    await fresh.writeSegment('one');
    const s = (await r) as TrickleSegment;
    expect([s.seq, (await s.bytes()).toString()]).toEqual([1, 'one']);
  });

  it('a publisher killed mid-segment: subscribers get the bytes so far and learn the segment was cut, then the next publisher’s segments', async () => {
    const { base, server } = await trickle();
    const sub = subscriber(`${base}/ch`, { start: 0 });
    const received = (async () => {
      const out: Array<[number, string, string]> = [];
      for await (const seg of sub) {
        const parts: Buffer[] = [];
        let outcome = 'complete';
        try {
          for await (const chunk of seg) parts.push(chunk);
        } catch (err) {
          outcome = (err as TrickleError).code;
        }
        out.push([seg.seq, Buffer.concat(parts).toString(), outcome]);
        if (out.length >= 3) break;
      }
      return out;
    })();
    const killed = publisher(`${base}/ch`);
    await killed.writeSegment('complete-0');
    const seg = await killed.next();
    await seg.write('partial-');
    await waitFor(() => server.channelInfo('ch')?.segments.find((x) => x.seq === 1)?.bytes === 8);
    killed.destroy();
    const next = publisher(`${base}/ch`);
    await next.writeSegment('resumed-2');
    await next.close();
    expect(await received).toEqual([
      [0, 'complete-0', 'complete'],
      [1, 'partial-', 'ERR_TRICKLE_NETWORK'],
      [2, 'resumed-2', 'complete'],
    ]);
  });

  it('slow consumer: the subscriber does not read ahead; the publisher is not held back', async () => {
    const { base, server } = await trickle();
    const size = 24 * 1024 * 1024;
    const payload = randomBytes(size);
    const sub = subscriber(`${base}/ch`, { start: 0 });
    const r = sub.read();
    const pub = publisher(`${base}/ch`);
    const seg = await pub.next();
    await seg.write(payload.subarray(0, 1024));
    const s = (await r) as TrickleSegment;
    const it = s[Symbol.asyncIterator]();
    const first = (await it.next()).value as Buffer;
    // Consumer stalls here while the rest of the segment is published.
    for (let off = 1024; off < size; off += 1 << 20) await seg.write(payload.subarray(off, Math.min(size, off + (1 << 20))));
    await seg.end();
    const info = server.channelInfo('ch')?.segments.find((x) => x.seq === 0);
    expect(info?.bytes).toBe(size);
    const handed = Math.max(...(info?.readerBytes ?? [size]));
    expect(handed).toBeLessThan(size / 2); // bounded by socket buffers, not the segment size
    const parts = [first];
    for (let n = await it.next(); !n.done; n = await it.next()) parts.push(n.value);
    expect(sha(Buffer.concat(parts))).toBe(sha(payload));
  });

  it('abort: a waiting read() and a segment being read reject with ERR_ABORTED', async () => {
    const { base } = await trickle();
    const ac = new AbortController();
    const sub = subscriber(`${base}/ch`, { start: 0, signal: ac.signal });
    const r = sub.read();
    const pub = publisher(`${base}/ch`);
    const seg = await pub.next();
    await seg.write('x');
    const s = (await r) as TrickleSegment;
    const it = s[Symbol.asyncIterator]();
    await it.next();
    const pendingChunk = it.next();
    ac.abort();
    expect(await codeOf(pendingChunk)).toBe('ERR_ABORTED');
    expect(sub.state).toBe('errored');
    const ac2 = new AbortController();
    const sub2 = subscriber(`${base}/ch`, { start: 5, signal: ac2.signal });
    const w = sub2.read();
    ac2.abort();
    expect(await codeOf(w)).toBe('ERR_ABORTED');
    const ac3 = new AbortController();
    const pub3 = publisher(`${base}/ch`, { signal: ac3.signal });
    ac3.abort();
    expect(await codeOf(pub3.next())).toBe('ERR_ABORTED');
  });

  it('survives idle gaps longer than the interim interval (many 100 Continue on the preconnect)', async () => {
    const { base } = await trickle({ interimIntervalMs: 20 });
    const sub = subscriber(`${base}/ch`, { start: 0 });
    const received = collect(sub);
    const pub = publisher(`${base}/ch`);
    await pub.writeSegment('before the gap');
    await new Promise((r) => setTimeout(r, 300)); // ≈15 interim responses on the preconnected POST
    await pub.writeSegment('after the gap');
    await pub.close();
    expect((await received).map((g) => g.data.toString())).toEqual(['before the gap', 'after the gap']);
  });

  it('writeSegment accepts iterables; close() ends open segments and sends DELETE', async () => {
    const { base, server } = await trickle();
    const sub = subscriber(`${base}/ch`, { start: 0 });
    const received = collect(sub);
    const pub = publisher(`${base}/ch`);
    await pub.writeSegment([Buffer.from('a'), Buffer.from('b')]);
    const open = await pub.next();
    await open.write('unfinished');
    await pub.close();
    expect(server.hasChannel('ch')).toBe(false);
    expect((await received).map((g) => g.data.toString())).toEqual(['ab', 'unfinished']);
    expect(await codeOf(pub.next())).toBe('ERR_CLOSED');
  });
});

describe('clients against a misbehaving server', () => {
  it('subscriber: a stalled GET (no headers) is re-issued', async () => {
    const { server, base } = await misbehaving((req) => {
      if (req.path === '/ch/0' && req.attempt === 0) return; // never answer
      if (req.path === '/ch/0') req.respond(200, { 'Lp-Trickle-Seq': '0' }, 'late but fine');
      else req.respond(200, { 'Lp-Trickle-Closed': 'terminated' });
    });
    const sub = subscriber(`${base}/ch`, { start: 0, preconnectTimeoutMs: 100 });
    const got = await collect(sub);
    expect(got.map((g) => g.data.toString())).toEqual(['late but fine']);
    expect(server.count('GET', '/ch/0')).toBe(2);
    expect(sub.endReason).toBe('eos');
  });

  it('subscriber: 5xx and resets are retried with backoff; retries are bounded', async () => {
    const { base } = await misbehaving((req) => {
      if (req.path === '/ok/0' && req.attempt < 2) req.respond(503, {}, 'busy');
      else if (req.path === '/ok/0' && req.attempt === 2) req.socket.destroy();
      else if (req.path === '/ok/0') req.respond(200, { 'Lp-Trickle-Seq': '0' }, 'finally');
      else if (req.path.startsWith('/ok/')) req.respond(404, {}, 'Stream not found\n');
      else req.respond(503, {}, 'down');
    });
    const ok = subscriber(`${base}/ok`, { start: 0 });
    expect((await collect(ok)).map((g) => g.data.toString())).toEqual(['finally']);
    expect(ok.endReason).toBe('not-found');
    const bad = subscriber(`${base}/bad`, { start: 0, retries: 2, outageMs: 0 });
    expect(await codeOf(bad.read())).toBe('ERR_TRICKLE_HTTP');
  });

  it('case 36: Lp-Trickle-Closed means EOS whatever the status', async () => {
    for (const status of [200, 404, 470, 500]) {
      const { base } = await misbehaving((req) => req.respond(status, { 'Lp-Trickle-Closed': 'terminated', 'Lp-Trickle-Latest': '3' }, 'Entry not found'));
      const sub = subscriber(`${base}/ch`, { start: 0 });
      expect(await sub.read()).toBeUndefined();
      expect([status, sub.endReason]).toEqual([status, 'eos']);
    }
  });

  it('subscriber: 470 jumps to Lp-Trickle-Latest; 470 without it is an error', async () => {
    const { server, base } = await misbehaving((req) => {
      if (req.path === '/ch/0') req.respond(470, { 'Lp-Trickle-Seq': '0', 'Lp-Trickle-Latest': '7' }, 'Entry not found', 'status code 470');
      else if (req.path === '/ch/7') req.respond(200, { 'Lp-Trickle-Seq': '7' }, 'seven');
      else if (req.path === '/nolatest/0') req.respond(470, {}, 'Entry not found');
      else req.respond(404);
    });
    const sub = subscriber(`${base}/ch`, { start: 0 });
    expect((await collect(sub)).map((g) => [g.seq, g.data.toString()])).toEqual([[7, 'seven']]);
    expect(server.count('GET', '/ch/8')).toBe(1);
    expect(await codeOf(subscriber(`${base}/nolatest`, { start: 0 }).read())).toBe('ERR_TRICKLE_HTTP');
  });

  it('subscriber: a body cut off mid-segment throws from that segment; the next one still arrives', async () => {
    const { base } = await misbehaving((req) => {
      if (req.path === '/ch/0') {
        req.startChunked(200, { 'Lp-Trickle-Seq': '0' });
        req.chunk('half');
        setTimeout(() => req.socket.destroy(), 20);
      } else if (req.path === '/ch/1') req.respond(200, { 'Lp-Trickle-Seq': '1' }, 'whole');
      else req.respond(200, { 'Lp-Trickle-Closed': 'terminated' });
    });
    const sub = subscriber(`${base}/ch`, { start: 0 });
    const s0 = (await sub.read()) as TrickleSegment;
    const parts: string[] = [];
    const code = await codeOf((async () => {
      for await (const c of s0) parts.push(c.toString());
    })());
    expect([code, parts.join(''), s0.complete]).toEqual(['ERR_TRICKLE_NETWORK', 'half', false]);
    const s1 = (await sub.read()) as TrickleSegment;
    expect([s1.seq, (await s1.bytes()).toString()]).toEqual([1, 'whole']);
    expect(await sub.read()).toBeUndefined();
  });

  it('publisher: survives many interim 100 Continue before the server reads the body', async () => {
    const { base } = await misbehaving(async (req) => {
      if (req.method === 'GET') return req.respond(200, { 'Lp-Trickle-Latest': '0' }, '0');
      if (req.method === 'DELETE') return req.respond(200);
      for (let i = 0; i < 12; i++) req.interim();
      const body = await req.body();
      // (a Go server's data reply keeps the connection; Connection: close would mean "zero bytes read")
      req.respond(200, { 'Lp-Trickle-Seq': req.path.split('/')[2] ?? '', Connection: 'keep-alive' }, '');
      void body;
    });
    const pub = publisher(`${base}/ch`);
    await pub.writeSegment('x'.repeat(1000));
    await pub.close();
  });

  it('publisher: a POST reset before any byte is retried; after bytes it fails without retry and DELETEs the seq', async () => {
    const bodies: string[] = [];
    const { server, base } = await misbehaving(async (req) => {
      if (req.method === 'GET') return req.respond(200, { 'Lp-Trickle-Latest': '0' }, '0');
      if (req.method === 'DELETE') return req.respond(200);
      if (req.path === '/ch/0' && req.attempt === 0) return req.socket.destroy();
      if (req.path === '/ch/1') {
        await req.bodyBytes(4);
        return req.socket.destroy();
      }
      if (req.path === '/ch/0') {
        bodies.push((await req.body()).toString());
        return req.respond(200, { 'Lp-Trickle-Seq': '0', Connection: 'keep-alive' });
      }
      // /ch/2 preconnect: keep it waiting (interim) until the client goes away.
      req.interim();
    });
    const pub = publisher(`${base}/ch`);
    await pub.start(); // preconnects POST 0, which the server kills before any byte
    // (test-only peek: the client has seen its preconnect die)
    await waitFor(() => (pub as unknown as { preconnect?: { outcome?: unknown } }).preconnect?.outcome !== undefined);
    expect(await pub.writeSegment('retried')).toBe(0);
    expect(bodies).toEqual(['retried']);
    const seg = await pub.next();
    await seg.write('data');
    expect(await codeOf(seg.end())).toBe('ERR_TRICKLE_NETWORK');
    expect(server.count('POST', '/ch/1')).toBe(1);
    await waitFor(() => server.count('DELETE', '/ch/1') === 1);
  });

  it('case 40: a 404 with Connection: close on the preconnect wakes the publisher (ERR_STREAM_NOT_FOUND)', async () => {
    const { base } = await misbehaving((req) => {
      if (req.method === 'GET') return req.respond(404, {}, 'Stream not found\n');
      req.respond(404, { 'Content-Type': 'text/plain; charset=utf-8' }, 'Stream not found\n');
    });
    const pub = publisher(`${base}/ch`);
    expect(await codeOf(pub.writeSegment('nobody'))).toBe('ERR_STREAM_NOT_FOUND');
    expect(pub.state).toBe('errored');
  });
});
