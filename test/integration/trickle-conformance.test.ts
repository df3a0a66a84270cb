/**
 * The conformance cases of docs/protocol.md that apply to a server, run against TrickleServer over real
 * sockets with a raw HTTP/1.1 client (status lines, interim responses, headers and bytes as sent).
 * Each test names its case number(s). Client-side cases (27, 28, 36, 38, 40) are in
 * trickle-clients.test.ts.
 */
import { createHash } from 'node:crypto';
import { request } from 'node:http';

import { afterEach, describe, expect, it } from 'vitest';

import { TrickleError } from '../../src/errors';
import { TrickleServer, type TrickleServerOptions } from '../../src/trickle-server/trickle-server';
import { RawConn, rawOnce, stillPending, type RawResponse } from '../helpers/raw-http';

const servers: TrickleServer[] = [];
const conns: RawConn[] = [];

afterEach(async () => {
  for (const c of conns.splice(0)) c.destroy();
  for (const s of servers.splice(0)) await s.close();
});

async function start(opts: TrickleServerOptions = {}, channels: Record<string, string> = { ch: 'video/MP2T' }): Promise<{ server: TrickleServer; port: number }> {
  const server = new TrickleServer(opts);
  servers.push(server);
  for (const [name, mime] of Object.entries(channels)) server.createChannel(name, mime);
  const port = await server.listen(0, '127.0.0.1');
  return { server, port };
}

async function open(port: number): Promise<RawConn> {
  const c = await RawConn.open(port);
  conns.push(c);
  return c;
}

async function req(port: number, method: string, path: string, opts: { headers?: Record<string, string>; body?: string | Buffer } = {}) {
  const r = await rawOnce(port, method, path, opts);
  conns.push(r.conn);
  return r;
}

/** Opens a GET and returns the promise of its (first non-1xx) response. */
async function get(port: number, path: string, method = 'GET'): Promise<{ conn: RawConn; response: Promise<RawResponse> }> {
  const conn = await open(port);
  conn.request(method, path);
  const response = conn.response();
  response.catch(() => {}); // tests that destroy the connection never read it
  return { conn, response };
}

/** Opens a chunked POST whose body stays open; the caller writes chunks and ends it. */
async function openPost(port: number, path: string, headers: Record<string, string> = {}): Promise<RawConn> {
  const conn = await open(port);
  conn.request('POST', path, { chunked: true, headers });
  return conn;
}

async function finalResponse(conn: RawConn): Promise<RawResponse> {
  let r = await conn.response();
  while (r.status < 200) r = await conn.response();
  return r;
}

