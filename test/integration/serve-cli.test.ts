/**
 * `trickle-rt serve` as a process: loads a TypeScript example, serves a stream with audio, and on
 * SIGTERM drains and DELETEs the output channel (downstream sees EOS) before exiting 0.
 */
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

import { TricklePublisher } from '../../src/trickle/trickle-publisher';
import { TrickleServer } from '../../src/trickle-server/trickle-server';
import { TrickleSubscriber } from '../../src/trickle/trickle-subscriber';
import { fixturePath } from '../helpers/fixtures';

const root = resolve(__dirname, '..', '..');

describe('trickle-rt serve', () => {
  it('serves a TS processor module; audio passes through; SIGTERM drains, sends EOS and exits 0', async () => {
    const trickle = new TrickleServer();
    const base = `http://127.0.0.1:${await trickle.listen(0, '127.0.0.1')}`;
    for (const [name, mime] of [['a', 'video/MP2T'], ['a-out', 'video/MP2T'], ['a-events', 'application/json']] as const) trickle.createChannel(name, mime);
    const child = spawn(process.execPath, [resolve(root, 'bin/trickle-rt.js'), 'serve', '--processor', 'examples/passthrough.ts', '--port', '0', '--host', '127.0.0.1'], {
      cwd: root,
      env: { ...process.env, TRICKLE_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      const port = await new Promise<number>((res, rej) => {
        let buf = '';
        child.stdout.on('data', (d: Buffer) => {
          buf += d.toString();
          const m = /"listening":(\d+)/.exec(buf);
          if (m) res(Number(m[1]));
        });
        child.on('exit', () => rej(new Error(`serve exited early: ${stderr}`)));
      });
      const url = `http://127.0.0.1:${port}`;
      for (let i = 0; i < 100; i++) {
        const h = (await (await fetch(`${url}/health`)).json()) as { status: string };
        if (h.status === 'IDLE') break;
        await new Promise((r) => setTimeout(r, 50));
      }
      const start = await fetch(`${url}/stream/start`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ gateway_request_id: 'a', subscribe_url: `${base}/a`, publish_url: `${base}/a-out`, events_url: `${base}/a-events`, params: { max_framerate: 60 } }),
      });
      expect(start.status).toBe(200);
      const chunks: Buffer[] = [];
      const sub = new TrickleSubscriber(`${base}/a-out`, { start: 0 });
      const reading = (async () => {
        for await (const seg of sub) for await (const c of seg) chunks.push(c);
        return sub.endReason;
      })();
      const input = readFileSync(fixturePath('testsrc320Audio'));
      const pub = new TricklePublisher(`${base}/a`, { mime: 'video/MP2T', start: 0 });
      await pub.writeSegment(input); // input stays open: only SIGTERM ends the stream
      for (let i = 0; i < 200 && chunks.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(await reading).toBe('eos');
      const dir = mkdtempSync(join(tmpdir(), 'trt-serve-'));
      const file = join(dir, 'out.ts');
      writeFileSync(file, Buffer.concat(chunks));
      const probe = JSON.parse(
        execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_type,codec_name,width,height', '-of', 'json', file]).toString(),
      ) as { streams: Array<{ codec_type: string; codec_name: string; width?: number; height?: number }> };
      const video = probe.streams.find((s) => s.codec_type === 'video');
      const audio = probe.streams.find((s) => s.codec_type === 'audio');
      expect(video).toMatchObject({ codec_name: 'h264', width: 320, height: 240 }); // inputSize 'native'
      expect(audio?.codec_name).toBe('aac'); // passed through untouched
      await pub.close();
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await trickle.close();
    }
  });
});
