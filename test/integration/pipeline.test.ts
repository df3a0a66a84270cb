/**
 * End to end over real sockets: TrickleServer (as the orchestrator) → StreamServer worker with real
 * decode/encode → output decoded back; assertions on pixels, counts, events and data lines.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';


import DataEmitter from '../../examples/data-emitter';
import { createProcessor } from '../../src/processor/create-processor';
import { createTintProcessor } from '../../src/processor/samples/tint';
import type { VideoFrame } from '../../src/media/video-frame';
import type { AudioFrame } from '../../src/media/audio-frame';
import { fixturePath } from '../helpers/fixtures';
import { dominance, fixtureBytes, Harness, until } from '../helpers/worker-harness';

const harnesses: Harness[] = [];
afterEach(async () => {
  for (const h of harnesses.splice(0)) await h.close();
});
async function harness(...args: Parameters<typeof Harness.create>) {
  const h = await Harness.create(...args);
  harnesses.push(h);
  return h;
}

const RED = 0;
const BLUE = 2;

describe('worker pipeline end to end', () => {
  it('start → frames flow → the tint is in the decoded output pixels; input EOS → output EOS; events', async () => {
    const h = await harness(createTintProcessor());
    const start = await h.start('s1', { tint: 'red', max_framerate: 60 });
    expect(start.status).toBe(200);
    const events = h.events('s1');
    const out = h.output('s1');
    await h.publishInput('s1', fixtureBytes(), { segments: 2 });
    await out.done; // the worker DELETEd its output: EOS
    await until(() => h.server.streams().length === 0, 'the stream to unregister');
    expect(out.frames).toHaveLength(60);
    expect(out.frames.every((f) => f.width === 512 && f.height === 512)).toBe(true);
    for (const f of out.frames) expect(dominance(f.rgb, RED)).toBeGreaterThan(40);
    const pts = out.frames.map((f) => f.pts!);
    expect(pts.every((p, i) => i === 0 || p > pts[i - 1]!)).toBe(true);
    await until(() => events.some((e) => e.event['type'] === 'stream_stopped'), 'stream_stopped event');
    const types = new Set(events.map((e) => e.event['type']));
    for (const t of ['heartbeat', 'status', 'receive_first_ingest_segment', 'send_first_processed_segment', 'stream_stopped']) expect(types).toContain(t);
    expect(events.find((e) => e.event['type'] === 'heartbeat')!.queue_event_type).toBe('stream_heartbeat');
    expect(events.find((e) => e.event['type'] === 'stream_stopped')!.event['reason']).toBe('input_ended');
    expect(((await (await fetch(`${h.server.url}/health`)).json()) as { status: string }).status).toBe('IDLE');
  });

  for (const via of ['http', 'control'] as const) {
    it(`a params change over ${via} changes the output`, async () => {
      const h = await harness(createTintProcessor());
      await h.start('p', { tint: 'red', max_framerate: 60 });
      const events = h.events('p');
      const out = h.output('p');
      const data = fixtureBytes();
      const half = Math.floor(data.length / 2 / 188) * 188;
      const pub = await h.publishInput('p', data.subarray(0, half), { keepOpen: true });
      await until(() => out.frames.length >= 10, 'red frames out');
      if (via === 'http') expect((await h.post('/stream/params', { tint: 'blue' })).status).toBe(200);
      else await h.control('p', { tint: 'blue' });
      await until(() => events.some((e) => e.event['type'] === 'params_updated'), 'params_updated');
      await pub.writeSegment(data.subarray(half));
      await pub.close();
      await out.done;
      expect(dominance(out.frames[0]!.rgb, RED)).toBeGreaterThan(40);
      expect(dominance(out.frames.at(-1)!.rgb, BLUE)).toBeGreaterThan(40);
      const updates = events.filter((e) => e.event['type'] === 'params_updated');
      expect(updates).toHaveLength(1);
      expect(updates[0]!.event).toMatchObject({ params: { tint: 'blue' }, source: via });
    });
  }

  it('data lines from the processor arrive on the data channel as JSONL', async () => {
    const h = await harness(new DataEmitter());
    await h.start('d', { max_framerate: 60, every: 12 });
    const lines = h.data('d');
    const out = h.output('d');
    await h.publishInput('d', fixtureBytes());
    await out.done;
    await until(() => lines.length >= 5, 'five data lines');
    const parsed = lines.map((l) => JSON.parse(l) as { frame: number; brightness: number });
    expect(parsed.map((p) => p.frame)).toEqual([12, 24, 36, 48, 60]);
    for (const p of parsed) expect(p.brightness).toBeGreaterThan(10);
  });

  it('/stream/stop ends the output with EOS while the input is still open', async () => {
    const h = await harness(createTintProcessor());
    await h.start('st', { max_framerate: 60 });
    const events = h.events('st');
    const out = h.output('st');
    const data = fixtureBytes();
    const pub = await h.publishInput('st', data.subarray(0, Math.floor(data.length / 2 / 188) * 188), { keepOpen: true });
    await until(() => out.frames.length >= 5, 'frames out');
    const stop = await h.post('/stream/stop', {});
    expect(stop).toEqual({ status: 200, body: { status: 'success', message: 'Stream stopped successfully' } });
    await out.done; // EOS on the output
    expect(out.frames.length).toBeGreaterThanOrEqual(5);
    expect(h.server.streams()).toHaveLength(0);
    await until(() => events.some((e) => e.event['type'] === 'stream_stopped'), 'stream_stopped');
    expect(events.find((e) => e.event['type'] === 'stream_stopped')!.event['reason']).toBe('stopped');
    await pub.close();
  });

  it('two streams at once, each with its own params; a third start → 503', async () => {
    const h = await harness(createTintProcessor(), { capacity: 2 });
    expect((await h.start('a', { tint: 'red', max_framerate: 60 })).status).toBe(200);
    expect((await h.start('b', { tint: 'blue', max_framerate: 60 })).status).toBe(200);
    const third = await h.start('c', {});
    expect(third.status).toBe(503);
    expect(third.body['message']).toBe('Pipeline is still in use');
    const oa = h.output('a');
    const ob = h.output('b');
    await Promise.all([h.publishInput('a', fixtureBytes()), h.publishInput('b', fixtureBytes())]);
    await Promise.all([oa.done, ob.done]);
    expect(oa.frames).toHaveLength(60);
    expect(ob.frames).toHaveLength(60);
    for (const f of oa.frames) expect(dominance(f.rgb, RED)).toBeGreaterThan(40);
    for (const f of ob.frames) expect(dominance(f.rgb, BLUE)).toBeGreaterThan(40);
  });

  it('a processor that throws drops only those frames; the stream goes on and reports errors', async () => {
    let n = 0;
    const h = await harness(
      createProcessor<VideoFrame>({
        video: (f) => {
          n += 1;
          if (n % 5 === 0) throw new Error(`bad frame ${n}`);
          return f;
        },
      }),
    );
    await h.start('t', { max_framerate: 60 });
    const events = h.events('t');
    const out = h.output('t');
    await h.publishInput('t', fixtureBytes());
    await out.done;
    expect(out.frames).toHaveLength(48);
    await until(() => events.some((e) => e.event['type'] === 'error'), 'error event');
    expect(String(events.find((e) => e.event['type'] === 'error')!.event['message'])).toMatch(/^processVideo failed: bad frame/);
    await until(() => events.some((e) => e.event['type'] === 'stream_stopped'), 'stream_stopped');
    expect(events.find((e) => e.event['type'] === 'stream_stopped')?.event['reason']).toBe('input_ended');
  });

  it('an input that stalls ends the stream as input_stalled and closes the output', async () => {
    const h = await harness(createTintProcessor(), { timings: { heartbeatMs: 300, statusMs: 500, inputStallMs: 700, retryInitialMs: 20, retryMaxMs: 200 } });
    await h.start('x', { max_framerate: 60 });
    const events = h.events('x');
    const out = h.output('x');
    const data = fixtureBytes();
    const pub = await h.publishInput('x', data.subarray(0, Math.floor(data.length / 2 / 188) * 188), { keepOpen: true });
    await out.done; // ends without input EOS
    expect(out.frames.length).toBeGreaterThan(10);
    await until(() => events.some((e) => e.event['type'] === 'stream_stopped'), 'stream_stopped');
    expect(events.find((e) => e.event['type'] === 'stream_stopped')!.event['reason']).toBe('input_stalled');
    expect(events.some((e) => e.event['type'] === 'error' && /input stalled/.test(String(e.event['message'])))).toBe(true);
    await pub.close();
  });

  it('a control channel that disappears does not end the stream; updates work again once it is back', async () => {
    const h = await harness(createTintProcessor());
    await h.start('cc', { tint: 'red', max_framerate: 60 });
    const events = h.events('cc');
    const out = h.output('cc');
    const data = fixtureBytes();
    const half = Math.floor(data.length / 2 / 188) * 188;
    const pub = await h.publishInput('cc', data.subarray(0, half), { keepOpen: true });
    await until(() => out.frames.length >= 5, 'frames out');
    const subscriptions = () => h.trickle.channelInfo('cc-control')?.subscribers ?? 0;
    h.trickle.deleteChannel('cc-control'); // the control channel vanishes
    await new Promise((r) => setTimeout(r, 500)); // several re-subscribe attempts fail meanwhile
    expect(h.server.stream('cc')?.phase).toBe('running');
    h.trickle.createChannel('cc-control', 'application/json');
    await until(() => subscriptions() > 0, 'the worker to re-subscribe');
    const ctl = await h.control('cc', { tint: 'blue' });
    await until(() => events.some((e) => e.event['type'] === 'params_updated'), 'update after the channel came back');
    await pub.writeSegment(data.subarray(half));
    await pub.close();
    await out.done;
    await ctl.close();
    expect(dominance(out.frames.at(-1)!.rgb, BLUE)).toBeGreaterThan(40);
    await until(() => events.some((e) => e.event['type'] === 'stream_stopped'), 'stream_stopped');
    expect(events.find((e) => e.event['type'] === 'stream_stopped')?.event['reason']).toBe('input_ended');
  });

  it('audio: an audio hook gets decoded frames and its output is encoded (AAC) into the output', async () => {
    let audioFrames = 0;
    const h = await harness(
      createProcessor<VideoFrame, AudioFrame>({
        inputSize: 'native',
        audio: (frame) => {
          audioFrames += 1;
          return frame;
        },
      }),
    );
    await h.start('au', { max_framerate: 60 });
    const out = h.output('au');
    await h.publishInput('au', readFileSync(fixturePath('testsrc320Audio')));
    await out.done;
    expect(audioFrames).toBeGreaterThan(20); // 1 s of 48 kHz AAC = ~47 frames
    expect(out.frames).toHaveLength(30);
    const file = join(mkdtempSync(join(tmpdir(), 'trt-audio-')), 'out.ts');
    writeFileSync(file, Buffer.concat(out.raw));
    const probe = JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_type,codec_name', '-of', 'json', file]).toString()) as {
      streams: Array<{ codec_type: string; codec_name: string }>;
    };
    expect(probe.streams.find((s) => s.codec_type === 'audio')?.codec_name).toBe('aac');
  });

  it('audio passthrough: every input audio packet is in the output, from the first one (no wait, none lost at start)', async () => {
    const h = await harness(createProcessor<VideoFrame, AudioFrame>({ inputSize: 'native' }));
    await h.start('pt', { max_framerate: 60 });
    const out = h.output('pt');
    const input = fixturePath('testsrc320Audio');
    await h.publishInput('pt', readFileSync(input));
    await out.done;
    expect(out.frames).toHaveLength(30);
    const file = join(mkdtempSync(join(tmpdir(), 'trt-pt-')), 'out.ts');
    writeFileSync(file, Buffer.concat(out.raw));
    const audioPts = (path: string) =>
      execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'a:0', '-show_entries', 'packet=pts', '-of', 'csv=p=0', path])
        .toString()
        .split('\n')
        .filter((line) => /^\d/.test(line))
        .map((line) => Number(line.split(',')[0]));
    const inPts = audioPts(input);
    const outPts = audioPts(file);
    expect(inPts.length).toBeGreaterThan(40);
    expect(outPts).toEqual(inPts);
  });

  it('garbage input ends that stream with an error; a stream beside it is unaffected', async () => {
    const h = await harness(createTintProcessor(), { capacity: 2 });
    await h.start('bad', { max_framerate: 60 });
    await h.start('good', { tint: 'red', max_framerate: 60 });
    const badEvents = h.events('bad');
    const badOut = h.output('bad');
    const goodOut = h.output('good');
    const garbage = Buffer.alloc(300_000);
    for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 2654435761) >>> 24;
    await Promise.all([h.publishInput('bad', garbage), h.publishInput('good', fixtureBytes())]);
    await Promise.all([badOut.done, goodOut.done]);
    expect(badOut.frames).toHaveLength(0);
    expect(goodOut.frames).toHaveLength(60);
    for (const f of goodOut.frames) expect(dominance(f.rgb, RED)).toBeGreaterThan(40);
    await until(() => badEvents.some((e) => e.event['type'] === 'stream_stopped'), 'stream_stopped of the bad stream');
    expect(badEvents.find((e) => e.event['type'] === 'stream_stopped')!.event).toMatchObject({ reason: 'error', error: expect.stringMatching(/^decode: .*not a readable media container/) });
    expect(badEvents.some((e) => e.event['type'] === 'error' && /^decode failed/.test(String(e.event['message'])))).toBe(true);
    await until(() => h.server.streams().length === 0, 'both streams to end');
    expect(((await (await fetch(`${h.server.url}/health`)).json()) as { status: string }).status).toBe('IDLE');
  });
});
