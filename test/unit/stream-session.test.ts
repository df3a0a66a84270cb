import { describe, expect, it } from 'vitest';

import { createProcessor } from '../../src/processor/create-processor';
import type { StreamContext } from '../../src/processor/frame-processor';
import type { StreamParams } from '../../src/params';
import { createStreamSession, paramsHash } from '../../src/stream/stream-session';
import { MemoryTransport } from '../helpers/memory-transport';

const URLS = {
  control_url: 'http://t/s-control',
  events_url: 'http://t/s-events',
  data_url: 'http://t/s-data',
};
const fast = { heartbeatMs: 40, statusMs: 60, retryInitialMs: 5, retryMaxMs: 20, dataFlushMs: 5, dataKeepaliveMs: 80, drainMs: 500 };

type Ev = { event: Record<string, unknown>; queue_event_type: string };

function setup(hooks: Parameters<typeof createProcessor>[0] = {}, params: StreamParams = {}) {
  const transport = new MemoryTransport();
  const session = createStreamSession({
    request: { gateway_request_id: 's', params, ...URLS },
    processor: createProcessor(hooks),
    timings: fast,
    transport,
  });
  const events = () => transport.json(URLS.events_url) as Ev[];
  const ofType = (t: string) => events().filter((e) => e.event['type'] === t);
  return { transport, session, events, ofType };
}

