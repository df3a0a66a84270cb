/**
 * Renders a BenchReport as the human-readable table (Markdown, as bench/README.md shows it) and as
 * one short verdict line per scenario for the progress display.
 */
import type { BenchReport, Figure, ScenarioResult, Summary } from './types';

export function fmt(v: number | undefined, unit = ''): string {
  if (v === undefined || !Number.isFinite(v)) return '—';
  const abs = Math.abs(v);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3;
  return `${v.toFixed(digits)}${unit ? ` ${unit}` : ''}`;
}

function mib(bytes: number | undefined): string {
  return bytes === undefined ? '—' : `${(bytes / (1024 * 1024)).toFixed(0)} MiB`;
}

function spread(s: Summary | undefined): string {
  if (!s || s.n === 0) return '—';
  return `${fmt(s.p50)} / ${fmt(s.p99)}`;
}

function verdict(f: Figure): string {
  if (f.pass === undefined) return f.target ? '?' : '';
  return f.pass ? 'yes' : '**no**';
}

function ratioText(f: Figure): string {
  return f.ratio === undefined ? '—' : `${f.ratio.toFixed(2)}×`;
}

/** Markdown table of every figure of every scenario, plus skipped/unavailable lines. */
export function renderMarkdown(report: BenchReport): string {
  const lines: string[] = [];
  lines.push('| id | case | metric | ours (median) | anchor (median) | ours / anchor | ours p50 / p99 | cold (ours / anchor) | RSS (/ GPU) | target | met |');
  lines.push('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const s of report.scenarios) {
    if (s.status !== 'ok') {
      lines.push(`| ${s.id} | ${s.status} | ${(s.reason ?? '').split('\n')[0]?.replace(/\|/g, '\\|') ?? ''} | | | | | | | | |`);
      continue;
    }
    for (const c of s.cases) {
      for (const f of c.figures) {
        const cold = f.cold === undefined ? '—' : `${fmt(f.cold)}${f.anchorCold === undefined ? '' : ` / ${fmt(f.anchorCold)}`}`;
        lines.push(
          `| ${s.id} | ${c.case} | ${f.metric} (${f.unit}) | ${fmt(f.ours.median)} | ${fmt(f.anchor?.median)} | ${ratioText(f)} | ${spread(f.ours)}${f.samples === 'items' ? ` (${f.ours.n} items)` : ''} | ${cold} | ${mib(c.rssBytes)}${c.gpuMemBytes === undefined ? '' : ` / GPU ${mib(c.gpuMemBytes)}`} | ${f.target ?? ''} | ${verdict(f)} |`,
        );
      }
    }
  }
  return lines.join('\n');
}

/** Per-scenario load averages: how busy the shared machine was while each one ran. */
export function renderLoad(report: BenchReport): string {
  const parts = report.scenarios.filter((s) => s.loadAverage).map((s) => `${s.id} ${(s.loadAverage as number[])[0]?.toFixed(1)}`);
  return parts.length > 0 ? `- 1-minute load average when each scenario started: ${parts.join(', ')}` : '';
}

export function renderMachine(report: BenchReport): string {
  const m = report.machine;
  const v = report.versions;
  const gpu = v.gpus.length > 0 ? v.gpus.map((g) => g.name).join(', ') : 'none';
  return [
    `- machine: ${m.cpuModel}, ${m.cores} cores, ${(m.ramBytes / 2 ** 30).toFixed(1)} GiB RAM, ${m.os}, kernel ${m.kernel} (load average at start ${m.loadAverage.join(' ')})`,
    `- GPU: ${gpu}; CUDA driver: ${v.cudaDriver ?? 'none'}; CUDA runtime compiled in: ${v.cudaCompiled ? String(v.cudaRuntime) : 'no'}; TensorRT: ${v.tensorrt ?? 'none'}`,
    `- Node ${v.node}, trickle-rt ${v.trickleRt}, FFmpeg libraries ${v.ffmpegLibraries ?? '?'} (libavcodec ${v.libavcodec ?? '?'}), ffmpeg CLI ${v.ffmpegCli ?? 'missing'}`,
    `- run: ${report.startedAt} → ${report.finishedAt}${report.quick ? ' (--quick: smoke figures, not for comparison)' : ''}; command: \`${report.command}\``,
    renderLoad(report),
  ]
    .filter((l) => l.length > 0)
    .join('\n');
}

/** Each scenario's method notes, as a Markdown list (what was run, how many times, what "cold" is). */
export function renderNotes(report: BenchReport): string {
  const lines: string[] = [];
  for (const s of report.scenarios) {
    if (s.status !== 'ok') continue;
    const anchor = s.anchor?.command ? ` Anchor: \`${s.anchor.command}\`.` : s.anchor ? ` Anchor: ${s.anchor.name}.` : '';
    lines.push(`- **${s.id}** (${(s.durationMs / 1000).toFixed(0)} s): ${s.notes.join('; ')}.${anchor}`);
  }
  return lines.join('\n');
}

/** One line per scenario for the terminal once it finishes. */
export function verdictLine(s: ScenarioResult): string {
  const secs = `${(s.durationMs / 1000).toFixed(1)} s`;
  if (s.status === 'skipped') return `${s.id} skipped: ${s.reason ?? ''}`;
  if (s.status === 'unavailable') return `${s.id} not run: ${s.reason ?? ''}`;
  if (s.status === 'failed') return `${s.id} FAILED after ${secs}: ${(s.reason ?? '').split('\n')[0] ?? ''}`;
  const parts = s.cases.map((c) => {
    const f = c.figures[0];
    if (!f) return c.case;
    const r = f.ratio === undefined ? '' : ` (${f.ratio.toFixed(2)}× anchor)`;
    return `${c.case}: ${fmt(f.ours.median)} ${f.unit}${r}`;
  });
  return `${s.id} done in ${secs}: ${parts.join('; ')}`;
}
