/**
 * A BYOC stream with real media through a go-livepeer-like orchestrator (self-signed HTTPS) that
 * goes away mid-stream and comes back with its channels (a proxy or network outage, a trickle
 * server restart): the stream survives, output resumes by itself, events say what happened, and
 * the outage costs at most the output segment it cut.
 */
import { readFileSync } from 'node:fs';

import { afterEach, describe, expect, it } from 'vitest';

import { Decoder } from '../../src/media/decoder';
import { createTintProcessor } from '../../src/processor/samples/tint';
import { createLogger, silentLogger } from '../../src/logger';
import { TricklePublisher } from '../../src/trickle/trickle-publisher';
import { TrickleSubscriber } from '../../src/trickle/trickle-subscriber';
import { StreamServer } from '../../src/worker/stream-server';
import { fixturePath } from '../helpers/fixtures';
import { LocalOrchestrator } from '../helpers/local-orchestrator';
import { FAST_TIMINGS, until } from '../helpers/worker-harness';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** The tint processor as a BYOC worker of `orch`, riding out transport outages up to `outageMs`. */
async function tintWorker(orch: LocalOrchestrator, outageMs: number): Promise<StreamServer> {
  const server = new StreamServer({
    processor: createTintProcessor(),
    port: 0,
    host: '127.0.0.1',
    logger: process.env['DBG'] ? createLogger({ level: 'debug' }) : silentLogger,
    capabilityName: 'tint',
    register: 'byoc',
    byoc: { orchUrl: orch.url, orchSecret: orch.secret, watchIntervalMs: 200 },
    timings: { ...FAST_TIMINGS, outageMs },
    queueSize: 256,
    // 10 fps input, a segment (keyframe) every 0.5 s of media time: 5 frames per output segment.
    media: { device: 'cpu', gopSeconds: 0.5 },
  });
  await server.listen();
  await server.initialize();
  cleanups.push(() => server.shutdown());
  return server;
}

/** Reads and decodes a channel until its end, going on past segments cut by the outage. */
function readOutput(url: string, signal: AbortSignal): { frames: () => number; done: Promise<void> } {
  let frames = 0;
  const decoder = new Decoder({ device: 'cpu', audio: 'none' });
  const sub = new TrickleSubscriber(url, { start: 0, signal });
  const feed = (async () => {
    try {
      for (;;) {
        const segment = await sub.read();
        if (!segment) return;
        try {
          for await (const chunk of segment) await decoder.push(chunk);
        } catch {
          // cut by the outage: the next segment follows
        }
      }
    } finally {
      decoder.end();
    }
  })();
  const decoding = (async () => {
    for await (const item of decoder.frames({ signal })) {
      if (item.type === 'video') {
        frames++;
        item.frame.close();
      }
    }
  })();
  return { frames: () => frames, done: Promise.all([feed, decoding]).then(() => undefined) };
}

function readEvents(url: string, signal: AbortSignal): Array<Record<string, unknown>> {
  const list: Array<Record<string, unknown>> = [];
  const sub = new TrickleSubscriber(url, { start: 0, signal });
  void (async () => {
    for (;;) {
      const segment = await sub.read();
      if (!segment) return;
      try {
        list.push((JSON.parse((await segment.bytes()).toString('utf8')) as { event: Record<string, unknown> }).event);
      } catch {
        // cut by the outage
      }
    }
  })().catch(() => undefined);
  return list;
}

