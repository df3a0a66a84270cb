/**
 * A StreamServer as a BYOC capability of a go-livepeer-like orchestrator at its defaults
 * (test/helpers/local-orchestrator.ts: self-signed HTTPS made anew at every start, `-orchSecret`),
 * with nothing configured on the worker but the orchestrator URL, the secret and its own address.
 */
import { afterEach, describe, expect, it } from 'vitest';

import { createProcessor } from '../../src/processor/create-processor';
import { silentLogger } from '../../src/logger';
import { StreamServer, type StreamServerOptions } from '../../src/worker/stream-server';
import { byocSettingsFromEnv, registerCapability } from '../../src/worker/registration';
import { fakeStreamServer } from '../helpers/fake-stream';
import { LocalOrchestrator, startOrchestrator } from '../helpers/local-orchestrator';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const orchestrator = (): Promise<LocalOrchestrator> => startOrchestrator(cleanups);

async function worker(orch: LocalOrchestrator, opts: Partial<StreamServerOptions> = {}) {
  const { server, made } = fakeStreamServer({
    port: 0,
    host: '127.0.0.1',
    register: 'byoc',
    byoc: { orchUrl: orch.url, orchSecret: orch.secret, watchIntervalMs: 100 },
    ...opts,
  });
  await server.listen();
  await server.initialize();
  cleanups.push(() => server.shutdown());
  return { server, made };
}

async function until(cond: () => boolean, what: string): Promise<void> {
  await expect.poll(cond, { timeout: 15_000, interval: 20, message: what }).toBe(true);
}

