/**
 * The worker mounted in an existing server (examples/embed-*.ts): node:http, express, fastify. Each
 * app keeps its own routes, the worker answers under /worker without a port of its own, and a real
 * stream runs through it end to end.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';

import { afterEach, describe, expect, it } from 'vitest';

import { TrickleServer } from '../../src/trickle-server/trickle-server';
import { TricklePublisher } from '../../src/trickle/trickle-publisher';
import { TrickleSubscriber } from '../../src/trickle/trickle-subscriber';
import type { StreamServer } from '../../src/worker/stream-server';
import { createApp as createNodeApp } from '../../examples/embed-node-http';
import { createApp as createExpressApp } from '../../examples/embed-express';
import { createApp as createFastifyApp } from '../../examples/embed-fastify';
import { fixtureBytes } from '../helpers/worker-harness';

interface Mounted {
  base: string;
  worker: StreamServer;
  close: () => Promise<void>;
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const apps: Record<string, () => Promise<Mounted>> = {
  'node:http': async () => {
    const { server, worker } = await createNodeApp();
    const base = await listen(server);
    return { base, worker, close: () => new Promise((r) => server.close(() => r())) };
  },
  express: async () => {
    const { app, worker } = await createExpressApp();
    const server = app.listen(0, '127.0.0.1');
    await new Promise<void>((r) => server.once('listening', () => r()));
    return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, worker, close: () => new Promise((r) => server.close(() => r())) };
  },
  fastify: async () => {
    const { app, worker } = await createFastifyApp();
    const base = await app.listen({ port: 0, host: '127.0.0.1' });
    return { base, worker, close: () => app.close() };
  },
};

let cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

describe.each(Object.keys(apps))('the worker embedded in %s', (name) => {
  it('answers under /worker beside the app, and runs a stream end to end', async () => {
    const mounted = await apps[name]!();
    cleanup.push(mounted.close, () => mounted.worker.shutdown());
    const trickle = new TrickleServer();
    const trickleUrl = `http://127.0.0.1:${await trickle.listen(0, '127.0.0.1')}`;
    cleanup.push(() => trickle.close());

    expect(await (await fetch(`${mounted.base}/`)).text()).toBe('my app\n');
    expect(await (await fetch(`${mounted.base}/worker/health`)).json()).toEqual({ status: 'IDLE' });
    const version = (await (await fetch(`${mounted.base}/worker/version`)).json()) as { version: string };
    expect(version.version).toMatch(/^\d+\.\d+\.\d+/);
    expect((await fetch(`${mounted.base}/worker/metrics`)).headers.get('content-type')).toMatch(/^text\/plain/);
    const noStream = await fetch(`${mounted.base}/worker/stream/params`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' });
    expect([noStream.status, await noStream.json()]).toEqual([400, { status: 'error', message: 'No active stream to update' }]);

    for (const [ch, mime] of [['e', 'video/MP2T'], ['e-out', 'video/MP2T'], ['e-events', 'application/json']] as const) trickle.createChannel(ch, mime);
    const start = await fetch(`${mounted.base}/worker/stream/start`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ gateway_request_id: 'e', subscribe_url: `${trickleUrl}/e`, publish_url: `${trickleUrl}/e-out`, events_url: `${trickleUrl}/e-events` }),
    });
    expect(start.status).toBe(200);
    expect(((await start.json()) as { request_id: string }).request_id).toBe('e');
    expect(((await (await fetch(`${mounted.base}/worker/health`)).json()) as { status: string }).status).toBe('OK');

    const output = new TrickleSubscriber(`${trickleUrl}/e-out`, { start: 0 });
    const received = (async () => {
      let bytes = 0;
      for await (const segment of output) bytes += (await segment.bytes()).length;
      return bytes;
    })();
    const pub = new TricklePublisher(`${trickleUrl}/e`, { mime: 'video/MP2T', start: 0 });
    await pub.writeSegment(fixtureBytes());
    await pub.close();
    const end = await mounted.worker.stream('e')!.done;
    expect(end.reason).toBe('input_ended');
    expect(await received).toBeGreaterThan(1000); // the output channel got MPEG-TS and ended (EOS)
    expect(output.endReason).toBe('eos');
  });
});
