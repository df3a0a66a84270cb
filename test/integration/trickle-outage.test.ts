/**
 * The trickle clients against a go-livepeer-like orchestrator (test/helpers/local-orchestrator.ts):
 * its self-signed HTTPS (accepted by default, verified on request), its restart mid-stream (the
 * clients ride the outage out and resume at the live edge), and a publisher that sends its last
 * segments quickly and then DELETEs the channel (the subscriber still gets every one).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { TricklePublisher, TrickleServer, TrickleSubscriber } from '../../src/index';
import { LocalOrchestrator, startOrchestrator } from '../helpers/local-orchestrator';
import { selfSignedCert } from '../helpers/self-signed';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const orchestrator = (): Promise<LocalOrchestrator> => startOrchestrator(cleanups);

function pemFile(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'trickle-rt-tls-'));
  const file = join(dir, 'orch.pem');
  writeFileSync(file, text);
  return file;
}

async function errorOf(p: Promise<unknown>): Promise<Error | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    return err as Error;
  }
}

describe('TLS against a self-signed orchestrator', () => {
  it('connects without any setting, as go-livepeer and pytrickle do', async () => {
    const orch = await orchestrator();
    orch.trickle.createChannel('s1', 'video/MP2T');
    const pub = new TricklePublisher(orch.trickleUrl('s1'), { start: 0 });
    const sub = new TrickleSubscriber(orch.trickleUrl('s1'), { start: 0 });
    cleanups.push(() => sub.close(), () => pub.destroy());
    await pub.writeSegment('hello over https');
    const seg = await sub.read();
    expect((await seg!.bytes()).toString()).toBe('hello over https');
  });

  it('verifies against a pinned certificate file (reached by IP) and refuses another certificate', async () => {
    const orch = await orchestrator();
    orch.trickle.createChannel('s1', 'video/MP2T');
    const pinned = new TrickleSubscriber(orch.trickleUrl('s1'), { start: 0, tls: { caFile: pemFile(orch.cert.cert) } });
    cleanups.push(() => pinned.close());
    const pub = new TricklePublisher(orch.trickleUrl('s1'), { start: 0, tls: { ca: orch.cert.cert } });
    cleanups.push(() => pub.destroy());
    await pub.writeSegment('pinned');
    expect((await (await pinned.read())!.bytes()).toString()).toBe('pinned');

    const other = selfSignedCert('localhost');
    const wrong = new TrickleSubscriber(orch.trickleUrl('s1'), { start: 0, tls: { ca: other.cert }, retries: 0, outageMs: 0 });
    cleanups.push(() => wrong.close());
    const err = await errorOf(wrong.read());
    expect(err?.message).toMatch(/certificate|self.signed|verify/i);
    const wrongPub = new TricklePublisher(orch.trickleUrl('s1'), { start: 'next', tls: { caFile: pemFile(other.cert) }, retries: 0 });
    cleanups.push(() => wrongPub.destroy());
    expect((await errorOf(wrongPub.next()))?.message).toMatch(/certificate|self.signed|verify/i);
  });

  it('takes the file from TRICKLE_TLS_CA; a file without a certificate is a clear error', async () => {
    const orch = await orchestrator();
    orch.trickle.createChannel('s1', 'video/MP2T');
    const other = selfSignedCert('localhost');
    const before = process.env['TRICKLE_TLS_CA'];
    cleanups.push(() => {
      if (before === undefined) delete process.env['TRICKLE_TLS_CA'];
      else process.env['TRICKLE_TLS_CA'] = before;
    });
    process.env['TRICKLE_TLS_CA'] = pemFile(other.cert);
    const refused = new TrickleSubscriber(orch.trickleUrl('s1'), { start: 0, retries: 0, outageMs: 0 });
    cleanups.push(() => refused.close());
    expect((await errorOf(refused.read()))?.message).toMatch(/certificate|self.signed|verify/i);
    // `tls: false` overrides the environment.
    const unchecked = new TrickleSubscriber(orch.trickleUrl('s1'), { start: -1, tls: false });
    cleanups.push(() => unchecked.close());
    const got = unchecked.read();
    const pub = new TricklePublisher(orch.trickleUrl('s1'), { start: 0, tls: false });
    cleanups.push(() => pub.destroy());
    await pub.writeSegment('x');
    expect((await (await got)!.bytes()).toString()).toBe('x');
    process.env['TRICKLE_TLS_CA'] = pemFile('not a certificate');
    expect(() => new TrickleSubscriber(orch.trickleUrl('s1'))).toThrow(/holds no PEM certificate/);
  });
});

describe('riding out an outage', () => {
  it('a subscriber waiting on a restarting orchestrator resumes at the live edge', async () => {
    const orch = await orchestrator();
    orch.trickle.createChannel('s1', 'video/MP2T');
    const sub = new TrickleSubscriber(orch.trickleUrl('s1'), { start: 0, retryDelayMs: 20 });
    cleanups.push(() => sub.close());
    const pub = new TricklePublisher(orch.trickleUrl('s1'), { start: 0, retryDelayMs: 20 });
    cleanups.push(() => pub.destroy());
    await pub.writeSegment('before');
    expect((await (await sub.read())!.bytes()).toString()).toBe('before');
    // The subscriber now waits for segment 1. The orchestrator goes away (its channels kept, as a
    // proxy or network outage looks); meanwhile the publisher, reaching the same trickle server
    // another way, writes 3 more segments and starts a fourth.
    const waiting = sub.read();
    await orch.stop(false);
    const side = await orch.trickle.listen(0, '127.0.0.1');
    const late = new TricklePublisher(`http://127.0.0.1:${side}/ai/trickle/s1`, { start: 'next' });
    cleanups.push(() => late.destroy());
    for (const text of ['during-1', 'during-2', 'during-3']) await late.writeSegment(text);
    const live = await late.next();
    await live.write('live');
    await orch.start();
    const first = await waiting;
    // Everything the outage held up is skipped: the subscriber lands on the segment being written.
    expect(first!.seq).toBe(live.seq);
    await live.end();
    expect((await first!.bytes()).toString()).toBe('live');
    expect(sub.state).toBe('running');
  });

  it('gives up with a clear error once the outage outlasts outageMs', async () => {
    const orch = await orchestrator();
    orch.trickle.createChannel('s1', 'video/MP2T');
    const sub = new TrickleSubscriber(orch.trickleUrl('s1'), { start: 0, retryDelayMs: 20, retries: 2, outageMs: 400 });
    cleanups.push(() => sub.close());
    const reading = errorOf(sub.read());
    await orch.stop(false);
    const err = await reading;
    expect(err?.message).toMatch(/failed \d+ times over \d+ ms/);
    expect(sub.state).toBe('errored');
  });

  it('a publisher whose segment is cut goes on with the next one', async () => {
    const orch = await orchestrator();
    orch.trickle.createChannel('s1', 'video/MP2T');
    const pub = new TricklePublisher(orch.trickleUrl('s1'), { start: 0, retryDelayMs: 20 });
    cleanups.push(() => pub.destroy());
    await pub.writeSegment('zero');
    const cut = await pub.next();
    await cut.write('half of one');
    await orch.stop(false);
    expect((await errorOf(cut.end()))?.message).toMatch(/failed after \d+ bytes|socket|ECONNRESET|hang up/i);
    await orch.start();
    // A segment whose (preconnected) POST died with the old connections is dropped the same way;
    // within a few segments one lands.
    let landed: number | undefined;
    for (let i = 0; i < 4 && landed === undefined; i++) {
      const next = await pub.next();
      expect(next.seq).toBeGreaterThan(cut.seq + i);
      if ((await errorOf(next.end(`after-${i}`))) === undefined) landed = next.seq;
    }
    expect(landed).toBeDefined();
    expect(orch.trickle.channelInfo('s1')!.segments.map((s) => s.seq)).toContain(landed);
    expect(pub.state).toBe('running');
  });
});

describe('last segments sent quickly, then DELETE', () => {
  it('the subscriber receives every segment (8 runs)', async () => {
    const server = new TrickleServer({ closedGraceMs: 0 });
    const port = await server.listen(0, '127.0.0.1');
    cleanups.push(() => server.close());
    for (let run = 0; run < 8; run++) {
      const name = `burst${run}`;
      server.createChannel(name, 'video/MP2T');
      const url = `http://127.0.0.1:${port}/${name}`;
      const sub = new TrickleSubscriber(url, { start: 0 });
      cleanups.push(() => sub.close());
      const got: string[] = [];
      const reading = (async () => {
        for await (const seg of sub) {
          got.push((await seg.bytes()).toString());
          // A consumer slower than the publisher's last burst.
          await new Promise((r) => setTimeout(r, 20));
        }
      })();
      const pub = new TricklePublisher(url, { start: 0, deleteOnClose: true });
      await pub.writeSegment('s0');
      // Give the subscriber its first segment, then publish the rest back to back (each streamed in
      // two writes, as media segments are) and DELETE.
      await expect.poll(() => got.length, { timeout: 5000, interval: 2 }).toBe(1);
      for (const t of ['s1', 's2', 's3']) {
        const seg = await pub.next();
        await seg.write(t.slice(0, 1));
        await new Promise((r) => setTimeout(r, 5));
        await seg.end(t.slice(1));
      }
      await pub.close();
      await reading;
      expect([run, got]).toEqual([run, ['s0', 's1', 's2', 's3']]);
      expect(sub.endReason).toBe('eos');
    }
  });
});
