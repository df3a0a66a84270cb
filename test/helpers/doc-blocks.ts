/**
 * Runs the command blocks of the README and docs/ as written, so that the documentation cannot
 * drift from what works. A fenced block whose info string is `sh run` is a shell step; a block
 * whose info string names a file (```ts file=my-processor.mts) is written to that file first. All
 * steps of one document run in order in one bash process, in an empty folder where
 * `node_modules/trickle-rt` is this checkout and `npx trickle-rt` / `npx tsx` run this checkout's
 * binaries, the way they run from an installed package. The only change made to the text: the
 * documented ports (8000, 3389) become free ones.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port';

export interface DocBlock {
  kind: 'run' | 'file';
  /** The file name for `file` blocks. */
  file?: string;
  text: string;
  /** 1-based line of the opening fence. */
  line: number;
}

/** The runnable and file blocks of a Markdown document, in order. */
export function docBlocks(markdown: string): DocBlock[] {
  const blocks: DocBlock[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```(\S*)\s*(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const indent = open[1]!.length;
    const info = `${open[2]} ${open[3]}`.trim();
    let j = i + 1;
    const body: string[] = [];
    while (j < lines.length && !/^\s*```\s*$/.test(lines[j]!)) body.push(lines[j++]!.slice(indent));
    const file = /(?:^|\s)file=(\S+)/.exec(info)?.[1];
    if (/^sh run\b/.test(info)) blocks.push({ kind: 'run', text: body.join('\n'), line: i + 1 });
    else if (file) blocks.push({ kind: 'file', file, text: body.join('\n'), line: i + 1 });
    i = j;
  }
  return blocks;
}


export interface DocRun {
  code: number | null;
  output: string;
  dir: string;
}

/** Runs every block of `docPath` (relative to `root`) in a fresh folder; resolves with the transcript. */
export async function runDocBlocks(root: string, docPath: string, timeoutMs: number): Promise<DocRun> {
  const blocks = docBlocks(readFileSync(join(root, docPath), 'utf8'));
  const dir = mkdtempSync(join(tmpdir(), 'trickle-rt-doc-'));
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(root, join(dir, 'node_modules', 'trickle-rt'));
  const shims = join(dir, '.shims');
  mkdirSync(shims);
  writeFileSync(
    join(shims, 'npx'),
    `#!/bin/sh
case "$1" in
  trickle-rt) shift; exec "${process.execPath}" "${join(root, 'bin', 'trickle-rt.js')}" "$@" ;;
  tsx) shift; exec "${join(root, 'node_modules', '.bin', 'tsx')}" "$@" ;;
  *) echo "doc test: npx $1 is not part of this package" >&2; exit 127 ;;
esac
`,
  );
  chmodSync(join(shims, 'npx'), 0o755);
  const ports = new Map([
    ['8000', String(await freePort())],
    ['3389', String(await freePort())],
  ]);
  const swap = (text: string): string => text.replace(/\b(8000|3389)\b/g, (p) => ports.get(p) ?? p);
  // The EXIT trap keeps the script's own status: a background job that exits while the trap runs
  // makes `kill` (and xargs) fail, which must not turn a passing run into a failing one.
  const script: string[] = ['set -e', 'trap \'rc=$?; jobs -p | xargs -r kill 2>/dev/null; exit $rc\' EXIT'];
  for (const b of blocks) {
    if (b.kind === 'file') writeFileSync(join(dir, b.file!), swap(b.text));
    else script.push(`echo "## ${docPath}:${b.line}"`, swap(b.text));
  }
  const child = spawn('bash', ['-c', script.join('\n')], {
    cwd: dir,
    env: { ...process.env, PATH: `${shims}:${process.env['PATH'] ?? ''}`, TRICKLE_LOG_LEVEL: 'info', NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const timer = setTimeout(() => {
    output += `\n## doc test: timed out after ${timeoutMs} ms\n`;
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }, timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  clearTimeout(timer);
  return { code, output, dir };
}