describe('StreamSession side channels (in-memory transport)', () => {
  it('sends heartbeats immediately and periodically in the COMPAT wire format', async () => {
    const { transport, session, ofType } = setup({}, { width: 320, height: 240 });
    session.start();
    await transport.until(() => ofType('heartbeat').length >= 3, 'three heartbeats');
    const hb = ofType('heartbeat')[0]!;
    expect(hb.queue_event_type).toBe('stream_heartbeat');
    expect(hb.event).toMatchObject({
      type: 'heartbeat',
      urls: { subscribe: '', publish: '', control: URLS.control_url, events: URLS.events_url, data: URLS.data_url },
      dimensions: { width: 320, height: 240 },
      fps: { ingress_video_fps: 0, ingress_audio_fps: 0, egress_video_fps: 0, egress_audio_fps: 0 },
    });
    expect(typeof hb.event['timestamp']).toBe('number');
    await transport.until(() => ofType('status').length >= 1, 'a status event');
    expect(ofType('status')[0]!.event).toMatchObject({ type: 'status', state: 'ONLINE', inference_status: { restart_count: 0 } });
    await session.stop('stopped');
  });

  it('the status event carries ai-runner\'s fields: pipeline, start time, params and their hash, errors, restarts', async () => {
    const { transport, session, ofType } = setup({}, { prompt: 'cat', width: 320, height: 240 });
    session.start();
    await transport.until(() => ofType('status').length >= 1, 'a status event');
    const first = ofType('status')[0]!.event;
    expect(first).toMatchObject({
      type: 'status',
      state: 'ONLINE',
      start_time: session.stats.snapshot().startedAt,
      last_params: { prompt: 'cat', width: 320, height: 240 },
      last_params_update_time: null,
      last_error: null,
      last_error_time: null,
      last_restart_time: null,
      restart_count: 0,
      input_status: { last_input_time: null, fps: 0 },
      inference_status: { last_output_time: null, fps: 0, last_params: { prompt: 'cat', width: 320, height: 240 }, last_error: null, restart_count: 0 },
    });
    expect(typeof first['pipeline']).toBe('string');
    expect(first['last_state_update_time']).toEqual(expect.any(Number));
    const hash1 = (first['inference_status'] as Record<string, unknown>)['last_params_hash'];
    expect(hash1).toMatch(/^[0-9a-f]{16}$/);
    const count = ofType('status').length;
    await session.updateParams({ prompt: 'dog' }, 'http');
    await transport.until(() => ofType('status').length > count, 'a later status event');
    const later = ofType('status').at(-1)!.event;
    const inference = later['inference_status'] as Record<string, unknown>;
    expect(inference['last_params']).toEqual({ prompt: 'dog', width: 320, height: 240 });
    expect(inference['last_params_hash']).not.toBe(hash1);
    expect(inference['last_params_update_time']).toEqual(expect.any(Number));
    // the same params in another key order hash the same
    expect(paramsHash({ width: 320, prompt: 'dog', height: 240 })).toBe(inference['last_params_hash']);
    await session.stop('stopped');
  });

  it('control: keepalives ignored, params applied with one params_updated each, invalid/oversize skipped and reported', async () => {
    const seen: StreamParams[] = [];
    const { transport, session, ofType } = setup({ params: (p) => void seen.push(p) });
    session.start();
    transport.push(URLS.control_url, '{"keep":"alive"}');
    transport.push(URLS.control_url, '{"prompt":"cat","max_framerate":"30"}');
    transport.push(URLS.control_url, 'not json');
    transport.push(URLS.control_url, '{"max_framerate":99}');
    transport.push(URLS.control_url, '[1,2]');
    await transport.until(() => ofType('params_updated').length === 1, 'params_updated');
    transport.push(URLS.control_url, '{"prompt":"dog"}');
    await transport.until(() => ofType('params_updated').length === 2, 'second params_updated');
    expect(seen).toEqual([{ prompt: 'cat', max_framerate: 30 }, { prompt: 'dog' }]);
    expect(session.params).toEqual({ prompt: 'dog', max_framerate: 30 });
    expect(ofType('params_updated')[0]!).toEqual({
      event: { type: 'params_updated', timestamp: expect.any(Number), params: { prompt: 'cat', max_framerate: 30 }, source: 'control' },
      queue_event_type: 'ai_stream_events',
    });
    expect(session.stats.get('controlErrors')).toBe(3);
    expect(session.stats.get('controlMessages')).toBe(2);
    await transport.until(() => ofType('error').length >= 1, 'an error event');
    expect(String(ofType('error')[0]!.event['message'])).toMatch(/invalid control message/);
    await session.stop('stopped');
  });

  it('control: latest wins while an update is being applied', async () => {
    const seen: unknown[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { transport, session } = setup({
      params: async (p) => {
        seen.push(p['n']);
        if (p['n'] === 0) await gate;
      },
    });
    session.start();
    transport.push(URLS.control_url, '{"n":0}');
    await transport.until(() => seen.length === 1, 'first update applied');
    for (let n = 1; n <= 5; n++) transport.push(URLS.control_url, `{"n":${n}}`);
    await transport.until(() => session.stats.get('controlMessages') === 6, 'all messages read');
    release();
    await transport.until(() => seen.length === 2, 'second update applied');
    await new Promise((r) => setTimeout(r, 30));
    expect(seen).toEqual([0, 5]);
    await session.stop('stopped');
  });

  it('control: a channel that disappears is re-subscribed with backoff; the stream goes on', async () => {
    const seen: unknown[] = [];
    const { transport, session } = setup({ params: (p) => void seen.push(p['v']) });
    session.start();
    transport.push(URLS.control_url, '{"v":1}');
    await transport.until(() => seen.length === 1, 'first update');
    transport.endSubscription(URLS.control_url, true); // 404: channel gone
    await transport.until(() => (transport.subscriptions.get(URLS.control_url) ?? 0) >= 3, 're-subscriptions');
    expect(session.phase).toBe('running');
    transport.revive(URLS.control_url);
    transport.push(URLS.control_url, '{"v":2}');
    await transport.until(() => seen.length === 2, 'update after the channel came back');
    expect(seen).toEqual([1, 2]);
    await session.stop('stopped');
  });

  it('events: failed POSTs are retried with backoff and delivered; the stream is not ended', async () => {
    const { transport, session, ofType } = setup();
    transport.failNext.set(URLS.events_url, 3);
    session.start();
    await transport.until(() => ofType('heartbeat').length >= 1, 'heartbeat after failures');
    expect(session.stats.get('eventsFailed')).toBeGreaterThanOrEqual(3);
    expect(transport.opened.get(URLS.events_url)).toBeGreaterThanOrEqual(4); // re-created after each failure
    expect(session.phase).toBe('running');
    await session.stop('stopped');
  });

  it('data: JSONL lines, 64 KiB limit, keepalive, and publishData from the processor context', async () => {
    let ctxRef: StreamContext | undefined;
    const { transport, session } = setup({ start: (_p, ctx) => void (ctxRef = ctx) });
    session.start();
    await transport.until(() => ctxRef !== undefined, 'onStreamStart');
    expect(ctxRef!.publishData({ a: 1 })).toBe(true);
    expect(ctxRef!.publishData('two')).toBe(true);
    expect(ctxRef!.publishData({ big: 'x'.repeat(70_000) })).toBe(false);
    expect(ctxRef!.publishData(() => 1)).toBe(false);
    await transport.until(() => (transport.published.get(URLS.data_url) ?? []).length >= 1, 'data segment');
    const text = transport.published.get(URLS.data_url)![0]!.toString('utf8');
    expect(text).toBe('{"a":1}\n"two"\n');
    expect(session.stats.get('dataLinesDropped')).toBe(2);
    await transport.until(() => (transport.published.get(URLS.data_url) ?? []).some((b) => b.toString() === '[]\n'), 'keepalive');
    await session.stop('stopped');
  });

  it('stop: onStreamStop, stream_stopped event, events/data channels closed (DELETE)', async () => {
    let stopped = 0;
    const { transport, session, ofType } = setup({ stop: () => void stopped++ });
    session.start();
    await transport.until(() => ofType('heartbeat').length >= 1, 'heartbeat');
    await session.stop('stopped');
    expect(await session.done).toEqual({ reason: 'stopped' });
    expect(stopped).toBe(1);
    expect(ofType('stream_stopped')).toHaveLength(1);
    expect(ofType('stream_stopped')[0]!.queue_event_type).toBe('ai_stream_events');
    expect(transport.deleted.has(URLS.events_url)).toBe(true);
    expect(transport.deleted.has(URLS.data_url)).toBe(true);
    expect(session.phase).toBe('closed');
    const count = ofType('heartbeat').length;
    await new Promise((r) => setTimeout(r, 100));
    expect(ofType('heartbeat').length).toBe(count); // timers cleared
  });

  it('a failing updateParams rejects, emits an error event, and leaves the stream running', async () => {
    const { transport, session, ofType } = setup({
      params: () => {
        throw new Error('bad prompt');
      },
    });
    session.start();
    await expect(session.updateParams({ prompt: 'x' }, 'http')).rejects.toThrow('bad prompt');
    await transport.until(() => ofType('error').length >= 1, 'error event');
    expect(ofType('error')[0]!.event['message']).toBe('Parameter update failed: bad prompt');
    expect(ofType('params_updated')).toHaveLength(0);
    expect(session.phase).toBe('running');
    await session.stop('stopped');
  });

  it('custom events from the processor default to custom_monitoring_event', async () => {
    const { transport, session, events } = setup({ start: (_p, ctx) => ctx.sendEvent({ type: 'detections', n: 3 }) });
    session.start();
    await transport.until(() => events().some((e) => e.event['type'] === 'detections'), 'custom event');
    expect(events().find((e) => e.event['type'] === 'detections')!.queue_event_type).toBe('custom_monitoring_event');
    await session.stop('stopped');
  });
});
