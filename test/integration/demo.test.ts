/**
 * `trickle-rt demo` as a user runs it (bin → dist): exit code 0 and a summary whose figures come from
 * the decoded output.
 */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(__dirname, '..', '..');

describe('trickle-rt demo', () => {
  it('runs end to end and proves the effect in the output pixels', async () => {
    const { code, stdout } = await new Promise<{ code: number | null; stdout: string }>((res) => {
      execFile(process.execPath, [resolve(root, 'bin/trickle-rt.js'), 'demo', '--seconds', '4', '--quiet'], { cwd: root, timeout: 90_000 }, (err, stdout) =>
        res({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout }),
      );
    });
    const summary = JSON.parse(stdout) as Record<string, any>;
    expect(code, stdout).toBe(0);
    expect(summary['ok']).toBe(true);
    expect(summary['output']).toMatchObject({ width: 512, height: 512 });
    expect(summary['output']['frames']).toBeGreaterThan(40);
    expect(summary['effect']['red']['ok']).toBe(true);
    expect(summary['effect']['blue']['ok']).toBe(true);
    expect(summary['effect']['red']['meanRgb'][0]).toBeGreaterThan(summary['effect']['red']['meanRgb'][2] + 40);
    expect(summary['effect']['blue']['meanRgb'][2]).toBeGreaterThan(summary['effect']['blue']['meanRgb'][0] + 40);
    expect(summary['worker']['end']).toBe('input_ended');
    expect(summary['worker']['health_after']).toBe('IDLE');
    for (const t of ['heartbeat', 'receive_first_ingest_segment', 'send_first_processed_segment', 'params_updated', 'stream_stopped']) {
      expect(summary['events'][t], t).toBeGreaterThanOrEqual(1);
    }
  });
});
