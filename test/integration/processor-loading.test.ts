/**
 * `trickle-rt serve --processor` loading in a real Node process (dist/, as users run it; the unit
 * test runs under vitest, whose own module runner loads TypeScript): ESM with top-level await in
 * .ts and .mts, `using`, `import 'trickle-rt'` resolving to the running copy from a folder that has
 * no trickle-rt installed, and one-line answers for what cannot work.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { packageRoot } from '../../src/native/addon';

const dir = mkdtempSync(join(tmpdir(), 'trickle-rt-load-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Loads `file` with dist's loader in a fresh Node; returns `name class sameFrameProcessor` or the error line. */
function load(file: string): string {
  const script = `
    const { loadProcessor } = require(${JSON.stringify(join(packageRoot, 'dist', 'cli', 'load-processor.js'))});
    const { FrameProcessor } = require(${JSON.stringify(join(packageRoot, 'dist', 'index.js'))});
    loadProcessor(process.argv[1]).then(
      (p) => console.log(p.name, p.constructor.name, p instanceof FrameProcessor),
      (e) => console.log('ERROR', e.message + (e.fix ? '; ' + e.fix : '')),
    );`;
  return execFileSync(process.execPath, ['-e', script, file], { cwd: dir, encoding: 'utf8' }).trim();
}

describe('processor modules in a real Node', () => {
  it('loads a .ts module with top-level await and `using`, as an ES module, against the running trickle-rt', () => {
    writeFileSync(
      join(dir, 'tla.ts'),
      `import { createProcessor, type VideoFrame } from 'trickle-rt';
class Resource { closed = false; [Symbol.dispose]() { this.closed = true; } }
const r = new Resource();
{ using held = r; void held; }
const model: string = await Promise.resolve(r.closed ? 'loaded' : 'leaked');
export default createProcessor<VideoFrame>({ name: 'tla-' + model, video: (frame) => frame });
`,
    );
    expect(load(join(dir, 'tla.ts'))).toBe('tla-loaded FunctionalProcessor true');
  });

  it('loads a .mts subclass of FrameProcessor and a plain .mjs', () => {
    writeFileSync(
      join(dir, 'cls.mts'),
      `import { FrameProcessor } from 'trickle-rt';
await new Promise((r) => setTimeout(r, 1));
export default class Mine extends FrameProcessor { override name = 'mine'; }
`,
    );
    expect(load(join(dir, 'cls.mts'))).toBe('mine Mine true');
    writeFileSync(join(dir, 'plain.mjs'), `import { createProcessor } from 'trickle-rt';\nexport default createProcessor({ name: 'plain', video: (f) => f });\n`);
    expect(load(join(dir, 'plain.mjs'))).toBe('plain FunctionalProcessor true');
  });

  it('loads a .ts processor inside node_modules (compiled as CommonJS there), e.g. an installed package\'s examples', () => {
    const project = mkdtempSync(join(tmpdir(), 'trickle-rt-load-project-'));
    const pkg = join(project, 'node_modules', 'some-pkg', 'examples');
    mkdirSync(pkg, { recursive: true });
    writeFileSync(join(project, 'node_modules', 'some-pkg', 'package.json'), '{"name":"some-pkg","version":"1.0.0"}');
    // As in a project that installed trickle-rt: its require('trickle-rt') finds the package.
    symlinkSync(packageRoot, join(project, 'node_modules', 'trickle-rt'));
    writeFileSync(join(pkg, 'tint.ts'), `import { createProcessor } from 'trickle-rt';\nexport default createProcessor({ name: 'in-node-modules', video: (f) => f });\n`);
    try {
      expect(load(join(pkg, 'tint.ts'))).toBe('in-node-modules FunctionalProcessor true');
    } finally {
      rmSync(project, { recursive: true, force: true });
    }
  });

  it('loads the repository examples', () => {
    expect(load(join(packageRoot, 'examples', 'passthrough.ts'))).toBe('passthrough FunctionalProcessor true');
  });

  it('answers in one line what cannot work', () => {
    writeFileSync(join(dir, 'c.cjs'), `const { createProcessor } = require('trickle-rt');\nmodule.exports = createProcessor({ video: (f) => f });\n`);
    expect(load(join(dir, 'c.cjs'))).toBe(
      `ERROR ${join(dir, 'c.cjs')} requires trickle-rt with require(), which cannot be pointed at the running copy; write the processor as an ES module (import ... from "trickle-rt"; .mjs, .mts or .ts) or install trickle-rt in its project`,
    );
    expect(load(join(dir, 'missing.ts'))).toBe(
      `ERROR processor module not found: ${join(dir, 'missing.ts')}; check the path given to --processor (relative paths start from the current directory)`,
    );
  });
});
