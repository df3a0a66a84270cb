/**
 * A StreamServer as a go-livepeer live runner (dynamic registration) behind a go-livepeer-like
 * orchestrator (test/helpers/local-orchestrator.ts): bootstrap and heartbeats, discovery, a client
 * reserving a session and starting a stream through the orchestrator's proxy, the channel
 * callback, O2R `released`, TTL expiry, an orchestrator restart, unregister after draining.
 */

import { afterEach, describe, expect, it } from 'vitest';

import { createProcessor } from '../../src/processor/create-processor';
import { StreamServer, type StreamServerOptions } from '../../src/worker/stream-server';
import { parseGoDuration } from '../../src/worker/live-runner';
import { planRegistration } from '../../src/worker/livepeer-config';
import { fakeStreamServer } from '../helpers/fake-stream';
import { LocalOrchestrator, startOrchestrator } from '../helpers/local-orchestrator';
import { freePort } from '../helpers/free-port';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});


const orchestrator = (): Promise<LocalOrchestrator> => startOrchestrator(cleanups, { heartbeatIntervalMs: 100, heartbeatTtlMs: 1000, o2rIntervalMs: 200 });

async function runner(orch: LocalOrchestrator, opts: Partial<StreamServerOptions> = {}, ready = true) {
  const port = await freePort();
  const { server, made } = fakeStreamServer({
    port,
    host: '127.0.0.1',
    capabilityName: 'tint',
    liveRunner: { orchUrl: orch.url, orchSecret: orch.secret, runnerUrl: `http://127.0.0.1:${port}`, version: '1.2.3', metadata: '{"region":"test"}' },
    ...opts,
  });
  await server.listen();
  if (ready) await server.initialize();
  cleanups.push(() => server.shutdown());
  return { server, made };
}

async function until(cond: () => boolean | Promise<boolean>, what: string): Promise<void> {
  await expect.poll(cond, { timeout: 15_000, interval: 20, message: what }).toBe(true);
}

/** Waits until the orchestrator knows the runner as ready; resolves its id. */
async function registered(orch: LocalOrchestrator, server: StreamServer, status = 'ready'): Promise<string> {
  await until(() => {
    const id = server.liveRunner?.runnerId;
    return id !== undefined && orch.runners.get(id)?.record['status'] === status;
  }, `runner ${status}`);
  return server.liveRunner!.runnerId!;
}

async function session(orch: LocalOrchestrator, runnerId: string, params: Record<string, unknown> = { prompt: 'a' }) {
  const reserved = await orch.reserveSession(runnerId);
  expect(reserved.status).toBe(200);
  const body = reserved.body as { session_id: string; app_url: string };
  const start = await orch.callApp(body.app_url, '/stream/start', 'POST', { params });
  return { sid: body.session_id, appUrl: body.app_url, start: { status: start.status, body: JSON.parse(start.body) as Record<string, unknown> } };
}

