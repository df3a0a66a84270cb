/**
 * The folders of src/ import one way (scripts/check-imports.js): the real tree passes, and the
 * checker catches a forbidden direction and a cycle in a small tree written here.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { describe, expect, it } from 'vitest';

const { check } = require('../../scripts/check-imports.js') as { check(src: string): { edges: Map<string, number>; violations: string[] } };

function tree(files: Record<string, string>): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'imports-')), 'src');
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

describe('import directions', () => {
  it('src/ has no import in a forbidden direction and no cycle', () => {
    const { violations, edges } = check(resolve(__dirname, '..', '..', 'src'));
    expect(violations).toEqual([]);
    expect(edges.get('worker → stream')).toBeGreaterThan(0);
    expect(edges.has('stream → worker')).toBe(false);
  });

  it('reports a lower folder importing a higher one, a ground file importing a folder, and a cycle', () => {
    const dir = tree({
      'errors.ts': 'export const e = 1;\n',
      'logger.ts': "import { s } from './stream/session';\nexport const l = s;\n",
      'stream/session.ts': "import { w } from '../worker/server';\nexport const s = w;\n",
      'worker/server.ts': "import { s } from '../stream/session';\nexport const w = 1; export const t = s;\n",
      'trickle/a.ts': "import { b } from './b';\nexport const a = b;\n",
      'trickle/b.ts': "import { a } from './a';\nexport const b = a;\n",
    });
    const { violations } = check(dir);
    expect(violations.some((v) => v.includes('stream/ may not import worker/'))).toBe(true);
    expect(violations.some((v) => v.includes('ground/ may not import stream/'))).toBe(true);
    expect(violations.filter((v) => v.startsWith('import cycle')).length).toBeGreaterThanOrEqual(2);
  });
});
