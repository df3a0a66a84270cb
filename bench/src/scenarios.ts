/**
 * The declarative scenario table: every scenario of bench/README.md (B1–B9), its anchor and its parameters (full
 * and --quick). The runner starts one fresh process per row; bench/src/scenarios/<impl>.ts does the
 * measuring.
 */
import { ErrorCodes, TrickleError } from 'trickle-rt';
import type { ScenarioSpec } from './scenario';

const floor = 'ffmpeg -threads 1 -i clip.ts [-vf scale=512:512] -c:v libx264 -preset superfast -tune zerolatency -bf 0 -threads 1 -f mpegts /dev/null';

const mediaCases = [
  { name: '512²→512²', clip: { width: 512, height: 512, noise: 8 }, scale: null },
  { name: '1080p→512²', clip: { width: 1920, height: 1080, noise: 8 }, scale: [512, 512] },
  { name: '1080p→1080p', clip: { width: 1920, height: 1080, noise: 8 }, scale: null },
];

export const SCENARIOS: ScenarioSpec[] = [
  {
    id: 'B1',
    title: 'per-frame media overhead: bytes in → decode → identity (JS) → x264 → bytes out, 1 stream',
    requiresGpu: false,
    anchor: { name: 'ffmpeg CLI floor (same libraries, 1 thread)', command: floor },
    impl: 'media-loop',
    params: { cases: mediaCases, frames: 300, device: 'cpu', focus: 'wall' },
    quickParams: { cases: mediaCases.slice(0, 1), frames: 30 },
    runs: 7,
    quickRuns: 2,
  },
  {
    id: 'B2',
    title: 'CPU time (user+sys) per frame, same loop; includes the harder alls=25 clip',
    requiresGpu: false,
    anchor: { name: 'ffmpeg CLI floor (same libraries, 1 thread), -benchmark utime+stime', command: floor },
    impl: 'media-loop',
    params: {
      cases: [...mediaCases, { name: '1080p→1080p alls=25', clip: { width: 1920, height: 1080, noise: 25 }, scale: null }],
      frames: 300,
      device: 'cpu',
      focus: 'cpu',
    },
    quickParams: { cases: mediaCases.slice(0, 1), frames: 30 },
    runs: 7,
    quickRuns: 2,
  },
  {
    id: 'B3',
    title: 'streams per box: N concurrent 512² 24 fps streams through the runtime, out fps ≥ 0.95× in, no drops',
    requiresGpu: false,
    anchor: null,
    impl: 'streams',
    params: { curve: [1, 2, 4, 6, 8, 10, 12, 14, 16], fps: 24, seconds: 20, width: 512, height: 512, stopAfterFailures: 2 },
    quickParams: { curve: [1, 2], seconds: 4 },
    runs: 1,
    quickRuns: 1,
  },
  {
    id: 'B4',
    title: 'added latency: last input byte of frame N → first output byte of frame N, 512², 30 fps, loopback',
    requiresGpu: false,
    anchor: { name: 'ffmpeg CLI floor: decode + x264 of one frame (wall ms per frame)', command: floor },
    impl: 'latency',
    params: { fps: 30, seconds: 10, width: 512, height: 512 },
    quickParams: { seconds: 3 },
    runs: 5,
    quickRuns: 2,
  },
  {
    id: 'B5',
    title: 'time to first output frame after /stream/start (warm process)',
    requiresGpu: false,
    anchor: null,
    impl: 'first-frame',
    params: { fps: 30, width: 512, height: 512 },
    quickParams: {},
    runs: 7,
    quickRuns: 2,
  },
  {
    id: 'B10',
    title: 'worker CPU per frame on the real worker path (trickle in, resize, identity, x264, trickle out): 512² and 1080p input → 512²',
    requiresGpu: false,
    anchor: { name: 'ffmpeg CLI floor (same libraries, 1 thread), -benchmark utime+stime', command: floor },
    impl: 'worker-cpu',
    params: { fps: 24, seconds: 10 },
    quickParams: { seconds: 3 },
    runs: 3,
    quickRuns: 2,
  },
  {
    id: 'B6',
    title: 'trickle transport: our publisher → our server → our subscriber, loopback',
    requiresGpu: false,
    anchor: { name: 'plain node:http chunked relay (POST piped into a pending GET)' },
    impl: 'transport',
    params: {
      bulkBytes: 256 * 1024 * 1024,
      bulkChunk: 64 * 1024,
      latencyWrites: 2000,
      latencyWriteBytes: 1024,
      channels: 100,
      channelBitrate: 4_000_000,
      channelSeconds: 10,
      channelSegmentSeconds: 2,
      channelWritesPerSecond: 30,
    },
    quickParams: { bulkBytes: 8 * 1024 * 1024, latencyWrites: 100, channels: 10, channelSeconds: 2 },
    runs: 5,
    quickRuns: 2,
  },
  {
    id: 'B1-GPU',
    title: 'B1 on the GPU path: NVDEC → CUDA frames → identity → one D2H → x264 (target: floor x264 share + 2 ms at 1080p)',
    requiresGpu: true,
    anchor: { name: 'ffmpeg CLI floor (same libraries, 1 thread)', command: floor },
    impl: 'media-loop',
    params: { cases: mediaCases, frames: 300, device: 'cuda:0', focus: 'wall' },
    quickParams: { cases: mediaCases.slice(0, 1), frames: 30 },
    runs: 7,
    quickRuns: 2,
  },
  {
    id: 'B2-GPU',
    title: 'B2 on the GPU path: CPU time per frame with NVDEC (target ≤ 0.3 ms per decoded frame)',
    requiresGpu: true,
    anchor: { name: 'ffmpeg CLI floor (same libraries, 1 thread), -benchmark utime+stime', command: floor },
    impl: 'media-loop',
    params: { cases: mediaCases, frames: 300, device: 'cuda:0', focus: 'cpu' },
    quickParams: { cases: mediaCases.slice(0, 1), frames: 30 },
    runs: 7,
    quickRuns: 2,
  },
  {
    id: 'B3-GPU',
    title: 'B3 on a GPU machine (runtime device auto = NVDEC): streams per box',
    requiresGpu: true,
    anchor: null,
    impl: 'streams',
    params: { curve: [1, 2, 4, 8, 12, 16, 24, 32], fps: 24, seconds: 20, width: 512, height: 512, stopAfterFailures: 2 },
    quickParams: { curve: [1, 2], seconds: 4 },
    runs: 1,
    quickRuns: 1,
  },
  {
    id: 'B4-GPU',
    title: 'B4 on a GPU machine (runtime device auto = NVDEC): added latency p50 ≤ 8 ms, p99 ≤ 20 ms',
    requiresGpu: true,
    anchor: null,
    impl: 'latency',
    params: { fps: 30, seconds: 10, width: 512, height: 512, targetP50: 8, targetP99: 20 },
    quickParams: { seconds: 3 },
    runs: 5,
    quickRuns: 2,
  },
  {
    id: 'B7',
    title: 'GPU data path: host↔device copies per frame and their time (addon counters)',
    requiresGpu: true,
    anchor: null,
    impl: 'gpu-copies',
    params: { frames: 300, clip: { width: 1920, height: 1080, noise: 8 } },
    quickParams: { frames: 30 },
    runs: 5,
    quickRuns: 2,
  },
  {
    id: 'B8',
    title: 'NVDEC throughput, 1080p H.264, 1 and N sessions',
    requiresGpu: true,
    anchor: { name: 'ffmpeg -hwaccel cuda', command: 'ffmpeg -hwaccel cuda -hwaccel_output_format cuda -i clip.ts -f null -' },
    impl: 'nvdec',
    params: { sessions: [1, 4], clip: { width: 1920, height: 1080, noise: 8 } },
    quickParams: { sessions: [1] },
    runs: 5,
    quickRuns: 2,
  },
  {
    id: 'B9',
    title: 'memory: RSS (and GPU memory) of the runtime with a live stream over a soak',
    requiresGpu: false,
    anchor: null,
    impl: 'soak',
    params: { minutes: 10, streams: 2, fps: 24, width: 512, height: 512, sampleSeconds: 10, warmupSeconds: 30 },
    quickParams: { minutes: 0.25, streams: 1, sampleSeconds: 2, warmupSeconds: 3 },
    runs: 1,
    quickRuns: 1,
  },
  {
    id: 'B11',
    title: 'trickle server under attack: its RSS against the memory budget, a healthy channel\'s p99 beside the attack',
    requiresGpu: false,
    anchor: { name: 'the same healthy channel without the attack, same server process' },
    impl: 'hostile',
    params: { budgetBytes: 256 * 1024 * 1024, seconds: 10, fullChannels: 8, segmentBytes: 16 * 1024 * 1024, stalledReaders: 40, slowHeaders: 200, idleGets: 256 },
    quickParams: { seconds: 3, fullChannels: 4, stalledReaders: 10, slowHeaders: 50, idleGets: 64 },
    runs: 1,
    quickRuns: 1,
  },
];

/** Whether a filter word selects a scenario: its id, or its family ("B1" selects B1 and B1-GPU). */
export function matchesFilter(spec: ScenarioSpec, word: string): boolean {
  const w = word.toUpperCase();
  return spec.id === w || spec.id.startsWith(`${w}-`);
}

/** Scenarios selected by filter words (case-insensitive); all when empty. Unknown words throw. */
export function selectScenarios(words: readonly string[]): ScenarioSpec[] {
  if (words.length === 0) return SCENARIOS;
  const unknown = words.filter((w) => !SCENARIOS.some((s) => matchesFilter(s, w)));
  if (unknown.length > 0) {
    throw new TrickleError(
      ErrorCodes.ERR_INVALID_ARG,
      `Expected a scenario id (${SCENARIOS.map((s) => s.id).join(' ')}) but received ${JSON.stringify(unknown[0])}`,
    );
  }
  return SCENARIOS.filter((s) => words.some((w) => matchesFilter(s, w)));
}