describe('live runner against a go-livepeer-like orchestrator', () => {
  it('bootstraps with the secret, heartbeats with the heartbeat secret, and is discoverable once ready', async () => {
    const orch = await orchestrator();
    let release!: () => void;
    const loaded = new Promise<void>((r) => (release = r));
    const { server } = await runner(orch, { processor: createProcessor({ load: () => loaded }) }, false);
    const id = await registered(orch, server, 'loading');
    const boot = orch.requests('POST', '/runners/heartbeat')[0]!;
    expect(boot.headers['authorization']).toBe(orch.secret);
    expect(JSON.parse(boot.body)).toMatchObject({ app: 'live-video-to-video/tint', capacity: 1, mode: 'persistent', status: 'loading', version: '1.2.3', metadata: '{"region":"test"}' });
    // Loading: registered, hidden from discovery.
    expect((await orch.discovery())[0]!.runners).toBeUndefined();
    release();
    await server.initialize();
    await until(async () => ((await orch.discovery())[0]!.runners ?? []).length === 1, 'discoverable once ready');
    const [entry] = (await orch.discovery())[0]!.runners!;
    expect(entry).toMatchObject({ url: `${orch.url}/apps/${id}/session`, app: 'live-video-to-video/tint', capacity: 1, capacity_available: 1, version: '1.2.3' });
    await until(() => server.liveRunner!.heartbeats >= 2, 'heartbeats');
    const later = orch.requests('POST', '/runners/heartbeat').slice(1);
    expect(later.every((r) => r.headers['authorization'] !== orch.secret)).toBe(true);
    // Every heartbeat carries the whole registration.
    expect(JSON.parse(later.at(-1)!.body)).toMatchObject({ runner_url: server.url, app: 'live-video-to-video/tint', capacity: 1, status: 'ready', version: '1.2.3' });
  });

  it('serves a session through the proxy: channels from the callback, public URLs back, params and stop through the session', async () => {
    const orch = await orchestrator();
    const { server, made } = await runner(orch);
    const id = await registered(orch, server);
    const { sid, appUrl, start } = await session(orch, id);
    expect(start.status).toBe(200);
    const channel = (name: string) => orch.trickleUrl(`${sid}-${name}`);
    expect(start.body).toMatchObject({
      status: 'success',
      session_id: sid,
      input_url: channel('input'),
      output_url: channel('output'),
      control_url: channel('control'),
      events_url: channel('events'),
      data_url: channel('data'),
    });
    expect(orch.trickle.channelInfo(`${sid}-input`)!.mime).toBe('video/MP2T');
    expect(orch.trickle.channelInfo(`${sid}-data`)!.mime).toBe('application/jsonl');
    expect(made[0]!.request).toMatchObject({ gateway_request_id: sid, subscribe_url: channel('input'), publish_url: channel('output'), params: { prompt: 'a' } });
    // The proxy carried the session headers.
    const proxied = orch.requests('POST', `/apps/${id}/session/${sid}/app/stream/start`);
    expect(proxied).toHaveLength(1);
    expect((await orch.callApp(appUrl, '/stream/params', 'POST', { prompt: 'b' })).status).toBe(200);
    expect(made[0]!.updates.map((u) => u.params)).toEqual([{ prompt: 'b' }]);
    // Capacity 1: the orchestrator refuses a second reservation.
    expect((await orch.reserveSession(id)).status).toBe(503);
    expect((await orch.callApp(appUrl, '/stream/stop', 'POST', {})).status).toBe(200);
    expect(made[0]!.stopReason).toBe('stopped');
    // The stream ended: the runner released its session, the capacity is free again.
    await until(() => orch.runners.get(id)!.sessions.size === 0, 'session released by the runner');
    expect((await orch.reserveSession(id)).status).toBe(200);
  });

  it('a session released by the client (O2R `released`) stops its stream', async () => {
    const orch = await orchestrator();
    const { server, made } = await runner(orch);
    const id = await registered(orch, server);
    const { sid } = await session(orch, id);
    expect(made).toHaveLength(1);
    expect((await orch.stopSession(id, sid)).status).toBe(204);
    await until(() => made[0]!.stopReason === 'stopped', 'stream stopped on release');
    expect(server.streams()).toHaveLength(0);
  });

  it('TTL expiry and an orchestrator restart: the runner registers again under a new id and drops the lost sessions', async () => {
    const orch = await orchestrator();
    const { server, made } = await runner(orch, { capacity: 2 });
    const first = await registered(orch, server);
    await session(orch, first);
    // The orchestrator stops hearing from the runner for longer than the TTL: swept.
    orch.runners.get(first)!.lastHeartbeat -= 5000;
    await until(() => made[0]!.stopReason === 'stopped', 'stream of the swept runner stopped');
    await until(() => server.liveRunner!.runnerId !== first && orch.runners.has(server.liveRunner!.runnerId ?? ''), 'registered again');
    const second = server.liveRunner!.runnerId!;
    await session(orch, second);
    expect(made).toHaveLength(2);
    await orch.restart({ downMs: 200 });
    await until(() => made[1]!.stopReason === 'stopped', 'stream of the forgotten session stopped');
    await until(() => server.liveRunner!.runnerId !== second && orch.runners.has(server.liveRunner!.runnerId ?? ''), 'registered after the restart');
    expect(server.liveRunner!.bootstraps).toBe(3);
  });

  it('a session start whose control URL is not on the orchestrator is refused, nothing is called', async () => {
    const orch = await orchestrator();
    const { server, made } = await runner(orch);
    await registered(orch, server);
    const r = await fetch(`${server.url}/stream/start`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'livepeer-session-id': 'session_x',
        'livepeer-session-token': 't',
        'livepeer-session-control': 'http://127.0.0.1:9/runner/r/session/session_x',
      },
      body: JSON.stringify({ params: {} }),
    });
    expect(r.status).toBe(400);
    expect(((await r.json()) as { message: string }).message).toMatch(/Livepeer-Session-Control is not on the orchestrator/);
    expect(made).toHaveLength(0);
  });

  it('unregisters after draining on shutdown', async () => {
    const orch = await orchestrator();
    const { server, made } = await runner(orch);
    const id = await registered(orch, server);
    await session(orch, id);
    await server.shutdown();
    expect(made[0]!.stopReason).toBe('shutdown');
    const un = orch.requests('POST', `/runners/${id}/unregister`);
    expect(un).toHaveLength(1);
    expect(un[0]!.headers['authorization']).not.toBe(orch.secret);
    expect(orch.runners.has(id)).toBe(false);
  });
});

