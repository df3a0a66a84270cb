import { ratio, summarize } from './stats';
import type { Figure } from './types';

export interface FigureInput {
  metric: string;
  unit: string;
  better: 'lower' | 'higher';
  /**
   * Ours, one value per run in run order. The first is the cold run (fresh process) and is reported
   * separately; the rest are the steady state. With a single run it is used for both.
   */
  ours: readonly number[];
  anchor?: readonly number[];
  /** Per-item samples (frames, writes) of the steady runs, for p50/p99 over items instead of runs. */
  oursItems?: readonly number[];
  anchorItems?: readonly number[];
  /** Whether runs[0] is a cold run to set apart (default true). */
  hasCold?: boolean;
  target?: Target;
}

export type Target =
  /** ours.median <= factor x anchor.median (or >= for `better: 'higher'`). */
  | { kind: 'ratio'; factor: number; text?: string }
  /** ours (median, or p50/p99 when given) within an absolute bound. */
  | { kind: 'max'; value: number; stat?: 'median' | 'p50' | 'p99'; text?: string }
  | { kind: 'min'; value: number; stat?: 'median' | 'p50' | 'p99'; text?: string }
  /** Judged by the scenario itself. */
  | { kind: 'custom'; pass: boolean | undefined; text: string };

function steady(values: readonly number[], hasCold: boolean): readonly number[] {
  return hasCold && values.length > 1 ? values.slice(1) : values;
}

/** Builds a Figure: steady-state summary, cold run, anchor, ratio and verdict. */
export function makeFigure(input: FigureInput): Figure {
  const hasCold = input.hasCold ?? true;
  const ours = summarize(input.oursItems ?? steady(input.ours, hasCold));
  if (input.oursItems) ours.median = summarize(steady(input.ours, hasCold)).median;
  const fig: Figure = { metric: input.metric, unit: input.unit, ours, better: input.better, samples: input.oursItems ? 'items' : 'runs' };
  if (hasCold && input.ours.length > 0) fig.cold = input.ours[0] as number;
  if (input.anchor && input.anchor.length > 0) {
    const anchor = summarize(input.anchorItems ?? steady(input.anchor, hasCold));
    if (input.anchorItems) anchor.median = summarize(steady(input.anchor, hasCold)).median;
    fig.anchor = anchor;
    if (hasCold) fig.anchorCold = input.anchor[0] as number;
    const r = ratio(ours.median, anchor.median);
    if (r !== undefined) fig.ratio = r;
  }
  const t = input.target;
  if (t) {
    switch (t.kind) {
      case 'ratio':
        fig.target = t.text ?? `${input.better === 'lower' ? '<=' : '>='} ${t.factor}x anchor`;
        if (fig.ratio !== undefined) fig.pass = input.better === 'lower' ? fig.ratio <= t.factor : fig.ratio >= t.factor;
        break;
      case 'max':
      case 'min': {
        const stat = t.stat ?? 'median';
        const v = ours[stat];
        fig.target = t.text ?? `${stat} ${t.kind === 'max' ? '<=' : '>='} ${t.value} ${input.unit}`;
        if (Number.isFinite(v)) fig.pass = t.kind === 'max' ? v <= t.value : v >= t.value;
        break;
      }
      case 'custom':
        fig.target = t.text;
        if (t.pass !== undefined) fig.pass = t.pass;
        break;
    }
  }
  return fig;
}

/**
 * Runs `anchor` and `ours` interleaved (A B A B …), `runs` times each, so that slow drifts of a
 * shared machine hit both sides alike. Returns the per-run results in order.
 */
export async function interleave<A, B>(
  runs: number,
  anchor: ((run: number) => Promise<A>) | undefined,
  ours: (run: number) => Promise<B>,
  onStep?: (step: number, total: number, label: string) => void,
): Promise<{ anchor: A[]; ours: B[] }> {
  const a: A[] = [];
  const b: B[] = [];
  const total = runs * (anchor ? 2 : 1);
  let step = 0;
  for (let r = 0; r < runs; r++) {
    if (anchor) {
      onStep?.(++step, total, `anchor run ${r + 1}/${runs}`);
      a.push(await anchor(r));
    }
    onStep?.(++step, total, `ours run ${r + 1}/${runs}`);
    b.push(await ours(r));
  }
  return { anchor: a, ours: b };
}