describe('BYOC against a default go-livepeer orchestrator', () => {
  it('registers over self-signed HTTPS with its name, one capacity and its bearer token; the orchestrator drives streams with it', async () => {
    const orch = await orchestrator();
    const { server, made } = await worker(orch, { capabilityName: 'tint', capacity: 2, authToken: 'worker-token' });
    expect(await server.registrationResult()).toEqual({ registered: true, attempts: 1 });
    const cap = orch.capabilities.get('tint')!;
    expect(cap).toMatchObject({ name: 'tint', url: `http://localhost:${server.port}`, capacity: 2, token: 'worker-token', price_per_unit: 0, price_scaling: 1 });
    const reg = orch.requests('POST', '/capability/register')[0]!;
    expect(reg.headers['authorization']).toBe(orch.secret);
    // The worker listens on 127.0.0.1; the orchestrator reaches it by the registered URL.
    cap.url = server.url;
    const { reply, stream } = await orch.startStream('tint', { params: { prompt: 'x' } });
    expect(reply.status).toBe(200);
    expect(made[0]!.request).toMatchObject({ gateway_request_id: stream.id, streamIdHeader: stream.id, subscribe_url: stream.urls.subscribe_url, publish_url: stream.urls.publish_url });
    expect(made[0]!.request.subscribe_url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/ai\/trickle\//);
    expect((await orch.updateStream(stream, { prompt: 'y' })).status).toBe(200);
    expect(made[0]!.updates.map((u) => u.params)).toEqual([{ prompt: 'y' }]);
    expect((await orch.stopStream(stream)).status).toBe(200);
    expect(made[0]!.stopReason).toBe('stopped');
  });

  it("a stop for the previous stream's id (sent after it ended) is 404 and leaves the running stream alone", async () => {
    const orch = await orchestrator();
    const { server, made } = await worker(orch, { capabilityName: 'tint' });
    await server.registrationResult();
    orch.capabilities.get('tint')!.url = server.url;
    const first = await orch.startStream('tint');
    made[0]!.end({ reason: 'input_ended' });
    await made[0]!.done;
    await new Promise((r) => setImmediate(r));
    const second = await orch.startStream('tint');
    expect(second.reply.status).toBe(200);
    const late = await orch.stopStream(first.stream);
    expect(late.status).toBe(404);
    expect(JSON.parse(late.body).message).toMatch(new RegExp(`No active stream with id '${first.stream.id}'`));
    expect(made[1]!.stopReason).toBeUndefined();
    expect(server.streams().map((s) => s.id)).toEqual([second.stream.id]);
  });

  it('without the bearer token the worker answers 401, which makes go-livepeer drop the capability', async () => {
    const orch = await orchestrator();
    const { server } = await worker(orch, { capabilityName: 'tint', authToken: 'right' });
    await server.registrationResult();
    const cap = orch.capabilities.get('tint')!;
    cap.url = server.url;
    cap.token = 'wrong';
    expect((await orch.startStream('tint')).reply.status).toBe(401);
    expect(orch.capabilities.has('tint')).toBe(false);
  });

  it('registers again after the orchestrator restarts (it forgets capabilities and changes its certificate)', async () => {
    const orch = await orchestrator();
    const { server } = await worker(orch, { capabilityName: 'tint', authToken: 't' });
    await server.registrationResult();
    const before = orch.cert.fingerprint256;
    // A quick restart, shorter than the watch interval can notice as an outage: the new
    // certificate tells.
    await orch.restart({ downMs: 0 });
    expect(orch.cert.fingerprint256).not.toBe(before);
    expect(orch.capabilities.size).toBe(0);
    await until(() => orch.capabilities.has('tint'), 're-registration after a quick restart');
    expect(orch.capabilities.get('tint')!.token).toBe('t');
    // A longer outage, seen as unreachable.
    await orch.stop();
    await new Promise((r) => setTimeout(r, 400));
    await orch.start();
    await until(() => orch.capabilities.has('tint'), 're-registration after an outage');
  });

  it('a BYOC worker ignores live-runner session headers (nobody vouches for them)', async () => {
    const orch = await orchestrator();
    const { server, made } = await worker(orch, { capabilityName: 'tint' });
    const r = await fetch(`${server.url}/stream/start`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${server.token!}`,
        'livepeer-session-id': 's',
        'livepeer-session-token': 't',
        'livepeer-session-control': `${orch.url}/runner/r/session/s`,
      },
      body: JSON.stringify({ params: {} }),
    });
    expect(r.status).toBe(400);
    expect(((await r.json()) as { message: string }).message).toMatch(/gateway_request_id is required/);
    expect(made).toHaveLength(0);
    expect(orch.log.filter((l) => l.path.startsWith('/runner/'))).toEqual([]);
  });

  it('unregisters on graceful shutdown with the plain capability name as the body', async () => {
    const orch = await orchestrator();
    const { server } = await worker(orch, { capabilityName: 'tint' });
    await server.registrationResult();
    expect(orch.capabilities.has('tint')).toBe(true);
    await server.shutdown();
    const un = orch.requests('POST', '/capability/unregister');
    expect(un.map((r) => [r.body, r.headers['authorization']])).toEqual([['tint', orch.secret]]);
    expect(orch.capabilities.has('tint')).toBe(false);
  });

  it('a wrong secret is not retried; a price go-livepeer cannot read is refused before any request', async () => {
    const orch = await orchestrator();
    const r = await registerCapability({ orchUrl: orch.url, orchSecret: 'nope', url: 'http://w:1', name: 'x', capacity: 1, delayMs: 5 });
    expect(r).toEqual({ registered: false, reason: 'wrong_secret', attempts: 1 });
    expect(
      () =>
        new StreamServer({
          processor: createProcessor({}),
          logger: silentLogger,
          register: 'byoc',
          byoc: { orchUrl: orch.url, orchSecret: orch.secret, pricePerUnit: 0.5 },
        }),
    ).toThrow(/pricePerUnit/);
    // A non-integer price in the environment is an error at configuration time.
    expect(() => byocSettingsFromEnv({ ORCH_URL: orch.url, ORCH_SECRET: 's', CAPABILITY_PRICE_PER_UNIT: '0.5' })).toThrow(/CAPABILITY_PRICE_PER_UNIT/);
  });
});

describe('BYOC settings from the environment', () => {
  it("reads livepeer-python-gateway's family first, then pytrickle's", () => {
    expect(byocSettingsFromEnv({})).toBeUndefined();
    expect(
      byocSettingsFromEnv({
        ORCH_URL: 'https://a:1',
        ORCH_SECRET: 'sa',
        CAPABILITY_NAME: 'pt',
        CAPABILITY_URL: 'http://w:1',
        CAPABILITY_CAPACITY: '3',
        CAPABILITY_PRICE_PER_UNIT: '7',
        CAPABILITY_PRICE_SCALING: '2',
        CAPABILITY_DESCRIPTION: 'd',
      }),
    ).toEqual({ orchUrl: 'https://a:1', orchSecret: 'sa', name: 'pt', url: 'http://w:1', capacity: 3, pricePerUnit: 7, priceScaling: 2, description: 'd', currency: undefined });
    expect(
      byocSettingsFromEnv({
        ORCH_URL: 'https://a:1',
        LIVEPEER_ORCH_URL: 'https://b:2',
        LIVEPEER_ORCH_SECRET: 'sb',
        LIVEPEER_CAPABILITY_NAME: 'gw',
        LIVEPEER_CAPABILITY_URL: 'http://w:2',
        LIVEPEER_CAPACITY: '4',
        LIVEPEER_PRICE_PER_UNIT: '9',
      }),
    ).toMatchObject({ orchUrl: 'https://b:2', orchSecret: 'sb', name: 'gw', url: 'http://w:2', capacity: 4, pricePerUnit: 9 });
  });

  it('the capacity advertised is the capacity served', async () => {
    const orch = await orchestrator();
    const env = { LIVEPEER_ORCH_URL: orch.url, LIVEPEER_ORCH_SECRET: orch.secret, LIVEPEER_CAPABILITY_NAME: 'envcap', LIVEPEER_CAPACITY: '3' };
    const saved = { ...process.env };
    cleanups.push(() => {
      for (const k of Object.keys(env)) delete process.env[k];
      Object.assign(process.env, saved);
    });
    Object.assign(process.env, env);
    const server = new StreamServer({ processor: createProcessor({}), port: 0, host: '127.0.0.1', logger: silentLogger });
    cleanups.push(() => server.shutdown());
    expect(server.capacity).toBe(3);
    await server.listen();
    expect(await server.registrationResult()).toMatchObject({ registered: true });
    expect(orch.capabilities.get('envcap')!.capacity).toBe(3);
  });
});
