/**
 * `trickle-rt serve` on the Livepeer network with nothing but the orchestrator URL, its secret and
 * the worker's own address (flags or environment), against a go-livepeer-like orchestrator with a
 * self-signed certificate; `subscribe --tls-ca` verification.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { LocalOrchestrator } from '../helpers/local-orchestrator';
import { selfSignedCert } from '../helpers/self-signed';
import { freePort } from '../helpers/free-port';

const root = resolve(__dirname, '..', '..');
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});


function serve(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [resolve(root, 'bin/trickle-rt.js'), 'serve', '--processor', 'examples/passthrough.ts', '--host', '127.0.0.1', ...args], {
    cwd: root,
    env: { ...process.env, TRICKLE_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  cleanups.push(async () => {
    if (child.exitCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  return { child, exited, stderr: () => stderr };
}

async function until(cond: () => boolean, what: string): Promise<void> {
  await expect.poll(cond, { timeout: 30_000, interval: 50, message: what }).toBe(true);
}

describe('trickle-rt serve on the Livepeer network', () => {
  it('--register live-runner with flags: registers, serves a session, unregisters on SIGTERM', async () => {
    const orch = new LocalOrchestrator({ heartbeatIntervalMs: 200 });
    await orch.start();
    cleanups.push(() => orch.close());
    const port = await freePort();
    const w = serve(['--port', String(port), '--register', 'live-runner', '--orch-url', orch.url, '--worker-url', `http://127.0.0.1:${port}`, '--capability-name', 'passthrough'], {
      LIVEPEER_ORCH_SECRET: orch.secret,
    });
    await until(() => [...orch.runners.values()].some((r) => r.record['status'] === 'ready'), `a ready runner (stderr: ${w.stderr()})`);
    const [runner] = [...orch.runners.values()];
    expect(runner!.record).toMatchObject({ app: 'live-video-to-video/passthrough', runner_url: `http://127.0.0.1:${port}`, capacity: 1 });
    const reserved = await orch.reserveSession(runner!.id);
    const { session_id: sid, app_url: appUrl } = reserved.body as { session_id: string; app_url: string };
    const start = await orch.callApp(appUrl, '/stream/start', 'POST', { params: {} });
    expect(start.status).toBe(200);
    expect(JSON.parse(start.body)).toMatchObject({ input_url: orch.trickleUrl(`${sid}-input`), output_url: orch.trickleUrl(`${sid}-output`) });
    w.child.kill('SIGTERM');
    expect(await w.exited).toBe(0);
    expect(orch.requests('POST', `/runners/${runner!.id}/unregister`)).toHaveLength(1);
    expect(orch.runners.size).toBe(0);
  });

  it('BYOC from the environment only (livepeer-python-gateway names): registers with the capacity it serves, unregisters on SIGTERM', async () => {
    const orch = new LocalOrchestrator();
    await orch.start();
    cleanups.push(() => orch.close());
    const port = await freePort();
    const w = serve(['--port', String(port)], {
      LIVEPEER_ORCH_URL: orch.url,
      LIVEPEER_ORCH_SECRET: orch.secret,
      LIVEPEER_CAPABILITY_NAME: 'pass',
      LIVEPEER_CAPABILITY_URL: `http://127.0.0.1:${port}`,
      LIVEPEER_CAPACITY: '2',
    });
    await until(() => orch.capabilities.has('pass'), `registration (stderr: ${w.stderr()})`);
    expect(orch.capabilities.get('pass')).toMatchObject({ capacity: 2, url: `http://127.0.0.1:${port}` });
    // The worker generated a token and registered it: only the orchestrator's token opens it.
    const token = orch.capabilities.get('pass')!.token;
    expect(token.length).toBeGreaterThanOrEqual(32);
    expect((await fetch(`http://127.0.0.1:${port}/stream/status`)).status).toBe(401);
    const status = (await (await fetch(`http://127.0.0.1:${port}/stream/status`, { headers: { authorization: `Bearer ${token}` } })).json()) as { capacity: number };
    expect(status.capacity).toBe(2);
    w.child.kill('SIGTERM');
    expect(await w.exited).toBe(0);
    expect(orch.requests('POST', '/capability/unregister').map((r) => r.body)).toEqual(['pass']);
  });

  it('subscribe --tls-ca refuses a certificate that is not the orchestrator’s, with a clear message', async () => {
    const orch = new LocalOrchestrator();
    await orch.start();
    cleanups.push(() => orch.close());
    orch.trickle.createChannel('c', 'video/MP2T');
    const dir = mkdtempSync(join(tmpdir(), 'trickle-rt-cli-tls-'));
    const other = join(dir, 'other.pem');
    writeFileSync(other, selfSignedCert().cert);
    // Asynchronous: the orchestrator answers from this process.
    const child = spawn(process.execPath, [resolve(root, 'bin/trickle-rt.js'), 'subscribe', '--url', orch.trickleUrl('c'), '--tls-ca', other, '--start', '0'], {
      cwd: root,
      env: { ...process.env, TRICKLE_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const status = await new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const r = { status, stderr };
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/certificate|self.signed/i);
  });
});
