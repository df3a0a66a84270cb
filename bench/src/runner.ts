/**
 * The bench runner (parent process): selects scenarios from the table, starts one fresh worker
 * process per scenario, shows progress on stderr, collects one ScenarioResult per scenario and
 * writes the whole report (machine, versions, results) as JSON.
 */
import { fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';

import { clipCacheDir } from './clips';
import { ProgressDisplay } from './progress';
import { verdictLine } from './render';
import { selectScenarios } from './scenarios';
import { gpuStatus, machineInfo, versionInfo } from './system-info';
import type { BenchReport, ScenarioResult } from './types';
import type { WorkerInput, WorkerMessage } from './worker';

export interface BenchOptions {
  ids: string[];
  quick: boolean;
  runs?: number;
  /** Parameter overrides applied to every selected scenario (e.g. { minutes: 3 } for B9). */
  paramOverrides?: Record<string, Record<string, unknown>>;
  /** Show progress on stderr. */
  progress: boolean;
  command: string;
  /** Kill a scenario process after this long (default: 40 min, plus the soak length for B9). */
  timeoutMs?: number;
}

function workerPath(): string {
  // The bench runs compiled (bench/dist/); the worker sits next to this file.
  return join(__dirname, 'worker.js');
}

function runScenarioProcess(input: WorkerInput, display: ProgressDisplay, timeoutMs: number): Promise<ScenarioResult> {
  return new Promise((resolve) => {
    const started = performance.now();
    let result: ScenarioResult | undefined;
    let stderrTail = '';
    const child = fork(workerPath(), [JSON.stringify(input)], {
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      execArgv: ['--expose-gc'],
      env: { ...process.env, TRICKLE_RT_BENCH_WORKER: '1' },
    });
    child.stderr?.on('data', (d: Buffer) => {
      stderrTail = (stderrTail + d.toString()).slice(-4000);
    });
    child.on('message', (msg: WorkerMessage) => {
      if (msg.type === 'progress') display.update(msg.step, msg.total, msg.label);
      else if (msg.type === 'result') result = msg.result;
    });
    const timer = setTimeout(() => {
      stderrTail += `\n[runner] killed after ${(timeoutMs / 60000).toFixed(0)} min`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (result) {
        resolve(result);
        return;
      }
      resolve({
        id: input.id,
        title: '',
        status: 'failed',
        reason: `scenario process exited (${signal ?? `code ${code}`}) without a result${stderrTail ? `: ${stderrTail.trim()}` : ''}`,
        params: {},
        cases: [],
        notes: [],
        durationMs: performance.now() - started,
      });
    });
  });
}

/** Runs the selected scenarios, each in a fresh process, and returns the report. */
export async function runBench(options: BenchOptions): Promise<BenchReport> {
  const specs = selectScenarios(options.ids);
  const display = new ProgressDisplay(process.stderr, options.progress);
  const startedAt = new Date().toISOString();
  const machine = machineInfo();
  const versions = versionInfo();
  const gpu = gpuStatus();
  const clipDir = clipCacheDir();
  display.note(
    `bench: ${specs.length} scenario(s)${options.quick ? ' (--quick)' : ''} on ${machine.cpuModel} × ${machine.cores}; GPU: ${gpu.available ? gpu.reason : `none (${gpu.reason})`}; clips in ${clipDir}`,
  );
  const scenarios: ScenarioResult[] = [];
  for (const [i, spec] of specs.entries()) {
    display.startScenario(i + 1, specs.length, spec.id, spec.title);
    const loadAtStart = loadavg().map((v) => Math.round(v * 100) / 100);
    let result: ScenarioResult;
    if (spec.requiresGpu && !gpu.available) {
      result = {
        id: spec.id,
        title: spec.title,
        status: 'skipped',
        reason: `needs a CUDA GPU; none usable here: ${gpu.reason}`,
        params: spec.params,
        cases: [],
        notes: [],
        durationMs: 0,
      };
    } else {
      const overrides = options.paramOverrides?.[spec.id] ?? {};
      const minutes = typeof overrides['minutes'] === 'number' ? overrides['minutes'] : Number(spec.params['minutes'] ?? 0);
      const input: WorkerInput = { id: spec.id, quick: options.quick, clipDir, gpu, paramOverrides: overrides };
      if (options.runs !== undefined) input.runs = options.runs;
      result = await runScenarioProcess(input, display, options.timeoutMs ?? (40 + minutes) * 60_000);
      if (!result.title) result.title = spec.title;
    }
    result.loadAverage = loadAtStart;
    scenarios.push(result);
    display.finish(verdictLine(result));
  }
  return {
    schema: 1,
    startedAt,
    finishedAt: new Date().toISOString(),
    quick: options.quick,
    command: options.command,
    machine,
    versions,
    scenarios,
  };
}

export function writeReport(report: BenchReport, path: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(report, null, 2)}\n`);
}
