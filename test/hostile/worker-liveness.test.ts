/**
 * Streams that used to run forever without saying why: an input that drips a byte at a time, an
 * output that accepts the connection and never answers, a processor whose promise never settles,
 * an input with audio and no video. The bound each case asserts: the stream ends by itself with
 * the reason in its `stream_stopped` event, and its capacity slot is free again. Small timings
 * keep every case short; no duration is asserted.
 */
import { readFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';

import { createProcessor, TricklePublisher, type VideoFrame } from '../../src/index';
import { fixturePath } from '../helpers/fixtures';
import { FAST_TIMINGS, fixtureBytes, Harness, until } from '../helpers/worker-harness';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function harness(processor = createProcessor<VideoFrame>({ video: (f) => f }), timings: Record<string, number> = {}): Promise<Harness> {
  const h = await Harness.create(processor, { timings: { ...FAST_TIMINGS, ...timings } });
  cleanups.push(() => h.close());
  return h;
}

type Ev = { event: Record<string, unknown>; queue_event_type: string };
const stopped = (events: Ev[]) => events.find((e) => e.event['type'] === 'stream_stopped')?.event;

async function slotFree(h: Harness, id: string): Promise<void> {
  await until(() => h.server.streams().length === 0, `${id} to end`);
  const again = await h.start(`${id}-again`, {}, ['events']);
  expect(again.status).toBe(200);
}

describe('streams end by themselves and say why', () => {
  it('an input dripping a byte at a time counts as stalled', async () => {
    const h = await harness(undefined, { inputStallMs: 1500 });
    const events = h.events('drip');
    expect((await h.start('drip', {}, ['subscribe', 'publish', 'events'])).status).toBe(200);
    // One chunked POST to the input channel that sends the real stream one byte every 50 ms.
    const bytes = fixtureBytes();
    const socket: Socket = connect(Number(new URL(h.trickleUrl).port), '127.0.0.1');
    socket.on('error', () => undefined);
    cleanups.push(() => socket.destroy());
    socket.write('POST /drip/0 HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n');
    let sent = 0;
    const drip = setInterval(() => socket.writable && socket.write(`1\r\n${String.fromCharCode(bytes[sent++] as number)}\r\n`, 'latin1'), 50);
    cleanups.push(() => clearInterval(drip));
    await until(() => stopped(events) !== undefined, 'stream_stopped');
    expect(stopped(events)).toMatchObject({ reason: 'input_stalled' });
    expect(sent).toBeGreaterThan(5);
    expect(events.some((e) => e.event['type'] === 'error' && String(e.event['message']).startsWith('input stalled'))).toBe(true);
    await slotFree(h, 'drip');
  });

  it('an output that accepts the connection and never answers ends the stream with a clear error and frees the slot', async () => {
    const silent: Server = createServer((s) => {
      s.on('error', () => undefined);
      cleanups.push(() => s.destroy());
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => silent.close(() => resolve())));
    const h = await harness(undefined, { outputStallMs: 1500, drainMs: 1000 });
    const urls = h.channels('mute', ['subscribe', 'events']);
    const events = h.events('mute');
    const silentUrl = `http://127.0.0.1:${(silent.address() as { port: number }).port}/mute-out`;
    const r = await h.post('/stream/start', { gateway_request_id: 'mute', ...urls, publish_url: silentUrl, params: { max_framerate: 60 } });
    expect(r.status).toBe(200);
    await h.publishInput('mute', fixtureBytes(), { segments: 2, keepOpen: true });
    await until(() => stopped(events) !== undefined, 'stream_stopped');
    expect(stopped(events)).toMatchObject({ reason: 'error', error: expect.stringMatching(/^output: output stalled: could not deliver segment \d+ within 1500 ms$/) });
    await slotFree(h, 'mute');
  });

  it('a processor whose promise never settles: deadline event and DEGRADED_INFERENCE, then the stream ends and its output is DELETEd', async () => {
    const h = await harness(
      createProcessor<VideoFrame>({ video: () => new Promise<VideoFrame>(() => undefined) }),
      { processorDeadlineMs: 300, processorTimeoutMs: 2500, statusMs: 100 },
    );
    const events = h.events('hung');
    expect((await h.start('hung', { max_framerate: 60 })).status).toBe(200);
    await h.publishInput('hung', fixtureBytes(), { keepOpen: true });
    await until(() => events.some((e) => e.event['type'] === 'error' && e.event['message'] === 'processVideo exceeded its 300 ms deadline'), 'the deadline event');
    await until(() => events.some((e) => e.event['type'] === 'status' && e.event['state'] === 'DEGRADED_INFERENCE'), 'a DEGRADED_INFERENCE status');
    const metrics = await (await fetch(`${h.server.url}/metrics`)).text();
    expect(metrics).toMatch(/^trickle_rt_processor_deadline_misses_total [1-9]/m);
    await until(() => stopped(events) !== undefined, 'stream_stopped');
    expect(stopped(events)).toMatchObject({ reason: 'error', error: 'processVideo did not settle within 2500 ms' });
    // The output channel was closed with DELETE (the orchestrator's server no longer has it).
    await until(() => !h.trickle.hasChannel('hung-out'), 'the output DELETE');
    await slotFree(h, 'hung');
  });

  it('audio-only input: an error event says there is no video, and the stream ends', async () => {
    const h = await harness();
    const events = h.events('radio');
    expect((await h.start('radio', {})).status).toBe(200);
    await h.publishInput('radio', readFileSync(fixturePath('audioOnly')), { keepOpen: true });
    await until(() => stopped(events) !== undefined, 'stream_stopped');
    const message = 'input has no video stream (audio only): nothing to process';
    expect(events.some((e) => e.event['type'] === 'error' && e.event['message'] === message)).toBe(true);
    expect(stopped(events)).toMatchObject({ reason: 'error', error: message });
    await slotFree(h, 'radio');
  });

  it('an input segment cut by its publisher is decoded as far as it went; the stream goes on with the next', async () => {
    const h = await harness();
    const out = h.output('cut');
    expect((await h.start('cut', { max_framerate: 60 })).status).toBe(200);
    const stream = h.server.stream('cut')!;
    const events = h.events('cut');
    const bytes = fixtureBytes();
    const half = Math.floor(bytes.length / 2 / 188) * 188;
    // Segment 0: half the stream, then the publisher vanishes mid-body.
    const killed = new TricklePublisher(`${h.trickleUrl}/cut`, { mime: 'video/MP2T', start: 0 });
    const seg = await killed.next();
    await seg.write(bytes.subarray(0, half));
    await until(() => (h.trickle.channelInfo('cut')?.segments[0]?.bytes ?? 0) === half, 'the first half at the server');
    killed.destroy();
    // Segment 1 onwards: the rest, from a new publisher.
    const next = new TricklePublisher(`${h.trickleUrl}/cut`, { mime: 'video/MP2T', start: 1 });
    await next.writeSegment(bytes.subarray(half));
    await next.close();
    await out.done;
    expect(await stream.done).toEqual({ reason: 'input_ended' });
    // The default transport tells the cut as a short outage of the input channel.
    expect(events.some((e) => e.event['type'] === 'transport_outage' && e.event['channel'] === 'input')).toBe(true);
    // Both halves were decoded (60 frames in all, one cut by the abort). How many leave depends on
    // the queue's age bound (this input arrives faster than real time), so the output only has to
    // go on; the decoded count is the measure.
    expect(stream.stats.snapshot().framesIn).toBeGreaterThan(45);
    expect(out.frames.length).toBeGreaterThan(0);
  });
});
