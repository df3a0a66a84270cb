/**
 * The HTTP layer over real sockets (port 0) with stand-in streams: size limits, auth, concurrent
 * starts, shutdown, capability registration against a fake orchestrator.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';

import { registerCapabilityFromEnv } from '../../src/worker/registration';
import type { StreamServerOptions } from '../../src/worker/stream-server';
import { fakeStreamServer } from '../helpers/fake-stream';

const servers: Array<{ close(): Promise<void> | void }> = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

async function worker(opts: Partial<StreamServerOptions> = {}) {
  const { server, made } = fakeStreamServer({ port: 0, host: '127.0.0.1', register: false, ...opts });
  await server.listen();
  await server.initialize();
  servers.push(server);
  return { server, made, url: server.url };
}

const start = (url: string, id: string, headers: Record<string, string> = {}) =>
  fetch(`${url}/stream/start`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ gateway_request_id: id, subscribe_url: 'http://127.0.0.1:9/x', publish_url: 'http://127.0.0.1:9/x-out' }),
  });

describe('StreamServer over HTTP', () => {
  it('answers COMPAT bodies with application/json', async () => {
    const { url } = await worker();
    const r = await start(url, 'one');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/json');
    expect(await r.json()).toMatchObject({ status: 'success', message: 'Stream started successfully', request_id: 'one' });
    const h = await fetch(`${url}/health`);
    expect(await h.json()).toEqual({ status: 'OK' });
  });

  it('rejects bodies over the limit with 413 (declared or streamed)', async () => {
    const { url } = await worker({ maxBodyBytes: 1024 });
    const big = JSON.stringify({ gateway_request_id: 'x', params: { blob: 'a'.repeat(5000) } });
    const r = await fetch(`${url}/stream/start`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: big });
    expect(r.status).toBe(413);
    expect(((await r.json()) as { message: string }).message).toMatch(/too large/);
    const chunked = new ReadableStream({
      start(c) {
        for (let i = 0; i < 10; i++) c.enqueue(new TextEncoder().encode('x'.repeat(500)));
        c.close();
      },
    });
    const r2 = await fetch(`${url}/stream/params`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: chunked, duplex: 'half' } as RequestInit);
    expect(r2.status).toBe(413);
  });

  it('two simultaneous starts over sockets never both pass (capacity 1)', async () => {
    const { url, server } = await worker();
    const replies = await Promise.all(Array.from({ length: 6 }, (_, i) => start(url, `c${i}`)));
    const codes = replies.map((r) => r.status).sort();
    expect(codes).toEqual([200, 503, 503, 503, 503, 503]);
    const busy = await replies.find((r) => r.status === 503)!.json();
    expect(busy).toMatchObject({ status: 'error', message: 'Pipeline is still in use' });
    expect(server.streams()).toHaveLength(1);
  });

  it('bearer auth over HTTP; /health stays open', async () => {
    const { url } = await worker({ authToken: 'tok' });
    expect((await fetch(`${url}/health`)).status).toBe(200);
    expect((await start(url, 'a')).status).toBe(401);
    expect((await start(url, 'a', { authorization: 'Bearer tok' })).status).toBe(200);
    expect((await fetch(`${url}/metrics`, { headers: { authorization: 'Bearer tok' } })).status).toBe(200);
  });

  it('shutdown stops every stream, refuses new starts while draining, then closes the port', async () => {
    const { url, server, made } = await worker({ capacity: 2 });
    await start(url, 'a');
    await start(url, 'b');
    let release!: () => void;
    const blocked = new Promise<void>((r) => (release = r));
    const origStop = made[1]!.stop.bind(made[1]!);
    made[1]!.stop = async (reason) => {
      await blocked;
      return origStop(reason);
    };
    const done = server.shutdown();
    const during = await start(url, 'c');
    expect(during.status).toBe(503);
    expect(((await during.json()) as { message: string }).message).toBe('Server is shutting down');
    release();
    await done;
    expect(made.map((s) => s.stopReason)).toEqual(['shutdown', 'shutdown']);
    await expect(fetch(`${url}/health`)).rejects.toThrow();
  });
});

describe('capability registration (fake orchestrator)', () => {
  async function orchestrator(statuses: number[]) {
    const seen: Array<{ auth: string | undefined; body: Record<string, unknown>; path: string }> = [];
    const server: Server = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push({ auth: req.headers['authorization'], body: JSON.parse(body) as Record<string, unknown>, path: req.url ?? '' });
        res.statusCode = statuses[Math.min(seen.length - 1, statuses.length - 1)]!;
        res.end('');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    servers.push({ close: () => new Promise<void>((r) => server.close(() => r())) });
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
  }

  it('registers with the COMPAT body and header, retrying non-200 until 200', async () => {
    const orch = await orchestrator([503, 500, 200]);
    const env = {
      ORCH_URL: orch.url,
      ORCH_SECRET: 'sekrit',
      CAPABILITY_NAME: 'tint',
      CAPABILITY_DESCRIPTION: 'a tint',
      CAPABILITY_URL: 'http://worker:8000',
      CAPABILITY_PRICE_PER_UNIT: '3',
    };
    const r = await registerCapabilityFromEnv({ port: 8000, capacity: 2, env, delayMs: 10 });
    expect(r).toEqual({ registered: true, attempts: 3 });
    expect(orch.seen[0]).toEqual({
      auth: 'sekrit',
      path: '/capability/register',
      body: { url: 'http://worker:8000', name: 'tint', description: 'a tint', capacity: 2, price_per_unit: 3, price_scaling: 1 },
    });
  });

  it('stops at 400 (wrong secret), gives up after max attempts, needs URL and secret', async () => {
    const wrong = await orchestrator([400]);
    expect(await registerCapabilityFromEnv({ port: 1, capacity: 1, env: { ORCH_URL: wrong.url, ORCH_SECRET: 'x' }, delayMs: 10 })).toEqual({
      registered: false,
      reason: 'wrong_secret',
      attempts: 1,
    });
    expect(wrong.seen).toHaveLength(1);
    const down = await orchestrator([502]);
    const r = await registerCapabilityFromEnv({ port: 1, capacity: 1, env: { ORCH_URL: down.url, ORCH_SECRET: 'x' }, delayMs: 5, maxAttempts: 3 });
    expect(r).toMatchObject({ registered: false, reason: 'gave_up', attempts: 3, lastError: 'HTTP 502' });
    expect(await registerCapabilityFromEnv({ port: 1, capacity: 1, env: {} })).toEqual({ registered: false, reason: 'not_configured', attempts: 0 });
    const refused = await registerCapabilityFromEnv({ port: 1, capacity: 1, env: { ORCH_URL: 'http://127.0.0.1:9', ORCH_SECRET: 'x' }, delayMs: 5, maxAttempts: 2 });
    expect(refused).toMatchObject({ registered: false, reason: 'gave_up', attempts: 2 });
  });
});
