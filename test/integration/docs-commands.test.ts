/**
 * The command blocks of the README and docs/worker.md, run as written (test/helpers/doc-blocks.ts):
 * a new user pasting them gets what the text says.
 */
import { resolve } from 'node:path';

import { describe, expect, it } from 'vitest';

import { runDocBlocks } from '../helpers/doc-blocks';

const root = resolve(__dirname, '..', '..');

describe('documentation runs as written', () => {
  it('README Example: the processor module under `trickle-rt serve`, then the embedding script', async () => {
    const run = await runDocBlocks(root, 'README.md', 90_000);
    expect(run.code, run.output).toBe(0);
    // Both ways report the processor ready; the embedding script is the one with capacity 4.
    expect(run.output).toMatch(/"listening":\d+,"capacity":1,"processor":"darken"/);
    expect(run.output).toMatch(/"msg":"listening".*"capacity":4/);
    expect(run.output.match(/"msg":"processor initialized".*"processor":"darken"/g)).toHaveLength(2);
  }, 120_000);

  it('docs/worker.md "Run it locally": trickle server, worker, start with every field, params, real-time publish, subscribe, check', async () => {
    const run = await runDocBlocks(root, 'docs/worker.md', 150_000);
    expect(run.code, run.output).toBe(0);
    expect(run.output).toContain('{"status":"IDLE"}');
    expect(run.output).toMatch(/"status":"success","message":"Stream started successfully","request_id":"s1"/);
    expect(run.output).toContain('{"status":"success","message":"Parameters updated successfully"}');
    expect(run.output).toMatch(/^400$/m); // {"tint":"purple"} refused by the processor's paramsSchema
    expect(run.output).toMatch(/^h264,512,512$/m);
    expect(run.output).toMatch(/"msg":"stream ended".*"reason":"input_ended"/);
  }, 180_000);
});
