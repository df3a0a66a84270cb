/**
 * The trickle CLI commands working together over real sockets: publish a TS fixture, subscribe it
 * back, identical bytes (sha256); the trickle-server command; a publisher process killed mid-segment.
 * The CLI runs dist/ (compiled by the vitest global setup).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, afterEach, describe, expect, it } from 'vitest';

import { packageRoot } from '../../src/native/addon';
import { TrickleServer } from '../../src/trickle-server/trickle-server';
import { TrickleSubscriber } from '../../src/trickle/trickle-subscriber';
import { fixturePath } from '../helpers/fixtures';

const bin = join(packageRoot, 'bin', 'trickle-rt.js');
const dir = mkdtempSync(join(tmpdir(), 'trickle-cli-'));
const children: ChildProcessWithoutNullStreams[] = [];
const servers: TrickleServer[] = [];

afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const s of servers.splice(0)) await s.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(args: string[]): { child: ChildProcessWithoutNullStreams; done: Promise<{ code: number | null; stdout: string; stderr: string }> } {
  const child = spawn(process.execPath, [bin, ...args]);
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  return { child, done };
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

async function server(opts: ConstructorParameters<typeof TrickleServer>[0] = {}): Promise<{ server: TrickleServer; base: string }> {
  const s = new TrickleServer(opts);
  servers.push(s);
  const port = await s.listen(0, '127.0.0.1');
  return { server: s, base: `http://127.0.0.1:${port}` };
}

describe('trickle CLI', () => {
  it('publish a TS file, subscribe it back: identical bytes, one segment per GOP, EOS ends subscribe', async () => {
    const { server: srv, base } = await server();
    srv.createChannel('rt', 'video/MP2T');
    const out = join(dir, 'roundtrip.ts');
    const sub = cli(['subscribe', '--url', `${base}/rt`, '--out', out, '--start', '0']);
    await expect.poll(() => srv.channelInfo('rt')?.subscribers, { timeout: 20_000 }).toBe(1);
    const pub = cli(['publish', '--url', `${base}/rt`, fixturePath('testsrc512')]);
    const p = await pub.done;
    const size = readFileSync(fixturePath('testsrc512')).length;
    const summary = new RegExp(`^published 2 segments, ${size} bytes \\(MPEG-TS, cut at keyframes, (\\d+\\.\\d) s of media in real time\\)\\n$`).exec(p.stderr);
    expect([p.code, summary !== null]).toEqual([0, true]);
    // Paced by the clip's own clock: 60 frames at 30 fps span about 2 s of PCR time.
    expect(Number(summary![1])).toBeGreaterThanOrEqual(1.8);
    expect(Number(summary![1])).toBeLessThanOrEqual(2.0);
    const s = await sub.done;
    expect(s.code).toBe(0);
    expect(s.stderr).toContain('received 2 segments');
    expect(s.stderr).toContain('end: eos');
    expect(sha(readFileSync(out))).toBe(sha(readFileSync(fixturePath('testsrc512'))));
    expect(srv.hasChannel('rt')).toBe(false); // publish DELETEd it
  });

  it('publish from stdin with fixed-size segments; subscribe to stdout', async () => {
    const { server: srv, base } = await server({ autocreate: true });
    const data = Buffer.alloc(50_000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 13) & 0xff;
    const pub = cli(['publish', '--url', `${base}/bin`, '--segment-bytes', '20000', '--keep-channel', '-']);
    pub.child.stdin.end(data);
    const p = await pub.done;
    expect([p.code, p.stderr]).toEqual([
      0,
      'trickle-rt publish: warning: the input is not MPEG-TS; sending it unpaced in 20000-byte segments, which a worker cannot decode (remux it first, e.g. ffmpeg -i INPUT -c copy -f mpegts out.ts)\n' +
        'published 3 segments, 50000 bytes (fixed-size)\n',
    ]);
    // (plus the open, empty preconnect for seq 3, which a resuming publisher would fill)
    expect(srv.channelInfo('bin')?.segments.map((x) => [x.seq, x.bytes, x.closed])).toEqual([[0, 20000, true], [1, 20000, true], [2, 10000, true], [3, 0, false]]);
    const sub = cli(['subscribe', '--url', `${base}/bin`, '--start', '0']);
    const chunks: Buffer[] = [];
    sub.child.stdout.on('data', (d: Buffer) => chunks.push(d));
    await expect.poll(() => Buffer.concat(chunks).length, { timeout: 20_000 }).toBe(50_000);
    srv.deleteChannel('bin');
    expect((await sub.done).code).toBe(0);
    expect(sha(Buffer.concat(chunks))).toBe(sha(data));
  });

  it('a publish process killed mid-segment: subscribers get the bytes so far (marked cut), then the resumed stream', async () => {
    const { server: srv, base } = await server();
    srv.createChannel('k', 'application/octet-stream');
    const sub = new TrickleSubscriber(`${base}/k`, { start: 0 });
    const got: Array<[number, string]> = [];
    const reading = (async () => {
      for await (const seg of sub) {
        let text = '';
        try {
          for await (const chunk of seg) text += chunk.toString();
        } catch (err) {
          text = `${text} (${(err as { code?: string }).code})`;
        }
        got.push([seg.seq, text]);
      }
    })();
    const first = cli(['publish', '--url', `${base}/k`, '--segment-bytes', '1000', '-']);
    first.child.stdin.write('x'.repeat(1000) + 'partial');
    await expect.poll(() => srv.channelInfo('k')?.segments.find((s) => s.seq === 1)?.bytes, { timeout: 20_000 }).toBe(7);
    first.child.kill('SIGKILL');
    await first.done;
    const second = cli(['publish', '--url', `${base}/k`, '-']);
    second.child.stdin.end('resumed');
    expect((await second.done).code).toBe(0);
    await reading;
    expect(got).toEqual([[0, 'x'.repeat(1000)], [1, 'partial (ERR_TRICKLE_NETWORK)'], [2, 'resumed']]);
    expect(sub.endReason).toBe('eos');
  });

  it('trickle-server serves until SIGTERM', async () => {
    const srv = cli(['trickle-server', '--port', '0', '--host', '127.0.0.1', '--base-path', '/ai/trickle', '--channel', 'c=application/json']);
    const url = await new Promise<string>((resolve) => {
      srv.child.stdout.on('data', (d: Buffer) => {
        const m = /listening on (\S+)/.exec(d.toString());
        if (m) resolve(m[1] as string);
      });
    });
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/ai\/trickle\/$/);
    const body = await new Promise<string>((resolve, reject) => {
      get(`${url}c/next`, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve(`${res.statusCode} ${text}`));
      }).on('error', reject);
    });
    expect(body).toBe('200 0');
    srv.child.kill('SIGTERM');
    expect((await srv.done).code).toBe(0);
  });

  it('--as-fast-as-possible publishes the same bytes unpaced; no warning with a non-video --mime', async () => {
    const { server: srv, base } = await server({ autocreate: true });
    const p = await cli(['publish', '--url', `${base}/fast`, '--as-fast-as-possible', '--keep-channel', fixturePath('testsrc512')]).done;
    expect([p.code, p.stderr]).toEqual([0, `published 2 segments, ${readFileSync(fixturePath('testsrc512')).length} bytes (MPEG-TS, cut at keyframes, unpaced)\n`]);
    expect(srv.channelInfo('fast')?.segments.filter((x) => x.closed).length).toBe(2);
    const json = cli(['publish', '--url', `${base}/json`, '--mime', 'application/json', '-']);
    json.child.stdin.end('{"a":1}');
    expect(await json.done).toMatchObject({ code: 0, stderr: 'published 1 segments, 7 bytes (fixed-size)\n' });
  });

  it('reports usage errors and a missing channel', async () => {
    const { base } = await server();
    const missing = await cli(['subscribe', '--url', `${base}/nope`]).done;
    expect([missing.code, missing.stderr]).toEqual([1, expect.stringContaining('ERR_STREAM_NOT_FOUND')]);
    const bad = await cli(['publish', '--bogus']).done;
    expect([bad.code, bad.stderr]).toEqual([2, 'trickle-rt publish: unknown option --bogus; run "trickle-rt publish --help" for the options\n']);
    const noUrl = await cli(['publish', 'file.ts']).done;
    expect([noUrl.code, noUrl.stderr]).toEqual([2, 'trickle-rt publish: --url is required; add --url URL; run "trickle-rt publish --help" for the options\n']);
    const noFile = await cli(['publish', '--url', `${base}/in`, 'no-such-file.ts']).done;
    expect([noFile.code, noFile.stderr]).toEqual([1, 'trickle-rt publish: no-such-file.ts: no such file or directory; check the path\n']);
    const noPort = await cli(['trickle-server']).done;
    expect([noPort.code, noPort.stderr]).toEqual([2, 'trickle-rt trickle-server: --port is required; add --port N; run "trickle-rt trickle-server --help" for the options\n']);
  });
});
