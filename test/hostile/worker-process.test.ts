/**
 * The worker as a process (`trickle-rt serve`, built dist/): the one message that used to kill it
 * (params nested 5000 deep, with an events channel), and errors that escape every handler of a
 * stream (a throw from a processor's timer, a rejection nobody awaits). The bound: the process
 * stays up and keeps serving; an escaped error is reported with its stream id and ends that stream.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { TrickleServer } from '../../src/index';
import { until } from '../helpers/worker-harness';

const root = resolve(__dirname, '..', '..');
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

const PROCESSOR = `
import { createProcessor } from 'trickle-rt';
export default createProcessor({
  name: 'misbehaving',
  start(params) {
    if (params.throw_later) setTimeout(() => { throw new Error('thrown from a processor timer'); }, 20);
    if (params.reject_later) void Promise.reject(new Error('rejected and never awaited'));
  },
});
`;

async function serve(): Promise<{ url: string; child: ChildProcessWithoutNullStreams; stderr: () => string; exited: () => number | null | undefined }> {
  const dir = mkdtempSync(join(tmpdir(), 'hostile-'));
  const file = join(dir, 'misbehaving.mjs');
  writeFileSync(file, PROCESSOR);
  const child = spawn(process.execPath, [resolve(root, 'bin/trickle-rt.js'), 'serve', '--processor', file, '--port', '0', '--host', '127.0.0.1', '--capacity', '4'], {
    cwd: root,
    env: { ...process.env, TRICKLE_LOG_LEVEL: 'info', ORCH_URL: '', ORCH_SECRET: '', TRICKLE_AUTH_TOKEN: '' },
  });
  let stderr = '';
  let code: number | null | undefined;
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.on('exit', (c) => (code = c));
  cleanups.push(
    () =>
      new Promise<void>((done) => {
        if (code !== undefined) return done();
        child.once('exit', () => done());
        child.kill('SIGKILL');
      }),
  );
  const port = await new Promise<number>((res, rej) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /"listening":(\d+)/.exec(out);
      if (m) res(Number(m[1]));
    });
    child.once('exit', () => rej(new Error(`serve exited early: ${stderr}`)));
  });
  const url = `http://127.0.0.1:${port}`;
  await until(() => /processor initialized/.test(stderr), 'processor initialized');
  return { url, child, stderr: () => stderr, exited: () => code };
}

async function post(url: string, body: string): Promise<number> {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  await r.arrayBuffer();
  return r.status;
}

describe('hostile input and escaped errors against the worker process', () => {
  it('params nested 5000 deep on start (events channel set) and on params: 400s, and the process serves on', async () => {
    const trickle = new TrickleServer();
    const base = `http://127.0.0.1:${await trickle.listen(0, '127.0.0.1')}`;
    cleanups.push(() => trickle.close());
    trickle.createChannel('d', 'video/MP2T');
    trickle.createChannel('d-events', 'application/json');
    const w = await serve();
    const deep = `{"p":${'['.repeat(5000)}${']'.repeat(5000)}}`;
    const channels = `"subscribe_url":"${base}/d","events_url":"${base}/d-events"`;
    expect(await post(`${w.url}/stream/start`, `{"gateway_request_id":"d",${channels},"params":${deep}}`)).toBe(400);
    expect(await post(`${w.url}/stream/start`, `{"gateway_request_id":"d",${channels}}`)).toBe(200);
    expect(await post(`${w.url}/stream/params`, deep)).toBe(400);
    const status = await fetch(`${w.url}/stream/status`);
    expect(status.status).toBe(200);
    expect(((await status.json()) as { streams: unknown[] }).streams).toHaveLength(1);
    expect(w.exited()).toBeUndefined();
  });

  it('errors escaping a stream are reported with its stream id and end only that stream; the process serves on', async () => {
    // Each stream's input channel exists and stays silent: only the processor's errors can end it.
    const trickle = new TrickleServer();
    const base = `http://127.0.0.1:${await trickle.listen(0, '127.0.0.1')}`;
    cleanups.push(() => trickle.close());
    for (const id of ['calm', 'thrower', 'rejecter']) trickle.createChannel(id, 'video/MP2T');
    const w = await serve();
    const start = (id: string, params = '{}') => post(`${w.url}/stream/start`, `{"gateway_request_id":"${id}","subscribe_url":"${base}/${id}","params":${params}}`);
    expect(await start('calm')).toBe(200);
    expect(await start('thrower', '{"throw_later":true}')).toBe(200);
    expect(await start('rejecter', '{"reject_later":true}')).toBe(200);
    const streams = async (): Promise<string[]> =>
      ((await (await fetch(`${w.url}/stream/status`)).json()) as { streams: Array<{ id: string }> }).streams.map((s) => s.id);
    let ids: string[] = [];
    for (let i = 0; i < 200 && (ids = await streams()).length !== 1; i++) await new Promise((r) => setTimeout(r, 50));
    expect(ids).toEqual(['calm']);
    const escaped = w
      .stderr()
      .split('\n')
      .filter((l) => l.includes('error escaped every handler'))
      .map((l) => JSON.parse(l) as { stream_id: string; origin: string });
    expect(escaped.map((e) => [e.stream_id, e.origin]).sort()).toEqual([
      ['rejecter', 'unhandledRejection'],
      ['thrower', 'uncaughtException'],
    ]);
    const metrics = await (await fetch(`${w.url}/metrics`)).text();
    expect(metrics).toContain('trickle_rt_escaped_errors_total 2');
    expect(w.exited()).toBeUndefined();
    expect((await fetch(`${w.url}/health`)).status).toBe(200);
  });
});
