import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { loadProcessor } from '../../src/cli/load-processor';

const dir = mkdtempSync(join(tmpdir(), 'trt-proc-'));
const write = (name: string, code: string) => {
  const p = join(dir, name);
  writeFileSync(p, code);
  return p;
};

describe('loadProcessor (trickle-rt serve --processor)', () => {
  it('accepts a hooks object, a factory, a class, and a FrameProcessor built with the package', async () => {
    const hooks = await loadProcessor(write('hooks.js', 'module.exports = { name: "h", video: (f) => f };'));
    expect(hooks.name).toBe('h');
    expect(typeof hooks.processVideo).toBe('function');
    const factory = await loadProcessor(write('factory.js', 'exports.default = async () => ({ name: "f", initialize: async () => {}, processVideo: (f) => f });'));
    expect(factory.name).toBe('f');
    const cls = await loadProcessor(
      write('cls.ts', "import { FrameProcessor } from 'trickle-rt';\nexport default class P extends FrameProcessor { override name = 'cls'; }\n"),
    );
    expect(cls.name).toBe('cls');
    const mjs = await loadProcessor(write('m.mjs', 'export const processor = { name: "m", initialize: async () => {}, processVideo: (f) => f };'));
    expect(mjs.name).toBe('m');
  });
  it('explains what is wrong', async () => {
    await expect(loadProcessor(join(dir, 'missing.js'))).rejects.toThrow(/processor module not found/);
    await expect(loadProcessor(write('empty.js', 'module.exports = { x: 1 };'))).rejects.toThrow(/exports no processor/);
  });
});
