/**
 * The stream pipeline's restart of a failed encoder, with the real decoder and encoder: the native
 * fault `encoder-fails-at-frame-25` (TRICKLE_RT_INJECT) makes every encoder fail with ERR_ENCODE at
 * its 25th frame, as a GPU encoder dying mid-stream. The 60-frame input thus fails the first
 * encoder at input frame 25 and its replacement some 25 frames later (the frames still queued in
 * a failed encoder, at most 4, are lost with it); the third encoder takes the rest. The stream goes on to the end of its
 * input, its output decodes, and the restarts are counted and told. (A failure while the encoder
 * flushes after the input ended is not restarted: the stream ends with the error.)
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { createTintProcessor } from '../../src/processor/samples/tint';
import { fixtureBytes, Harness, until } from '../helpers/worker-harness';

const before = process.env['TRICKLE_RT_INJECT'];
beforeAll(() => {
  process.env['TRICKLE_RT_INJECT'] = 'encoder-fails-at-frame-25';
});
afterAll(() => {
  if (before === undefined) delete process.env['TRICKLE_RT_INJECT'];
  else process.env['TRICKLE_RT_INJECT'] = before;
});

const harnesses: Harness[] = [];
afterEach(async () => {
  for (const h of harnesses.splice(0)) await h.close();
});

describe('encoder restarts with the native backend', () => {
  it('an encoder that fails natively is replaced twice; the stream reaches its end; restart events and restart_count', async () => {
    const h = await Harness.create(createTintProcessor());
    harnesses.push(h);
    expect((await h.start('r', { tint: 'red', max_framerate: 60 })).status).toBe(200);
    const events = h.events('r');
    const out = h.output('r');
    await h.publishInput('r', fixtureBytes(), { segments: 2 });
    await out.done;
    await until(() => events.some((e) => e.event['type'] === 'stream_stopped'), 'stream_stopped event');
    expect(events.find((e) => e.event['type'] === 'stream_stopped')!.event['reason']).toBe('input_ended');
    const restarts = events.filter((e) => e.event['type'] === 'restart').map((e) => e.event);
    expect(restarts).toEqual([
      expect.objectContaining({ component: 'encoder', code: 'ERR_ENCODE', restart_count: 1 }),
      expect.objectContaining({ component: 'encoder', code: 'ERR_ENCODE', restart_count: 2 }),
    ]);
    expect(String(restarts[0]!['error'])).toContain('injected encoder failure at frame 25');
    await until(() => events.filter((e) => e.event['type'] === 'status').some((e) => e.event['state'] === 'OFFLINE'), 'the last status event');
    const last = events.filter((e) => e.event['type'] === 'status').at(-1)!.event;
    expect(last).toMatchObject({ state: 'OFFLINE', restart_count: 2, inference_status: { restart_count: 2 } });
    // What the failed encoders held is lost; what came out decodes, with increasing timestamps.
    expect(out.frames.length).toBeGreaterThan(20);
    expect(out.frames.length).toBeLessThanOrEqual(60);
    const pts = out.frames.map((f) => f.pts!);
    expect(pts.every((p, i) => i === 0 || p > pts[i - 1]!)).toBe(true);
  });
});
