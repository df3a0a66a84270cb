/**
 * Which stream a `/stream/stop` or `/stream/params` request addresses: never one it does not name.
 * go-livepeer sends both with `X-Stream-Id`, also after the stream ended on the worker's side; the
 * live-runner session proxy adds `Livepeer-Session-Id`, which confines a request to its session.
 */
import { describe, expect, it } from 'vitest';

import { createProcessor } from '../../src/processor/create-processor';
import { silentLogger } from '../../src/logger';
import type { RouteRequest } from '../../src/worker/routes';
import { StreamServer } from '../../src/worker/stream-server';
import { FakeStream } from '../helpers/fake-stream';

async function serverWith(capacity: number, ids: string[]): Promise<{ server: StreamServer; made: FakeStream[] }> {
  const made: FakeStream[] = [];
  const server = new StreamServer({
    processor: createProcessor({}),
    logger: silentLogger,
    register: false,
    capacity,
    streamFactory: (r) => {
      const s = new FakeStream(r);
      made.push(s);
      return s;
    },
  });
  await server.initialize();
  for (const id of ids) {
    const r = await server.handle(req('POST', '/stream/start', { gateway_request_id: id, subscribe_url: `http://127.0.0.1:9/${id}` }, { 'x-stream-id': `hdr-${id}` }));
    expect(r.status).toBe(200);
  }
  return { server, made };
}

function req(method: string, url: string, body?: unknown, headers: Record<string, string> = {}): RouteRequest {
  const raw = body === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(body));
  return { method, url, body: raw, headers: { 'content-type': 'application/json', ...headers } };
}

const message = (r: { body?: unknown }): string => (r.body as { message: string }).message;

describe('stream id targeting', () => {
  it('capacity 1: a stop for an id that names no running stream is 404 and the running stream goes on', async () => {
    const { server, made } = await serverWith(1, ['current']);
    // go-livepeer's stop for the previous, already ended stream: no Content-Type, empty body.
    const stop = await server.handle({ method: 'POST', url: '/stream/stop', body: Buffer.alloc(0), headers: { 'x-stream-id': 'previous' } });
    expect(stop.status).toBe(404);
    expect(message(stop)).toBe("No active stream with id 'previous' to stop; no other stream was touched");
    const params = await server.handle(req('POST', '/stream/params', { prompt: 'x' }, { 'x-stream-id': 'previous' }));
    expect(params.status).toBe(404);
    expect(made[0]!.stopReason).toBeUndefined();
    expect(made[0]!.updates).toEqual([]);
    expect(server.streams().map((s) => s.id)).toEqual(['current']);
  });

  it('capacity 1 without any id keeps pytrickle behaviour: the running stream', async () => {
    const { server, made } = await serverWith(1, ['only']);
    expect((await server.handle(req('POST', '/stream/params', { prompt: 'y' }))).status).toBe(200);
    expect(made[0]!.updates.map((u) => u.params)).toEqual([{ prompt: 'y' }]);
    expect((await server.handle(req('POST', '/stream/stop'))).status).toBe(200);
    expect(made[0]!.stopReason).toBe('stopped');
  });

  it('an id matches gateway_request_id or X-Stream-Id; body/query id wins over the header', async () => {
    const { server, made } = await serverWith(3, ['a', 'b', 'c']);
    expect((await server.handle(req('POST', '/stream/params', { prompt: 'p' }, { 'x-stream-id': 'hdr-b' }))).status).toBe(200);
    expect((await server.handle(req('POST', '/stream/params?stream_id=c', { prompt: 'q' }, { 'x-stream-id': 'hdr-b' }))).status).toBe(200);
    expect(made.map((s) => s.updates.length)).toEqual([0, 1, 1]);
    expect((await server.handle(req('POST', '/stream/stop', { stream_id: 'a' }, { 'x-stream-id': 'nope' }))).status).toBe(200);
    expect(made.map((s) => s.stopReason)).toEqual(['stopped', undefined, undefined]);
  });

  it('capacity > 1 and no id: 400 naming the problem, nothing stopped even with a single stream running', async () => {
    const { server, made } = await serverWith(2, ['x']);
    const r = await server.handle(req('POST', '/stream/stop'));
    expect(r.status).toBe(400);
    expect(message(r)).toMatch(/1 streams are running; name one with the X-Stream-Id header or stream_id/);
    expect(made[0]!.stopReason).toBeUndefined();
  });

  it('no stream at all: 400 as pytrickle without an id, 404 with one', async () => {
    const { server } = await serverWith(2, []);
    expect(message(await server.handle(req('POST', '/stream/stop')))).toBe('No active stream to stop');
    expect((await server.handle(req('POST', '/stream/stop', undefined, { 'x-stream-id': 'gone' }))).status).toBe(404);
  });

  it('Livepeer-Session-Id confines a request to its own session', async () => {
    const { server, made } = await serverWith(3, ['session_a', 'session_b']);
    const other = await server.handle(req('POST', '/stream/stop', { stream_id: 'session_b' }, { 'livepeer-session-id': 'session_a' }));
    expect(other.status).toBe(404);
    const otherHeader = await server.handle(req('POST', '/stream/params', { prompt: 'z' }, { 'livepeer-session-id': 'session_a', 'x-stream-id': 'session_b' }));
    expect(otherHeader.status).toBe(404);
    const gone = await server.handle(req('POST', '/stream/stop', undefined, { 'livepeer-session-id': 'session_zz' }));
    expect(gone.status).toBe(404);
    expect(made.map((s) => [s.stopReason, s.updates.length])).toEqual([
      [undefined, 0],
      [undefined, 0],
    ]);
    expect((await server.handle(req('POST', '/stream/stop', undefined, { 'livepeer-session-id': 'session_b' }))).status).toBe(200);
    expect(made.map((s) => s.stopReason)).toEqual([undefined, 'stopped']);
  });
});
