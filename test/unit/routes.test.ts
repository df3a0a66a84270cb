import { describe, expect, it } from 'vitest';

import { createProcessor } from '../../src/processor/create-processor';
import type { RouteRequest } from '../../src/worker/routes';
import type { StreamServerOptions } from '../../src/worker/stream-server';
import { gpuUtilization } from '../../src/worker/hardware';
import { fakeStreamServer } from '../helpers/fake-stream';

function makeServer(opts: Partial<StreamServerOptions> = {}) {
  return fakeStreamServer({ register: false, ...opts });
}

function req(method: string, url: string, body?: unknown, headers: Record<string, string> = {}): RouteRequest {
  const raw = body === undefined ? Buffer.alloc(0) : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  return { method, url, body: raw, headers: { 'content-type': 'application/json', ...headers } };
}

const startBody = (id = 'req-1', extra: Record<string, unknown> = {}) => ({
  gateway_request_id: id,
  subscribe_url: 'http://127.0.0.1:1/in',
  publish_url: 'http://127.0.0.1:1/in-out',
  ...extra,
});

const STATE_KEYS = ['status', 'state', 'error_message', 'pipeline_ready', 'active_streams', 'startup_complete', 'pipeline_state', 'additional_info'];

describe('StreamServer routes (app factory, no sockets)', () => {
  it('health goes LOADING → IDLE → OK → IDLE', async () => {
    const { server, made } = makeServer();
    expect((await server.handle(req('GET', '/health'))).body).toEqual({ status: 'LOADING' });
    await server.initialize();
    expect((await server.handle(req('GET', '/health'))).body).toEqual({ status: 'IDLE' });
    await server.handle(req('POST', '/stream/start', startBody()));
    expect((await server.handle(req('GET', '/health'))).body).toEqual({ status: 'OK' });
    made[0]!.end({ reason: 'input_ended' });
    await made[0]!.done;
    await new Promise((r) => setImmediate(r));
    expect((await server.handle(req('GET', '/health'))).body).toEqual({ status: 'IDLE' });
  });

  it('health is ERROR when initialize() rejects, and start is refused', async () => {
    const { server } = makeServer({ processor: createProcessor({ load: () => Promise.reject(new Error('no weights')) }) });
    await server.initialize();
    const h = await server.handle(req('GET', '/health'));
    expect(h).toEqual({ status: 200, body: { status: 'ERROR' } });
    const r = await server.handle(req('POST', '/stream/start', startBody()));
    expect(r.status).toBe(503);
    expect((r.body as { current_state: { error_message: string } }).current_state.error_message).toBe('Model loading failed: no weights');
  });

  it('start while loading → 503 with current_state', async () => {
    const { server } = makeServer();
    const r = await server.handle(req('POST', '/stream/start', startBody()));
    expect(r.status).toBe(503);
    const body = r.body as Record<string, unknown>;
    expect(body['status']).toBe('error');
    expect(body['message']).toBe('Pipeline is still initializing. Please wait for IDLE status.');
    expect(Object.keys(body['current_state'] as object).sort()).toEqual([...STATE_KEYS].sort());
  });

  it('start success body matches pytrickle exactly', async () => {
    const { server, made } = makeServer();
    await server.initialize();
    const r = await server.handle(req('POST', '/stream/start', startBody('abc', { params: { width: '256', height: 128, prompt: 'x' }, extra_key: 1 }), { 'x-stream-id': 'sid-9' }));
    expect(r.status).toBe(200);
    const body = r.body as Record<string, unknown>;
    expect(Object.keys(body)).toEqual(['status', 'message', 'request_id', 'current_state']);
    expect(body['status']).toBe('success');
    expect(body['message']).toBe('Stream started successfully');
    expect(body['request_id']).toBe('abc');
    expect(body['current_state']).toMatchObject({ status: 'OK', active_streams: 1, pipeline_ready: true, startup_complete: true });
    expect(made[0]!.request.params).toEqual({ width: 256, height: 128, prompt: 'x' });
    expect(made[0]!.phase).toBe('running');
    expect(server.stream('sid-9')).toBe(made[0]);
  });

  it('/live-video-to-video is an unprefixed alias of start', async () => {
    const { server } = makeServer({ routePrefix: '/api/' });
    await server.initialize();
    expect((await server.handle(req('POST', '/live-video-to-video', startBody()))).status).toBe(200);
    expect((await server.handle(req('POST', '/stream/stop'))).status).toBe(404);
    expect((await server.handle(req('POST', '/api/stream/stop'))).status).toBe(200);
  });

  it('start errors: content type, bad JSON, missing id, bad params, bad urls → 400 "Error starting stream: …"', async () => {
    const { server } = makeServer();
    await server.initialize();
    const cases: Array<[RouteRequest, string]> = [
      [req('POST', '/stream/start', startBody(), { 'content-type': 'text/plain' }), 'Error starting stream: Unknown content type: text/plain'],
      [req('POST', '/stream/start', '{oops'), 'Error starting stream: Invalid JSON body'],
      [req('POST', '/stream/start', { subscribe_url: 'http://x/y' }), 'Error starting stream: gateway_request_id is required'],
      [req('POST', '/stream/start', { gateway_request_id: 5 }), 'Error starting stream: gateway_request_id is required'],
      [req('POST', '/stream/start', startBody('a', { params: { max_framerate: 61 } })), 'Error starting stream: max_framerate cannot exceed 60 FPS'],
      [req('POST', '/stream/start', startBody('a', { params: { width: 10 } })), "Error starting stream: Both 'width' and 'height' must be provided together"],
      [req('POST', '/stream/start', startBody('a', { params: 'x' })), 'Error starting stream: Params must be a dictionary'],
      [req('POST', '/stream/start', startBody('a', { publish_url: 'ftp://x' })), 'Error starting stream: publish_url must be an http(s) URL'],
      [req('POST', '/stream/start', [1]), 'Error starting stream: Request body must be a JSON object'],
    ];
    for (const [r, msg] of cases) {
      const res = await server.handle(r);
      expect(res.status, msg).toBe(400);
      const body = res.body as Record<string, unknown>;
      expect(body['status']).toBe('error');
      expect(String(body['message']).startsWith(msg), `${String(body['message'])} vs ${msg}`).toBe(true);
      expect(body['current_state']).toBeDefined();
    }
    expect(server.streams()).toHaveLength(0);
  });

  it('capacity 1: a second start → 503 "Pipeline is still in use"; simultaneous starts never both pass', async () => {
    const { server } = makeServer();
    await server.initialize();
    const results = await Promise.all([1, 2, 3, 4].map((i) => server.handle(req('POST', '/stream/start', startBody(`s${i}`)))));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    const busy = results.filter((r) => r.status === 503);
    expect(busy).toHaveLength(3);
    expect((busy[0]!.body as Record<string, unknown>)['message']).toBe('Pipeline is still in use');
    expect(server.streams()).toHaveLength(1);
  });

  it('capacity N runs N streams; stop by id stops one; an unknown id or no id stops none', async () => {
    const { server, made } = makeServer({ capacity: 3 });
    await server.initialize();
    for (const id of ['a', 'b', 'c']) expect((await server.handle(req('POST', '/stream/start', startBody(id)))).status).toBe(200);
    expect((await server.handle(req('POST', '/stream/start', startBody('d')))).status).toBe(503);
    expect((await server.handle(req('POST', '/stream/start', startBody('x'))))).toMatchObject({ status: 503 });
    const one = await server.handle(req('POST', '/stream/stop', { stream_id: 'b' }));
    expect(one).toEqual({ status: 200, body: { status: 'success', message: 'Stream stopped successfully' } });
    await new Promise((r) => setImmediate(r));
    expect(server.streams().map((s) => s.id)).toEqual(['a', 'c']);
    expect((await server.handle(req('POST', '/stream/stop', { stream_id: 'zzz' }))).status).toBe(404);
    const none = await server.handle(req('POST', '/stream/stop', 'not json at all'));
    expect(none.status).toBe(400);
    expect((none.body as { message: string }).message).toMatch(/2 streams are running/);
    for (const id of ['a', 'c']) expect((await server.handle(req('POST', '/stream/stop', undefined, { 'x-stream-id': id }))).status).toBe(200);
    await new Promise((r) => setImmediate(r));
    expect(made.map((s) => s.stopReason)).toEqual(['stopped', 'stopped', 'stopped']);
    expect(server.streams()).toHaveLength(0);
    expect(server.state.status).toBe('IDLE');
  });

  it('duplicate gateway_request_id with free capacity → 409', async () => {
    const { server } = makeServer({ capacity: 2 });
    await server.initialize();
    await server.handle(req('POST', '/stream/start', startBody('same')));
    const r = await server.handle(req('POST', '/stream/start', startBody('same')));
    expect(r.status).toBe(409);
  });

  it('stop / params with no stream → 400 with pytrickle messages', async () => {
    const { server } = makeServer();
    await server.initialize();
    expect(await server.handle(req('POST', '/stream/stop'))).toEqual({ status: 400, body: { status: 'error', message: 'No active stream to stop' } });
    expect(await server.handle(req('POST', '/stream/params', { prompt: 'x' }))).toEqual({
      status: 400,
      body: { status: 'error', message: 'No active stream to update' },
    });
  });

  it('params: validation 400 (deviation from pytrickle 500), success, processor failure 500 without ERROR health', async () => {
    const { server, made } = makeServer();
    await server.initialize();
    // validation happens before the no-stream check, as pytrickle
    expect((await server.handle(req('POST', '/stream/params', { max_framerate: 0 }))).body).toEqual({
      status: 'error',
      message: 'Parameter update failed: max_framerate must be a positive integer',
    });
    await server.handle(req('POST', '/stream/start', startBody()));
    const bad = await server.handle(req('POST', '/stream/params', { width: 0, height: 5 }));
    expect(bad.status).toBe(400);
    expect((bad.body as { message: string }).message).toBe('Parameter update failed: Width and height must be positive integers (received 0x5)');
    expect((await server.handle(req('POST', '/stream/params', { a: 1 }, { 'content-type': 'text/plain' }))).status).toBe(400);
    const ok = await server.handle(req('POST', '/stream/params', { prompt: 'dog', max_framerate: '12' }));
    expect(ok).toEqual({ status: 200, body: { status: 'success', message: 'Parameters updated successfully' } });
    expect(made[0]!.updates).toEqual([{ params: { prompt: 'dog', max_framerate: 12 }, source: 'http' }]);
    made[0]!.failUpdate = new Error('model refused');
    const fail = await server.handle(req('POST', '/stream/params', { prompt: 'z' }));
    expect(fail).toEqual({ status: 500, body: { status: 'error', message: 'Parameter update failed: model refused' } });
    expect((await server.handle(req('GET', '/health'))).body).toEqual({ status: 'OK' });
  });

  it('status, version, app-version, hardware', async () => {
    const { server } = makeServer({ pipeline: 'byoc', capabilityName: 'my-cap', appVersion: '1.2.3' });
    await server.initialize();
    await server.handle(req('POST', '/stream/start', startBody('st')));
    const st = (await server.handle(req('GET', '/stream/status'))).body as Record<string, unknown>;
    for (const k of STATE_KEYS) expect(st).toHaveProperty(k);
    expect(st['client_active']).toBe(true);
    expect(st['client_running']).toBe(true);
    expect(st['fps']).toEqual({ ingress_video_fps: 0, ingress_audio_fps: 0, egress_video_fps: 0, egress_audio_fps: 0 });
    expect(st['current_params']).toEqual({ subscribe_url: 'http://127.0.0.1:1/in', publish_url: 'http://127.0.0.1:1/in-out', gateway_request_id: 'st' });
    const v = (await server.handle(req('GET', '/version'))).body as Record<string, unknown>;
    expect(v['pipeline']).toBe('byoc');
    expect(v['model_id']).toBe('my-cap');
    expect(v['version']).toMatch(/^\d+\.\d+\.\d+/);
    expect((await server.handle(req('GET', '/app-version'))).body).toEqual({ version: '1.2.3' });
    const hw = (await server.handle(req('GET', '/hardware/info'))).body as Record<string, unknown>;
    expect(hw).toMatchObject({ pipeline: 'byoc', model_id: 'my-cap' });
    expect(typeof hw['gpu_info']).toBe('object');
    // The stats themselves come from NVML (test/native/gpu-stats.test.ts); here the route's shape.
    const stats = (await server.handle(req('GET', '/hardware/stats'))).body as Record<string, unknown>;
    expect(stats).toEqual({ pipeline: 'byoc', model_id: 'my-cap', ...gpuUtilization() });
    expect(typeof stats['gpu_stats']).toBe('object');
  });

  it('bearer auth protects everything but /health', async () => {
    const { server } = makeServer({ authToken: 's3cret' });
    await server.initialize();
    expect((await server.handle(req('GET', '/health'))).status).toBe(200);
    expect((await server.handle(req('POST', '/stream/start', startBody()))).status).toBe(401);
    expect((await server.handle(req('GET', '/metrics'))).status).toBe(401);
    expect((await server.handle(req('POST', '/stream/start', startBody(), { authorization: 'Bearer wrong!' }))).status).toBe(401);
    expect((await server.handle(req('POST', '/stream/start', startBody(), { authorization: 'Bearer s3cret' }))).status).toBe(200);
  });

  it('unknown route 404, wrong method 405', async () => {
    const { server } = makeServer();
    expect((await server.handle(req('GET', '/nope'))).status).toBe(404);
    expect((await server.handle(req('GET', '/stream/start'))).status).toBe(405);
    expect((await server.handle(req('POST', '/health'))).status).toBe(405);
  });

  it('metrics are Prometheus text with per-stream series', async () => {
    const { server, made } = makeServer({ capacity: 2 });
    await server.initialize();
    await server.handle(req('POST', '/stream/start', startBody('m1')));
    await server.handle(req('POST', '/stream/start', startBody('m2')));
    await server.handle(req('POST', '/stream/start', startBody('m3')));
    made[0]!.stats.videoIn();
    made[0]!.stats.videoIn();
    made[0]!.stats.add('framesDropped');
    const m = await server.handle(req('GET', '/metrics'));
    expect(m.contentType).toContain('text/plain');
    const text = m.text!;
    expect(text).toContain('# TYPE trickle_rt_streams_active gauge');
    expect(text).toMatch(/^trickle_rt_streams_active 2$/m);
    expect(text).toMatch(/^trickle_rt_health\{state="OK"\} 1$/m);
    expect(text).toMatch(/^trickle_rt_frames_in_total 2$/m);
    expect(text).toMatch(/^trickle_rt_frames_dropped_total\{reason="queue"\} 1$/m);
    expect(text).toMatch(/^trickle_rt_stream_starts_rejected_total\{reason="capacity"\} 1$/m);
    expect(text).toMatch(/^trickle_rt_stream_fps\{stream="m1",direction="in"\} /m);
    for (const line of text.trim().split('\n')) expect(line).toMatch(/^(# (HELP|TYPE) \w+ .+|\w+(\{[^}]*\})? (-?[\d.]+|NaN))$/);
  });
});
