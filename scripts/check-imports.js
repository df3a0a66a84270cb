#!/usr/bin/env node
'use strict';
/**
 * Checks that every import in src/ runs one way between the concept folders, and prints the graph.
 *
 *   node scripts/check-imports.js            # exit 1 and list each import in a forbidden direction or cycle
 *   node scripts/check-imports.js --graph    # also print every cross-folder edge with its count
 *   node scripts/check-imports.js --src DIR  # check another tree (e.g. an older checkout's src/)
 *
 * A file's "layer" is its first folder under src/ (`stream/channels/x.ts` → stream); the files at
 * the top of src/ are the ground (errors, params, logger, util), except index.ts, the public entry.
 */
const { readdirSync, readFileSync, statSync } = require('node:fs');
const { dirname, join, relative, resolve, sep } = require('node:path');

const GROUND = 'ground';
/** layer → the layers it may import (besides itself). */
const ALLOWED = {
  [GROUND]: [],
  native: [GROUND],
  media: [GROUND, 'native'],
  infer: [GROUND, 'native', 'media'],
  trickle: [GROUND],
  'trickle-server': [GROUND, 'native', 'trickle'],
  processor: [GROUND, 'native', 'media', 'infer'],
  stream: [GROUND, 'native', 'media', 'infer', 'trickle', 'processor'],
  worker: [GROUND, 'native', 'media', 'infer', 'trickle', 'trickle-server', 'processor', 'stream'],
  cli: '*',
  index: '*',
};
/** Ground files may import only these ground files. */
const GROUND_ALLOWED = { 'errors.ts': [], 'params.ts': ['errors.ts'], 'logger.ts': [], 'util.ts': ['errors.ts'] };

function listTs(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...listTs(p));
    else if (/\.(ts|mts|cts)$/.test(name) && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

function layerOf(srcDir, file) {
  const rel = relative(srcDir, file).split(sep);
  if (rel.length === 1) return rel[0] === 'index.ts' ? 'index' : GROUND;
  return rel[0];
}

function resolveImport(from, spec) {
  const base = resolve(dirname(from), spec.replace(/\.js$/, ''));
  for (const cand of [`${base}.ts`, `${base}.mts`, join(base, 'index.ts')]) {
    try {
      if (statSync(cand).isFile()) return cand;
    } catch {
      /* next */
    }
  }
  return undefined;
}

/** Import cycles between files (type-only imports included: a cycle is a design smell either way). */
function findCycles(graph) {
  const cycles = [];
  const state = new Map(); // file → 1 visiting, 2 done
  const stack = [];
  const visit = (file) => {
    state.set(file, 1);
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === 1) cycles.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(file, 2);
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file);
  return cycles;
}

function check(srcDir) {
  const edges = new Map();
  const violations = [];
  const graph = new Map();
  const importRe = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+'(\.[^']+)'|require\('(\.[^']+)'\)|import\('(\.[^']+)'\)/g;
  for (const file of listTs(srcDir)) {
    const text = readFileSync(file, 'utf8');
    const fromLayer = layerOf(srcDir, file);
    for (const m of text.matchAll(importRe)) {
      const spec = m[1] ?? m[2] ?? m[3];
      const target = resolveImport(file, spec);
      if (!target || !target.startsWith(srcDir + sep)) continue;
      if (!graph.has(file)) graph.set(file, new Set());
      graph.get(file).add(target);
      const toLayer = layerOf(srcDir, target);
      const where = `${relative(process.cwd(), file)} → ${relative(process.cwd(), target)}`;
      if (fromLayer === GROUND && toLayer === GROUND) {
        const a = relative(srcDir, file);
        const b = relative(srcDir, target);
        if (!(GROUND_ALLOWED[a] ?? []).includes(b)) violations.push(`${where}: the ground file ${a} may not import ${b}`);
        continue;
      }
      if (fromLayer === toLayer) continue;
      const key = `${fromLayer} → ${toLayer}`;
      edges.set(key, (edges.get(key) ?? 0) + 1);
      const allowed = ALLOWED[fromLayer];
      if (allowed === undefined) violations.push(`${where}: ${fromLayer}/ is not a known folder of src/ (add it to scripts/check-imports.js)`);
      else if (allowed !== '*' && !allowed.includes(toLayer)) violations.push(`${where}: ${fromLayer}/ may not import ${toLayer}/`);
    }
  }
  for (const cycle of findCycles(graph)) {
    violations.push(`import cycle: ${cycle.map((f) => relative(process.cwd(), f)).join(' → ')}`);
  }
  return { edges, violations };
}

function main(argv) {
  const srcIdx = argv.indexOf('--src');
  const srcDir = resolve(srcIdx >= 0 ? argv[srcIdx + 1] : join(__dirname, '..', 'src'));
  const { edges, violations } = check(srcDir);
  if (argv.includes('--graph')) {
    const lines = [...edges.entries()].sort((a, b) => a[0].localeCompare(b[0])).map(([k, n]) => `  ${k}  (${n})`);
    process.stdout.write(`cross-folder imports in ${relative(process.cwd(), srcDir) || '.'}:\n${lines.join('\n')}\n`);
  }
  if (violations.length > 0) {
    process.stderr.write(`${violations.length} import(s) in a forbidden direction:\n${violations.map((v) => `  ${v}`).join('\n')}\n`);
    return 1;
  }
  if (!argv.includes('--graph')) process.stdout.write('imports: every cross-folder import runs in an allowed direction\n');
  return 0;
}

module.exports = { check, ALLOWED };
if (require.main === module) process.exitCode = main(process.argv.slice(2));