describe('an orchestrator outage mid-stream', () => {
  it('the stream rides it out: output resumes by itself, transport events, only the cut segment is lost', async () => {
    const orch = new LocalOrchestrator();
    await orch.start();
    cleanups.push(() => orch.close());
    const server = await tintWorker(orch, 15_000);
    expect(await server.registrationResult()).toMatchObject({ registered: true });
    orch.capabilities.get('tint')!.url = server.url;

    const { reply, stream } = await orch.startStream('tint', { params: { tint: 'red', width: 64, height: 64, max_framerate: 30 } });
    expect(reply.status).toBe(200);
    const aborts = new AbortController();
    cleanups.push(() => aborts.abort());
    const out = readOutput(stream.urls.publish_url, aborts.signal);
    const events = readEvents(stream.urls.events_url, aborts.signal);

    // 60 frames (6 s at 10 fps) in 6 input segments: 3 before the outage, 3 after.
    const input = readFileSync(fixturePath('tiny'));
    const per = Math.ceil(input.length / 6 / 188) * 188;
    const parts: Buffer[] = [0, 1, 2, 3, 4, 5].map((i) => input.subarray(i * per, Math.min(input.length, (i + 1) * per)));
    const before = new TricklePublisher(stream.urls.subscribe_url, { start: 0 });
    cleanups.push(() => before.destroy());
    // In real time, as a gateway publishes (a burst would be partly dropped as stale frames).
    const realTime = async (pub: TricklePublisher, list: Buffer[]): Promise<void> => {
      for (const part of list) {
        await pub.writeSegment(part);
        await new Promise((r) => setTimeout(r, 1000));
      }
    };
    await realTime(before, parts.slice(0, 3));
    await until(() => out.frames() >= 20, 'output before the outage');
    const framesBefore = out.frames();

    await orch.stop(false);
    await new Promise((r) => setTimeout(r, 1500));
    await orch.start();
    // The worker is back when its input GET waits on the restarted server (publishing earlier, faster
    // than real time, would let it skip what was written meanwhile to reach the live edge).
    await until(() => (orch.trickle.channelInfo(stream.id)?.subscribers ?? 0) >= 1, 'the worker to wait on its input again');

    const after = new TricklePublisher(stream.urls.subscribe_url, { start: 'next' });
    cleanups.push(() => after.destroy());
    await realTime(after, parts.slice(3));
    // A gateway ends its input when its source ends, not the moment it wrote the last bytes: let the
    // worker take in all 6 input segments before the DELETE.
    const handle = server.stream(stream.id)!;
    await until(() => handle.stats.snapshot().segmentsIn >= 6, 'the worker to read all the input');
    await after.close();
    await out.done;

    expect(out.frames()).toBeGreaterThan(framesBefore + 20);
    // At most the output segment open across the outage (5 frames) and the one after it.
    expect(out.frames()).toBeGreaterThanOrEqual(50);
    await until(() => server.streams().length === 0, 'the stream to end');
    await until(() => events.some((e) => e['type'] === 'stream_stopped'), 'stream_stopped');
    expect(events.find((e) => e['type'] === 'stream_stopped')!['reason']).toBe('input_ended');
    const outage = events.filter((e) => e['type'] === 'transport_outage' || e['type'] === 'transport_recovered');
    expect(outage.some((e) => e['type'] === 'transport_recovered')).toBe(true);
    for (const e of outage) expect(['input', 'output']).toContain(e['channel']);
    // The orchestrator came back with a new certificate; the worker registered again.
    expect(orch.requests('POST', '/capability/register').length).toBeGreaterThanOrEqual(1);
  });

  it('an outage longer than the bound ends the stream with an error that says so', async () => {
    const orch = new LocalOrchestrator();
    await orch.start();
    cleanups.push(() => orch.close());
    const server = await tintWorker(orch, 1500);
    await server.registrationResult();
    orch.capabilities.get('tint')!.url = server.url;
    const { stream } = await orch.startStream('tint', { params: { tint: 'red', width: 64, height: 64 } });
    const input = readFileSync(fixturePath('tiny'));
    const pub = new TricklePublisher(stream.urls.subscribe_url, { start: 0 });
    cleanups.push(() => pub.destroy());
    await pub.writeSegment(input.subarray(0, Math.ceil(input.length / 2 / 188) * 188));
    const handle = server.stream(stream.id)!;
    await until(() => handle.stats.snapshot().framesIn > 0, 'input before the outage');
    await orch.stop(false); // and it does not come back
    const end = await handle.done;
    expect(end.reason).toBe('error');
    expect(end.error).toMatch(/^(input|output): .*(failed \d+ times over \d+ ms|could not be published for \d+ ms)/);
  });
});
