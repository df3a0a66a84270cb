/**
 * Bench clips: testsrc2 plus temporal+uniform noise (alls=8, and a harder alls=25),
 * H.264 yuv420p, GOP 60, no B-frames, 4 Mbps, 30 fps, 10 s, in MPEG-TS, at 512x512, 1280x720 and
 * 1920x1080. Made with the ffmpeg CLI (bench only; product code never runs it) on first use and
 * cached outside git: $TRICKLE_RT_BENCH_CACHE, else $XDG_CACHE_HOME/trickle-rt/bench, else
 * ~/.cache/trickle-rt/bench.
 *
 * The "stamped" variant carries its frame index in the pixels: the top 32 rows are black, and bit k
 * of the index paints a white 32x32 block at x = 32k. The latency probe (B4) reads it back from the
 * runtime's decoded output, so it matches output frames to input frames without trusting timestamps.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface ClipSpec {
  width: number;
  height: number;
  fps: number;
  seconds: number;
  /** noise strength (alls) */
  noise: 8 | 25;
  /** Frame index painted into the top 32 rows (16 bits at 512 px wide). */
  stamped?: boolean;
  /** GOP in frames (default 60: 2 s at 30 fps). */
  gop?: number;
}

/** Stamp geometry, shared by the painter (ffmpeg drawbox) and the reader. */
export const STAMP = { bits: 16, block: 32, rows: 32 } as const;

export function clipCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const explicit = env['TRICKLE_RT_BENCH_CACHE'];
  if (explicit) return explicit;
  const xdg = env['XDG_CACHE_HOME'];
  return join(xdg && xdg.length > 0 ? xdg : join(homedir(), '.cache'), 'trickle-rt', 'bench');
}

export function clipName(spec: ClipSpec): string {
  const gop = spec.gop ?? 60;
  return `testsrc2-n${spec.noise}-${spec.width}x${spec.height}-${spec.fps}fps-${spec.seconds}s-g${gop}-4M${spec.stamped ? '-stamped' : ''}.ts`;
}

/** The ffmpeg arguments that make a clip (output path appended). */
export function clipFfmpegArgs(spec: ClipSpec): string[] {
  const filters = [`noise=alls=${spec.noise}:allf=t+u`];
  if (spec.stamped) {
    const { bits, block, rows } = STAMP;
    filters.push(`drawbox=x=0:y=0:w=${bits * block}:h=${rows}:color=black:t=fill`);
    for (let k = 0; k < bits; k++) {
      filters.push(`drawbox=x=${k * block}:y=0:w=${block}:h=${rows}:color=white:t=fill:enable='bitand(n\\,${2 ** k})'`);
    }
  }
  return [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', `testsrc2=size=${spec.width}x${spec.height}:rate=${spec.fps}`,
    '-t', String(spec.seconds),
    '-vf', filters.join(','),
    '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p',
    '-g', String(spec.gop ?? 60), '-keyint_min', String(spec.gop ?? 60), '-sc_threshold', '0', '-bf', '0',
    '-b:v', '4M', '-maxrate', '4M', '-bufsize', '4M',
    '-f', 'mpegts',
  ];
}

/** Path of the clip, generating it first when it is not cached yet. */
export function ensureClip(spec: ClipSpec, dir: string = clipCacheDir()): string {
  mkdirSync(dir, { recursive: true });
  const out = join(dir, clipName(spec));
  if (existsSync(out)) return out;
  const tmp = `${out}.tmp-${process.pid}`;
  try {
    execFileSync('ffmpeg', [...clipFfmpegArgs(spec), tmp], { stdio: ['ignore', 'ignore', 'inherit'] });
    renameSync(tmp, out);
  } finally {
    rmSync(tmp, { force: true });
  }
  return out;
}

/** Every standard clip (3 sizes x 2 noise levels), for `npm run bench -- --make-clips`. */
export const STANDARD_CLIPS: ClipSpec[] = [512, 720, 1080].flatMap((h) =>
  ([8, 25] as const).map((noise) => ({
    width: h === 512 ? 512 : h === 720 ? 1280 : 1920,
    height: h,
    fps: 30,
    seconds: 10,
    noise,
  })),
);

/**
 * Reads the stamped frame index from the top stripe of a grayscale (Y) image: the mean of the 8x8
 * centre of each 32x32 block, thresholded at mid-grey.
 */
export function readStamp(gray: Uint8Array, width: number): number {
  const { bits, block } = STAMP;
  let value = 0;
  for (let k = 0; k < bits; k++) {
    let sum = 0;
    for (let y = block / 2 - 4; y < block / 2 + 4; y++) {
      for (let x = k * block + block / 2 - 4; x < k * block + block / 2 + 4; x++) sum += gray[y * width + x] as number;
    }
    if (sum / 64 > 128) value |= 1 << k;
  }
  return value;
}
