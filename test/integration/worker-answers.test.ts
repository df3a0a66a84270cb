/**
 * What the worker answers a user's mistakes with (issue: every mistake gets a clear answer): a
 * missing input channel, a start without subscribe_url, params refused by the processor's schema,
 * and the one-line summary of a stream's end.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';

import { createProcessor } from '../../src/processor/create-processor';
import { DataSubscriber, parseDataSegment } from '../../src/trickle/data-subscriber';
import { TrickleSubscriber } from '../../src/trickle/trickle-subscriber';
import { createLogger } from '../../src/logger';
import { Harness, fixtureBytes, until } from '../helpers/worker-harness';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

function capture(): { lines: Array<Record<string, unknown>>; logger: ReturnType<typeof createLogger> } {
  const lines: Array<Record<string, unknown>> = [];
  return { lines, logger: createLogger({ level: 'info', write: (l) => lines.push(JSON.parse(l) as Record<string, unknown>) }) };
}

describe('worker answers', () => {
  it('a missing input channel ends the stream naming it (not a decoder error), with a summary line', async () => {
    const log = capture();
    h = await Harness.create(createProcessor({ video: (f) => f }), { logger: log.logger });
    // The gateway "forgot" to create the input channel: only output and events exist.
    const urls = h.channels('m', ['publish', 'events']);
    const events = h.events('m');
    const res = await h.post('/stream/start', { gateway_request_id: 'm', subscribe_url: `${h.trickleUrl}/m`, ...urls });
    expect(res.status).toBe(200);
    const end = await h.server.stream('m')!.done;
    expect(end.reason).toBe('error');
    expect(end.error).toBe(`input channel not found: ${h.trickleUrl}/m answered 404 (check subscribe_url, and that the gateway created the channel before /stream/start)`);
    await until(() => events.some((e) => e.event['type'] === 'stream_stopped'), 'stream_stopped event');
    const errors = events.filter((e) => e.event['type'] === 'error').map((e) => String(e.event['message']));
    expect(errors.join('\n')).toContain('input channel not found');
    expect(errors.join('\n')).not.toMatch(/decode failed/);
    const summary = log.lines.find((l) => l['msg'] === 'stream ended' && l['stream_id'] === 'm');
    expect(summary).toMatchObject({ reason: 'error', frames_in: 0, frames_out: 0, frames_dropped: 0 });
    expect(String(summary?.['summary'])).toMatch(/^stream ended \(error: input channel not found: .*\) after \d+\.\d s: 0 frames in, 0 out, 0 not output/);
  });

  it('a stream that ran ends with frames in/out in its summary', async () => {
    const log = capture();
    h = await Harness.create(createProcessor({ inputSize: 'native', video: (f) => f }), { logger: log.logger });
    expect((await h.start('r')).status).toBe(200);
    await h.publishInput('r', fixtureBytes());
    const end = await h.server.stream('r')!.done;
    expect(end.reason).toBe('input_ended');
    const summary = log.lines.find((l) => l['msg'] === 'stream ended' && l['stream_id'] === 'r')!;
    expect(summary['frames_in']).toBe(60);
    expect(Number(summary['frames_out']) + Number(summary['frames_dropped'])).toBe(60);
    expect(String(summary['summary'])).toContain(`60 frames in, ${summary['frames_out']} out`);
  });

  it('publishData and sendEvent on the processor reach the streams it serves (pytrickle send_data / send_monitoring_event)', async () => {
    const processor = createProcessor({ inputSize: 'native', video: (f) => f });
    h = await Harness.create(processor);
    expect(processor.publishData({ before: true })).toBe(false); // no stream yet
    expect((await h.start('p')).status).toBe(200);
    const data = h.data('p');
    const events = h.events('p');
    const publisher = await h.publishInput('p', fixtureBytes(), { keepOpen: true });
    await until(() => h!.server.stream('p')?.phase === 'running', 'stream running');
    expect(processor.publishData({ detections: 3 })).toBe(true);
    expect(processor.sendEvent({ type: 'model_note', note: 'warm' })).toBe(1);
    await until(() => data.some((l) => l.includes('"detections":3')), 'data line');
    await until(() => events.some((e) => e.event['type'] === 'model_note'), 'custom event');
    expect(events.find((e) => e.event['type'] === 'model_note')?.queue_event_type).toBe('custom_monitoring_event');
    await publisher.close();
    await h.server.stream('p')!.done;
    expect(processor.publishData({ after: true })).toBe(false); // the stream ended: detached
  });

  it('a start with publish_url but without subscribe_url is 400 and holds no slot', async () => {
    h = await Harness.create(createProcessor({ video: (f) => f }));
    const urls = h.channels('n', ['publish', 'events']);
    const res = await h.post('/stream/start', { gateway_request_id: 'n', ...urls });
    expect(res.status).toBe(400);
    expect(res.body['message']).toMatch(/^Error starting stream: subscribe_url is required: the trickle channel this worker reads the input video from/);
    expect(h.server.streams()).toEqual([]);
    expect((await (await fetch(`${h.server.url}/health`)).json()) as unknown).toEqual({ status: 'IDLE' });
  });

  it("the processor's params schema answers 400 before a frame: at start, on /stream/params, on the control channel", async () => {
    const seen: unknown[] = [];
    const processor = createProcessor({
      inputSize: 'native',
      paramsSchema: z.object({ gain: z.number().min(0).max(4).default(1) }).passthrough(),
      video: (f, ctx) => {
        seen.push(ctx.params['gain']);
        return f;
      },
    });
    h = await Harness.create(processor);
    const bad = await h.start('z', { gain: 'bright' });
    expect(bad.status).toBe(400);
    expect(bad.body['message']).toBe('Error starting stream: invalid params: gain: Expected number, received string');
    expect(h.server.streams()).toEqual([]);
    // The schema's default fills in gain at start.
    const urls = { subscribe_url: `${h.trickleUrl}/z`, publish_url: `${h.trickleUrl}/z-out`, events_url: `${h.trickleUrl}/z-events`, control_url: `${h.trickleUrl}/z-control` };
    const ok = await h.post('/stream/start', { gateway_request_id: 'z', ...urls, params: {} });
    expect(ok.status).toBe(200);
    expect(h.server.stream('z')!.params['gain']).toBe(1);
    const refused = await h.post('/stream/params', { gain: 'bright' });
    expect(refused).toEqual({ status: 400, body: { status: 'error', message: 'Parameter update failed: gain: Expected number, received string' } });
    expect(h.server.stream('z')!.params['gain']).toBe(1); // unchanged
    expect((await h.post('/stream/params', { gain: 2 })).status).toBe(200);
    expect(h.server.stream('z')!.params['gain']).toBe(2);
    const events = h.events('z');
    await h.control('z', { gain: -5 });
    await until(() => events.some((e) => e.event['type'] === 'error' && String(e.event['message']).includes('Parameter update refused: gain')), 'control refusal event');
    expect(h.server.stream('z')!.params['gain']).toBe(2);
    await h.publishInput('z', fixtureBytes());
    await h.server.stream('z')!.done;
    expect(seen.length).toBeGreaterThan(0);
    expect(new Set(seen)).toEqual(new Set([2])); // every frame saw a validated value
  });

  it('the route prefix applies to every route; the system routes also answer at the root', async () => {
    h = await Harness.create(createProcessor({ video: (f) => f }), { routePrefix: '/live' });
    for (const path of ['/live/health', '/health', '/live/version', '/version', '/live/metrics', '/live/hardware/info', '/live/stream/status']) {
      expect((await fetch(`${h.server.url}${path}`)).status, path).toBe(200);
    }
    expect((await fetch(`${h.server.url}/stream/status`)).status).toBe(404);
    expect(((await (await fetch(`${h.server.url}/live/health`)).json()) as { status: string }).status).toBe('IDLE');
  });
});

describe('data channel formats', () => {
  it("'documents': one JSON document per segment (json.loads(segment.data) readers); DataSubscriber reads both formats", async () => {
    for (const dataFormat of ['documents', 'lines'] as const) {
      const processor = createProcessor({ inputSize: 'native', video: (f, ctx) => (ctx.publishData({ pts: f.constructor.name, n: 1 }), f) });
      h = await Harness.create(processor, { dataFormat });
      expect((await h.start('d')).status).toBe(200);
      const raw = new TrickleSubscriber(`${h.trickleUrl}/d-data`, { start: 0 });
      const reader = new DataSubscriber(`${h.trickleUrl}/d-data`, { start: 0 });
      const segments = (async () => {
        const texts: string[] = [];
        for await (const seg of raw) texts.push((await seg.bytes()).toString('utf8'));
        return texts;
      })();
      const values = (async () => {
        const out: unknown[] = [];
        for await (const m of reader) out.push(m.value);
        return out;
      })();
      await h.publishInput('d', fixtureBytes());
      await h.server.stream('d')!.done;
      const texts = await segments;
      const read = await values;
      expect(read.length).toBeGreaterThan(0);
      expect(read.every((v) => (v as { n: number }).n === 1)).toBe(true);
      if (dataFormat === 'documents') {
        // Every segment is exactly one JSON document.
        expect(texts.length).toBe(read.length);
        for (const t of texts) expect(() => JSON.parse(t)).not.toThrow();
      } else {
        // Batched lines: fewer segments than values, each line one value.
        expect(texts.flatMap((t) => parseDataSegment(t))).toEqual(read);
      }
      await h.close();
      h = undefined;
    }
  });

  it('parseDataSegment: JSON lines, a pretty-printed document, and a clear error for neither', () => {
    expect(parseDataSegment('{"a":1}\n{"b":2}\n')).toEqual([{ a: 1 }, { b: 2 }]);
    expect(parseDataSegment('{\n  "a": [1,\n 2]\n}\n')).toEqual([{ a: [1, 2] }]);
    expect(() => parseDataSegment('{"a":', 7)).toThrow(/^data segment 7 is neither JSON lines nor one JSON document/);
  });
});