describe('live runner configuration', () => {
  it('reads LIVEPEER_REGISTRATION=live-runner and its variables', () => {
    const plan = planRegistration({
      register: 'env',
      capabilityName: 'tint',
      env: {
        LIVEPEER_REGISTRATION: 'live-runner',
        LIVEPEER_ORCH_URL: 'https://o:8935',
        LIVEPEER_ORCH_SECRET: 's',
        LIVEPEER_RUNNER_URL: 'http://w:8000',
        LIVEPEER_APP: 'live-video-to-video/x',
        LIVEPEER_CAPACITY: '2',
        LIVEPEER_RUNNER_GPU: '{"id":"0","name":"L40S","vram_mb":46068}',
        LIVEPEER_RUNNER_PRICE: '3.5',
      },
    });
    expect(plan).toEqual({
      mode: 'live-runner',
      envCapacity: 2,
      runner: {
        orchUrl: 'https://o:8935',
        orchSecret: 's',
        runnerUrl: 'http://w:8000',
        app: 'live-video-to-video/x',
        gpu: { id: '0', name: 'L40S', vram_mb: 46068 },
        priceInfo: { price: '3.5', currency: 'usd', unit: 'hour' },
      },
    });
  });

  it('refuses an unknown mode, a missing secret, a bad GPU', () => {
    expect(() => planRegistration({ register: 'env', env: { LIVEPEER_REGISTRATION: 'grpc' } })).toThrow(/LIVEPEER_REGISTRATION/);
    expect(() => planRegistration({ register: 'live-runner', env: { LIVEPEER_ORCH_URL: 'https://o' } })).toThrow(/orchestrator URL and secret/);
    expect(() => planRegistration({ register: 'live-runner', env: { LIVEPEER_ORCH_URL: 'https://o', LIVEPEER_ORCH_SECRET: 's', LIVEPEER_RUNNER_GPU: 'big' } })).toThrow(/LIVEPEER_RUNNER_GPU/);
  });

  it('parses Go durations', () => {
    expect([parseGoDuration('5s'), parseGoDuration('100ms'), parseGoDuration('1m30s'), parseGoDuration('x'), parseGoDuration(5)]).toEqual([5000, 100, 90_000, undefined, undefined]);
  });
});