async function post(port: number, path: string, body: string | Buffer, headers: Record<string, string> = {}) {
  return req(port, 'POST', path, { body, headers });
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('TrickleServer conformance (docs/protocol.md)', () => {
  it('case 1: POST to an unknown channel without autocreate → 404 + Connection: close, no Seq', async () => {
    const { port } = await start();
    const r = await post(port, '/nope/0', 'x');
    expect(r.status).toBe(404);
    expect(r.text).toBe('Stream not found\n');
    expect(r.headers['connection']).toBe('close');
    expect(r.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(r.headers['x-content-type-options']).toBe('nosniff');
    expect(r.headers['lp-trickle-seq']).toBeUndefined();
    await r.conn.closed; // the server really closes (this is what wakes Go preconnects)
  });

  it('case 2: autocreate on → 200 Seq 0, channel mime = request Content-Type', async () => {
    const { port, server } = await start({ autocreate: true }, {});
    const r = await post(port, '/auto/0', 'data', { 'Content-Type': 'text/x-test' });
    expect(r.status).toBe(200);
    expect(r.headers['lp-trickle-seq']).toBe('0');
    expect(server.channelInfo('auto')?.mime).toBe('text/x-test');
    const g = await req(port, 'GET', '/auto/0');
    expect(g.headers['content-type']).toBe('text/x-test');
    expect(g.text).toBe('data');
    // Content-Type of later POSTs is ignored (mime fixed at creation).
    await post(port, '/auto/1', 'more', { 'Content-Type': 'application/other' });
    expect((await req(port, 'GET', '/auto/1')).headers['content-type']).toBe('text/x-test');
  });

  it('case 3: POST {ch} → 404 without autocreate; with it 200, mime from Expect-Content, repeat keeps mime', async () => {
    const off = await start();
    const r0 = await req(off.port, 'POST', '/made');
    expect([r0.status, r0.text]).toEqual([404, 'Stream not found\n']);
    expect(off.server.hasChannel('made')).toBe(false);
    const on = await start({ autocreate: true }, {});
    const r1 = await req(on.port, 'POST', '/made', { headers: { 'Expect-Content': 'application/json' } });
    expect(r1.status).toBe(200);
    expect(on.server.channelInfo('made')?.mime).toBe('application/json');
    const r2 = await req(on.port, 'POST', '/made', { headers: { 'Expect-Content': 'video/MP2T' } });
    expect(r2.status).toBe(200);
    expect(on.server.channelInfo('made')?.mime).toBe('application/json');
  });

  it('case 4: GET seq / GET next / DELETE seq on an unknown channel → 404; GET never autocreates', async () => {
    const { port, server } = await start({ autocreate: true }, {});
    for (const [m, p] of [['GET', '/u/0'], ['GET', '/u/next'], ['DELETE', '/u/0'], ['GET', '/u/-1']] as const) {
      const r = await req(port, m, p);
      expect([m, p, r.status, r.text]).toEqual([m, p, 404, 'Stream not found\n']);
    }
    expect(server.hasChannel('u')).toBe(false);
  });

  it('case 5: non-integer idx → 400 Invalid idx; existence is checked first; autocreate creates before the 400', async () => {
    const { port } = await start();
    for (const [m, p] of [['GET', '/ch/abc'], ['GET', '/ch/1.5'], ['POST', '/ch/abc'], ['POST', '/ch/next'], ['DELETE', '/ch/next'], ['DELETE', '/ch/1.5']] as const) {
      const r = await req(port, m, p, m === 'POST' ? { body: 'x' } : {});
      expect([m, p, r.status, r.text]).toEqual([m, p, 400, 'Invalid idx\n']);
    }
    expect((await req(port, 'GET', '/unknown/abc')).status).toBe(404);
    const auto = await start({ autocreate: true }, {});
    const r = await post(auto.port, '/fresh/abc', 'x');
    expect([r.status, r.text]).toEqual([400, 'Invalid idx\n']);
    expect(auto.server.hasChannel('fresh')).toBe(true);
  });

  it('case 6: strconv.Atoi forms (+3, 007, -0) and overflow', async () => {
    const { port } = await start();
    expect((await post(port, '/ch/-0', 'zero')).headers['lp-trickle-seq']).toBe('0');
    expect((await post(port, '/ch/+1', 'one')).headers['lp-trickle-seq']).toBe('1');
    const g = await req(port, 'GET', '/ch/001');
    expect([g.headers['lp-trickle-seq'], g.text]).toEqual(['1', 'one']);
    expect((await req(port, 'GET', '/ch/+0')).text).toBe('zero');
    const big = await req(port, 'GET', '/ch/99999999999999999999');
    expect([big.status, big.text]).toEqual([400, 'Invalid idx\n']);
  });

  it('case 7: GET next → 0, 1 after POST 0, N+1 as soon as the first byte of N arrives', async () => {
    const { port } = await start();
    const n0 = await req(port, 'GET', '/ch/next');
    expect([n0.status, n0.text, n0.headers['lp-trickle-latest'], n0.headers['content-type']]).toEqual([200, '0', '0', 'text/plain; charset=utf-8']);
    await post(port, '/ch/0', 'a');
    expect((await req(port, 'GET', '/ch/next')).text).toBe('1');
    const p = await openPost(port, '/ch/1');
    expect((await req(port, 'GET', '/ch/next')).text).toBe('1');
    const sub = await get(port, '/ch/1');
    p.chunk('b');
    await (await sub.response).waitBody(1); // the byte reached the server
    expect((await req(port, 'GET', '/ch/next')).text).toBe('2');
    p.endChunks();
    expect((await finalResponse(p)).headers['lp-trickle-seq']).toBe('1');
  });

  it('case 8: POST then GET → identical bytes, channel mime, Seq, Latest iff seq ≠ nextWrite, chunked', async () => {
    const { port } = await start();
    const payload = Buffer.alloc(300_000);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 31 + 7) & 0xff;
    const w = await post(port, '/ch/0', payload, { 'Content-Type': 'text/plain' });
    expect([w.status, w.headers['lp-trickle-seq'], w.headers['content-length']]).toEqual([200, '0', '0']);
    const g = await req(port, 'GET', '/ch/0');
    expect(g.status).toBe(200);
    expect(sha(await g.body)).toBe(sha(payload));
    expect(g.headers['content-type']).toBe('video/MP2T');
    expect(g.headers['lp-trickle-seq']).toBe('0');
    expect(g.headers['lp-trickle-latest']).toBe('1');
    expect(g.chunked).toBe(true);
    expect(g.headers['content-length']).toBeUndefined();
    // Waiting on seq == nextWrite: no Latest header.
    const sub = await get(port, '/ch/1');
    await post(port, '/ch/1', 'x');
    const r = await sub.response;
    expect(r.headers['lp-trickle-seq']).toBe('1');
    expect(r.headers['lp-trickle-latest']).toBeUndefined();
  });

  it('case 9: GET -1 waits for segment nextWrite; Seq = resolved idx, no Latest', async () => {
    const { port } = await start();
    await post(port, '/ch/0', 'zero');
    const sub = await get(port, '/ch/-1');
    expect(await stillPending(sub.response)).toBe('pending');
    await post(port, '/ch/1', 'one');
    const r = await sub.response;
    expect([r.status, r.headers['lp-trickle-seq'], r.headers['lp-trickle-latest']]).toEqual([200, '1', undefined]);
    expect((await r.body).toString()).toBe('one');
  });

  it('case 10: GET -2 → current segment from its first byte; on a fresh channel it waits for 0', async () => {
    const { port } = await start();
    const sub = await get(port, '/ch/-2');
    expect(await stillPending(sub.response)).toBe('pending');
    await post(port, '/ch/0', 'zero');
    const r = await sub.response;
    expect([r.headers['lp-trickle-seq'], (await r.body).toString()]).toEqual(['0', 'zero']);
    await post(port, '/ch/1', 'one');
    await post(port, '/ch/2', 'two');
    const c = await req(port, 'GET', '/ch/-2');
    expect([c.headers['lp-trickle-seq'], c.headers['lp-trickle-latest'], c.text]).toEqual(['2', '3', 'two']);
  });

  it('case 11: fresh channel: GET 1 waits (grace), GET 2 → 470 Seq 2 Latest 0', async () => {
    const { port } = await start();
    const sub = await get(port, '/ch/1');
    expect(await stillPending(sub.response)).toBe('pending');
    const r = await req(port, 'GET', '/ch/2');
    expect(r.statusLine).toBe('HTTP/1.1 470 status code 470');
    expect([r.headers['lp-trickle-seq'], r.headers['lp-trickle-latest'], r.text]).toEqual(['2', '0', 'Entry not found']);
    expect(r.headers['content-type']).toBe('text/plain; charset=utf-8');
    await post(port, '/ch/0', 'a');
    await post(port, '/ch/1', 'b');
    expect((await (await sub.response).body).toString()).toBe('b');
  });

  it('case 12: nextWrite N > 0: GET N waits, GET N+1 → 470', async () => {
    const { port } = await start();
    await post(port, '/ch/0', 'a');
    await post(port, '/ch/1', 'b');
    const sub = await get(port, '/ch/2');
    expect(await stillPending(sub.response)).toBe('pending');
    const r = await req(port, 'GET', '/ch/3');
    expect([r.status, r.headers['lp-trickle-seq'], r.headers['lp-trickle-latest']]).toEqual([470, '3', '2']);
  });

  it('case 13: retention window: after POSTs 0..6, GET 0/1 → 470 Latest 7, GET 2..6 → 200', async () => {
    const { port } = await start();
    for (let i = 0; i <= 6; i++) await post(port, `/ch/${i}`, `seg${i}`);
    for (const i of [0, 1]) {
      const r = await req(port, 'GET', `/ch/${i}`);
      expect([r.status, r.headers['lp-trickle-latest'], r.headers['lp-trickle-seq']]).toEqual([470, '7', String(i)]);
    }
    for (let i = 2; i <= 6; i++) {
      const r = await req(port, 'GET', `/ch/${i}`);
      expect([r.status, r.text]).toEqual([200, `seg${i}`]);
    }
  });

  it('case 14: a mid-segment joiner gets all bytes so far at once, then live bytes, then a clean end', async () => {
    const { port } = await start();
    const p = await openPost(port, '/ch/0');
    p.chunk('hello ');
    p.chunk('there ');
    const early = await get(port, '/ch/0');
    await (await early.response).waitBody(12);
    const late = await get(port, '/ch/0');
    const lr = await late.response;
    expect((await lr.waitBody(12)).toString()).toBe('hello there ');
    p.chunk('world');
    expect((await lr.waitBody(17)).toString()).toBe('hello there world');
    p.endChunks();
    expect((await lr.body).toString()).toBe('hello there world');
    expect((await (await early.response).body).toString()).toBe('hello there world');
    expect((await finalResponse(p)).status).toBe(200);
  });

  it('case 15: concurrent subscribers of one 20 MB segment all receive identical data', async () => {
    const { port } = await start();
    const size = 20 * 1024 * 1024;
    const payload = Buffer.alloc(size);
    for (let i = 0; i < size; i += 4) payload.writeUInt32LE((i * 2654435761) >>> 0, i);
    const readers = Array.from({ length: 4 }, () =>
      new Promise<string>((resolve, reject) => {
        const r = request({ port, host: '127.0.0.1', path: '/ch/0' }, (res) => {
          const h = createHash('sha256');
          res.on('data', (d: Buffer) => h.update(d));
          res.on('end', () => resolve(h.digest('hex')));
          res.on('error', reject);
        });
        r.on('error', reject);
        r.end();
      }),
    );
    const p = await openPost(port, '/ch/0');
    for (let off = 0; off < size; off += 1 << 20) p.chunk(payload.subarray(off, off + (1 << 20)));
    p.endChunks();
    expect((await finalResponse(p)).status).toBe(200);
    const want = sha(payload);
    expect(await Promise.all(readers)).toEqual([want, want, want, want]);
  });

  it('case 16: a POST with no byte yet gets interim 100 Continue every interval, then succeeds', async () => {
    const { port } = await start({ interimIntervalMs: 60 });
    const p = await openPost(port, '/ch/0');
    const first = await p.response();
    const second = await p.response();
    expect(first.statusLine).toBe('HTTP/1.1 100 Continue');
    expect(second.statusLine).toBe('HTTP/1.1 100 Continue');
    p.chunk('late data');
    p.endChunks();
    const fin = await finalResponse(p);
    expect([fin.status, fin.headers['lp-trickle-seq']]).toEqual([200, '0']);
    expect((await req(port, 'GET', '/ch/0')).text).toBe('late data');
  });

  it('case 17: empty POST → 200 Seq + Connection: close; GET → empty 200, Latest n+1, no Closed', async () => {
    const { port } = await start();
    const r = await post(port, '/ch/0', '');
    expect([r.status, r.headers['lp-trickle-seq'], r.headers['connection'], r.headers['lp-trickle-closed']]).toEqual([200, '0', 'close', undefined]);
    await r.conn.closed;
    const g = await req(port, 'GET', '/ch/0');
    expect([g.status, g.headers['content-length'], g.headers['lp-trickle-latest'], g.headers['lp-trickle-seq'], g.headers['lp-trickle-closed'], g.text]).toEqual([200, '0', '1', '0', undefined, '']);
  });

  it('case 18: POST -1 writes at nextWrite; reply Seq = resolved idx', async () => {
    const { port } = await start();
    await post(port, '/ch/0', 'a');
    const r = await post(port, '/ch/-1', 'b');
    expect(r.headers['lp-trickle-seq']).toBe('1');
    expect((await req(port, 'GET', '/ch/1')).text).toBe('b');
  });

  it('case 19: Lp-Trickle-Reset closes older segments; waiters get bytes so far + EOF; late bytes still append', async () => {
    const { port } = await start();
    const p0 = await openPost(port, '/ch/0');
    p0.chunk('Hello');
    const sub = await get(port, '/ch/0');
    const sr = await sub.response;
    await sr.waitBody(5);
    const r = await post(port, '/ch/-1', 'next', { 'Lp-Trickle-Reset': '1' });
    expect(r.headers['lp-trickle-seq']).toBe('1');
    expect((await sr.body).toString()).toBe('Hello');
    expect(sr.headers['lp-trickle-closed']).toBeUndefined();
    p0.chunk('-late');
    p0.endChunks();
    expect((await finalResponse(p0)).status).toBe(200);
    expect((await req(port, 'GET', '/ch/0')).text).toBe('Hello-late');
  });

  it('case 20: overlapping POSTs to one idx append in arrival order', async () => {
    const { port } = await start();
    const a = await openPost(port, '/ch/0');
    const b = await openPost(port, '/ch/0');
    const sub = await get(port, '/ch/0');
    a.chunk('Hello');
    const sr = await sub.response;
    await sr.waitBody(5);
    b.chunk('Goodby');
    await sr.waitBody(11);
    a.chunk('World');
    await sr.waitBody(16);
    b.endChunks();
    a.endChunks();
    expect((await finalResponse(a)).status).toBe(200);
    expect((await finalResponse(b)).status).toBe(200);
    expect((await sr.body).toString()).toBe('HelloGoodbyWorld');
  });

  it('case 21: POST to a closed, retained idx → 200 at once, Connection: close, body dropped, nextWrite := idx+1', async () => {
    const { port } = await start();
    for (let i = 0; i <= 3; i++) await post(port, `/ch/${i}`, `seg${i}`);
    const conn = await open(port);
    conn.request('POST', '/ch/1', { chunked: true }); // body never sent: the reply must not wait for it
    const r = await finalResponse(conn);
    expect([r.status, r.headers['lp-trickle-seq'], r.headers['connection']]).toEqual([200, '1', 'close']);
    await conn.closed;
    expect((await req(port, 'GET', '/ch/1')).text).toBe('seg1');
    expect((await req(port, 'GET', '/ch/next')).text).toBe('2');
  });

  it('case 22: publisher abort: with no byte the segment stays open (a retry fills it); after bytes it is cut (deviation)', async () => {
    const { port } = await start();
    // No byte sent yet: the waiter keeps waiting, a retry POST completes the segment.
    const p0 = await openPost(port, '/ch/0');
    const w0 = await get(port, '/ch/0');
    p0.destroy();
    await p0.closed;
    expect(await stillPending(w0.response)).toBe('pending');
    await post(port, '/ch/0', 'retry');
    expect((await (await w0.response).body).toString()).toBe('retry');
    // Bytes sent, then abort: readers get the bytes so far, then their response is aborted without
    // its terminating chunk, so they can tell the segment is incomplete (Go hangs them until a DELETE).
    const p1 = await openPost(port, '/ch/1');
    p1.chunk('partial');
    const w1 = await get(port, '/ch/1');
    const r1 = await w1.response;
    await r1.waitBody(7);
    p1.destroy();
    await w1.conn.closed;
    expect(r1.bodySoFar().toString()).toBe('partial');
    expect(await stillPending(r1.body)).toBe('pending');
    // A reader arriving later gets the same: the bytes, then an aborted response.
    const late = await get(port, '/ch/1');
    const lr = await late.response;
    await late.conn.closed;
    expect([lr.status, lr.bodySoFar().toString(), await stillPending(lr.body)]).toEqual([200, 'partial', 'pending']);
    expect((await req(port, 'GET', '/ch/next')).text).toBe('2');
    // An aborted zero-byte segment is released by DELETE {ch}/{idx}.
    const p2 = await openPost(port, '/ch/2');
    const w2 = await get(port, '/ch/2');
    p2.destroy();
    await p2.closed;
    expect(await stillPending(w2.response)).toBe('pending');
    expect((await req(port, 'DELETE', '/ch/2')).status).toBe(200);
    const r2 = await w2.response;
    expect([r2.status, r2.headers['lp-trickle-seq'], r2.headers['content-length']]).toEqual([200, '2', '0']);
  });

  it('case 23: DELETE {ch}/{idx} → 200; waiters end; a preconnected POST on it returns 200 + Connection: close', async () => {
    const { port } = await start();
    await post(port, '/ch/0', 'a');
    const w = await get(port, '/ch/1');
    expect(await stillPending(w.response)).toBe('pending');
    const d = await req(port, 'DELETE', '/ch/1');
    expect([d.status, d.text]).toEqual([200, '']);
    const wr = await w.response;
    expect([wr.status, wr.headers['lp-trickle-seq'], wr.headers['lp-trickle-latest'], wr.headers['lp-trickle-closed'], await wr.body]).toEqual([200, '1', '1', undefined, Buffer.alloc(0)]);
    const pre = await openPost(port, '/ch/2');
    const pending = finalResponse(pre);
    expect(await stillPending(pending)).toBe('pending');
    expect((await req(port, 'DELETE', '/ch/2')).status).toBe(200);
    const pr = await pending;
    expect([pr.status, pr.headers['lp-trickle-seq'], pr.headers['connection'], pr.headers['lp-trickle-closed']]).toEqual([200, '2', 'close', undefined]);
    await pre.closed;
    // Waiter on a segment with data gets the data so far.
    const p3 = await openPost(port, '/ch/3');
    p3.chunk('abc');
    const w3 = await get(port, '/ch/3');
    const r3 = await w3.response;
    await r3.waitBody(3);
    expect((await req(port, 'DELETE', '/ch/3')).status).toBe(200);
    expect((await r3.body).toString()).toBe('abc');
  });

  it('case 24: DELETE {ch}/{idx} when the slot is empty or holds another idx → 400 Nonexistent segment', async () => {
    const { port } = await start();
    const empty = await req(port, 'DELETE', '/ch/9');
    expect([empty.status, empty.text]).toEqual([400, 'Nonexistent segment\n']);
    await post(port, '/ch/0', 'a');
    const other = await req(port, 'DELETE', '/ch/5');
    expect([other.status, other.text]).toEqual([400, 'Nonexistent segment\n']);
  });

  it('case 25: DELETE {ch} → EOS to waiting GETs and idle POSTs; then 404s; second DELETE → 400 Invalid stream', async () => {
    const { port, server } = await start({ closedGraceMs: 0 });
    await post(port, '/ch/0', 'a');
    const w = await get(port, '/ch/1');
    const pre = await openPost(port, '/ch/1');
    const preReply = finalResponse(pre);
    expect(await stillPending(w.response)).toBe('pending');
    const d = await req(port, 'DELETE', '/ch');
    expect([d.status, d.headers['content-length']]).toEqual([200, '0']);
    const wr = await w.response;
    // Latest is re-read at reply time: the woken preconnect on seq 1 already moved nextWrite to 2
    // (as in the observed Go transcript: waiting GET /chanA/5 → Latest 6).
    expect([wr.status, wr.headers['lp-trickle-closed'], wr.headers['lp-trickle-seq'], wr.headers['lp-trickle-latest'], wr.headers['content-length']]).toEqual([200, 'terminated', '1', '2', '0']);
    const pr = await preReply;
    expect([pr.status, pr.headers['lp-trickle-closed'], pr.headers['connection'], pr.headers['lp-trickle-seq']]).toEqual([200, 'terminated', 'close', '1']);
    expect(server.hasChannel('ch')).toBe(false);
    expect((await req(port, 'GET', '/ch/0')).status).toBe(404);
    expect((await req(port, 'GET', '/ch/next')).status).toBe(404);
    const p = await post(port, '/ch/0', 'x');
    expect([p.status, p.headers['connection']]).toEqual([404, 'close']);
    const again = await req(port, 'DELETE', '/ch');
    expect([again.status, again.text]).toEqual([400, 'Invalid stream\n']);
  });

  it('case 26 (+ closedGraceMs deviation): after DELETE, GETs still read retained segments; others get EOS', async () => {
    const { port, server } = await start({ closedGraceMs: 60_000 });
    await post(port, '/ch/0', 'zero');
    await post(port, '/ch/1', 'one');
    expect((await req(port, 'DELETE', '/ch')).status).toBe(200);
    const kept = await req(port, 'GET', '/ch/1');
    expect([kept.status, kept.text, kept.headers['lp-trickle-closed']]).toEqual([200, 'one', undefined]);
    const missing = await req(port, 'GET', '/ch/2');
    expect([missing.status, missing.headers['lp-trickle-closed'], missing.headers['lp-trickle-seq'], missing.text]).toEqual([200, 'terminated', '2', 'Entry not found']);
    const next = await req(port, 'GET', '/ch/next');
    expect([next.status, next.headers['lp-trickle-closed']]).toEqual([200, 'terminated']);
    // Writers see the channel gone at once.
    expect((await post(port, '/ch/2', 'x')).status).toBe(404);
    expect((await req(port, 'DELETE', '/ch')).status).toBe(400);
    expect(server.hasChannel('ch')).toBe(false);
    // Re-creating the name starts a fresh channel.
    server.createChannel('ch', 'video/MP2T');
    expect((await req(port, 'GET', '/ch/next')).text).toBe('0');
  });

  it('case 29: idle sweep closes (EOS) and removes channels without new segments; GETs do not refresh; _ exempt', async () => {
    const { port, server } = await start({ idleTimeoutMs: 150 }, { idle: 'video/MP2T', _keep: 'application/json' });
    const w = await get(port, '/idle/0');
    const wr = await w.response;
    expect([wr.status, wr.headers['lp-trickle-closed']]).toEqual([200, 'terminated']);
    expect(server.hasChannel('idle')).toBe(false);
    expect(server.hasChannel('_keep')).toBe(true);
  });

  it('case 30: a single segment uploading longer than the idle timeout is swept mid-upload (Go quirk, kept)', async () => {
    const { port, server } = await start({ idleTimeoutMs: 150 }, { up: '' });
    const p = await openPost(port, '/up/0');
    p.chunk('streaming');
    const w = await get(port, '/up/1'); // the next segment never starts
    const wr = await w.response;
    expect(wr.headers['lp-trickle-closed']).toBe('terminated');
    expect(server.hasChannel('up')).toBe(false);
    p.endChunks();
    expect((await finalResponse(p)).status).toBe(200);
  });

  it('case 31: changefeed: _changes announces itself, creations and deletions as JSON segments', async () => {
    const { port, server } = await start({ changefeed: true, autocreate: true }, {});
    server.createChannel('chanA', 'video/MP2T');
    expect((await req(port, 'POST', '/ctrl', { headers: { 'Expect-Content': 'application/json' } })).status).toBe(200);
    expect((await req(port, 'DELETE', '/chanA')).status).toBe(200);
    const bodies: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await req(port, 'GET', `/_changes/${i}`);
      expect(r.headers['content-type']).toBe('application/json');
      bodies.push(r.text);
    }
    expect(bodies).toEqual(['{"added":["_changes"]}', '{"added":["chanA"]}', '{"added":["ctrl"]}', '{"removed":["chanA"]}']);
  });

  it('case 32: method and route errors: 405 with Allow, 404 page not found', async () => {
    const { port } = await start({}, { w: '' });
    for (const m of ['PUT', 'PATCH']) {
      const r = await req(port, m, '/w/3');
      expect([r.status, r.headers['allow'], r.text]).toEqual([405, 'DELETE, GET, HEAD, POST', 'Method Not Allowed\n']);
    }
    const g = await req(port, 'GET', '/w');
    expect([g.status, g.headers['allow']]).toEqual([405, 'DELETE, POST']);
    for (const p of ['/w/', '/w/3/', '/', '/w/3/x']) {
      const r = await req(port, 'GET', p);
      expect([p, r.status, r.text]).toEqual([p, 404, '404 page not found\n']);
    }
  });

  it('case 33: HEAD behaves like GET (same headers, waits the same way), no body', async () => {
    const { port } = await start();
    await post(port, '/ch/0', 'abc');
    const h = await req(port, 'HEAD', '/ch/0');
    expect([h.status, h.headers['lp-trickle-seq'], h.headers['lp-trickle-latest'], h.headers['content-type'], h.text]).toEqual([200, '0', '1', 'video/MP2T', '']);
    const w = await get(port, '/ch/1', 'HEAD');
    expect(await stillPending(w.response)).toBe('pending');
    await post(port, '/ch/1', 'def');
    const wr = await w.response;
    expect([wr.status, wr.headers['lp-trickle-seq']]).toEqual([200, '1']);
    expect((await wr.body).length).toBe(0);
  });

  it('case 34: a percent-encoded channel segment is decoded (/a%2Fb/0 → channel a/b)', async () => {
    const { port } = await start({}, { 'a/b': 'text/plain' });
    expect((await post(port, '/a%2Fb/0', 'slash')).status).toBe(200);
    expect((await req(port, 'GET', '/a%2Fb/0')).text).toBe('slash');
  });

  it('case 35: a channel with an empty mime serves Content-Type with an empty value', async () => {
    const { port } = await start({}, { e: '' });
    await post(port, '/e/0', 'x', { 'Content-Type': 'text/plain' });
    const g = await req(port, 'GET', '/e/0');
    expect(g.headers['content-type']).toBe('');
  });

  it('case 37: negative idx other than -1/-2, and any negative DELETE → 400; the channel keeps working', async () => {
    const { port } = await start({}, { neg: '' });
    for (const [m, p] of [['GET', '/neg/-3'], ['POST', '/neg/-3'], ['POST', '/neg/-5'], ['POST', '/neg/-2'], ['GET', '/neg/-10'], ['DELETE', '/neg/-1'], ['DELETE', '/neg/-2'], ['DELETE', '/neg/-5']] as const) {
      const r = await req(port, m, p, m === 'POST' ? { body: 'x' } : {});
      expect([m, p, r.status, r.text]).toEqual([m, p, 400, 'Invalid idx\n']);
    }
    expect((await post(port, '/neg/0', 'ok')).status).toBe(200);
    expect((await req(port, 'GET', '/neg/0')).text).toBe('ok');
  });

  it('case 39: duplicate GETs for the same seq are harmless (each gets the full segment)', async () => {
    const { port } = await start();
    const a = await get(port, '/ch/0');
    const b = await get(port, '/ch/0');
    await post(port, '/ch/0', 'same');
    expect((await (await a.response).body).toString()).toBe('same');
    expect((await (await b.response).body).toString()).toBe('same');
  });

  it('case 40 (server side): Connection: close replies really close the socket; other replies keep it alive', async () => {
    const { port } = await start();
    const conn = await open(port);
    conn.request('POST', '/ch/0', { body: 'a' });
    expect((await conn.response()).status).toBe(200);
    conn.request('GET', '/ch/0');
    expect((await (await conn.response()).body).toString()).toBe('a');
    conn.request('POST', '/ch/1', { body: '' });
    expect((await conn.response()).headers['connection']).toBe('close');
    await conn.closed;
  });
});

