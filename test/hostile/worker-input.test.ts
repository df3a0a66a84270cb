/**
 * Hostile values through every route and channel of the worker: params nested thousands of levels
 * deep (which made `JSON.stringify` overflow the stack outside any handler and killed the process),
 * events a processor cannot serialise, sizes the media path cannot produce. The bound each case
 * asserts: a precise 4xx or a reported skip, the stream and the worker going on. An error escaping
 * here would surface as an unhandled error and fail the run.
 */
import { afterEach, describe, expect, it } from 'vitest';

import { createProcessor, type StreamContext } from '../../src/index';
import { Harness, until } from '../helpers/worker-harness';

/** `{"p":[[[…]]]}` with `depth` nested arrays: about 2 bytes a level, far under the 1 MiB body limit. */
function deepJson(depth: number): string {
  return `{"p":${'['.repeat(depth)}${']'.repeat(depth)}}`;
}

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

async function rawPost(path: string, body: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${harness!.server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function statusOk(): Promise<Record<string, unknown>> {
  const res = await fetch(`${harness!.server.url}/stream/status`);
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

describe('hostile values against the worker', () => {
  it('/stream/start with params nested 5000 deep: 400 with the reason, no stream, the worker answers on', async () => {
    harness = await Harness.create(createProcessor({}));
    const urls = harness.channels('deep', ['events', 'control']);
    const body = `{"gateway_request_id":"deep","events_url":${JSON.stringify(urls['events_url'])},"params":${deepJson(5000)}}`;
    expect(Buffer.byteLength(body)).toBeLessThan(30_000);
    const r = await rawPost('/stream/start', body);
    expect([r.status, r.body['message']]).toEqual([400, 'Error starting stream: Params must not nest deeper than 64 levels']);
    const status = await statusOk();
    expect(status['streams']).toEqual([]);
    // A well-formed start still works afterwards.
    expect((await harness.start('ok', {}, ['events'])).status).toBe(200);
  });

  it('/stream/params nested 5000 deep on a running stream: 400; the stream and /stream/status go on', async () => {
    harness = await Harness.create(createProcessor({}));
    const events = harness.events('s');
    expect((await harness.start('s', { prompt: 'a' }, ['events', 'control'])).status).toBe(200);
    const r = await rawPost('/stream/params', deepJson(5000));
    expect([r.status, r.body['message']]).toEqual([400, 'Parameter update failed: Params must not nest deeper than 64 levels']);
    const many = await rawPost('/stream/params', JSON.stringify({ list: new Array(200_000).fill(1) }));
    expect([many.status, many.body['message']]).toEqual([400, 'Parameter update failed: Params must not hold more than 100000 values']);
    const status = await statusOk();
    expect((status['streams'] as Array<{ id: string; phase: string }>).map((s) => [s.id, s.phase])).toEqual([['s', 'running']]);
    // Heartbeats (which serialise the stream's params) keep flowing.
    const before = events.filter((e) => e.event['type'] === 'heartbeat').length;
    await until(() => events.filter((e) => e.event['type'] === 'heartbeat').length > before + 1, 'heartbeats after the attack');
  });

  it('a control message nested 5000 deep is skipped and reported; a later valid one applies', async () => {
    const applied: unknown[] = [];
    harness = await Harness.create(createProcessor({ params: (p) => void applied.push(p) }));
    const events = harness.events('c');
    expect((await harness.start('c', {}, ['events', 'control'])).status).toBe(200);
    const pub = await harness.control('c', deepJson(5000));
    await until(() => events.some((e) => e.event['type'] === 'error'), 'an error event');
    const error = events.find((e) => e.event['type'] === 'error')!;
    expect(error.event['message']).toBe('invalid control message: Params must not nest deeper than 64 levels');
    await harness.control('c', { prompt: 'after' }, pub);
    await until(() => applied.length === 1, 'the valid update');
    expect(applied).toEqual([{ prompt: 'after' }]);
    await pub.close();
    expect((await statusOk())['streams']).toHaveLength(1);
  });

  it('events a processor cannot serialise (a cycle, 5000 levels, over 1 MiB) are dropped and counted; the events channel goes on', async () => {
    let ctxOf: StreamContext | undefined;
    harness = await Harness.create(createProcessor({ start: (_p, ctx) => void (ctxOf = ctx) }));
    const events = harness.events('e');
    expect((await harness.start('e', {}, ['events'])).status).toBe(200);
    await until(() => ctxOf !== undefined, 'onStreamStart');
    const cyclic: Record<string, unknown> = { type: 'cyclic' };
    cyclic['self'] = cyclic;
    ctxOf!.sendEvent(cyclic);
    ctxOf!.sendEvent({ type: 'deep', value: JSON.parse(deepJson(5000)) });
    ctxOf!.sendEvent({ type: 'huge', value: 'x'.repeat(2 * 1024 * 1024) });
    ctxOf!.sendEvent({ type: 'fine' });
    await until(() => events.some((e) => e.event['type'] === 'fine'), 'the event after the bad ones');
    expect(events.map((e) => e.event['type'])).not.toContain('cyclic');
    expect(harness.server.stream('e')!.stats.get('eventsFailed')).toBe(3);
  });

  it('sizes the media path cannot produce are refused at start (1×1, odd, over 4096)', async () => {
    harness = await Harness.create(createProcessor({}));
    for (const [w, h] of [[1, 1], [641, 480], [20000, 20000]]) {
      const r = await harness.start(`size${w}`, { width: w, height: h }, ['events']);
      expect([r.status, r.body['message']]).toEqual([400, `Error starting stream: Width and height must be even integers from 2 to 4096 (received ${w}x${h})`]);
    }
    expect((await statusOk())['streams']).toEqual([]);
  });
});
