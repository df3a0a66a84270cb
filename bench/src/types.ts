/**
 * Shapes shared by the bench runner (parent process), the scenario worker (one fresh child process
 * per scenario) and the table renderer. Everything here is plain JSON so that a result file written
 * on one machine can be rendered on another.
 */

/** Distribution of a set of samples (runs or per-frame/per-write values). */
export interface Summary {
  /** Number of samples. */
  n: number;
  median: number;
  p50: number;
  p99: number;
  min: number;
  max: number;
  mean: number;
}

/** One measured figure: ours, and (where the scenario has one) the anchor measured in the same run. */
export interface Figure {
  /** What is measured, e.g. "wall ms/frame", "CPU ms/frame", "MB/s", "latency ms". */
  metric: string;
  unit: string;
  /** Steady state: median over runs after the first (or per-item samples, see `samples`). */
  ours: Summary;
  /** The anchor's figure, same metric and unit, measured interleaved with ours. */
  anchor?: Summary;
  /** ours.median / anchor.median. */
  ratio?: number;
  /** Cold start: the first run in the fresh process (addon load, codec init, first connections). */
  cold?: number;
  /** Anchor's cold run. */
  anchorCold?: number;
  /** What `ours` is compared against (the scenario's target), in words (e.g. "<= 1.10x floor"). */
  target?: string;
  /** Whether `target` is met; absent when there is no target or it cannot be judged here. */
  pass?: boolean;
  /** "lower" when a smaller value is better (times), "higher" otherwise (throughput). */
  better: 'lower' | 'higher';
  /** Whether `ours.p50/p99` are over individual items (frames, writes) rather than runs. */
  samples: 'runs' | 'items';
}

/** One case of a scenario (e.g. B1 at 1080p->512²). */
export interface CaseResult {
  case: string;
  figures: Figure[];
  /** Resident set size of the measuring process (or the runtime process) at the end, in bytes. */
  rssBytes?: number;
  /** Device memory in use (GPU scenarios), in bytes. */
  gpuMemBytes?: number;
  /** Free-form numbers worth keeping (frame counts, drops, bytes moved). */
  extra?: Record<string, number | string | boolean>;
}

export type ScenarioStatus = 'ok' | 'skipped' | 'unavailable' | 'failed';

export interface ScenarioResult {
  id: string;
  title: string;
  status: ScenarioStatus;
  /** Why skipped / unavailable / failed. */
  reason?: string;
  /** The anchor, in words and as the command that was run. */
  anchor?: { name: string; command?: string };
  params: Record<string, unknown>;
  cases: CaseResult[];
  /** Wall time of the whole scenario process, ms. */
  durationMs: number;
  /** Notes on method (how many runs, pacing, what "cold" means here). */
  notes: string[];
  /** 1/5/15-minute load average when the scenario started (a shared machine's noise, on record). */
  loadAverage?: number[];
}

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  ramBytes: number;
  os: string;
  kernel: string;
  hostname: string;
  loadAverage: number[];
}

export interface VersionInfo {
  trickleRt: string;
  node: string;
  v8: string;
  ffmpegLibraries: string | null;
  ffmpegCli: string | null;
  libavcodec: string | null;
  cudaCompiled: boolean | null;
  cudaRuntime: number | null;
  cudaDriver: number | null;
  gpus: Array<{ name: string; totalMemory: number; nvdec: boolean; nvenc: boolean }>;
  tensorrt: string | null;
  /** Why the native capabilities could not be read, when they could not. */
  capabilitiesError?: string;
}

export interface BenchReport {
  schema: 1;
  startedAt: string;
  finishedAt: string;
  quick: boolean;
  command: string;
  machine: MachineInfo;
  versions: VersionInfo;
  scenarios: ScenarioResult[];
}

/** Options every scenario receives in its worker process. */
export interface RunOptions {
  quick: boolean;
  /** Measured runs per side (anchor and ours), interleaved A B A B; the first is the cold run. */
  runs: number;
  /** Where clips are cached. */
  clipDir: string;
  /** Reports progress to the parent (run k of n, label). */
  progress(step: number, total: number, label: string): void;
  /** Whether a usable CUDA device is present. */
  gpu: { available: boolean; reason: string };
}
