import type { CaseResult, RunOptions, ScenarioStatus } from './types';

/** A row of the declarative scenario table (bench/src/scenarios.ts). */
export interface ScenarioSpec {
  /** B1 … B9 (bench/README.md). */
  id: string;
  title: string;
  /** Skipped with a clear line where no CUDA device is usable. */
  requiresGpu: boolean;
  /** What ours is compared against, measured interleaved in the same process run. */
  anchor: { name: string; command?: string } | null;
  /** Which implementation module runs it (bench/src/scenarios/<impl>.ts). */
  impl: string;
  params: Record<string, unknown>;
  /** Overrides of `params` for `--quick` (smoke runs: few, short runs). */
  quickParams: Record<string, unknown>;
  /** Runs per side (first one is the cold run). */
  runs: number;
  quickRuns: number;
}

/** What an implementation returns; the worker adds id, title, timing and params. */
export interface ScenarioOutcome {
  status?: ScenarioStatus;
  reason?: string;
  cases: CaseResult[];
  notes: string[];
  anchorCommand?: string;
}

export type ScenarioImpl = (params: Record<string, unknown>, opts: RunOptions) => Promise<ScenarioOutcome>;

/** Typed parameter access for implementations (the table is declarative JSON). */
export function param<T>(params: Record<string, unknown>, name: string, fallback: T): T {
  const v = params[name];
  return v === undefined ? fallback : (v as T);
}
