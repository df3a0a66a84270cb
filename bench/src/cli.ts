import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { ErrorCodes, TrickleError } from 'trickle-rt';

import { clipCacheDir, clipName, ensureClip, STANDARD_CLIPS } from './clips';
import { renderMachine, renderMarkdown, renderNotes } from './render';
import { runBench, writeReport } from './runner';
import { SCENARIOS, selectScenarios } from './scenarios';
import type { BenchReport } from './types';

const usage = `npm run bench -- [B1 B6 …] [options]

Runs the benchmark scenarios of bench/README.md, each in a fresh process, each next to its anchor measured
interleaved in the same run (A B A B …). Progress goes to stderr; the table (or JSON) to stdout.

  B1 … B9              run only these scenarios; B1 also selects B1-GPU (default: all; GPU
                       rows are skipped with a line saying why where no CUDA GPU is usable)
  --quick              short runs for smoke testing (figures not for comparison)
  --json               print the JSON report on stdout instead of the table
  --out FILE           where to write the JSON report (default: bench/results/bench-<time>.json)
  --runs N             runs per side (anchor and ours); the first is reported as the cold run
  --soak-minutes M     length of the B9 soak (default 10)
  --set NAME=VALUE     override a scenario parameter (JSON value) for every selected scenario
  --list               list the scenarios and exit
  --make-clips         generate the standard clips into the cache and exit
  --render FILE        print the table of an existing JSON report and exit
  --no-progress        no progress display`;

function takeValue(args: string[], i: number, flag: string): string {
  const v = args[i + 1];
  if (v === undefined || v.startsWith('--')) {
    throw new TrickleError(ErrorCodes.ERR_INVALID_ARG, `Expected a value after ${flag}`);
  }
  return v;
}

function positiveNumber(text: string, what: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) {
    throw new TrickleError(ErrorCodes.ERR_INVALID_ARG, `Expected a positive number for ${what} but received ${JSON.stringify(text)}`);
  }
  return n;
}

function tableText(report: BenchReport): string {
  return `${renderMachine(report)}\n\n${renderMarkdown(report)}\n\n${renderNotes(report)}\n`;
}

/** Runs the bench from the command line; resolves to the exit code. */
export async function runBenchCli(args: string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(`Usage: ${usage}\n`);
    return 0;
  }
  {
    const ids: string[] = [];
    let quick = false;
    let json = false;
    let progress = true;
    let out: string | undefined;
    let runs: number | undefined;
    let soakMinutes: number | undefined;
    const sets: Record<string, unknown> = {};
    for (let i = 0; i < args.length; i++) {
      const a = args[i] as string;
      switch (a) {
        case '--quick':
          quick = true;
          break;
        case '--json':
          json = true;
          break;
        case '--no-progress':
          progress = false;
          break;
        case '--out':
          out = takeValue(args, i++, a);
          break;
        case '--runs':
          runs = Math.round(positiveNumber(takeValue(args, i++, a), '--runs'));
          break;
        case '--soak-minutes':
          soakMinutes = positiveNumber(takeValue(args, i++, a), '--soak-minutes');
          break;
        case '--set': {
          const text = takeValue(args, i++, a);
          const eq = text.indexOf('=');
          if (eq <= 0) throw new TrickleError(ErrorCodes.ERR_INVALID_ARG, `Expected NAME=VALUE after --set but received ${JSON.stringify(text)}`);
          const raw = text.slice(eq + 1);
          let value: unknown = raw;
          try {
            value = JSON.parse(raw);
          } catch {
            // a bare string
          }
          sets[text.slice(0, eq)] = value;
          break;
        }
        case '--list':
          for (const s of SCENARIOS) {
            process.stdout.write(`${s.id}  ${s.requiresGpu ? '[GPU] ' : ''}${s.title}${s.anchor ? `\n      anchor: ${s.anchor.name}` : ''}\n`);
          }
          return 0;
        case '--make-clips': {
          const dir = clipCacheDir();
          for (const spec of STANDARD_CLIPS) {
            process.stderr.write(`clip ${clipName(spec)} … `);
            ensureClip(spec, dir);
            process.stderr.write('ok\n');
          }
          process.stdout.write(`${dir}\n`);
          return 0;
        }
        case '--render': {
          const report = JSON.parse(readFileSync(takeValue(args, i++, a), 'utf8')) as BenchReport;
          process.stdout.write(tableText(report));
          return 0;
        }
        default:
          if (a.startsWith('-')) throw new TrickleError(ErrorCodes.ERR_INVALID_ARG, `unknown option ${a}; see npm run bench -- --help`);
          selectScenarios([a]); // throws a clear ERR_INVALID_ARG for an unknown id
          ids.push(a);
      }
    }
    const paramOverrides: Record<string, Record<string, unknown>> = {};
    for (const s of SCENARIOS) {
      paramOverrides[s.id] = { ...sets, ...(s.id === 'B9' && soakMinutes !== undefined ? { minutes: soakMinutes } : {}) };
    }
    const report = await runBench({
      ids,
      quick,
      ...(runs !== undefined ? { runs } : {}),
      paramOverrides,
      progress,
      command: `npm run bench -- ${args.join(' ')}`.trim(),
    });
    const path = out ?? join(__dirname, '..', 'results', `bench-${report.startedAt.replace(/[:.]/g, '-')}.json`);
    writeReport(report, path);
    if (progress) process.stderr.write(`report written to ${path}\n`);
    process.stdout.write(json ? `${JSON.stringify(report, null, 2)}\n` : tableText(report));
    return report.scenarios.some((s) => s.status === 'failed') ? 1 : 0;
  }
}

if (require.main === module) {
  runBenchCli(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`bench: ${err instanceof TrickleError ? `${err.code}: ${err.message}` : err instanceof Error ? err.stack : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
