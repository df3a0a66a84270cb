/**
 * Smoke test of the bench suite: runs one tiny scenario (B6, --quick, shortened further with --set)
 * through the bench's command line (bench/, built with its own tsconfig) in a child process, then checks the JSON report's shape and that every figure
 * is a positive finite number. No timing assertions: speed is the bench's business, not the tests'.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

import { beforeAll, describe, expect, it } from 'vitest';

import type { BenchReport } from '../../bench/src/types';

const root = resolve(__dirname, '..', '..');
const run = promisify(execFile);

describe('bench suite (smoke)', () => {
  beforeAll(async () => {
    // the global setup compiled dist/; the bench package links it and compiles bench/src
    await run(process.execPath, [join(root, 'bench', 'build.js')], { cwd: root });
  }, 120_000);

  it('runs B6 --quick in a fresh process and writes a well-formed report', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'trickle-bench-')), 'report.json');
    const { stdout, stderr } = await run(
      process.execPath,
      [
        join(root, 'bench', 'dist', 'cli.js'), 'b6', '--quick', '--json', '--out', out,
        '--set', 'channels=3', '--set', 'channelSeconds=0.5', '--set', 'latencyWrites=20', '--set', `bulkBytes=${2 * 1024 * 1024}`,
      ],
      { cwd: root, maxBuffer: 16 * 1024 * 1024 },
    );
    const report = JSON.parse(stdout) as BenchReport;
    expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual(report);
    // progress went to stderr, one line per step (not a TTY here)
    expect(stderr).toMatch(/\[1\/1\] B6 .*step 1\/\d+/);

    expect(report.schema).toBe(1);
    expect(report.quick).toBe(true);
    expect(report.machine.cores).toBeGreaterThan(0);
    expect(report.machine.ramBytes).toBeGreaterThan(0);
    expect(typeof report.machine.cpuModel).toBe('string');
    expect(report.versions.node).toBe(process.version);
    expect(report.versions.ffmpegLibraries).toMatch(/\d/);

    expect(report.scenarios.map((s) => s.id)).toEqual(['B6']);
    const b6 = report.scenarios[0]!;
    expect(b6.status, b6.reason).toBe('ok');
    expect(b6.params['channels']).toBe(3);
    expect(b6.cases.length).toBe(3);
    for (const c of b6.cases) {
      expect(c.figures.length).toBeGreaterThan(0);
      for (const f of c.figures) {
        for (const v of [f.ours.median, f.ours.p50, f.ours.p99, f.anchor?.median, f.cold]) {
          expect(Number.isFinite(v), `${c.case} ${f.metric}`).toBe(true);
          expect(v as number, `${c.case} ${f.metric}`).toBeGreaterThan(0);
        }
        expect(f.ours.n).toBeGreaterThan(0);
        expect(f.ratio).toBeCloseTo(f.ours.median / f.anchor!.median, 9);
      }
    }
  });

  it('rejects an unknown scenario id with a clear message', async () => {
    const err = await run(process.execPath, [join(root, 'bench', 'dist', 'cli.js'), 'B42'], { cwd: root }).catch((e: unknown) => e);
    expect((err as { code: number }).code).toBe(1);
    expect((err as { stderr: string }).stderr).toContain('Expected a scenario id');
  });

  it('is not part of the published CLI: `trickle-rt bench` says where the bench lives', async () => {
    const err = await run(process.execPath, [join(root, 'bin', 'trickle-rt.js'), 'bench'], { cwd: root }).catch((e: unknown) => e);
    expect((err as { code: number }).code).toBe(2);
    expect((err as { stderr: string }).stderr).toContain('npm run bench');
  });
});
