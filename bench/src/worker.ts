/**
 * Scenario worker: the fresh child process the runner starts for each scenario. It receives the
 * scenario id and options as one JSON argument, runs the implementation, sends progress messages
 * over IPC and finally one `result` message. Cold start (first run in this process) is part of
 * what it measures, which is why every scenario gets its own process.
 */
import { IMPLEMENTATIONS } from './implementations';
import { SCENARIOS } from './scenarios';
import type { RunOptions, ScenarioResult } from './types';

export interface WorkerInput {
  id: string;
  quick: boolean;
  runs?: number;
  clipDir: string;
  gpu: { available: boolean; reason: string };
  paramOverrides: Record<string, unknown>;
}

export type WorkerMessage =
  | { type: 'progress'; step: number; total: number; label: string }
  | { type: 'result'; result: ScenarioResult };

function send(msg: WorkerMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) {
      if (msg.type === 'result') process.stdout.write(`${JSON.stringify(msg.result)}\n`);
      resolve();
      return;
    }
    process.send(msg, undefined, {}, () => resolve());
  });
}

export async function runWorker(input: WorkerInput): Promise<ScenarioResult> {
  const spec = SCENARIOS.find((s) => s.id === input.id);
  if (!spec) throw new Error(`unknown scenario ${input.id}`);
  const params = { ...spec.params, ...(input.quick ? spec.quickParams : {}), ...input.paramOverrides };
  const runs = input.runs ?? (input.quick ? spec.quickRuns : spec.runs);
  const opts: RunOptions = {
    quick: input.quick,
    runs,
    clipDir: input.clipDir,
    gpu: input.gpu,
    progress: (step, total, label) => {
      void send({ type: 'progress', step, total, label });
    },
  };
  const started = performance.now();
  const base = { id: spec.id, title: spec.title, params: { ...params, runs }, ...(spec.anchor ? { anchor: { ...spec.anchor } } : {}) };
  try {
    const impl = IMPLEMENTATIONS[spec.impl];
    if (!impl) throw new Error(`no implementation module "${spec.impl}"`);
    const outcome = await impl()(params, opts);
    const result: ScenarioResult = {
      ...base,
      status: outcome.status ?? 'ok',
      cases: outcome.cases,
      notes: outcome.notes,
      durationMs: performance.now() - started,
    };
    if (outcome.reason !== undefined) result.reason = outcome.reason;
    if (outcome.anchorCommand && result.anchor) result.anchor.command = outcome.anchorCommand;
    return result;
  } catch (err) {
    return {
      ...base,
      status: 'failed',
      reason: err instanceof Error ? (err.stack ?? err.message) : String(err),
      cases: [],
      notes: [],
      durationMs: performance.now() - started,
    };
  }
}

if (require.main === module) {
  const input = JSON.parse(process.argv[2] ?? '{}') as WorkerInput;
  runWorker(input).then(
    async (result) => {
      await send({ type: 'result', result });
      process.exit(0);
    },
    (err: unknown) => {
      process.stderr.write(`bench worker: ${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(1);
    },
  );
}
