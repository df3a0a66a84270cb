/**
 * Secure defaults of the worker: who may call it, where it listens, and where a start request may
 * send it. Loopback only: the "elsewhere" a hostile start points at is 127.0.0.2, where a listener
 * counts the connections the worker would make.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createTcpServer } from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';

import { createLogger, createProcessor, StreamServer } from '../../src/index';
import { Harness } from '../helpers/worker-harness';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

function withEnv(vars: Record<string, string>): void {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  cleanups.push(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
}

/** A TCP listener on 127.0.0.2 that counts the connections made to it. */
async function elsewhere(): Promise<{ origin: string; connections: () => number }> {
  let connections = 0;
  const server = createTcpServer((socket) => {
    connections += 1;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.2', resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const port = (server.address() as { port: number }).port;
  return { origin: `http://127.0.0.2:${port}`, connections: () => connections };
}

function logLines(): { lines: Array<Record<string, unknown>>; logger: ReturnType<typeof createLogger> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger({ level: 'info', write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { lines, logger };
}

describe('secure defaults of the worker', () => {
  it('with neither a token nor registration it listens on loopback only, and says so', async () => {
    const { lines, logger } = logLines();
    const server = new StreamServer({ processor: createProcessor({}), port: 0, register: false, logger });
    cleanups.push(() => server.shutdown());
    expect(server.host).toBe('127.0.0.1');
    await server.listen();
    expect(lines.find((l) => l['msg'] === 'listening')).toMatchObject({ host: '127.0.0.1', auth: 'none' });
    expect(lines.some((l) => String(l['msg']).includes('listening on loopback only'))).toBe(true);
    // A host given explicitly, a token, or open mode each lift the loopback default.
    expect(new StreamServer({ processor: createProcessor({}), register: false, authToken: 't' }).host).toBe('0.0.0.0');
    expect(new StreamServer({ processor: createProcessor({}), register: false, open: true }).host).toBe('0.0.0.0');
    expect(new StreamServer({ processor: createProcessor({}), register: false, host: '10.1.2.3' }).host).toBe('10.1.2.3');
  });

  it('registering generates a token, gives it to the orchestrator (BYOC token) and requires it on every route but /health', async () => {
    const registered: Array<Record<string, unknown>> = [];
    const orch: Server = createHttpServer((req: IncomingMessage, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        // (On shutdown the worker also unregisters, with the plain capability name as the body.)
        if (req.url === '/capability/register') registered.push(JSON.parse(body) as Record<string, unknown>);
        res.end();
      });
    });
    await new Promise<void>((resolve) => orch.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => orch.close(() => resolve())));
    const orchUrl = `http://127.0.0.1:${(orch.address() as { port: number }).port}`;
    withEnv({ ORCH_URL: orchUrl, ORCH_SECRET: 'secret', TRICKLE_AUTH_TOKEN: '' });
    const server = new StreamServer({ processor: createProcessor({}), port: 0, host: '127.0.0.1', logger: logLines().logger });
    cleanups.push(() => server.shutdown());
    expect(new StreamServer({ processor: createProcessor({}), logger: logLines().logger }).host).toBe('0.0.0.0');
    await server.listen();
    await server.initialize();
    expect(await server.registrationResult()).toMatchObject({ registered: true });
    const token = server.token!;
    expect(token.length).toBeGreaterThanOrEqual(32);
    expect(registered[0]?.['token']).toBe(token);
    const call = (path: string, auth?: string, method = 'GET', body?: string) =>
      fetch(`${server.url}${path}`, { method, headers: { 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}) }, ...(body ? { body } : {}) });
    expect((await call('/health')).status).toBe(200);
    for (const path of ['/stream/status', '/metrics', '/version', '/hardware/info']) expect((await call(path)).status).toBe(401);
    expect((await call('/stream/stop', undefined, 'POST', '{}')).status).toBe(401);
    expect((await call('/stream/start', 'Bearer wrong', 'POST', '{"gateway_request_id":"x"}')).status).toBe(401);
    // (its input channel is on the registered orchestrator's origin, which the egress rule admits)
    const ok = await call('/stream/start', `Bearer ${token}`, 'POST', JSON.stringify({ gateway_request_id: 'x', subscribe_url: `${orchUrl}/x` }));
    expect(ok.status).toBe(200);
    // Open mode generates nothing (pytrickle behaviour), even when registering.
    const open = new StreamServer({ processor: createProcessor({}), open: true, logger: logLines().logger });
    expect(open.token).toBeUndefined();
  });

  it('a start request cannot point the worker at another host: 403 and not one connection made', async () => {
    const target = await elsewhere();
    const h = await Harness.create(createProcessor({}));
    cleanups.push(() => h.close());
    h.trickle.createChannel('x-in', 'video/MP2T');
    for (const key of ['subscribe_url', 'publish_url', 'control_url', 'events_url', 'data_url']) {
      const r = await h.post('/stream/start', { gateway_request_id: `x-${key}`, subscribe_url: `${h.trickleUrl}/x-in`, [key]: `${target.origin}/victim` });
      expect(r.status).toBe(403);
      expect(r.body['message']).toBe(
        `Error starting stream: ${key} points at ${target.origin}, which is neither the address this request came from nor an allowed channel origin`,
      );
    }
    expect(target.connections()).toBe(0);
    expect(h.server.streams()).toHaveLength(0);
    // The orchestrator's own trickle server (the request's own address, by name or by number) is fine.
    const named = h.trickleUrl.replace('127.0.0.1', 'localhost');
    h.trickle.createChannel('y', 'video/MP2T');
    h.trickle.createChannel('y-events', 'application/json');
    expect((await h.post('/stream/start', { gateway_request_id: 'y', subscribe_url: `${named}/y`, events_url: `${named}/y-events` })).status).toBe(200);
    const metrics = await (await fetch(`${h.server.url}/metrics`)).text();
    expect(metrics).toContain('trickle_rt_stream_starts_rejected_total{reason="channel_url"} 5');
  });

  it('allowedChannelOrigins admits a configured origin; open mode admits any', async () => {
    const target = await elsewhere();
    const allowed = await Harness.create(createProcessor({}), { allowedChannelOrigins: [target.origin], capacity: 4 });
    cleanups.push(() => allowed.close());
    allowed.trickle.createChannel('a', 'video/MP2T');
    expect((await allowed.post('/stream/start', { gateway_request_id: 'a', subscribe_url: `${allowed.trickleUrl}/a`, control_url: `${target.origin}/c` })).status).toBe(200);
    const open = await Harness.create(createProcessor({}), { open: true, capacity: 4 });
    cleanups.push(() => open.close());
    open.trickle.createChannel('b', 'video/MP2T');
    expect((await open.post('/stream/start', { gateway_request_id: 'b', subscribe_url: `${open.trickleUrl}/b`, control_url: `${target.origin}/c` })).status).toBe(200);
    expect(() => new StreamServer({ processor: createProcessor({}), allowedChannelOrigins: ['ftp://x'] })).toThrow(/allowed channel origin/);
  });
});
