/**
 * Pins the public API: the names src/index.ts exports (types included, read with the TypeScript
 * checker) and the runtime values behind them.
 */
import { resolve } from 'node:path';

import ts from 'typescript';
import { describe, expect, it } from 'vitest';

import * as api from '../../src/index';
import { PUBLIC_EXPORTS } from './public-exports';

const entry = resolve(__dirname, '..', '..', 'src', 'index.ts');

function exportedNames(file: string): string[] {
  const program = ts.createProgram([file], {
    module: ts.ModuleKind.Node16,
    moduleResolution: ts.ModuleResolutionKind.Node16,
    target: ts.ScriptTarget.ES2022,
    types: ['node'],
    skipLibCheck: true,
    noEmit: true,
  });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(file);
  const symbol = source && checker.getSymbolAtLocation(source);
  if (!symbol) throw new Error(`cannot read the exports of ${file}`);
  return checker.getExportsOfModule(symbol).map((s) => s.getName()).sort();
}

describe('public exports of src/index.ts', () => {
  it('are exactly the pinned names, types included', () => {
    expect(exportedNames(entry)).toEqual([...PUBLIC_EXPORTS].sort());
  }, 60_000);

  it('every runtime value is one of the pinned names and is defined', () => {
    const values = Object.keys(api).sort();
    expect(values.length).toBeGreaterThan(30);
    for (const name of values) {
      expect(PUBLIC_EXPORTS, name).toContain(name);
      expect((api as Record<string, unknown>)[name], name).toBeDefined();
    }
  });
});