describe('TrickleServer options and limits', () => {
  it('serves under a base path only', async () => {
    const { port } = await start({ basePath: '/ai/trickle' });
    expect((await post(port, '/ai/trickle/ch/0', 'based')).status).toBe(200);
    expect((await req(port, 'GET', '/ai/trickle/ch/0')).text).toBe('based');
    expect((await req(port, 'GET', '/ch/0')).status).toBe(404);
  });

  it('maxSegmentBytes: a larger POST gets 413 and the segment is cut at the limit', async () => {
    const { port } = await start({ maxSegmentBytes: 1000 });
    const sub = await get(port, '/ch/0');
    const r = await post(port, '/ch/0', Buffer.alloc(5000, 1));
    expect([r.status, r.text, r.headers['connection']]).toEqual([413, 'Segment too large\n', 'close']);
    const sr = await sub.response;
    await sub.conn.closed;
    // The reader gets the first 1000 bytes and an aborted response (the segment is incomplete).
    expect([sr.bodySoFar().length, await stillPending(sr.body)]).toEqual([1000, 'pending']);
  });

  it('maxChannels: autocreate and POST {ch} get 429, createChannel throws ERR_LIMIT_EXCEEDED', async () => {
    const { port, server } = await start({ maxChannels: 2, autocreate: true }, { one: '' });
    expect((await post(port, '/two/0', 'x')).status).toBe(200);
    const r = await post(port, '/three/0', 'x');
    expect([r.status, r.text]).toEqual([429, 'Too many channels\n']);
    expect((await req(port, 'POST', '/four')).status).toBe(429);
    let err: unknown;
    try {
      server.createChannel('five');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TrickleError);
    expect((err as TrickleError).code).toBe('ERR_LIMIT_EXCEEDED');
    server.deleteChannel('one');
    server.createChannel('five');
    expect(server.channelNames().sort()).toEqual(['five', 'two']);
  });

  it('maxSubscribersPerChannel: one GET too many gets 429; a slot frees when a subscriber leaves', async () => {
    const { port, server } = await start({ maxSubscribersPerChannel: 2 });
    const a = await get(port, '/ch/0');
    const b = await get(port, '/ch/0');
    await expect.poll(() => server.channelInfo('ch')?.subscribers).toBe(2);
    const c = await req(port, 'GET', '/ch/0');
    expect([c.status, c.text]).toEqual([429, 'Too many subscribers\n']);
    a.conn.destroy();
    await expect.poll(() => server.channelInfo('ch')?.subscribers).toBe(1);
    const d = await get(port, '/ch/0');
    await post(port, '/ch/0', 'ok');
    expect((await (await d.response).body).toString()).toBe('ok');
    expect((await (await b.response).body).toString()).toBe('ok');
  });

  it('close() ends waiting subscribers with EOS and stops listening', async () => {
    const server = new TrickleServer();
    server.createChannel('ch');
    const port = await server.listen(0, '127.0.0.1');
    const w = await get(port, '/ch/0');
    await expect.poll(() => server.channelInfo('ch')?.subscribers).toBe(1);
    await server.close();
    const r = await w.response;
    expect(r.headers['lp-trickle-closed']).toBe('terminated');
    await expect(RawConn.open(port)).rejects.toThrow();
  });

  it('rejects invalid options with ERR_INVALID_ARG', () => {
    expect(() => new TrickleServer({ basePath: 'x' })).toThrow(/basePath/);
    expect(() => new TrickleServer({ maxChannels: 0 })).toThrow(/maxChannels/);
  });
});
